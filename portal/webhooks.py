"""The customer's own webhook endpoints in the portal (/portal/o/<slug>/webhooks/).

An organization's admins list its endpoints (not Kno2's all-organizations ones), add one, rotate
its signing secret, disable and enable it, and send it a test event. Every view is decorated
with ``access.portal_view`` for admins only, on GET and POST alike; every action is refused
while staff have switched the organization's self-service off, as on the Provisioning page. The
rules (allowed URLs, secrets, audit with the acting person) are ``directory.services``'; a new
signing secret is shown once through ``core.reveal``, never in a message or a log.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import (
    IntegerField,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables

from core import reveal
from directory import services as directory_services
from directory.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookSecret
from organizations.models import Organization

from .access import ADMIN, organizations_for_user, portal_view

admin_post = portal_view(ADMIN, ("POST",))

SECRET_PURPOSE = "portal-webhook-secret"  # noqa: S105 (a purpose name)
SELF_SERVICE_OFF = (
    "Kno2 has switched self-service off for {name}: ask Kno2 support to change its webhook "
    "endpoints."
)


class EndpointForm(forms.Form):
    url = forms.URLField(
        label="URL",
        max_length=2000,
        assume_scheme="https",
        help_text="An https address on the internet, where your receiver listens.",
        widget=forms.URLInput(attrs={"size": 60, "placeholder": "https://"}),
    )
    description = forms.CharField(label="Description (optional)", max_length=200, required=False)


def _render(
    request: HttpRequest,
    template: str,
    organization: Organization,
    context: dict[str, Any],
    status: int = 200,
) -> HttpResponse:
    base = {"organization": organization, "organizations": organizations_for_user(request)}
    return render(request, template, {**base, **context}, status=status)


def _own(organization: Organization) -> QuerySet[WebhookEndpoint]:
    """The organization's own endpoints: never Kno2's all-organizations ones."""
    return WebhookEndpoint.objects.filter(organization=organization)


def _endpoints(organization: Organization) -> QuerySet[WebhookEndpoint]:
    """The organization's own endpoints with what their deliveries say, in a fixed number of
    queries however many there are: the pending count, the last delivery, and the oldest
    pending one (a stream waits on it after a failure). Each subquery is a range of the
    ``webhook_delivery_stream`` index (endpoint, organization, status, position)."""
    stream = WebhookDelivery.objects.filter(endpoint=OuterRef("pk"), organization=organization)
    pending = stream.filter(status=DeliveryStatus.PENDING)
    delivered = stream.filter(status=DeliveryStatus.DELIVERED).order_by("-position")
    waiting = pending.order_by("position")
    # Events, not rows: a span of member events waits as one delivery from its next member on.
    pending_count = (
        pending.order_by()
        .values("endpoint")
        .annotate(n=Sum(WebhookDelivery.events_left()))
        .values("n")
    )
    return (
        _own(organization)
        .select_related("organization", "created_by")
        .prefetch_related(
            Prefetch("secrets", queryset=WebhookSecret.objects.order_by("-created_at"))
        )
        .annotate(
            pending_count=Coalesce(Subquery(pending_count, output_field=IntegerField()), Value(0)),
            last_delivered_at=Subquery(delivered.values("delivered_at")[:1]),
            waiting_attempts=Subquery(waiting.values("attempts")[:1]),
            waiting_error=Subquery(waiting.values("last_error")[:1]),
            waiting_next_attempt_at=Subquery(waiting.values("next_attempt_at")[:1]),
        )
        .order_by("-created_at", "-pk")
    )


def _describe(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Add what the templates show: the secrets that sign now, and when a failing endpoint
    will be disabled if it goes on failing."""
    now = timezone.now()
    endpoint.signing_secrets = [
        secret for secret in endpoint.secrets.all() if secret.is_active(now)
    ]
    endpoint.disables_at = (
        endpoint.failing_since + timedelta(hours=settings.WEBHOOK_DISABLE_AFTER_HOURS)
        if endpoint.is_enabled and endpoint.failing_since
        else None
    )
    return endpoint


def _endpoint(endpoints: QuerySet[WebhookEndpoint], pk: int) -> WebhookEndpoint:
    """The endpoint ``pk`` among ``endpoints`` (one organization's), or 404. The page shows
    what ``_endpoints`` adds; an action needs only the row (``_own``)."""
    endpoint = endpoints.filter(pk=pk).first()
    if endpoint is None:
        raise Http404("No such webhook endpoint.")
    return endpoint


