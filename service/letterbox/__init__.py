"""The letterbox: intake (sanitiser, scanner, clamd), moderation, opening sessions, replies,
physical gifts and the parent's view.

Other capabilities use the letterbox only through these names: ``family_conversation`` and
``ConversationEntry`` (a parent's sent items and delivered replies for one family, newest
first); ``load_draft`` and ``Draft`` (the letter a parent is writing to a family);
``withhold_item(session, item_id, now)`` (hold an item back at once for a safeguarding
concern, in the caller's recorded transaction: back to "in review", no moderator may decide
on it; returns its family) and ``release_item(session, item_id)`` (let moderators decide on
it again); ``queue_summary`` and ``QueueSummary`` (how many items wait, how many are past the
centre's target, the oldest: for the home pages); for a copy that leaves the centre (subject
access), ``held_text`` (an item's words as the centre holds them), ``child_observation_notes``
(what staff wrote at a child's sessions and calls), ``family_sensitive_terms``,
``personal_spans`` and ``PersonalSpan`` (other people's names and contact details in a text,
found by the scanner), ``black_out`` and ``BLACKED_OUT`` (the redaction's one fixed block)."""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

from service.letterbox.conversation import ConversationEntry, family_conversation
from service.letterbox.disclosure import (
    BLACKED_OUT,
    PersonalSpan,
    black_out,
    child_observation_notes,
    family_sensitive_terms,
    held_text,
    personal_spans,
)
from service.letterbox.drafts import Draft
from service.letterbox.drafts import load as load_draft
from service.letterbox.holds import release_item, withhold_item
from service.letterbox.queue import QueueSummary, queue_summary
from service.typedefs import CleanupContext

__all__ = [
    "BLACKED_OUT",
    "ConversationEntry",
    "Draft",
    "PersonalSpan",
    "QueueSummary",
    "black_out",
    "child_observation_notes",
    "cleanup_contexts",
    "family_conversation",
    "family_sensitive_terms",
    "held_text",
    "load_draft",
    "personal_spans",
    "queue_summary",
    "release_item",
    "setup",
    "withhold_item",
]


def setup(app: web.Application) -> None:
    # Imported here, not at module import: nothing happens at import time of the package.
    from service.appkeys import INTAKE_BEFORE_COMMIT, LANGUAGE_DETECTOR
    from service.letterbox import faulttest, views
    from service.letterbox.language import LanguageDetector

    app[INTAKE_BEFORE_COMMIT] = []
    app[LANGUAGE_DETECTOR] = LanguageDetector()
    # Does nothing unless the settings name a fault test's pause (test mode only).
    faulttest.install(app)
    views.setup(app)


def cleanup_contexts() -> Sequence[CleanupContext]:
    from service.background import periodic
    from service.letterbox.intake import sanitiser_pool_ctx
    from service.letterbox.queue import LATE_CHECK_SECONDS, late_items_job

    # Uploads are sanitised and images redacted in killable worker processes, never on the
    # event loop (service.letterbox.workers); staff told of items waiting past the target.
    return (
        sanitiser_pool_ctx,
        periodic("late items", lambda app: LATE_CHECK_SECONDS, late_items_job),
    )
