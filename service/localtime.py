"""Times as people read them: stored in UTC, shown in the centre's time zone."""

from __future__ import annotations

from datetime import datetime, tzinfo


def local_time(value: datetime, zone: tzinfo, fmt: str = "%d %B %Y, %H:%M") -> str:
    return value.astimezone(zone).strftime(fmt)


def day_in_words(value: datetime | None, zone: tzinfo) -> str | None:
    """The centre's calendar day: a letter opened at 00:30 BST was opened that day, not the
    day before."""
    return local_time(value, zone, "%-d %B %Y") if value is not None else None
