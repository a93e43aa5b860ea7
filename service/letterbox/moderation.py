"""Moderation: staff look at every item in review and decide what, exactly, is delivered.

Approving makes the delivered copies: new encrypted objects (text with redacted spans as a
visible block, pictures with boxes filled solid); the original and the sanitised copy stay
sealed for the record. A family can require a second, different moderator to confirm. Two
moderators deciding at once: the item row is locked and its version compared, so exactly one
wins and the other gets a Conflict that says what happened.

Separation of duties: nobody approves or confirms an item they typed themselves (staff type
the child's replies). If a second moderator returns or rejects an item that was first
approved, the delivered copies made at the first approval are withdrawn — rows in the same
transaction, objects right after the commit — so nothing undeliverable stays stored; an
object whose deletion fails has no row left and the reconciler removes it as an orphan.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from service.appkeys import KEYRING, MAILER, SANITISER_POOL, SESSIONMAKER, SETTINGS, VAULT
from service.errors import Conflict, Forbidden, Invalid, NotFound
from service.http.access import Actor
from service.i18n import _
from service.letterbox import claims, flags
from service.letterbox.intake import LANGUAGE_PURPOSE, READ_TEXT_PURPOSE, sensitive_terms
from service.letterbox.language import Language, language_of_code
from service.letterbox.redaction import Box, Span, fill_boxes, parse_boxes, parse_spans, redact_text
from service.letterbox.scanner import category_label
from service.localtime import local_time
from service.notify import KINDS
from service.services import Services
from storage.children import open_child
from storage.models import (
    Child,
    Decision,
    Direction,
    Family,
    FamilySender,
    Item,
    ItemPart,
    ItemStatus,
    ModerationDecision,
    ObjectRole,
    PartKind,
    StoredObject,
    User,
)
from storage.record import RecordedWork, Sealed

log = logging.getLogger(__name__)

REVIEWABLE = frozenset({ItemStatus.IN_REVIEW, ItemStatus.AWAITING_SECOND_APPROVAL})
RETURN_PURPOSE = "return-message"
REASON_PURPOSE = "moderation-reason"
MAX_MESSAGE_CHARS = 2000

APPROVALS = frozenset({Decision.APPROVE, Decision.APPROVE_WITH_REDACTIONS, Decision.CONFIRM})
OWN_ITEM_MESSAGE = (
    "You typed this reply yourself, so another moderator must approve it. Ask a colleague to "
    "review it; you can still return or reject it."
)

CONFLICT_MESSAGE = (
    "Another moderator decided this item while you were looking at it. Reload the page to see "
    "their decision; nothing you chose was applied."
)


def age_text(delta: Any) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return _("just now")
    if minutes < 60:
        return _("{minutes} min").format(minutes=minutes)
    hours = minutes // 60
    if hours < 48:
        return _("{hours} h").format(hours=hours)
    return _("{days} days").format(days=hours // 24)


# --- one item, as the moderator sees it ---------------------------------------------------------


async def load_item(session: AsyncSession, item_id: uuid.UUID) -> tuple[Item, list[ItemPart]]:
    item = await session.get(Item, item_id)
    if item is None:
        raise NotFound()
    parts = list(
        (
            await session.scalars(
                select(ItemPart).where(ItemPart.item_id == item_id).order_by(ItemPart.position)
            )
        ).all()
    )
    return item, parts


async def read_object(
    app: web.Application, session: AsyncSession, object_id: uuid.UUID | None
) -> bytes:
    stored = await session.get(StoredObject, object_id) if object_id is not None else None
    if stored is None:
        raise NotFound()
    return await app[VAULT].read_bytes(session, stored)


async def delivered_parts(
    app: web.Application, session: AsyncSession, item_id: uuid.UUID
) -> tuple[str, list[ItemPart]]:
    """What a moderator approved for delivery: the delivered text (redactions applied) and
    every delivered part, in order. Originals and sanitised copies are never part of it."""
    parts = (
        await session.scalars(
            select(ItemPart).where(ItemPart.item_id == item_id).order_by(ItemPart.position)
        )
    ).all()
    texts: list[str] = []
    delivered: list[ItemPart] = []
    for part in parts:
        if part.delivered_object_id is None:
            continue
        delivered.append(part)
        if part.kind is PartKind.TEXT:
            texts.append(
                (await read_object(app, session, part.delivered_object_id)).decode("utf-8")
            )
    return "\n\n".join(texts), delivered


def highlighted(text: str, hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The text cut into plain and highlighted segments, for the template."""
    segments: list[dict[str, Any]] = []
    at = 0
    for hit in sorted(hits, key=lambda h: int(h["start"])):
        start, end = int(hit["start"]), int(hit["end"])
        if start < at:
            continue
        if start > at:
            segments.append({"text": text[at:start], "category": None, "start": at, "end": start})
        segments.append(
            {
                "text": text[start:end],
                "category": hit["category"],
                "label": category_label(str(hit["category"])),
                "start": start,
                "end": end,
            }
        )
        at = end
    if at < len(text):
        segments.append({"text": text[at:], "category": None, "start": at, "end": len(text)})
    return segments


