"""An iCalendar (RFC 5545) file for a booked call, the one attachment an e-mail may carry.

It holds exactly what the e-mail already says: the window, the centre's name and the join
link (a path on our own site, checked by ``service.notify``). Nothing about the child or the
family: the values are typed, there is no free text to put a name in.

One event per call, with the call's id in its ``UID`` and its version as ``SEQUENCE``, so a
calendar updates the same entry when the call is moved and marks it cancelled when it is.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

PRODUCT = "-//Letterbox//Video calls//EN"
FILENAME = "video-call.ics"


@dataclass(frozen=True)
class CalendarEvent:
    """A call as a calendar entry. ``link`` must be a link on this site (notify checks it)."""

    call_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    link: str
    sequence: int = 0
    cancelled: bool = False


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _text(value: str) -> str:
    # RFC 5545 3.3.11: backslash, semicolon, comma and line breaks are escaped in TEXT.
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def _fold(line: str) -> bytes:
    """RFC 5545 3.1: lines longer than 75 octets continue on the next line after a space,
    split between characters, never inside one."""
    out = bytearray()
    width = 0
    for char in line:
        encoded = char.encode()
        if width + len(encoded) > 75:
            out += b"\r\n "
            width = 1
        out += encoded
        width += len(encoded)
    return bytes(out) + b"\r\n"


def render(event: CalendarEvent, *, centre_name: str, now: datetime | None = None) -> bytes:
    """The ``.ics`` bytes (UTF-8, CRLF lines) for ``event``."""
    host = urlsplit(event.link).hostname or "letterbox.invalid"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODUCT}",
        "CALSCALE:GREGORIAN",
        # PUBLISH: an entry to keep, not a meeting request to answer.
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:call-{event.call_id}@{host}",
        f"SEQUENCE:{event.sequence}",
        f"DTSTAMP:{_utc(now or datetime.now(UTC))}",
        f"DTSTART:{_utc(event.starts_at)}",
        f"DTEND:{_utc(event.ends_at)}",
        f"SUMMARY:{_text(f'Video call with {centre_name}')}",
        f"DESCRIPTION:{_text(f'Sign in a few minutes before to join: {event.link}')}",
        f"LOCATION:{_text(event.link)}",
        f"URL:{event.link}",
        f"STATUS:{'CANCELLED' if event.cancelled else 'CONFIRMED'}",
        "TRANSP:OPAQUE",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return b"".join(_fold(line) for line in lines)
