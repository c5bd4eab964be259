"""The tenant admin portal: an organization's provisioning dashboard, history and directory.

Function views (healthchecks style). Every organization comes from
``access.get_organization_for_user``, so another organization's pages answer 404.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm
from django.core.exceptions import BadRequest
from django.core.paginator import Paginator
from django.db.models import Model
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.module_loading import import_string
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET

from organizations import audit
from organizations.models import AuditRecord, Organization
from scim import identity
from scim.models import GroupMembership, ScimGroup, ScimUser

from . import charts, history, people, services
from .access import (
    PASSWORD,
    VIEWER,
    get_organization_for_user,
    organizations_for_user,
    portal_view,
    remember_sign_in,
)
from .explanations import explain_failure
from .forms import EventFilterForm
from .health import organization_health, organizations_health
from .models import Operation, SetPasswordLink, SyncCycle, SyncEvent, SyncEventMember
from .serializers import csv_rows

View = Callable[..., HttpResponse]
LOGIN_URL = reverse_lazy("portal:login")


def portal_login_required(view: View) -> View:
    return login_required(view, login_url=LOGIN_URL)


# Every page here is for any member (viewer or admin); ``portal.selfservice`` holds the admin's.
with_organization = portal_view(VIEWER)


def _render(
    request: HttpRequest, template: str, organization: Organization | None, context: dict[str, Any]
) -> HttpResponse:
    base = {
        "organization": organization,
        "organizations": organizations_for_user(request),
        # Every page speaks of the organization's own identity provider ("Azure", "Okta").
        "idp": organization.identity_provider if organization is not None else None,
    }
    return render(request, template, {**base, **context})


class PortalLoginView(auth_views.LoginView):
    """The portal's password sign-in. Its form is ``PORTAL_AUTHENTICATION_FORM``: the portal sits
    below ``sso`` and never imports it, so SSO's rule (an SSO-only organization refuses the
    password) comes in through that setting."""

    template_name = "portal/login.html"
    redirect_authenticated_user = True
    next_page = reverse_lazy("portal:home")

    def get_form_class(self) -> type[AuthenticationForm]:
        return import_string(settings.PORTAL_AUTHENTICATION_FORM)

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        remember_sign_in(self.request, PASSWORD)
        return response


class PortalLogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("portal:login")


_SET_PASSWORD_SESSION_KEY = "portal_set_password_link"  # noqa: S105 (a session key name)


@never_cache
@require_GET
def set_password_link(request: HttpRequest, token: str) -> HttpResponse:
    """The one-time link staff sent: remember which link it is, then move to a page without
    the link in its URL (as Django's password reset does), so the form page's address, history
    and Referer never carry it."""
    link = services.usable_set_password_link(token)
    if link is None:
        return render(request, "portal/set_password.html", {"validlink": False}, status=404)
    request.session[_SET_PASSWORD_SESSION_KEY] = link.pk
    return redirect("portal:set_password_form")


@never_cache
@sensitive_post_parameters("new_password1", "new_password2")
def set_password_form(request: HttpRequest) -> HttpResponse:
    """A tenant admin's first password, for the link opened in this session."""
    link_id = request.session.get(_SET_PASSWORD_SESSION_KEY)
    link = (
        SetPasswordLink.objects.usable().select_related("user").filter(pk=link_id).first()
        if link_id
        else None
    )
    if link is None:
        return render(request, "portal/set_password.html", {"validlink": False}, status=404)
    form = SetPasswordForm(link.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = services.set_first_password(link.pk, form.cleaned_data["new_password1"])
        request.session.pop(_SET_PASSWORD_SESSION_KEY, None)
        if user is None:
            return render(request, "portal/set_password.html", {"validlink": False}, status=404)
        return redirect("portal:set_password_done")
    return render(request, "portal/set_password.html", {"validlink": True, "form": form})


class SetPasswordDoneView(auth_views.PasswordResetCompleteView):
    template_name = "portal/set_password_done.html"


@require_GET
def root(request: HttpRequest) -> HttpResponse:
    """``/``: Kno2 staff go to the admin, everyone else to the portal (or its sign-in)."""
    if request.user.is_authenticated and request.user.is_staff:
        return redirect("admin:index")
    return redirect("portal:home")


@portal_login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The organization switcher's target, and the list of the user's organizations."""
    if request.GET.get("org"):
        organization = get_organization_for_user(request, request.GET["org"])
        return redirect("portal:dashboard", slug=organization.slug)
    organizations = list(organizations_for_user(request))
    if len(organizations) == 1:
        return redirect("portal:dashboard", slug=organizations[0].slug)
    results = organizations_health(organizations)
    return _render(
        request,
        "portal/organization_list.html",
        None,
        {
            "overview": [(org, results[org.pk]) for org in organizations],
        },
    )


@with_organization
def dashboard(request: HttpRequest, organization: Organization) -> HttpResponse:
    now = timezone.now()
    cycles = history.recent_cycles(organization, limit=30)
    current = cycles[-1] if cycles else None
    in_progress = current is not None and now - current.last_event_at <= timedelta(
        minutes=settings.SYNC_CYCLE_IDLE_MINUTES
    )
    days = history.daily_totals(organization, since=now - timedelta(days=30))
    cycle_chart = charts.stacked_bars(
        "Requests per sync cycle",
        [f"{cycle.started_at:%m-%d %H:%M}" for cycle in cycles],
        [
            ("succeeded", "ok", [cycle.succeeded for cycle in cycles]),
            ("failed", "failed", [cycle.failures for cycle in cycles]),
        ],
    )
    day_chart = charts.stacked_bars(
        "Requests per day (30 days)",
        [f"{day['day']:%m-%d}" for day in days],
        [
            ("succeeded", "ok", [day["events"] - day["failures"] for day in days]),
            ("failed", "failed", [day["failures"] for day in days]),
        ],
    )
    return _render(
        request,
        "portal/organization_dashboard.html",
        organization,
        {
            "idp": organization.identity_provider,
            "identity_provider_change": _identity_provider_change(organization, now),
            "health": organization_health(organization, now),
            "counts": history.provisioned_counts(organization),
            "current_cycle": current,
            "cycle_in_progress": in_progress,
            "recent_cycles": [
                (cycle, _cycle_events_query(cycle)) for cycle in list(reversed(cycles))[:10]
            ],
            "cycle_chart": cycle_chart,
            "day_chart": day_chart,
            "recent_failures": list(
                history.events_for(organization, history.EventFilters(outcome="failure"))[:5]
            ),
            "active_tokens": list(organization.tokens.active(now)),
        },
    )


def _cycle_events_query(cycle: SyncCycle) -> str:
    """The event list's query string for one cycle's time range (minute resolution)."""
    since = timezone.localtime(cycle.started_at)
    until = timezone.localtime(cycle.last_event_at) + timedelta(minutes=1)
    return urlencode({"since": f"{since:%Y-%m-%dT%H:%M}", "until": f"{until:%Y-%m-%dT%H:%M}"})


def _filters_from(request: HttpRequest) -> tuple[EventFilterForm, history.EventFilters]:
    form = EventFilterForm(request.GET or None)
    filters = form.filters() if request.GET else history.EventFilters()
    return form, filters


@with_organization
def event_list(request: HttpRequest, organization: Organization) -> HttpResponse:
    form, filters = _filters_from(request)
    page = history.page_of(
        history.events_for(organization, filters),
        size=settings.PORTAL_PAGE_SIZE,
        before=request.GET.get("before", ""),
        after=request.GET.get("after", ""),
    )
    query = request.GET.copy()
    for key in ("before", "after"):
        query.pop(key, None)
    return _render(
        request,
        "portal/syncevent_list.html",
        organization,
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
        },
    )


IDENTITY_PROVIDER_CHANGE_SHOWN_DAYS = 30


def _identity_provider_change(organization: Organization, now: datetime) -> AuditRecord | None:
    """The organization's latest identity-provider change of the last 30 days, when it ended
    the trust of the previous one (single sign-on switched off, a federation revoked): the
    customer must act on it, so the dashboard says so. One query."""
    record = (
        AuditRecord.objects.filter(
            organization=organization,
            action__in=[audit.ISSUER_SET, audit.ISSUER_CLEARED],
            created_at__gte=now - timedelta(days=IDENTITY_PROVIDER_CHANGE_SHOWN_DAYS),
        )
        .only("created_at", "detail")
        .first()
    )
    if record is None or not record.detail.get("trust_ended"):
        return None
    return record


@with_organization
def event_detail(request: HttpRequest, organization: Organization, pk: int) -> HttpResponse:
    event = SyncEvent.objects.for_organization(organization).filter(pk=pk).first()
    if event is None:
        raise Http404("No such event.")
    fix = (
        ""
        if event.succeeded
        else explain_failure(
            operation=event.operation,
            status_code=event.status_code,
            error_type=event.error_type,
            error_detail=event.error_detail,
            subject=event.subject,
            idp_kind=organization.idp_kind,
        )
    )
    return _render(
        request,
        "portal/syncevent_detail.html",
        organization,
        {
            "event": event,
            "fix": fix,
            "members": _named_members(organization, event),
        },
    )


MEMBERS_SHOWN = 100


def _named_members(organization: Organization, event: SyncEvent) -> dict[str, list]:
    """The members a membership change named, by change, with their userNames (2 queries)."""
    rows = list(SyncEventMember.objects.filter(event=event).order_by("id")[:MEMBERS_SHOWN])
    ids = {row.member_id for row in rows}
    valid = [value for value in ids if people.is_uuid(value)]
    names = (
        {
            str(scim_id): user_name
            for scim_id, user_name in ScimUser.objects.filter(
                organization=organization, scim_id__in=valid
            ).values_list("scim_id", "user_name")
        }
        if valid
        else {}
    )
    named: dict[str, list] = {}
    for row in rows:
        named.setdefault(row.change, []).append((row.member_id, names.get(row.member_id, "")))
    return named


class _Echo:
    def write(self, value: str) -> str:
        return value


@with_organization
def event_csv(request: HttpRequest, organization: Organization) -> StreamingHttpResponse:
    """Every event matching the list's filters, streamed, so a large export never sits in memory."""
    _, filters = _filters_from(request)
    events = history.events_for(organization, filters).iterator(chunk_size=2000)
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in csv_rows(events)), content_type="text/csv"
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = (
        f'attachment; filename="sync-history-{organization.slug}-{stamp}.csv"'
    )
    return response


def _directory(
    request: HttpRequest, organization: Organization, model: type[Model], order: str, template: str
) -> HttpResponse:
    """A page of the organization's provisioned users or groups, searchable by name."""
    search = request.GET.get("q", "").strip()
    if "\x00" in search:
        raise BadRequest("A search cannot contain a NUL character.")
    rows = model.objects.filter(organization=organization).order_by(order)
    if search:
        rows = rows.filter(**{f"{order}__icontains": search})
    page = Paginator(rows, settings.PORTAL_PAGE_SIZE).get_page(request.GET.get("page"))
    return _render(request, template, organization, {"page": page, "search": search})


@with_organization
def user_list(request: HttpRequest, organization: Organization) -> HttpResponse:
    return _directory(request, organization, ScimUser, "user_name", "portal/scimuser_list.html")


@with_organization
def group_list(request: HttpRequest, organization: Organization) -> HttpResponse:
    return _directory(
        request, organization, ScimGroup, "display_name", "portal/scimgroup_list.html"
    )


def _find_resource(organization: Organization, model_name: str, key: str) -> Any:
    """The user or group ``key`` names: its SCIM id (what the portal's own links carry, one
    indexed query), else its userName or displayName by the identity rule."""
    model = ScimUser if model_name == "ScimUser" else ScimGroup
    try:
        scim_id = uuid.UUID(key)
    except ValueError:
        scim_id = None
    if scim_id is not None:
        found = model.objects.filter(organization=organization, scim_id=scim_id).first()
        if found is not None:
            return found
    if model is ScimUser:
        return identity.users_named(organization, key).first()
    return identity.group_named(organization, key)


def _group_page(request: HttpRequest, organization: Organization, key: str) -> HttpResponse:
    if "\x00" in key:
        # No displayName or id holds one (PostgreSQL cannot even store it).
        raise Http404("Nothing is known about this group here.")
    resource = _find_resource(organization, "ScimGroup", key)
    if resource is not None:
        resource_id, name = str(resource.scim_id), resource.display_name
    else:
        resource_id, name = key, key
        named = (
            SyncEvent.objects.for_organization(organization)
            .filter(resource_type="Group", resource_id=key)
            .exclude(subject="")
            .order_by("-created_at")
            .first()
        )
        if named is not None:
            name = named.subject
    events = history.resource_timeline(organization, "Group", resource_id, name)
    page = history.page_of(
        events,
        size=settings.PORTAL_PAGE_SIZE,
        before=request.GET.get("before", ""),
        after=request.GET.get("after", ""),
    )
    if resource is None and not page.events:
        raise Http404("Nothing is known about this group here.")
    # A partial failure: the latest member change Azure sent for this group was refused, so the
    # members shown are not what Azure sent until its retry succeeds.
    last_member_change = (
        SyncEvent.objects.for_organization(organization)
        .filter(
            resource_type="Group",
            resource_id=resource_id,
            operation__in=[Operation.UPDATE_MEMBERS, Operation.UPDATE_GROUP],
        )
        .order_by("-created_at", "-id")
        .first()
    )
    refused_member_change = (
        last_member_change
        if last_member_change is not None and not last_member_change.succeeded
        else None
    )
    members = None
    if resource is not None:
        members = Paginator(
            GroupMembership.objects.filter(group=resource)
            .select_related("user")
            .only("user__user_name", "user__scim_id", "user__active", "user__display_name")
            .order_by("user__user_name", "user_id"),
            settings.PORTAL_PAGE_SIZE,
        ).get_page(request.GET.get("members_page"))
    return _render(
        request,
        "portal/resource_timeline.html",
        organization,
        {
            "resource": resource,
            "resource_type": "Group",
            "resource_id": resource_id,
            "name": name,
            "page": page,
            "members": members,
            "refused_member_change": refused_member_change,
            "query": "",
        },
    )


def _never_sent(
    request: HttpRequest, organization: Organization, name: str, status: int = 200
) -> HttpResponse:
    response = _render(
        request,
        "portal/person_never_sent.html",
        organization,
        {
            "name": name,
            "find_query": name,
        },
    )
    response.status_code = status
    return response


@with_organization
def find_user(request: HttpRequest, organization: Organization) -> HttpResponse:
    """ "Find a user": a userName, email or externalId in any case opens that person's page."""
    text = request.GET.get("q", "").strip()
    if "\x00" in text:
        return HttpResponseBadRequest("A name cannot contain a NUL character.")
    text = text[:300]
    if not text:
        return redirect("portal:user_list", slug=organization.slug)
    found = people.matches(organization, text)
    if len(found) == 1:
        return redirect("portal:user_timeline", slug=organization.slug, key=str(found[0].scim_id))
    if found:
        return _render(
            request,
            "portal/person_choose.html",
            organization,
            {
                "name": text,
                "find_query": text,
                "matches": found[: people.MATCHES_SHOWN],
                "more": len(found) > people.MATCHES_SHOWN,
            },
        )
    person = people.person_for(organization, user=None, name=text)
    if person.state == people.NEVER_SENT:
        return _never_sent(request, organization, text)
    return redirect("portal:user_timeline", slug=organization.slug, key=text)


def _user_for_key(organization: Organization, key: str) -> ScimUser | None:
    if people.is_uuid(key):
        found = ScimUser.objects.filter(organization=organization, scim_id=key).first()
        if found is not None:
            return found
    found = people.matches(organization, key)
    return found[0] if len(found) == 1 else None


@with_organization
def user_timeline(request: HttpRequest, organization: Organization, key: str) -> HttpResponse:
    """One person's page: state, attributes as Azure sent them, groups, and every event."""
    if "\x00" in key:
        # No userName, email or id holds one (PostgreSQL cannot even store it).
        raise Http404("Nothing is known about this user here.")
    user = _user_for_key(organization, key)
    person = people.person_for(organization, user=user, name=key)
    page = history.page_of(
        people.person_events(organization, person),
        size=settings.PORTAL_PAGE_SIZE,
        before=request.GET.get("before", ""),
        after=request.GET.get("after", ""),
    )
    if user is None and person.state == people.NEVER_SENT and not page.events:
        return _never_sent(request, organization, key, status=404)
    return _render(
        request,
        "portal/person_detail.html",
        organization,
        {
            "person": person,
            "resource": user,
            "name": person.name,
            "page": page,
            "query": "",
            "deactivation": person.state_event if person.state == people.DEACTIVATED else None,
        },
    )


@with_organization
def group_timeline(request: HttpRequest, organization: Organization, key: str) -> HttpResponse:
    return _group_page(request, organization, key)