def _back(organization: Organization, pk: int | None = None) -> HttpResponse:
    response = (
        redirect("portal:webhooks", slug=organization.slug)
        if pk is None
        else redirect("portal:webhook_detail", slug=organization.slug, pk=pk)
    )
    response.status_code = 303
    return response


def _refused(request: HttpRequest, organization: Organization) -> HttpResponse | None:
    """The answer to a webhook action while staff have switched self-service off."""
    if organization.self_service_enabled:
        return None
    messages.error(request, SELF_SERVICE_OFF.format(name=organization.name))
    return _back(organization)


@sensitive_variables("secret")
@portal_view(ADMIN, ("GET", "POST"))
def webhooks(request: HttpRequest, organization: Organization) -> HttpResponse:
    """The organization's endpoints, and the form that adds one (its secret is shown once on
    the endpoint's page that follows)."""
    form = EndpointForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if refused := _refused(request, organization):
            return refused
        if form.is_valid():
            try:
                endpoint, secret = directory_services.add_endpoint(
                    organization,
                    url=form.cleaned_data["url"],
                    description=form.cleaned_data["description"],
                    actor=request.user,
                )
            except ValidationError as error:
                form.add_error("url", error)
            else:
                reveal.stash(request.session, SECRET_PURPOSE, endpoint.pk, secret)
                return _back(organization, endpoint.pk)
    return _render(
        request,
        "portal/webhookendpoint_list.html",
        organization,
        {"endpoints": [_describe(endpoint) for endpoint in _endpoints(organization)], "form": form},
        status=400 if request.method == "POST" else 200,
    )


@never_cache
@portal_view(ADMIN, ("GET",))
def webhook_detail(request: HttpRequest, organization: Organization, pk: int) -> HttpResponse:
    """One endpoint, its actions and, once, a signing secret just made for it."""
    endpoint = _describe(_endpoint(_endpoints(organization), pk))
    return _render(
        request,
        "portal/webhookendpoint_detail.html",
        organization,
        {
            "endpoint": endpoint,
            "secret": reveal.pop(request.session, SECRET_PURPOSE, endpoint.pk),
            "overlap_hours": settings.WEBHOOK_SECRET_OVERLAP_HOURS,
        },
    )


@sensitive_variables("secret")
@admin_post
def rotate_webhook_secret(
    request: HttpRequest, organization: Organization, pk: int
) -> HttpResponse:
    """A new signing secret, shown once; the current one keeps signing for the overlap."""
    if refused := _refused(request, organization):
        return refused
    endpoint = _endpoint(_own(organization), pk)
    secret = directory_services.rotate_secret(endpoint, actor=request.user)
    reveal.stash(request.session, SECRET_PURPOSE, endpoint.pk, secret)
    return _back(organization, endpoint.pk)


@admin_post
def disable_webhook(request: HttpRequest, organization: Organization, pk: int) -> HttpResponse:
    if refused := _refused(request, organization):
        return refused
    endpoint = _endpoint(_own(organization), pk)
    directory_services.disable_endpoint(endpoint, actor=request.user)
    messages.success(
        request,
        "Disabled: nothing is sent to this endpoint, and changes made meanwhile are not kept "
        "for it. What was already pending is sent when you enable it.",
    )
    return _back(organization, endpoint.pk)


@admin_post
def enable_webhook(request: HttpRequest, organization: Organization, pk: int) -> HttpResponse:
    if refused := _refused(request, organization):
        return refused
    endpoint = _endpoint(_own(organization), pk)
    directory_services.enable_endpoint(endpoint, actor=request.user)
    messages.success(request, "Enabled: what is pending is sent now, in order.")
    return _back(organization, endpoint.pk)


@admin_post
def send_test_webhook(request: HttpRequest, organization: Organization, pk: int) -> HttpResponse:
    """Send one signed ``webhook.test`` event now and say how the receiver answered."""
    if refused := _refused(request, organization):
        return refused
    endpoint = _endpoint(_own(organization), pk)
    status_code, error = directory_services.send_test_event(endpoint, actor=request.user)
    # The answer only: the URL may carry the receiver's own token, and messages go in a cookie.
    if error:
        messages.error(request, f"The test event was not delivered: {error}.")
    else:
        messages.success(
            request, f"Test event delivered: the receiver answered HTTP {status_code}."
        )
    return _back(organization, endpoint.pk)
