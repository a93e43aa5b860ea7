"""The intake pipeline: a letter, reply or digital gift is checked, screened and stored in
review. Each step is a module of this package; ``submit`` is the list of them."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from service.appkeys import INTAKE_BEFORE_COMMIT, SESSIONMAKER, SETTINGS
from service.errors import Conflict, Invalid
from service.http.access import Actor
from service.i18n import N_, _
from service.letterbox import sanitise as sanitiser
from service.letterbox.intake.idempotency import Idempotency, remember_answer
from service.letterbox.intake.screening import screen
from service.letterbox.intake.storing import NewItem, store
from service.letterbox.intake.upload import Submission, sanitiser_limits
from service.plan import beyond_plan
from service.services import Services
from storage.models import Channel, Direction, Family, FamilyStatus, ItemKind


async def submit(
    app: web.Application,
    actor: Actor,
    new: NewItem,
    submission: Submission,
    idempotency: Idempotency | None = None,
) -> dict[str, Any]:
    """Sanitise, scan and store a submission as a new item in review; return its summary."""
    if new.kept_files:
        submission = Submission(
            submission.text, [*new.kept_files, *submission.files], submission.fields
        )
    check_contents(app, submission)
    await check_family_takes(app, new, submission)
    letter = await screen(app, actor, new.family_id, submission.text, submission.files)
    note = await _beyond_plan(app, new)
    async with Services.of(app).transaction(actor) as work:
        summary = await store(app, work, actor.user_id, new, letter)
        if note is not None:
            # More than the contact plan allows: stored and in review like any item (staff
            # decide), recorded as such, and the sender told plainly.
            await work.record(new.family_id, "item_beyond_plan", {"item_id": summary["item_id"]})
            summary["plan_note"] = note
        await remember_answer(work, actor, idempotency, summary)
        await before_commit(app)
    return summary


def check_contents(app: web.Application, submission: Submission) -> None:
    """Something to send, within the limits (the upload reader checked them as the bytes came;
    a submission built another way is checked here)."""
    if not submission.text.strip() and not submission.files:
        raise Invalid("Please write something or attach a photo before sending.", field="text")
    limits = sanitiser_limits(app[SETTINGS])
    sanitiser.check_text_length(submission.text, limits)
    sanitiser.check_file_count(len(submission.files), limits)


async def check_family_takes(app: web.Application, new: NewItem, submission: Submission) -> None:
    """The family exists, is active, and its contact includes what is sent."""
    async with app[SESSIONMAKER]() as session:
        family = await session.get(Family, new.family_id)
    if family is None:
        raise Invalid("That family does not exist.")
    if family.status is not FamilyStatus.ACTIVE:
        raise Conflict(
            "Letters for this family are paused at the moment. The centre will tell you when "
            "you can send again.",
            code="family_not_active",
        )
    if new.direction is Direction.TO_CHILD:
        channels = set(family.channels or [])
        needed, refusal = (
            (Channel.GIFTS, N_("This family's contact does not include gifts."))
            if new.kind is ItemKind.DIGITAL_GIFT
            else (Channel.LETTERS, N_("This family's contact does not include letters."))
        )
        if needed.value not in channels:
            raise Invalid(_(refusal))
        if submission.files and Channel.PHOTOS.value not in channels:
            raise Invalid(
                "This family's contact does not include photos or documents. Please send the "
                "letter without attachments.",
                field="files",
            )


async def _beyond_plan(app: web.Application, new: NewItem) -> str | None:
    if new.direction is not Direction.TO_CHILD or new.kind is ItemKind.REPLY:
        return None
    channel = "gifts" if new.kind is ItemKind.DIGITAL_GIFT else "letters"
    return await beyond_plan(Services.of(app), new.family_id, channel)


async def before_commit(app: web.Application) -> None:
    """Hooks installed from outside (fault tests: service.letterbox.faulttest) run with every
    object stored and the transaction not yet committed. None are installed in production."""
    for hook in app.get(INTAKE_BEFORE_COMMIT, ()):
        await hook()
