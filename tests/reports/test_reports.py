"""The supervised contact report: written after the call, checked by a second person,
sealed on approval (hash in the record), released to referrers with every download
recorded; never for supported contact, in the domain and in the schema."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from service.appkeys import KEYRING, SESSIONMAKER
from service.errors import Conflict, Forbidden, Invalid, NotFound
from service.record import export
from service.record.export import Maker, Period
from service.reports import reports
from service.services import Services
from storage import record
from storage.models import ContactLevel, ContactReport, RecordEvent, ReportStatus
from storage.record import RecordMissing
from tests.support.call_api import add_referrer
from tests.support.calls import CallWorld, book_call, cookie_header, make_world
from tests.support.export_world import pdf_pages_text
from tests.support.reports import REPORT, actor, ended_call
from tests.support.seeding import seeding_sessionmaker


async def _events(client: TestClient, kind: str) -> list[RecordEvent]:
    async with client.server.app[SESSIONMAKER]() as session:
        rows = await session.scalars(
            select(RecordEvent).where(RecordEvent.kind == kind).order_by(RecordEvent.seq)
        )
        return list(rows)


async def _written(client: TestClient) -> tuple[CallWorld, uuid.UUID]:
    app = client.server.app
    world = await make_world(app)
    call_id = await ended_call(app, world)
    report_id = await reports.write_report(
        Services.of(app),
        await actor(app, world, "supervisor"),
        call_id,
        reports.ReportFields.parse(REPORT),
    )
    return world, report_id


async def _check(
    client: TestClient, world: CallWorld, who: str, report_id: uuid.UUID, decision: str, text=""
) -> reports.ReportView:
    app = client.server.app
    return await reports.check_report(
        Services.of(app), await actor(app, world, who), world.family_id, report_id, decision, text
    )


async def test_second_person_approval_seals_the_report_and_records_its_hash(
    client: TestClient,
) -> None:
    app = client.server.app
    world, report_id = await _written(client)
    view = await _check(client, world, "staff", report_id, "approve")
    assert view.status is ReportStatus.APPROVED
    assert view.checker == "Staff" and view.author == "Supervisor"
    # The hash recorded is the hash of exactly what was approved (header and boxes).
    body = {
        "report_id": str(report_id),
        "header": view.header.as_json(),
        "fields": {k: v.strip() for k, v in REPORT.items()},
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert view.sha256 == hashlib.sha256(canonical.encode()).hexdigest()
    [approved] = await _events(client, "report_approved")
    async with app[SESSIONMAKER]() as session:
        payload = await record.reveal_payload(
            session, approved, record.KeyRingPayloadSealer(app[KEYRING])
        )
    assert payload["sha256"] == view.sha256
    assert payload["report"]["fields"]["account"] == REPORT["account"]
    # The stored event holds the text sealed, never in the clear.
    assert REPORT["account"] not in approved.payload
    assert view.header.venue == "Video call" and view.header.minutes == 28


async def test_the_author_cannot_check_their_own_report(client: TestClient) -> None:
    world, report_id = await _written(client)
    with pytest.raises(Forbidden, match="second person"):
        await _check(client, world, "supervisor", report_id, "approve")
    async with client.server.app[SESSIONMAKER]() as session:
        report = await session.get(ContactReport, report_id)
        assert report is not None and report.status is ReportStatus.SUBMITTED


async def test_database_refuses_a_report_checked_by_its_author(client: TestClient) -> None:
    world, report_id = await _written(client)
    # A bug that skipped the domain rule still cannot store it.
    with pytest.raises(IntegrityError):
        async with seeding_sessionmaker(client.server.app).begin() as session:
            await session.execute(
                update(ContactReport)
                .where(ContactReport.id == report_id)
                .values(checker_id=world.users["supervisor"])
            )


async def test_database_refuses_an_approved_report_without_checker_or_hash(
    client: TestClient,
) -> None:
    _world, report_id = await _written(client)
    with pytest.raises(IntegrityError):
        async with seeding_sessionmaker(client.server.app).begin() as session:
            await session.execute(
                update(ContactReport)
                .where(ContactReport.id == report_id)
                .values(status=ReportStatus.APPROVED)
            )


async def test_supported_family_cannot_have_a_report(client: TestClient) -> None:
    app = client.server.app
    world = await make_world(app, level=ContactLevel.SUPPORTED)
    call_id = await ended_call(app, world)
    supervisor = await actor(app, world, "supervisor")
    with pytest.raises(Forbidden, match="supported contact"):
        await reports.writing_form(Services.of(app), supervisor, call_id)
    with pytest.raises(Forbidden, match="supported contact"):
        await reports.write_report(
            Services.of(app), supervisor, call_id, reports.ReportFields.parse(REPORT)
        )
    assert await _events(client, "report_written") == []


async def test_database_refuses_a_report_for_a_supported_family(client: TestClient) -> None:
    app = client.server.app
    world = await make_world(app, level=ContactLevel.SUPPORTED)
    call_id = await ended_call(app, world)
    for level in (ContactLevel.SUPPORTED, ContactLevel.SUPERVISED):
        # Claiming the family is supervised fails the composite key; saying it is supported
        # fails the check.
        with pytest.raises(IntegrityError):
            async with seeding_sessionmaker(app).begin() as session:
                session.add(
                    ContactReport(
                        family_id=world.family_id,
                        contact_level=level,
                        call_id=call_id,
                        author_id=world.users["supervisor"],
                        status=ReportStatus.SUBMITTED,
                        fields_sealed=b"x",
                    )
                )


async def test_a_report_change_without_its_record_event_is_refused(client: TestClient) -> None:
    _world, report_id = await _written(client)
    with pytest.raises(RecordMissing):
        async with client.server.app[SESSIONMAKER].begin() as session:
            report = await session.get(ContactReport, report_id)
            assert report is not None
            report.fields_sealed = b"quietly changed"


async def test_returned_report_goes_back_to_its_author_and_is_checked_again(
    client: TestClient,
) -> None:
    app = client.server.app
    world, report_id = await _written(client)
    services = Services.of(app)
    with pytest.raises(Invalid) as no_comments:
        await _check(client, world, "staff", report_id, "return", "   ")
    assert no_comments.value.field == "comments"
    returned = await _check(client, world, "staff", report_id, "return", "Add how it ended.")
    assert returned.status is ReportStatus.RETURNED and returned.comments == "Add how it ended."
    revised = reports.ReportFields.parse({**REPORT, "leaving": "Sam hugged the screen."})
    with pytest.raises(Forbidden):
        await reports.revise_report(
            services, await actor(app, world, "staff"), world.family_id, report_id, revised
        )
    supervisor = await actor(app, world, "supervisor")
    await reports.revise_report(services, supervisor, world.family_id, report_id, revised)
    approved = await _check(client, world, "admin", report_id, "approve")
    assert approved.fields["leaving"] == "Sam hugged the screen."
    assert approved.checker == "Admin"
    kinds = [e.kind for e in await _events(client, "report_written")]
    assert len(kinds) == 2
    assert len(await _events(client, "report_returned")) == 1


async def test_an_approved_report_can_no_longer_change(client: TestClient) -> None:
    app = client.server.app
    world, report_id = await _written(client)
    await _check(client, world, "staff", report_id, "approve")
    with pytest.raises(Conflict):
        await _check(client, world, "admin", report_id, "return", "Too late.")
    with pytest.raises(Conflict):
        await reports.revise_report(
            Services.of(app),
            await actor(app, world, "supervisor"),
            world.family_id,
            report_id,
            reports.ReportFields.parse(REPORT),
        )


async def test_a_report_is_written_only_after_the_call_and_only_once(client: TestClient) -> None:
    app = client.server.app
    world = await make_world(app)
    supervisor = await actor(app, world, "supervisor")
    scheduled = await book_call(app, world)
    fields = reports.ReportFields.parse(REPORT)
    with pytest.raises(Conflict, match="not ended"):
        await reports.write_report(Services.of(app), supervisor, scheduled, fields)
    ended = await ended_call(app, world)
    await reports.write_report(Services.of(app), supervisor, ended, fields)
    with pytest.raises(Conflict, match="already"):
        await reports.write_report(Services.of(app), supervisor, ended, fields)


def test_the_report_form_names_the_box_and_the_limit() -> None:
    with pytest.raises(Invalid) as missing:
        reports.ReportFields.parse({**REPORT, "aim": "  "})
    assert missing.value.field == "aim" and "aim of the session" in missing.value.message
    with pytest.raises(Invalid) as long:
        reports.ReportFields.parse({**REPORT, "account": "x" * (reports.FIELD_LIMIT + 1)})
    assert long.value.field == "account" and "10,000" in long.value.message
    assert reports.ReportFields.parse({**REPORT, "quotes": ""}).values["quotes"] == ""


async def test_report_of_one_family_is_not_found_through_another(client: TestClient) -> None:
    app = client.server.app
    world, report_id = await _written(client)
    other = await make_world(app)
    with pytest.raises(NotFound):
        await reports.read_report(
            Services.of(app), await actor(app, world, "staff"), other.family_id, report_id
        )


async def test_referrer_downloads_the_approved_report_and_each_download_is_recorded(
    client: TestClient, tmp_path: Path
) -> None:
    app = client.server.app
    world, report_id = await _written(client)
    await add_referrer(client, world)
    path = f"/referrer/families/{world.family_id}/reports/{report_id}/download"
    headers = cookie_header(app, world.cookies["referrer"])

    async def download() -> int:
        response = await client.post(
            path, data={"csrf_token": world.csrf["referrer"]}, headers=headers
        )
        if response.status == 200:
            pdf = await response.read()
            text = "\n".join(pdf_pages_text(pdf, tmp_path))
            for heading in ("The aim of the session", "The child on arrival", "Safeguarding"):
                assert heading in text
            assert "drawing of a boat" in text
        return response.status

    assert await download() == 404  # not approved yet: not released
    await _check(client, world, "staff", report_id, "approve")
    listing = await client.get(f"/referrer/families/{world.family_id}/reports", headers=headers)
    assert listing.status == 200 and str(report_id) in await listing.text()
    assert await download() == 200
    assert await download() == 200
    downloads = await _events(client, "report_downloaded")
    assert [e.actor_id for e in downloads] == [world.users["referrer"]] * 2
    # A referrer of another family reaches nothing of this one.
    other = await make_world(app)
    await add_referrer(client, other, "stranger")
    response = await client.post(
        path,
        data={"csrf_token": other.csrf["stranger"]},
        headers=cookie_header(app, other.cookies["stranger"]),
    )
    assert response.status == 404
    assert len(await _events(client, "report_downloaded")) == 2


async def test_supervisor_home_lists_reports_to_write_and_to_check(client: TestClient) -> None:
    app = client.server.app
    world = await make_world(app)
    call_id = await ended_call(app, world)
    home = await client.get("/supervisor", headers=cookie_header(app, world.cookies["supervisor"]))
    assert f"/supervisor/calls/{call_id}/report" in await home.text()
    report_id = await reports.write_report(
        Services.of(app),
        await actor(app, world, "supervisor"),
        call_id,
        reports.ReportFields.parse(REPORT),
    )
    todo = await reports.reports_to_do(Services.of(app), await actor(app, world, "supervisor"))
    assert todo.empty  # written, and nobody checks their own
    admin_home = await client.get("/supervisor", headers=cookie_header(app, world.cookies["admin"]))
    assert f"/reports/{report_id}" in await admin_home.text()


async def test_court_export_holds_the_approved_report_with_its_headings(
    client: TestClient, tmp_path: Path
) -> None:
    app = client.server.app
    world, report_id = await _written(client)
    view = await _check(client, world, "staff", report_id, "approve")
    services = Services.of(app)
    today = view.header.started_at.date()
    made = await export.make_export(
        services.sessionmaker,
        services.keyring,
        None,
        world.family_id,
        Period.parse(today.isoformat(), today.isoformat()),
        Maker(record.EventAuthor(world.users["admin"], "admin"), "Admin (centre admin)"),
    )
    text = " ".join(" ".join(pdf_pages_text(made.pdf, tmp_path)).split())
    assert "Supervised contact reports" in text
    for heading in (
        "Who was present",
        "The aim of the session",
        "What happened (a factual account)",
        "Direct quotes",
        "The child on arrival",
        "The child on leaving",
        "Safeguarding",
    ):
        assert heading in text
    assert "drawing of a boat" in text
    assert str(view.sha256) in text.replace(" ", "")
