"""In-centre contact: handovers staggered so the adults never meet (the page shows both
times; the schema refuses less than five minutes), arrival and departure recorded as
attendance, and supported families kept to dates and times by the domain and the schema."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from service.appkeys import SESSIONMAKER
from service.errors import Forbidden, Invalid
from service.services import Services
from service.visits import visits
from storage.models import CentreVisit, ContactLevel, RecordEvent, VisitKind
from tests.support.calls import CallWorld, cookie_header, make_world
from tests.support.reports import actor
from tests.support.seeding import seeding_sessionmaker

UK = ZoneInfo("Europe/London")


async def _book(client: TestClient, world: CallWorld, **form: str) -> int:
    app = client.server.app
    response = await client.post(
        f"/staff/families/{world.family_id}/visits",
        data={"csrf_token": world.csrf["staff"], **form},
        headers=cookie_header(app, world.cookies["staff"]),
        allow_redirects=False,
    )
    return response.status


async def _only_visit(client: TestClient, world: CallWorld) -> CentreVisit:
    async with client.server.app[SESSIONMAKER]() as session:
        [visit] = await session.scalars(
            select(CentreVisit).where(CentreVisit.family_id == world.family_id)
        )
        return visit


async def test_a_handover_shows_both_adults_times_staggered_so_they_never_meet(
    client: TestClient,
) -> None:
    app = client.server.app
    world = await make_world(app)
    assert (
        await _book(
            client, world, kind="handover", planned_at="2026-12-05T10:00", stagger_minutes="20"
        )
        == 303
    )
    page = await client.get(
        f"/staff/families/{world.family_id}/visits",
        headers=cookie_header(app, world.cookies["staff"]),
    )
    text = await page.text()
    assert "Resident parent due 10:00" in text and "visiting parent is due 10:20" in text
    # Too short a gap is refused with the rule, on the form and by the schema.
    assert (
        await _book(
            client, world, kind="handover", planned_at="2026-12-06T10:00", stagger_minutes="2"
        )
        == 422
    )
    visit = await _only_visit(client, world)
    with pytest.raises(IntegrityError):
        async with seeding_sessionmaker(app).begin() as session:
            await session.execute(
                update(CentreVisit).where(CentreVisit.id == visit.id).values(stagger_minutes=0)
            )


async def test_arrival_and_departure_are_attendance_in_the_record_and_a_meeting_is_marked(
    client: TestClient,
) -> None:
    app = client.server.app
    world = await make_world(app)
    services = Services.of(app)
    staff = await actor(app, world, "staff")
    planned = datetime(2026, 12, 5, 10, 0, tzinfo=UK)
    visit_id = await visits.book_visit(
        services, staff, world.family_id, visits.VisitInput(VisitKind.HANDOVER, planned, 15, None)
    )
    times = visits.AttendanceInput.parse(
        {"resident_arrived": "09:58", "resident_left": "10:05", "child_arrived": "09:58"}
    )
    await visits.record_attendance(services, staff, world.family_id, visit_id, times)
    visit = await _only_visit(client, world)
    assert visit.resident_left_at == datetime(2026, 12, 5, 10, 5, tzinfo=UK).astimezone(UTC)
    late = visits.AttendanceInput.parse(
        {"resident_arrived": "09:58", "resident_left": "10:25", "visiting_arrived": "10:15"}
    )
    await visits.record_attendance(services, staff, world.family_id, visit_id, late)
    async with app[SESSIONMAKER]() as session:
        kinds = list(
            await session.scalars(
                select(RecordEvent.kind)
                .where(RecordEvent.family_id == world.family_id)
                .order_by(RecordEvent.seq)
            )
        )
        last = await session.scalar(
            select(RecordEvent.payload).order_by(RecordEvent.seq.desc()).limit(1)
        )
    assert kinds[-3:] == ["visit_booked", "visit_attendance", "visit_attendance"]
    assert last is not None and '"adults_met":true' in last
    with pytest.raises(Invalid) as bad:
        visits.AttendanceInput.parse({"child_left": "half ten"})
    assert bad.value.field == "child_left"


async def test_supported_families_keep_dates_and_times_only_in_the_domain_and_the_schema(
    client: TestClient,
) -> None:
    app = client.server.app
    world = await make_world(app, level=ContactLevel.SUPPORTED)
    services = Services.of(app)
    staff = await actor(app, world, "staff")
    planned = datetime.now(UTC) + timedelta(days=1)
    visit_id = await visits.book_visit(
        services, staff, world.family_id, visits.VisitInput(VisitKind.SESSION, planned, 0, None)
    )
    with pytest.raises(Forbidden, match="only dates and times"):
        await visits.record_attendance(
            services,
            staff,
            world.family_id,
            visit_id,
            visits.AttendanceInput({"child_arrived": time(10)}, "Sam cried at first."),
        )
    # A bug that skipped the domain rule still cannot store a note, nor claim the family is
    # supervised.
    for values in (
        {"notes_sealed": b"x"},
        {"notes_sealed": b"x", "contact_level": ContactLevel.SUPERVISED},
    ):
        with pytest.raises(IntegrityError):
            async with seeding_sessionmaker(app).begin() as session:
                await session.execute(
                    update(CentreVisit).where(CentreVisit.id == visit_id).values(**values)
                )
    visit = await _only_visit(client, world)
    assert visit.notes_sealed is None


async def test_a_pre_visit_names_whose_it_is(client: TestClient) -> None:
    world = await make_world(client.server.app)
    assert await _book(client, world, kind="pre_visit", planned_at="2026-12-01T09:00") == 422
    assert (
        await _book(client, world, kind="pre_visit", planned_at="2026-12-01T09:00", party="child")
        == 303
    )
    assert (await _only_visit(client, world)).party == "child"
