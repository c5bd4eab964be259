"""Template filters for human durations and counted nouns (see ``portal.humanize``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.utils import timezone

from portal import humanize

register = template.Library()


@register.filter
def duration(value: timedelta | float | None) -> str:
    """``{{ cycle.duration|duration }}`` → ``9 min 41 s``."""
    return humanize.duration(value)


@register.filter
def ago(value: datetime | None) -> str:
    """``{{ event.created_at|ago }}`` → ``12 min 3 s ago``."""
    if value is None:
        return ""
    return f"{humanize.duration(timezone.now() - value)} ago"


@register.filter
def counted(count: int, nouns: str) -> str:
    """``{{ n|counted:"group" }}`` or ``{{ n|counted:"entry,entries" }}`` → ``1 group``."""
    singular, _, plural_form = nouns.partition(",")
    return humanize.plural(count or 0, singular, plural_form or None)
