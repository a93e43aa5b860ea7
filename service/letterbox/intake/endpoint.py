"""The upload handlers' whole job: claim the idempotency key, read the upload, submit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from service.appkeys import SETTINGS
from service.http.access import Actor
from service.letterbox.intake.idempotency import (
    Idempotency,
    Replay,
    claim_idempotency_key,
    release_idempotency_key,
    replay_of,
)
from service.letterbox.intake.pipeline import submit
from service.letterbox.intake.storing import NewItem
from service.letterbox.intake.upload import Submission, read_submission, sanitiser_limits


async def submit_from_request(
    request: web.Request,
    actor: Actor,
    new: NewItem,
    submission_fields: frozenset[str] = frozenset(),
    prepare: Callable[[Submission], Awaitable[NewItem]] | None = None,
) -> tuple[int, dict[str, Any]]:
    """Idempotency, streaming read, intake; the status and body of the answer. Refusals are
    domain errors (IntakeRefused among them), answered by the error middleware. ``prepare``
    completes ``new`` from the form once it is read (a resent letter's kept pictures)."""
    limits = sanitiser_limits(request.app[SETTINGS])
    key = request.headers.get("Idempotency-Key")
    previous = await claim_idempotency_key(request, actor, key) if key is not None else None
    if isinstance(previous, Replay):  # pragma: no cover - claim never returns a Replay
        return previous.status, previous.body
    try:
        submission = await read_submission(request, limits, fields=submission_fields)
        if previous is not None:
            replay = replay_of(previous, submission.fingerprint())
            return replay.status, replay.body
        idempotency = Idempotency(key, submission.fingerprint()) if key is not None else None
        if prepare is not None:
            new = await prepare(submission)
        return 201, await submit(request.app, actor, new, submission, idempotency)
    except Exception:
        # Refused or failed: the key is given back, so the sender can retry.
        if key is not None and previous is None:
            await release_idempotency_key(request, actor, key)
        raise
