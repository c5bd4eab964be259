"""Durations and counts the way people read them: "9 min 41 s", "1 group", "3 groups"."""

from __future__ import annotations

from datetime import timedelta

_UNITS = [("d", 86_400), ("h", 3_600), ("min", 60), ("s", 1)]


def duration(value: timedelta | float | int | None, *, parts: int = 2) -> str:
    """``timedelta(minutes=9, seconds=41)`` → ``"9 min 41 s"``; at most ``parts`` units."""
    if value is None:
        return ""
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if seconds < 1:
        return f"{max(seconds, 0) * 1000:.0f} ms"
    remaining = int(seconds)
    shown = []
    for unit, size in _UNITS:
        amount, remaining = divmod(remaining, size)
        if amount or shown:
            shown.append(f"{amount} {unit}")
        if len(shown) == parts:
            break
    return " ".join(item for item in shown if not item.startswith("0 ")) or "0 s"


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``plural(1, "group")`` → ``"1 group"``; ``plural(3, "group")`` → ``"3 groups"``."""
    word = singular if count == 1 else (plural_form or f"{singular}s")
    return f"{count:,} {word}"
