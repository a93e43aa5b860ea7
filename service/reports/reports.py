"""The supervised contact report, from writing to approval and release.

A report belongs to one ended supervised call. Its author writes it (``write_report``); a
second, different member of staff checks it (``check_report``): returned with comments, the
author revises it (``revise_report``) and it comes back to be checked; approved, it is sealed.
Sealing means: it can no longer change, its SHA-256 (over the header and the fields, in
canonical JSON) is recorded with ``report_approved``, and that event carries the report's
text sealed under the family key, so the court export shows exactly what was approved and
crypto-shredding the family erases it while the record still verifies.

Supported families are refused here with a plain message, and by the schema regardless
(``contact_reports``' composite foreign key and check, like observation notes).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import Conflict, Forbidden, Invalid, NotFound
from service.http.rules import Actor
from service.i18n import N_, _
from service.services import Services
from storage import record
from storage.models import (
    Call,
    CallStatus,
    ContactLevel,
    ContactReport,
    Family,
    ReferrerAccess,
    ReportStatus,
    Role,
    User,
)

__all__ = [
    "FIELDS",
    "ApprovedReport",
    "CheckDecision",
    "ReportFields",
    "ReportHeader",
    "ReportView",
    "ReportsToDo",
    "WritingForm",
    "approved_reports",
    "check_report",
    "read_report",
    "report_for_referrer",
    "reports_to_do",
    "revise_report",
    "write_report",
    "writing_form",
]

REPORT_PURPOSE: Final = "contact-report"
FIELD_LIMIT: Final = 10_000  # characters in one box: a long account fits, a pasted book does not
# A report's status in words, as a refusal names it ("… this one is approved.").
_STATUS_WORDS: Final = {
    ReportStatus.SUBMITTED: N_("submitted"),
    ReportStatus.RETURNED: N_("returned"),
    ReportStatus.APPROVED: N_("approved"),
}


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    hint: str
    required: bool


# The report's structure, in the order it is written and printed.
FIELDS: Final = (
    Field("present", "Who was present", "Everyone who took part, and in what role.", True),
    Field("aim", "The aim of the session", "What this session was meant to achieve.", True),
    Field(
        "account",
        "What happened (a factual account)",
        "What you saw and heard, in order. Facts, not opinions.",
        True,
    ),
    Field(
        "quotes",
        "Direct quotes",
        "Only where the exact words matter. Leave empty if there are none.",
        False,
    ),
    Field("arrival", "The child on arrival", "How the child seemed when the session began.", True),
    Field("leaving", "The child on leaving", "How the child seemed when the session ended.", True),
    Field("concerns", "Concerns", "Anything that worried you. Leave empty if nothing did.", False),
    Field(
        "safeguarding",
        "Safeguarding",
        'Any safeguarding matter and what you did about it. Write "None" if there was none.',
        True,
    ),
)


@dataclass(frozen=True)
class ReportFields:
    values: Mapping[str, str]

    @classmethod
    def parse(cls, form: Mapping[str, Any]) -> ReportFields:
        """The boxes of the form, checked: required ones filled, none over the limit."""
        values: dict[str, str] = {}
        for field in FIELDS:
            raw = form.get(field.name)
            text = raw.strip() if isinstance(raw, str) else ""
            if field.required and not text:
                raise Invalid(
                    _("Please fill in “{label}”.").format(label=_(field.label)), field=field.name
                )
            if len(text) > FIELD_LIMIT:
                raise Invalid(
                    _(
                        "“{label}” has {count} characters; the most is {limit}. Please shorten it."
                    ).format(
                        label=_(field.label), count=f"{len(text):,}", limit=f"{FIELD_LIMIT:,}"
                    ),
                    field=field.name,
                )
            values[field.name] = text
        return cls(values)


@dataclass(frozen=True)
class ReportHeader:
    """What the report is about, from the record of the call (not typed by anyone)."""

    case_reference: str
    venue: str
    started_at: datetime
    ended_at: datetime
    minutes: int
    supervisor: str

    def as_json(self) -> dict[str, Any]:
        return {
            "case_reference": self.case_reference,
            "venue": self.venue,
            "started_at": self.started_at.astimezone(UTC).isoformat(),
            "ended_at": self.ended_at.astimezone(UTC).isoformat(),
            "minutes": self.minutes,
            "supervisor": self.supervisor,
        }


@dataclass(frozen=True)
class ReportView:
    id: uuid.UUID
    family_id: uuid.UUID
    call_id: uuid.UUID | None
    status: ReportStatus
    version: int
    header: ReportHeader
    fields: Mapping[str, str]
    author_id: uuid.UUID
    author: str
    checker: str | None
    comments: str | None
    sha256: str | None
    approved_at: datetime | None
    may_check: bool
    may_revise: bool

    def labelled(self) -> list[tuple[str, str]]:
        return [(f.label, self.fields.get(f.name, "")) for f in FIELDS]


@dataclass(frozen=True)
class ToWrite:
    call_id: uuid.UUID
    case_reference: str
    started_at: datetime


@dataclass(frozen=True)
class ToCheck:
    report_id: uuid.UUID
    family_id: uuid.UUID
    case_reference: str
    author: str
    written_at: datetime


@dataclass(frozen=True)
class ReportsToDo:
    to_write: list[ToWrite]
    to_revise: list[ToCheck]
    to_check: list[ToCheck]

    @property
    def empty(self) -> bool:
        return not (self.to_write or self.to_revise or self.to_check)


class CheckDecision:
    APPROVE: Final = "approve"
    RETURN: Final = "return"


# --- reading -------------------------------------------------------------------------------


def _digest(report_id: uuid.UUID, header: Mapping[str, Any], fields: Mapping[str, str]) -> str:
    """SHA-256 over what was approved, in canonical JSON (sorted keys, no spaces, UTF-8)."""
    body = {"report_id": str(report_id), "header": dict(header), "fields": dict(fields)}
    data = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


async def _seal(services: Services, session: AsyncSession, family_id: uuid.UUID, v: Any) -> bytes:
    data = json.dumps(v, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return await services.keyring.seal_for_family(session, family_id, data, REPORT_PURPOSE)


async def _open(services: Services, session: AsyncSession, family_id: uuid.UUID, b: bytes) -> Any:
    data = await services.keyring.open_for_family(session, family_id, b, REPORT_PURPOSE)
    return json.loads(data)


async def _name(session: AsyncSession, user_id: uuid.UUID | None) -> str | None:
    if user_id is None:
        return None
    return await session.scalar(select(User.display_name).where(User.id == user_id))


async def _supervised_call(session: AsyncSession, call_id: uuid.UUID) -> tuple[Call, Family]:
    row = (
        await session.execute(
            select(Call, Family).join(Family, Family.id == Call.family_id).where(Call.id == call_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound()
    call, family = row
    if family.contact_level is not ContactLevel.SUPERVISED:
        raise Forbidden(
            "This family has supported contact: staff do not observe or report on it, so "
            "there is no report to write.",
            code="supported_contact",
        )
    return call, family


def _header(call: Call, family: Family, supervisor: str) -> ReportHeader:
    ended = call.ended_at or call.ends_at
    return ReportHeader(
        case_reference=family.case_reference,
        venue="Video call",
        started_at=call.starts_at,
        ended_at=ended,
        minutes=max(0, round((ended - call.starts_at).total_seconds() / 60)),
        supervisor=supervisor,
    )


async def _view(
    services: Services, session: AsyncSession, actor: Actor | None, report: ContactReport
) -> ReportView:
    content = await _open(services, session, report.family_id, report.fields_sealed)
    h = content["header"]
    comments = (
        None
        if report.comments_sealed is None
        else str(await _open(services, session, report.family_id, report.comments_sealed))
    )
    header = ReportHeader(
        case_reference=h["case_reference"],
        venue=h["venue"],
        started_at=datetime.fromisoformat(h["started_at"]),
        ended_at=datetime.fromisoformat(h["ended_at"]),
        minutes=int(h["minutes"]),
        supervisor=h["supervisor"],
    )
    mine = actor is not None and actor.user_id == report.author_id
    staff = actor is not None and actor.role.is_centre_staff
    return ReportView(
        id=report.id,
        family_id=report.family_id,
        call_id=report.call_id,
        status=report.status,
        version=report.version,
        header=header,
        fields=content["fields"],
        author_id=report.author_id,
        author=await _name(session, report.author_id) or "",
        checker=await _name(session, report.checker_id),
        comments=comments,
        sha256=report.sha256,
        approved_at=report.approved_at,
        may_check=staff and not mine and report.status is ReportStatus.SUBMITTED,
        may_revise=mine and report.status is ReportStatus.RETURNED,
    )


async def _report_of_family(
    session: AsyncSession, family_id: uuid.UUID, report_id: uuid.UUID, *, lock: bool = False
) -> ContactReport:
    query = select(ContactReport).where(
        ContactReport.id == report_id, ContactReport.family_id == family_id
    )
    report = await session.scalar(query.with_for_update() if lock else query)
    if report is None:
        raise NotFound()
    return report


async def read_report(
    services: Services, actor: Actor, family_id: uuid.UUID, report_id: uuid.UUID
) -> ReportView:
    """One report for the centre's staff (the access rule has checked the family)."""
    async with services.sessionmaker() as session:
        report = await _report_of_family(session, family_id, report_id)
        return await _view(services, session, actor, report)


