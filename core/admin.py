"""Admin building blocks every app's admin shares. Core registers no model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import URLPattern, path, reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.debug import sensitive_variables

from . import reveal
from .staffsession import second_factor_recently_verified

if TYPE_CHECKING:
    _ModelAdmin = admin.ModelAdmin
else:
    _ModelAdmin = object


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by services: staff may look, never add, edit or delete."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RevealOnceMixin(_ModelAdmin):
    """A page that shows a row's new secret once, through ``core.reveal``.

    Adding a row (which makes its secret) and the reveal page ask for the second factor again
    when it is stale (``core.staffsession``).

    The view that makes the secret calls ``stash_secret`` and redirects to ``reveal_url``; the
    page pops the secret from the session, so a reload shows it no more, and it never travels
    in a message (whose cookie anyone who sees it can read). Subclasses name their
    ``reveal_purpose`` and may add to the page's context (``reveal_context``) or use a
    template of their own.
    """

    reveal_purpose: str = ""
    reveal_template = "admin/core/secret_reveal.html"
    reveal_noun = "secret"

    def get_urls(self) -> list[URLPattern]:
        opts = self.model._meta
        return [
            path(
                "<int:pk>/secret/",
                self.admin_site.admin_view(self.reveal_view),
                name=f"{opts.app_label}_{opts.model_name}_secret",
            ),
            *super().get_urls(),
        ]

    @sensitive_variables("plaintext")
    def stash_secret(self, request: HttpRequest, obj: models.Model, plaintext: str) -> None:
        reveal.stash(request.session, self.reveal_purpose, obj.pk, plaintext)

    def reveal_url(self, obj: models.Model) -> str:
        opts = self.model._meta
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_secret", args=[obj.pk])

    def reveal_context(self, request: HttpRequest, obj: models.Model) -> dict[str, Any]:
        return {}

    @second_factor_recently_verified
    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        """Adding a row makes its secret: the second factor must be fresh, as for the reveal."""
        return super().add_view(request, form_url, extra_context)

    @second_factor_recently_verified
    @sensitive_variables("plaintext")
    def reveal_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        obj = get_object_or_404(self.model, pk=pk)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        plaintext = reveal.pop(request.session, self.reveal_purpose, obj.pk)
        opts = self.model._meta
        response = render(
            request,
            self.reveal_template,
            {
                **self.admin_site.each_context(request),
                "opts": opts,
                "object": obj,
                "plaintext": plaintext,
                "noun": self.reveal_noun,
                "title": f"{opts.verbose_name.capitalize()}: new {self.reveal_noun}",
                "change_url": reverse(
                    f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]
                ),
                **self.reveal_context(request, obj),
            },
        )
        patch_cache_control(
            response, no_store=True, no_cache=True, must_revalidate=True, private=True, max_age=0
        )
        return response
