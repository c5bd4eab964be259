"""Forms of the tenant admin portal."""

from __future__ import annotations

from datetime import UTC, datetime

from django import forms

from scim.calls import Operation

from .history import EventFilters


class EventFilterForm(forms.Form):
    """The event list's filters; the same query string drives the CSV export."""

    operation = forms.ChoiceField(
        required=False, choices=[("", "Any operation"), *Operation.choices]
    )
    outcome = forms.ChoiceField(
        required=False,
        choices=[("", "Any outcome"), ("success", "Succeeded"), ("failure", "Failed")],
    )
    user = forms.CharField(
        required=False,
        max_length=300,
        label="User or group",
        help_text="A userName, group name or SCIM id.",
    )
    since = forms.DateTimeField(
        required=False,
        label="From",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )
    until = forms.DateTimeField(
        required=False,
        label="Until",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )

    def _clean_moment(self, name: str) -> datetime | None:
        """In UTC: PostgreSQL refuses offsets past ±15:59, and one past year 9999 overflows."""
        moment = self.cleaned_data.get(name)
        if moment is None:
            return None
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError("Out of range.") from None

    def clean_since(self) -> datetime | None:
        return self._clean_moment("since")

    def clean_until(self) -> datetime | None:
        return self._clean_moment("until")

    def filters(self) -> EventFilters:
        """The valid filters; an invalid field is ignored rather than failing the page."""
        self.is_valid()
        data = self.cleaned_data  # holds only the fields that validated
        return EventFilters(
            operation=data.get("operation") or "",
            outcome=data.get("outcome") or "",
            user=(data.get("user") or "").strip(),
            since=data.get("since"),
            until=data.get("until"),
        )