@dataclass(frozen=True)
class WritingForm:
    call_id: uuid.UUID
    family_id: uuid.UUID
    header: ReportHeader
    existing: uuid.UUID | None


async def writing_form(services: Services, actor: Actor, call_id: uuid.UUID) -> WritingForm:
    """What the writing page shows: the header taken from the call. Refuses a supported
    family, a call not ended yet, and a call that already has its report."""
    async with services.sessionmaker() as session:
        call, family = await _supervised_call(session, call_id)
        existing = await session.scalar(
            select(ContactReport.id).where(ContactReport.call_id == call_id)
        )
        return WritingForm(call.id, family.id, _header(call, family, actor.display_name), existing)


async def write_report(
    services: Services, actor: Actor, call_id: uuid.UUID, fields: ReportFields
) -> uuid.UUID:
    """The supervisor's report on an ended supervised call, sent to be checked."""
    async with services.transaction(actor) as work:
        session = work.session
        call, family = await _supervised_call(session, call_id)
        if call.status is not CallStatus.ENDED:
            raise Conflict(
                "The report is written after the call. This call has not ended yet.",
                field="call_id",
            )
        taken = await session.scalar(
            select(ContactReport.id).where(ContactReport.call_id == call_id)
        )
        if taken is not None:
            raise Conflict("This call already has its report.", field="call_id")
        header = _header(call, family, actor.display_name)
        report = ContactReport(
            family_id=family.id,
            contact_level=ContactLevel.SUPERVISED,
            call_id=call.id,
            author_id=actor.user_id,
            status=ReportStatus.SUBMITTED,
            fields_sealed=await _seal(
                services,
                session,
                family.id,
                {"header": header.as_json(), "fields": dict(fields.values)},
            ),
        )
        session.add(report)
        await session.flush()
        await work.record(family.id, "report_written", {"report_id": report.id, "call_id": call.id})
        return report.id


