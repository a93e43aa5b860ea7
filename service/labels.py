"""The words pages show for stored states and kinds (a family's status, a role, a level).

The database keeps short codes ("active", "supervised"); a page used to show them with
``|capitalize``, which no catalogue can translate. Each code has its word here, marked with
``N_``, and the ``label`` filter shows it in the reader's language. A code without a word
here (a new state) still shows, capitalised in English, rather than breaking the page.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Final

from service.i18n import N_, Message, gettext

LABELS: Final[dict[str, Message]] = {
    # Families and accounts
    "active": N_("Active"),
    "paused": N_("Paused"),
    "closed": N_("Closed"),
    "invited": N_("Invited"),
    "disabled": N_("Disabled"),
    # Contact levels
    "supported": N_("Supported"),
    "supervised": N_("Supervised"),
    # Roles
    "admin": N_("Admin"),
    "staff": N_("Staff"),
    "supervisor": N_("Supervisor"),
    "parent": N_("Parent"),
    "referrer": N_("Referrer"),
    "interpreter": N_("Interpreter"),
    "child": N_("Child"),
    # Referrals
    "received": N_("Received"),
    "accepted": N_("Accepted"),
    "declined": N_("Declined"),
    # Calls
    "scheduled": N_("Scheduled"),
    "live": N_("Live"),
    "ended": N_("Ended"),
    "cancelled": N_("Cancelled"),
}

# A family's level as a phrase of its own: "Supported contact", never "Supported" + "contact".
CONTACT_LEVELS: Final[dict[str, Message]] = {
    "supported": N_("Supported contact"),
    "supervised": N_("Supervised contact"),
}

# The ways of keeping in touch, as they are listed in a sentence ("Letters, photos, gifts").
CHANNELS: Final[dict[str, Message]] = {
    "letters": N_("letters"),
    "photos": N_("photos"),
    "gifts": N_("gifts"),
    "video": N_("video"),
}


def _code(value: object) -> str:
    return str(value.value) if isinstance(value, enum.Enum) else str(value)


def label(value: object) -> str:
    """``{{ family.status|label }}``: the state's word in the reader's language."""
    code = _code(value)
    word = LABELS.get(code)
    return gettext(word) if word is not None else code.replace("_", " ").capitalize()


def contact_level(value: object) -> str:
    """``{{ family.contact_level|contact_level }}``: "Supported contact" as one phrase."""
    code = _code(value)
    words = CONTACT_LEVELS.get(code)
    return gettext(words) if words is not None else f"{code.capitalize()} contact"


def channel_list(values: object) -> str:
    """``{{ family.channels|channel_list }}``: "Letters, photos, gifts", "" for none."""
    codes = [_code(value) for value in values] if isinstance(values, Iterable) else []
    text = ", ".join(gettext(CHANNELS[c]) if c in CHANNELS else c for c in codes)
    return text[:1].upper() + text[1:]


# What an item is, with whom it goes to, as one heading ("Letter to the child").
_ITEM_HEADINGS: Final[dict[tuple[str, str], Message]] = {
    ("letter", "to_child"): N_("Letter to the child"),
    ("letter", "to_parent"): N_("Letter to the parent"),
    ("reply", "to_child"): N_("Reply to the child"),
    ("reply", "to_parent"): N_("Reply to the parent"),
    ("digital_gift", "to_child"): N_("Digital gift to the child"),
    ("digital_gift", "to_parent"): N_("Digital gift to the parent"),
}


def item_heading(kind: object, direction: object) -> str:
    """``{{ item_heading(item.kind, item.direction) }}`` for the moderator's pages."""
    key = (_code(kind), _code(direction))
    words = _ITEM_HEADINGS.get(key)
    if words is not None:
        return gettext(words)
    return f"{key[0].replace('_', ' ').capitalize()} {key[1].replace('_', ' ')}"


FILTERS: Final = {"label": label, "contact_level": contact_level, "channel_list": channel_list}
GLOBALS: Final = {"item_heading": item_heading}
