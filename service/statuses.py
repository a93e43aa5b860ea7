"""The words a parent reads for the state of what they sent, and of a call: defined once.

Every page, e-mail and the JSON API take a parent-facing status from here, so one state has
one name everywhere. A parent's vocabulary never says what staff do with an item: anything
not plainly approved, returned, not passed on or opened (waiting for a moderator, a second
moderator, a safeguarding lead, or held over the contact plan's frequency) reads "Being
checked". A state this module does not know reads "Being checked" too: an unknown state
fails closed, it never leaks a staff word.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from service.i18n import N_
from storage.models import CallStatus, ItemStatus


class ParentStatus(enum.StrEnum):
    BEING_CHECKED = "being_checked"
    APPROVED = "approved"
    OPENED = "opened"
    RETURNED = "returned"
    NOT_PASSED_ON = "not_passed_on"


@dataclass(frozen=True)
class Wording:
    words: str
    """The status as a parent reads it, e.g. "Being checked"."""
    meaning: str
    """One plain sentence saying what it means for them."""
    tone: str
    """How pages colour it: "", "warn", "ok" or "bad"."""


PARENT_WORDS: Final[dict[ParentStatus, Wording]] = {
    ParentStatus.BEING_CHECKED: Wording(
        N_("Being checked"),
        N_(
            "The centre checks everything before your child gets it. You do not need to do anything."
        ),
        "warn",
    ),
    ParentStatus.APPROVED: Wording(
        N_("Approved"),
        N_("It is checked. Your child gets it at their next visit."),
        "ok",
    ),
    ParentStatus.OPENED: Wording(N_("Opened"), N_("Your child has opened it."), "ok"),
    ParentStatus.RETURNED: Wording(
        N_("Returned to you"),
        N_("The centre sent it back with a message. You can change it and send it again."),
        "bad",
    ),
    ParentStatus.NOT_PASSED_ON: Wording(
        N_("Not passed on"),
        N_("The centre will not give it to your child. Ask the centre if you want to know why."),
        "bad",
    ),
}

# A delivered reply in the parent's conversation: theirs to read, not a state to follow.
REPLY_WORDS: Final = Wording(N_("New reply"), N_("Your child wrote back. Tap to read it."), "ok")

_FROM_ITEM: Final[dict[ItemStatus, ParentStatus]] = {
    ItemStatus.APPROVED: ParentStatus.APPROVED,
    ItemStatus.OPENED: ParentStatus.OPENED,
    ItemStatus.RETURNED: ParentStatus.RETURNED,
    ItemStatus.REJECTED: ParentStatus.NOT_PASSED_ON,
}


def parent_status(status: ItemStatus | str) -> ParentStatus:
    """What a parent is told about an item in ``status``; anything else is "Being checked"."""
    if not isinstance(status, ItemStatus):  # a stored row's status already is one
        try:
            status = ItemStatus(status)
        except ValueError:
            return ParentStatus.BEING_CHECKED
    return _FROM_ITEM.get(status, ParentStatus.BEING_CHECKED)


def parent_words(status: ItemStatus | str) -> Wording:
    return PARENT_WORDS[parent_status(status)]


class CallState(enum.StrEnum):
    """A call as a parent sees it on "My calls" and the home page."""

    BOOKED = "booked"
    JOIN_NOW = "join_now"
    IN_PROGRESS = "in_progress"
    TOOK_PLACE = "took_place"
    MISSED = "missed"
    CANCELLED = "cancelled"


CALL_WORDS: Final[dict[CallState, str]] = {
    CallState.BOOKED: N_("Booked"),
    CallState.JOIN_NOW: N_("You can join now"),
    CallState.IN_PROGRESS: N_("In progress"),
    CallState.TOOK_PLACE: N_("Took place"),
    CallState.MISSED: N_("Did not take place"),
    CallState.CANCELLED: N_("Cancelled"),
}


def call_state(
    status: CallStatus, *, joinable: bool, window_over: bool, took_place: bool
) -> CallState:
    """The parent's word for a call: by its stored status and where now is in its window."""
    if status is CallStatus.CANCELLED:
        return CallState.CANCELLED
    if status is CallStatus.ENDED or window_over:
        return CallState.TOOK_PLACE if took_place else CallState.MISSED
    if status is CallStatus.LIVE:
        return CallState.IN_PROGRESS
    return CallState.JOIN_NOW if joinable else CallState.BOOKED
