"""Times as people read them: stored in UTC, shown in the centre's time zone."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, tzinfo
from functools import cache, lru_cache

from babel import Locale

from service.i18n.context import current_language

_NAMED = re.compile(r"%[aAbB]")


@cache
def _names(language: str) -> dict[str, tuple[str, ...]]:
    """Day and month names in ``language`` (Babel's CLDR data), Monday and January first."""
    locale = Locale.parse(language)
    days, months = locale.days["format"], locale.months["format"]
    return {
        "%A": tuple(days["wide"][i] for i in range(7)),
        "%a": tuple(days["abbreviated"][i] for i in range(7)),
        "%B": tuple(months["wide"][i] for i in range(1, 13)),
        "%b": tuple(months["abbreviated"][i] for i in range(1, 13)),
    }


def local_time(value: datetime, zone: tzinfo, fmt: str = "%d %B %Y, %H:%M") -> str:
    """``value`` in the centre's zone; day and month names in the reader's language."""
    return named_in_language(value.astimezone(zone), fmt)


def named_in_language(local: date | datetime, fmt: str) -> str:
    """``local.strftime(fmt)`` with day and month names in the current language."""
    return _named_in(local, fmt, current_language())


def _named_in(local: date | datetime, fmt: str, language: str) -> str:
    if language != "en" and _NAMED.search(fmt):
        names = _names(language)

        def name(match: re.Match[str]) -> str:
            index = local.weekday() if match.group() in ("%A", "%a") else local.month - 1
            return names[match.group()][index].replace("%", "%%")

        fmt = _NAMED.sub(name, fmt)
    return local.strftime(fmt)


def day_in_words(value: datetime | None, zone: tzinfo) -> str | None:
    """The centre's calendar day: a letter opened at 00:30 BST was opened that day, not the
    day before."""
    if value is None:
        return None
    return _day_words(value.astimezone(zone).date(), current_language())


# A list of letters names the same few days again and again (the parent's letterbox: two
# a letter); a day's words in a language never change.
@lru_cache(maxsize=1024)
def _day_words(day: date, language: str) -> str:
    return _named_in(day, "%-d %B %Y", language)


def local_day(day: date, fmt: str = "%-d %B %Y") -> str:
    """A calendar day (no time, no zone: a due date, a plan's start) in the reader's language:
    ``{{ plan.starts_on|day }}``."""
    return local_time(datetime.combine(day, time(12), tzinfo=UTC), UTC, fmt)