def _stale(report: ContactReport, version: int | None) -> None:
    if version is not None and version != report.version:
        raise Conflict(
            "Someone changed this report while you had it open. Please look at it again.",
            field="version",
        )


async def revise_report(
    services: Services,
    actor: Actor,
    family_id: uuid.UUID,
    report_id: uuid.UUID,
    fields: ReportFields,
    version: int | None = None,
) -> None:
    """The author's new text for a report the checker returned; it goes back to be checked."""
    async with services.transaction(actor) as work:
        session = work.session
        report = await _report_of_family(session, family_id, report_id, lock=True)
        _stale(report, version)
        if report.author_id != actor.user_id:
            raise Forbidden("Only the person who wrote this report can change it.")
        if report.status is not ReportStatus.RETURNED:
            raise Conflict(
                _(
                    "Only a report returned with comments can be changed; this one is {status}."
                ).format(status=_(_STATUS_WORDS[report.status])),
                field="status",
            )
        content = await _open(services, session, family_id, report.fields_sealed)
        content["fields"] = dict(fields.values)
        report.fields_sealed = await _seal(services, session, family_id, content)
        report.status = ReportStatus.SUBMITTED
        await session.flush()
        await work.record(
            family_id,
            "report_written",
            {"report_id": report.id, "call_id": report.call_id, "revised": True},
        )


async def check_report(
    services: Services,
    actor: Actor,
    family_id: uuid.UUID,
    report_id: uuid.UUID,
    decision: str,
    comments: str = "",
    version: int | None = None,
) -> ReportView:
    """A second person's check: ``return`` (with comments) or ``approve`` (seals it)."""
    comments = comments.strip()
    if decision not in (CheckDecision.APPROVE, CheckDecision.RETURN):
        raise Invalid('Choose "approve" or "return with comments".', field="decision")
    if decision == CheckDecision.RETURN and not comments:
        raise Invalid("Say what needs changing before you return the report.", field="comments")
    if len(comments) > FIELD_LIMIT:
        raise Invalid(
            _("The comments have {count} characters; the most is {limit}.").format(
                count=f"{len(comments):,}", limit=f"{FIELD_LIMIT:,}"
            ),
            field="comments",
        )
    async with services.transaction(actor) as work:
        session = work.session
        report = await _report_of_family(session, family_id, report_id, lock=True)
        _stale(report, version)
        if report.author_id == actor.user_id:
            raise Forbidden(
                "A report is checked by a second person: you wrote this one, so someone "
                "else must check it.",
                code="same_person",
            )
        if report.status is not ReportStatus.SUBMITTED:
            raise Conflict(
                _(
                    "This report is {status}; only a report waiting to be checked can be checked."
                ).format(status=_(_STATUS_WORDS[report.status])),
                field="status",
            )
        if decision == CheckDecision.RETURN:
            report.status = ReportStatus.RETURNED
            report.checker_id = actor.user_id
            report.comments_sealed = await _seal(services, session, family_id, comments)
            await session.flush()
            await work.record(
                family_id,
                "report_returned",
                {"report_id": report.id, "comments": record.Sealed(comments)},
            )
        else:
            content = await _open(services, session, family_id, report.fields_sealed)
            digest = _digest(report.id, content["header"], content["fields"])
            report.status = ReportStatus.APPROVED
            report.checker_id = actor.user_id
            report.sha256 = digest
            report.approved_at = datetime.now(UTC)
            await session.flush()
            author = await _name(session, report.author_id) or ""
            await work.record(
                family_id,
                "report_approved",
                {
                    "report_id": report.id,
                    "call_id": report.call_id,
                    "sha256": digest,
                    "author_id": report.author_id,
                    # The approved text itself, sealed: the court export reads it from here.
                    "report": record.Sealed(
                        {
                            "header": content["header"],
                            "fields": content["fields"],
                            "author": author,
                            "checker": actor.display_name,
                        }
                    ),
                },
            )
        return await _view(services, session, actor, report)