def _flagged(part_id: uuid.UUID, words: str, hits: list[dict[str, Any]]) -> dict[str, Any]:
    """The scanner's hits on ``words`` for a moderator: highlighted segments, and each hit
    with the words it matched and its flag name (what a decision resolves it by)."""
    return {
        "segments": highlighted(words, hits),
        "hits": [
            {
                **hit,
                "flag": flags.flag_id(part_id, index),
                "matched": words[int(hit["start"]) : int(hit["end"])],
                "label": category_label(str(hit["category"])),
            }
            for index, hit in enumerate(hits)
        ],
    }


def _decision_flags(
    decision: ModerationDecision, reasons: dict[str, str], by_flag: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """An approval's choice for each flag it resolved, for the next moderator to see."""
    chosen = (decision.redactions or {}).get("flags") or {}
    return [
        {
            "flag": name,
            "choice": choice,
            "reason": reasons.get(name),
            "matched": by_flag.get(name, {}).get("matched"),
            "category": by_flag.get(name, {}).get("category"),
        }
        for name, choice in chosen.items()
    ]


async def moderator_view(
    app: web.Application, session: AsyncSession, item_id: uuid.UUID
) -> dict[str, Any]:
    item, parts = await load_item(session, item_id)
    family = await session.get(Family, item.family_id)
    assert family is not None  # noqa: S101 - items reference their family by foreign key
    keyring = app[KEYRING]
    sender = await session.get(User, item.sender_id)
    # A shredded family's item says when its content was destroyed (FamilyShredded).
    child = (
        await open_child(session, keyring, found)
        if item.child_id is not None
        and (found := await session.get(Child, item.child_id)) is not None
        else None
    )
    part_views = []
    language: Language | None = None
    for part in parts:
        view: dict[str, Any] = {
            "part_id": str(part.id),
            "kind": part.kind.value,
            "media_type": part.media_type,
            "width": part.width,
            "height": part.height,
            "page_count": part.page_count,
            "removed": list(part.removed_metadata),
            "hits": [
                {**hit, "flag": flags.flag_id(part.id, index), "matched": ""}
                for index, hit in enumerate(part.scan_hits)
            ],
            "delivered": part.delivered_object_id is not None,
        }
        if part.kind is PartKind.TEXT:
            text = (await read_object(app, session, part.sanitised_object_id)).decode("utf-8")
            view["text"] = text
            view |= _flagged(part.id, text, list(part.scan_hits))
            language = language or await _text_language(app, session, item.family_id, part)
            if part.delivered_object_id is not None:
                view["delivered_text"] = (
                    await read_object(app, session, part.delivered_object_id)
                ).decode("utf-8")
        else:
            base = f"/staff/items/{item.id}/parts/{part.id}"
            view["sanitised_url"] = f"{base}/sanitised"
            if part.read_text_sealed is not None:
                # The words read from the picture: the scanner's offsets are into them.
                words = (
                    await keyring.open_for_family(
                        session, item.family_id, part.read_text_sealed, READ_TEXT_PURPOSE
                    )
                ).decode("utf-8")
                view["read_text"] = words
                view |= _flagged(part.id, words, list(part.scan_hits))
                # "x,y,w,h" lines, as the boxes field takes them: one press covers them all.
                view["cover_boxes"] = "\n".join(
                    ",".join(str(int(v)) for v in box)
                    for hit in part.scan_hits
                    for box in hit.get("boxes", [])
                )
            if part.delivered_object_id is not None:
                view["delivered_url"] = f"{base}/delivered"
        part_views.append(view)
    decisions = await session.execute(
        select(ModerationDecision, User.display_name)
        .join(User, User.id == ModerationDecision.moderator_id)
        .where(ModerationDecision.item_id == item.id)
        .order_by(ModerationDecision.decided_at)
    )
    by_flag = {hit["flag"]: hit for view in part_views for hit in view["hits"]}
    history: list[dict[str, Any]] = []
    for decision, name in decisions:
        reason = None
        reasons: dict[str, str] = {}
        if decision.reason_sealed is not None:
            # A return message is sealed for the sender to read; a rejection reason is not;
            # an approval's reasons are those for flags passed as safe, by flag.
            purpose = RETURN_PURPOSE if decision.decision is Decision.RETURN else REASON_PURPOSE
            opened = (
                await keyring.open_for_family(
                    session, item.family_id, decision.reason_sealed, purpose
                )
            ).decode("utf-8")
            if decision.decision in APPROVALS:
                reasons = json.loads(opened)
            else:
                reason = opened
        history.append(
            {
                "decision": decision.decision.value,
                "moderator": name,
                "moderator_id": str(decision.moderator_id),
                "decided_at": decision.decided_at.isoformat(),
                "decided_on": local_time(
                    decision.decided_at, app[SETTINGS].zone, _("%-d %b %Y at %H:%M %Z")
                ),
                "reason": reason,
                "flags": _decision_flags(decision, reasons, by_flag),
            }
        )
    # A second moderator sees, for each flag, what the first approval chose.
    first_choices: dict[str, dict[str, Any]] = {}
    if item.status is ItemStatus.AWAITING_SECOND_APPROVAL:
        for entry in history:
            if entry["decision"] in (
                Decision.APPROVE.value,
                Decision.APPROVE_WITH_REDACTIONS.value,
            ):
                first_choices = {
                    choice["flag"]: {**choice, "moderator": entry["moderator"]}
                    for choice in entry["flags"]
                }
    return {
        "item_id": str(item.id),
        "family_id": str(item.family_id),
        "case_reference": family.case_reference,
        "contact_level": family.contact_level.value,
        "requires_second_approval": family.requires_second_approval,
        "sensitive_terms": await sensitive_terms(session, keyring, family.id),
        "direction": item.direction.value,
        "kind": item.kind.value,
        "status": item.status.value,
        "version": item.version,
        "sender": sender.display_name if sender is not None else None,
        # A reply is the child's: the sender is the staff member who typed it.
        "child_name": child.name if child is not None else None,
        "sender_id": str(item.sender_id),
        "submitted_at": item.submitted_at.isoformat(),
        "age": age_text(datetime.now(UTC) - item.submitted_at),
        "parts": part_views,
        # The language the words seem to be in; "served" when the service is offered in it
        # (English, Welsh) and the page needs no note. None: too short to tell, or unsure.
        "language": {"code": language.code, "name": language.name, "served": language.served}
        if language is not None
        else None,
        "decisions": history,
        "first_choices": first_choices,
    }


async def _text_language(
    app: web.Application, session: AsyncSession, family_id: uuid.UUID, part: ItemPart
) -> Language | None:
    if part.language_sealed is None:
        return None
    code = await app[KEYRING].open_for_family(
        session, family_id, part.language_sealed, LANGUAGE_PURPOSE
    )
    return language_of_code(code.decode("utf-8"))


# --- deciding ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DecisionRequest:
    decision: Decision
    version: int
    text_redactions: object = None
    image_redactions: dict[str, object] = field(default_factory=dict)
    message: str = ""
    # Flags resolved by choice: passed as safe (flag -> reason), or blacked out exactly where
    # the scanner found them (added to the redactions).
    safe_to_pass: dict[str, str] = field(default_factory=dict)
    black_out: frozenset[str] = frozenset()

    @classmethod
    def from_json(cls, data: object) -> DecisionRequest:
        if not isinstance(data, dict):
            raise Invalid("Send the decision as a JSON object.")
        try:
            decision = Decision(str(data.get("decision", "")))
        except ValueError:
            choices = ", ".join(d.value for d in Decision)
            raise Invalid(
                _("The decision must be one of: {choices}.").format(choices=choices),
                field="decision",
            ) from None
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise Invalid(
                "Send the item version you decided on (reload the page if unsure).",
                field="version",
            )
        redactions = data.get("redactions") or {}
        if not isinstance(redactions, dict):
            raise Invalid("Redactions must be an object.", field="redactions")
        images = redactions.get("images") or {}
        if not isinstance(images, dict):
            raise Invalid("Image redactions must map part ids to boxes.", field="redactions")
        message = data.get("message") or data.get("reason") or ""
        if not isinstance(message, str):
            raise Invalid("The message must be text.", field="message")
        return cls(
            decision,
            version,
            redactions.get("text"),
            dict(images),
            message.strip(),
            flags.parse_safe(data.get("safe_to_pass")),
            flags.parse_black_out(data.get("black_out")),
        )


@dataclass
class _Delivery:
    part: ItemPart
    data: bytes
    media_type: str


async def decide(
    app: web.Application, actor: Actor, item_id: uuid.UUID, request: DecisionRequest
) -> dict[str, Any]:
    if len(request.message) > MAX_MESSAGE_CHARS:
        raise Invalid(
            _("The message is {count} characters; the limit is {limit}.").format(
                count=len(request.message), limit=MAX_MESSAGE_CHARS
            ),
            field="message",
        )
    if request.decision is Decision.RETURN and not request.message:
        raise Invalid(_("Please write a message for the sender."), field="message")
    if request.decision is Decision.REJECT and not request.message:
        raise Invalid(_("Please write a reason."), field="message")

    # Reading and redacting happen before the transaction: image work runs in the pool and the
    # database's write lock is not held meanwhile. The transaction re-checks the version.
    deliveries: list[_Delivery] = []
    summary = {"text_spans": 0, "image_boxes": 0}
    choices = _FlagChoices()
    async with app[SESSIONMAKER]() as session:
        item, parts = await load_item(session, item_id)
        _check_state(item, request)
        _check_separation(item, actor, request)
        if request.decision in (Decision.APPROVE, Decision.APPROVE_WITH_REDACTIONS):
            # No approval past an unresolved flag: checked before any redaction work.
            item_flags, lengths = await _item_flags(app, session, item.family_id, parts)
            request = _with_black_out(request, item_flags)
            choices = _resolve_flags(parts, item_flags, lengths, request)
            deliveries = await _prepare_deliveries(app, session, parts, request, summary)

    try:
        async with Services.of(app).transaction(actor) as work:
            result = await _apply(app, work, actor, item_id, request, deliveries, summary, choices)
    except StaleDataError:
        raise Conflict(CONFLICT_MESSAGE, code="decided_elsewhere") from None
    await _delete_withdrawn(app, result.pop("withdrawn_objects", []))
    await _notify(app, result)
    return result


# --- flags: every scanner hit is blacked out or passed as safe before approval -------------------


@dataclass
class _FlagChoices:
    """How an approval resolved the item's flags: flag -> "black_out" | "safe", the reasons
    of those passed as safe, and every flag (for the counts in the record)."""

    resolution: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    all_flags: list[flags.Flag] = field(default_factory=list)

    def passed(self) -> list[flags.Flag]:
        return [f for f in self.all_flags if self.resolution.get(f.id) == flags.Choice.SAFE]

    def record(self, actor: Actor) -> dict[str, Any]:
        """For the decision's record event: the counts and who passed flags as safe; each
        reason sealed under the family key like other moderation text."""
        passed = self.passed()
        payload: dict[str, Any] = {
            "flags": {
                "total": len(self.all_flags),
                "blacked_out": sum(
                    1 for v in self.resolution.values() if v == flags.Choice.BLACK_OUT
                ),
                "passed_as_safe": len(passed),
                "passed_by": actor.user_id if passed else None,
            }
        }
        if passed:
            payload["passed_as_safe"] = [
                {
                    "flag": f.id,
                    "part_id": f.part_id,
                    "category": f.category,
                    "reason": Sealed(self.reasons[f.id]),
                }
                for f in passed
            ]
        return payload

    async def seal_reasons(
        self, app: web.Application, session: AsyncSession, family_id: uuid.UUID
    ) -> bytes | None:
        """The reasons for the decision row, sealed (an approval has no other reason)."""
        reasons = {f.id: self.reasons[f.id] for f in self.passed()}
        if not reasons:
            return None
        return await app[KEYRING].seal_for_family(
            session, family_id, json.dumps(reasons).encode("utf-8"), REASON_PURPOSE
        )


async def _item_flags(
    app: web.Application, session: AsyncSession, family_id: uuid.UUID, parts: list[ItemPart]
) -> tuple[list[flags.Flag], dict[str, int]]:
    """Every flag of the item, with the words it matched, and each text part's length."""
    found: list[flags.Flag] = []
    lengths: dict[str, int] = {}
    picture = 0
    for part in parts:
        if part.kind is PartKind.TEXT:
            words = (await read_object(app, session, part.sanitised_object_id)).decode("utf-8")
            lengths[str(part.id)] = len(words)
            where = "the letter"
        else:
            picture += 1
            words = ""
            if part.read_text_sealed is not None:
                words = (
                    await app[KEYRING].open_for_family(
                        session, family_id, part.read_text_sealed, READ_TEXT_PURPOSE
                    )
                ).decode("utf-8")
            where = f"picture {picture}"
        found += flags.flags_of_part(
            str(part.id), part.kind is PartKind.TEXT, list(part.scan_hits), words, where
        )
    return found, lengths


def _with_black_out(request: DecisionRequest, item_flags: list[flags.Flag]) -> DecisionRequest:
    """The request with each flag chosen for blacking out added to the redactions: its span
    in the letter, or the boxes over its words in a picture."""
    if not request.black_out:
        return request
    flags.check_known(item_flags, request.black_out, "black_out")
    text = request.text_redactions if request.text_redactions is not None else []
    images = dict(request.image_redactions)
    if not isinstance(text, list):
        return request  # parse_spans refuses it, saying what a span looks like
    for flag in item_flags:
        if flag.id not in request.black_out:
            continue
        if flag.in_text:
            text = [*text, [flag.start, flag.end]]
            continue
        if not flag.boxes:
            raise Invalid(
                _(
                    "{flag} could not be placed on the picture, so it cannot be blacked out for "
                    "you. If you have checked the picture, pass it as safe with a reason; "
                    "otherwise return the item to the sender."
                ).format(flag=flag.describe()),
                field="black_out",
            )
        have = images.get(flag.part_id)
        if have is not None and not isinstance(have, list):
            return request  # parse_boxes refuses it, saying what a box looks like
        boxes = list(have or [])
        for box in flag.boxes:
            entry = [box.x, box.y, box.width, box.height]
            if entry not in boxes:
                boxes.append(entry)
        images[flag.part_id] = boxes
    return replace(request, text_redactions=text, image_redactions=images)


def _resolve_flags(
    parts: list[ItemPart],
    item_flags: list[flags.Flag],
    lengths: dict[str, int],
    request: DecisionRequest,
) -> _FlagChoices:
    """Refuse the approval unless every flag is covered by a redaction or passed as safe."""
    flags.check_known(item_flags, request.safe_to_pass, "safe_to_pass")
    spans: list[Span] = []
    boxes: dict[str, list[Box]] = {}
    for part in parts:
        if part.kind is PartKind.TEXT:
            spans = parse_spans(
                request.text_redactions, lengths[str(part.id)], field="redactions.text"
            )
        else:
            boxes[str(part.id)] = parse_boxes(
                request.image_redactions.get(str(part.id)),
                part.width or 0,
                part.height or 0,
                field=f"redactions.images.{part.id}",
            )
    still_open = flags.unresolved(item_flags, spans, boxes, request.safe_to_pass)
    if still_open:
        raise flags.refusal(still_open)
    return _FlagChoices(
        flags.choices(item_flags, spans, boxes, request.safe_to_pass),
        dict(request.safe_to_pass),
        item_flags,
    )


def _first_choices(first: ModerationDecision) -> tuple[list[Span], dict[str, list[Box]], set[str]]:
    """What a first approval covered and passed, from its decision row."""
    chosen = first.redactions or {}
    spans = [Span(int(a), int(b)) for a, b in chosen.get("text") or []]
    boxes = {
        str(part_id): [Box(*(int(v) for v in box)) for box in part_boxes]
        for part_id, part_boxes in (chosen.get("images") or {}).items()
    }
    safe = {k for k, v in (chosen.get("flags") or {}).items() if v == flags.Choice.SAFE}
    return spans, boxes, safe


async def _resolve_confirm(
    app: web.Application,
    session: AsyncSession,
    item: Item,
    first: ModerationDecision,
    request: DecisionRequest,
) -> _FlagChoices:
    """A confirmation delivers what the first moderator approved: every flag must be resolved
    by their choices, or passed as safe now by the second moderator."""
    if request.black_out:
        raise Invalid(
            "The copies to deliver were made at the first approval, so nothing more can be "
            "blacked out now. To black out more, return the item or reject it.",
            field="black_out",
        )
    parts = list(
        (
            await session.scalars(
                select(ItemPart).where(ItemPart.item_id == item.id).order_by(ItemPart.position)
            )
        ).all()
    )
    item_flags, _terms = await _item_flags(app, session, item.family_id, parts)
    flags.check_known(item_flags, request.safe_to_pass, "safe_to_pass")
    spans, boxes, first_safe = _first_choices(first)
    resolved_before = {f.id for f in item_flags} - {
        f.id for f in flags.unresolved(item_flags, spans, boxes, first_safe)
    }
    still_open = flags.unresolved(item_flags, spans, boxes, first_safe | set(request.safe_to_pass))
    if still_open:
        raise flags.refusal(still_open)
    passed_now = {
        name: flags.Choice.SAFE for name in request.safe_to_pass if name not in resolved_before
    }
    return _FlagChoices(passed_now, dict(request.safe_to_pass), item_flags)


def _check_separation(item: Item, actor: Actor, request: DecisionRequest) -> None:
    """Whoever typed an item (staff type the child's replies) may not approve it."""
    if request.decision in APPROVALS and item.sender_id == actor.user_id:
        raise Forbidden(OWN_ITEM_MESSAGE, code="own_item", field="decision")


async def _withdraw_delivered(session: AsyncSession, item_id: uuid.UUID) -> list[dict[str, Any]]:
    """Unlink and delete the rows of the delivered copies made at a first approval. Returns
    what was withdrawn, for the record and for deleting the objects after the commit."""
    parts = (await session.scalars(select(ItemPart).where(ItemPart.item_id == item_id))).all()
    linked = {p.delivered_object_id: p.id for p in parts if p.delivered_object_id is not None}
    if not linked:
        return []
    for part in parts:
        part.delivered_object_id = None
    await session.flush()  # the parts let go before their objects' rows go
    objects = (
        await session.scalars(select(StoredObject).where(StoredObject.id.in_(list(linked))))
    ).all()
    withdrawn = []
    for stored in objects:
        withdrawn.append(
            {
                "part_id": linked[stored.id],
                "object_id": stored.id,
                "family_id": stored.family_id,
                "sha256": stored.sha256,
            }
        )
        await session.delete(stored)
    await session.flush()
    return withdrawn


async def _delete_withdrawn(app: web.Application, withdrawn: list[dict[str, Any]]) -> None:
    """After the commit: the rows are gone, so the objects go too. A failure here leaves an
    orphan object, which the reconciler deletes once it is old enough."""
    for entry in withdrawn:
        try:
            await app[VAULT].delete(
                StoredObject(id=entry["object_id"], family_id=entry["family_id"])
            )
        except Exception:
            log.warning(
                "could not delete withdrawn delivered copy %s; reconcile will remove it",
                entry["object_id"],
                exc_info=True,
            )


def _check_state(item: Item, request: DecisionRequest) -> None:
    if item.withheld_at is not None:
        # A safeguarding concern holds it: only the safeguarding lead's action releases it.
        raise Conflict(
            "This item is withheld while a safeguarding concern is looked into. The "
            "safeguarding lead releases it when they record what was done.",
            code="withheld",
        )
    if item.version != request.version or item.status not in REVIEWABLE:
        raise Conflict(CONFLICT_MESSAGE, code="decided_elsewhere")
    if (
        request.decision is Decision.CONFIRM
        and item.status is not ItemStatus.AWAITING_SECOND_APPROVAL
    ):
        raise Conflict("This item is not waiting for a second approval.", code="not_awaiting")
    if (
        request.decision in (Decision.APPROVE, Decision.APPROVE_WITH_REDACTIONS)
        and item.status is ItemStatus.AWAITING_SECOND_APPROVAL
    ):
        raise Conflict(
            "This item is already approved and waits for a second moderator to confirm it.",
            code="awaiting_second_approval",
        )


async def _prepare_deliveries(
    app: web.Application,
    session: AsyncSession,
    parts: list[ItemPart],
    request: DecisionRequest,
    summary: dict[str, int],
) -> list[_Delivery]:
    by_id = {str(part.id): part for part in parts}
    unknown = set(request.image_redactions) - set(by_id)
    if unknown:
        raise Invalid(
            "A box refers to a picture that is not part of this item.",
            field="redactions.images",
        )
    text_parts = [p for p in parts if p.kind is PartKind.TEXT]
    if request.text_redactions and not text_parts:
        raise Invalid("This item has no text to black out.", field="redactions.text")
    deliveries = []
    pool = app[SANITISER_POOL]
    for part in parts:
        sanitised = await read_object(app, session, part.sanitised_object_id)
        if part.kind is PartKind.TEXT:
            text = sanitised.decode("utf-8")
            spans: list[Span] = parse_spans(
                request.text_redactions, len(text), field="redactions.text"
            )
            summary["text_spans"] += len(spans)
            deliveries.append(
                _Delivery(part, redact_text(text, spans).encode("utf-8"), part.media_type)
            )
            continue
        boxes: list[Box] = parse_boxes(
            request.image_redactions.get(str(part.id)),
            part.width or 0,
            part.height or 0,
            field=f"redactions.images.{part.id}",
        )
        if boxes:
            summary["image_boxes"] += len(boxes)
            data, media_type = await pool.run(
                part.item_id, app[SETTINGS].sanitise_seconds, fill_boxes, sanitised, boxes
            )
            deliveries.append(_Delivery(part, data, media_type))
        else:
            deliveries.append(_Delivery(part, sanitised, part.media_type))
    redacted = summary["text_spans"] + summary["image_boxes"] > 0
    if request.decision is Decision.APPROVE and redacted:
        raise Invalid(
            "You marked redactions; choose “approve with redactions” to apply them.",
            field="decision",
        )
    if request.decision is Decision.APPROVE_WITH_REDACTIONS and not redacted:
        raise Invalid(
            "Mark at least one part of the text or one box on a picture to black out.",
            field="redactions",
        )
    return deliveries


async def _lock_item(session: AsyncSession, item_id: uuid.UUID) -> Item:
    item = await session.scalar(
        select(Item)
        .where(Item.id == item_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if item is None:
        raise NotFound()
    return item


async def _apply(
    app: web.Application,
    work: RecordedWork,
    actor: Actor,
    item_id: uuid.UUID,
    request: DecisionRequest,
    deliveries: list[_Delivery],
    summary: dict[str, int],
    choices: _FlagChoices,
) -> dict[str, Any]:
    session = work.session
    keyring = app[KEYRING]
    item = await _lock_item(session, item_id)
    _check_state(item, request)
    _check_separation(item, actor, request)
    # A colleague holding the item (or who took it over) decides it, not this moderator.
    await claims.check_and_release(session, actor, item.id, app[SETTINGS].zone)
    # Returning or rejecting after a first approval withdraws the copies that approval made.
    was_first_approved = item.status is ItemStatus.AWAITING_SECOND_APPROVAL
    family = await session.get(Family, item.family_id)
    assert family is not None  # noqa: S101 - foreign key
    now = datetime.now(UTC)
    decision = ModerationDecision(
        id=uuid.uuid4(),
        item_id=item.id,
        moderator_id=actor.user_id,
        decision=request.decision,
        redactions={
            "text": request.text_redactions or [],
            "images": dict(request.image_redactions),
        },
        decided_at=now,
    )
    if request.decision in (Decision.APPROVE, Decision.APPROVE_WITH_REDACTIONS):
        # Which flags were blacked out and which passed as safe; the reasons sealed.
        decision.redactions["flags"] = dict(choices.resolution)
        decision.reason_sealed = await choices.seal_reasons(app, session, item.family_id)
    base: dict[str, Any] = {"item_id": item.id, "decision_id": decision.id}
    result: dict[str, Any] = {"item_id": str(item.id), "decision": request.decision.value}

    if request.decision in (Decision.APPROVE, Decision.APPROVE_WITH_REDACTIONS):
        delivered = []
        for delivery in deliveries:
            stored = await app[VAULT].put_bytes(
                session,
                item.family_id,
                delivery.data,
                role=ObjectRole.DELIVERED,
                media_type=delivery.media_type,
            )
            await session.flush()  # the object row before the part that refers to it
            part = await session.get(ItemPart, delivery.part.id)
            assert part is not None  # noqa: S101 - loaded with the item above
            part.delivered_object_id = stored.id
            delivered.append({"part_id": part.id, "object_id": stored.id, "sha256": stored.sha256})
        session.add(decision)
        item.decided_at = now
        if family.requires_second_approval:
            item.status = ItemStatus.AWAITING_SECOND_APPROVAL
            await session.flush()
            await work.record(
                item.family_id,
                "item_moderated",
                {
                    **base,
                    "decision": request.decision.value,
                    "redactions": summary,
                    **choices.record(actor),
                    "delivered": delivered,
                    "awaiting_second_approval": True,
                },
            )
        else:
            item.status = ItemStatus.APPROVED
            await session.flush()
            await work.record(
                item.family_id,
                "item_moderated",
                {
                    **base,
                    "decision": request.decision.value,
                    "redactions": summary,
                    **choices.record(actor),
                },
            )
            await work.record(item.family_id, "item_approved", base)
            await work.record(item.family_id, "item_delivered", {**base, "delivered": delivered})
    elif request.decision is Decision.CONFIRM:
        first = await session.scalar(
            select(ModerationDecision)
            .where(
                ModerationDecision.item_id == item.id,
                ModerationDecision.decision.in_(
                    [Decision.APPROVE, Decision.APPROVE_WITH_REDACTIONS]
                ),
            )
            .order_by(ModerationDecision.decided_at.desc())
            .limit(1)
        )
        if first is None:
            raise Conflict("This item has no first approval to confirm.", code="not_awaiting")
        if first.moderator_id == actor.user_id:
            raise Forbidden(
                "This family needs a second moderator: someone other than you must confirm "
                "the approval.",
                code="same_moderator",
            )
        choices = await _resolve_confirm(app, session, item, first, request)
        decision.redactions["flags"] = dict(choices.resolution)
        decision.reason_sealed = await choices.seal_reasons(app, session, item.family_id)
        session.add(decision)
        item.status = ItemStatus.APPROVED
        item.decided_at = now
        await session.flush()
        parts = (await session.scalars(select(ItemPart).where(ItemPart.item_id == item.id))).all()
        delivered_ids = [p.delivered_object_id for p in parts if p.delivered_object_id]
        objects = (
            await session.scalars(select(StoredObject).where(StoredObject.id.in_(delivered_ids)))
        ).all()
        by_id = {o.id: o for o in objects}
        delivered = [
            {
                "part_id": p.id,
                "object_id": p.delivered_object_id,
                "sha256": by_id[p.delivered_object_id].sha256,
            }
            for p in parts
            if p.delivered_object_id in by_id
        ]
        await work.record(
            item.family_id,
            "item_approved",
            {
                **base,
                "confirms_decision_id": first.id,
                "first_moderator_id": first.moderator_id,
                **choices.record(actor),
            },
        )
        await work.record(item.family_id, "item_delivered", {**base, "delivered": delivered})
    elif request.decision is Decision.RETURN:
        withdrawn = await _withdraw_delivered(session, item.id) if was_first_approved else []
        sealed = await keyring.seal_for_family(
            session, item.family_id, request.message.encode("utf-8"), RETURN_PURPOSE
        )
        decision.reason_sealed = sealed
        session.add(decision)
        item.return_message_sealed = sealed
        item.status = ItemStatus.RETURNED
        item.decided_at = now
        await session.flush()
        await work.record(
            item.family_id,
            "item_returned",
            {**base, "message": Sealed(request.message), **_withdrawn_payload(withdrawn)},
        )
        result["withdrawn_objects"] = withdrawn
    else:
        withdrawn = await _withdraw_delivered(session, item.id) if was_first_approved else []
        decision.reason_sealed = await keyring.seal_for_family(
            session, item.family_id, request.message.encode("utf-8"), REASON_PURPOSE
        )
        session.add(decision)
        item.status = ItemStatus.REJECTED
        item.decided_at = now
        await session.flush()
        await work.record(
            item.family_id,
            "item_rejected",
            {**base, "reason": Sealed(request.message), **_withdrawn_payload(withdrawn)},
        )
        result["withdrawn_objects"] = withdrawn
    result.update(
        status=item.status.value,
        version=item.version,
        family_id=str(item.family_id),
        direction=item.direction.value,
        sender_id=str(item.sender_id),
    )
    return result


def _withdrawn_payload(withdrawn: list[dict[str, Any]]) -> dict[str, Any]:
    if not withdrawn:
        return {}
    return {
        "withdrawn_delivered": [
            {"part_id": w["part_id"], "object_id": w["object_id"], "sha256": w["sha256"]}
            for w in withdrawn
        ]
    }


async def _notify(app: web.Application, result: dict[str, Any]) -> None:
    """E-mail the people who should look (no content, a link only). The decision is already
    committed, so a mail failure is logged, never turned into an error for the moderator."""
    status = result["status"]
    family_id = uuid.UUID(result["family_id"])
    settings = app[SETTINGS]
    # The item's own page: its status history, the centre's message, or the reply itself.
    link = f"{settings.public_url}/letterbox/items/{result['item_id']}"
    if result["direction"] == Direction.TO_CHILD.value:
        kind = {"approved": "item_approved", "returned": "item_returned"}.get(status)
        recipients_query = select(User.email).where(User.id == uuid.UUID(result["sender_id"]))
    else:
        kind = "reply_waiting" if status == ItemStatus.APPROVED.value else None
        recipients_query = (
            select(User.email)
            .join(FamilySender, FamilySender.user_id == User.id)
            .where(FamilySender.family_id == family_id, FamilySender.approved.is_(True))
        )
    if kind is None:
        return
    async with app[SESSIONMAKER]() as session:
        recipients = (await session.scalars(recipients_query)).all()
    for email in recipients:
        try:
            await app[MAILER].send(
                to=email, subject=KINDS[kind].subject, template=kind, context={"link": link}
            )
        except Exception:
            log.warning("could not send the %s e-mail", kind, exc_info=True)