# --- lists ---------------------------------------------------------------------------------


async def reports_to_do(services: Services, actor: Actor) -> ReportsToDo:
    """For the supervisor's home: ended supervised calls they supervised with no report yet,
    their reports returned with comments, and others' reports waiting for a check."""
    if not actor.role.is_centre_staff:
        return ReportsToDo([], [], [])
    async with services.sessionmaker() as session:
        unwritten = await session.execute(
            select(Call.id, Family.case_reference, Call.starts_at)
            .join(Family, Family.id == Call.family_id)
            .outerjoin(ContactReport, ContactReport.call_id == Call.id)
            .where(
                Family.centre_id == actor.centre_id,
                Family.contact_level == ContactLevel.SUPERVISED,
                Call.supervisor_id == actor.user_id,
                Call.status == CallStatus.ENDED,
                ContactReport.id.is_(None),
            )
            .order_by(Call.starts_at)
            .limit(100)
        )
        written = await session.execute(
            select(ContactReport, Family.case_reference, User.display_name)
            .join(Family, Family.id == ContactReport.family_id)
            .join(User, User.id == ContactReport.author_id)
            .where(
                Family.centre_id == actor.centre_id,
                ContactReport.status.in_([ReportStatus.SUBMITTED, ReportStatus.RETURNED]),
            )
            .order_by(ContactReport.written_at)
            .limit(200)
        )
        to_revise, to_check = [], []
        for report, ref, author in written:
            entry = ToCheck(report.id, report.family_id, ref, author, report.written_at)
            if report.author_id == actor.user_id:
                if report.status is ReportStatus.RETURNED:
                    to_revise.append(entry)
            elif report.status is ReportStatus.SUBMITTED:
                to_check.append(entry)
        return ReportsToDo([ToWrite(c, ref, at) for c, ref, at in unwritten], to_revise, to_check)


@dataclass(frozen=True)
class ApprovedReport:
    id: uuid.UUID
    case_reference: str
    started_at: datetime
    approved_at: datetime | None
    sha256: str


async def approved_reports(services: Services, family_id: uuid.UUID) -> list[ApprovedReport]:
    """The family's approved reports, newest contact first (what referrers may download)."""
    async with services.sessionmaker() as session:
        rows = await session.execute(
            select(ContactReport, Family.case_reference, Call.starts_at)
            .join(Family, Family.id == ContactReport.family_id)
            .outerjoin(Call, Call.id == ContactReport.call_id)
            .where(
                ContactReport.family_id == family_id,
                ContactReport.status == ReportStatus.APPROVED,
            )
            .order_by(Call.starts_at.desc())
        )
        return [
            ApprovedReport(r.id, ref, started, r.approved_at, r.sha256 or "")
            for r, ref, started in rows
        ]


async def report_for_referrer(
    services: Services, actor: Actor, family_id: uuid.UUID, report_id: uuid.UUID
) -> ReportView:
    """An approved report, released to a referrer of the family; the download is recorded.
    Anything not approved is "not found", like a report of another family."""
    if actor.role is not Role.REFERRER:
        raise Forbidden("Reports are released to the family's referrers.")
    async with services.transaction(actor) as work:
        session = work.session
        # The access rule checked this too; a lapsed grant between the two must still refuse.
        granted = await session.scalar(
            select(ReferrerAccess.id).where(
                ReferrerAccess.family_id == family_id,
                ReferrerAccess.user_id == actor.user_id,
                ReferrerAccess.expires_at > datetime.now(UTC),
            )
        )
        if granted is None:
            raise NotFound()
        report = await _report_of_family(session, family_id, report_id)
        if report.status is not ReportStatus.APPROVED:
            raise NotFound()
        await work.record(
            family_id, "report_downloaded", {"report_id": report.id, "sha256": report.sha256}
        )
        return await _view(services, session, actor, report)
