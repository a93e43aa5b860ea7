"""Retention: a family's content is crypto-shredded automatically once its rule passes,
never under a legal hold, never twice; admins see it coming a month before; the record
still verifies afterwards."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from service.appkeys import KEYRING, SESSIONMAKER
from service.retention import retention
from service.retention.retention import RuleInput, due_on, run_retention
from service.services import Services
from storage.keyring import FamilyShredded
from storage.models import Family as FamilyRow
from storage.models import FamilyStatus, RecordEvent, RetentionKind
from storage.record import verify_database
from tests.support.calls import CallWorld, cookie_header, make_world
from tests.support.families import set_children_born
from tests.support.reports import actor
from tests.support.seeding import seeding_sessionmaker

TODAY = date(2026, 12, 2)


def test_the_rules_give_the_first_day_content_may_be_destroyed() -> None:
    youngest = RetentionKind.YOUNGEST_25
    assert due_on(youngest, 6, [2010, 2017], None) == date(2043, 1, 1)
    assert due_on(youngest, 6, [], None) is None
    after = RetentionKind.YEARS_AFTER_CLOSURE
    assert due_on(after, 5, [], datetime(2020, 2, 29, tzinfo=UTC)) == date(2025, 2, 28)
    assert due_on(after, 5, [2017], None) is None  # still open: not yet known


async def _child_born(client: TestClient, world: CallWorld, year: int) -> None:
    app = client.server.app
    await set_children_born(seeding_sessionmaker(app), app[KEYRING], world.family_id, year)


async def _shredded_kinds(client: TestClient, world: CallWorld) -> list[str]:
    async with client.server.app[SESSIONMAKER]() as session:
        return list(
            await session.scalars(
                select(RecordEvent.kind).where(
                    RecordEvent.family_id == world.family_id,
                    RecordEvent.kind == "family_shredded",
                )
            )
        )


async def test_content_is_shredded_when_retention_passes_unless_held_and_the_record_verifies(
    client: TestClient,
) -> None:
    app = client.server.app
    services = Services.of(app)
    due = await make_world(app)
    held = await make_world(app)
    young = await make_world(app)
    for world in (due, held):
        await _child_born(client, world, 1990)  # 25 long ago
    await retention.set_family_rule(
        services, await actor(app, held, "admin"), held.family_id, RuleInput(None, None, True)
    )
    async with app[SESSIONMAKER]() as session:
        sealed = await app[KEYRING].seal_for_family(session, due.family_id, b"a letter", "test")
    assert await run_retention(services, TODAY) == [due.family_id]
    assert await run_retention(services, TODAY) == []  # safe to run twice
    async with app[SESSIONMAKER]() as session:
        with pytest.raises(FamilyShredded):
            await app[KEYRING].open_for_family(session, due.family_id, sealed, "test")
        report = await verify_database(session)
    assert report.ok, report
    assert await _shredded_kinds(client, due) == ["family_shredded"]
    assert await _shredded_kinds(client, held) == []
    assert await _shredded_kinds(client, young) == []


async def test_years_after_closure_counts_from_the_case_closing_and_admins_are_warned(
    client: TestClient,
) -> None:
    app = client.server.app
    services = Services.of(app)
    world = await make_world(app)
    admin = await actor(app, world, "admin")
    await retention.set_centre_default(services, admin, RetentionKind.YEARS_AFTER_CLOSURE, 1)
    async with seeding_sessionmaker(app).begin() as session:
        await session.execute(
            update(FamilyRow)
            .where(FamilyRow.id == world.family_id)
            .values(status=FamilyStatus.CLOSED)
        )
    # Its last record event (the rule change below) is the closure: due a year later.
    await retention.set_family_rule(services, admin, world.family_id, RuleInput(None, None, False))
    [entry] = [
        f
        for f in await retention.retention_overview(services, admin, TODAY)
        if f.family_id == world.family_id
    ]
    assert entry.due_on is not None and entry.due_on.year == datetime.now(UTC).year + 1
    almost = await retention.retention_overview(services, admin, entry.due_on.replace(day=1))
    assert any(f.family_id == world.family_id and f.warning for f in almost)
    assert await run_retention(services, entry.due_on) == [world.family_id]
    page = await client.get("/admin/retention", headers=cookie_header(app, world.cookies["admin"]))
    assert page.status == 200 and "Destroyed" in await page.text()


async def test_a_legal_hold_set_on_the_page_is_recorded(client: TestClient) -> None:
    app = client.server.app
    world = await make_world(app)
    response = await client.post(
        f"/admin/families/{world.family_id}/retention",
        data={"csrf_token": world.csrf["admin"], "legal_hold": "yes"},
        headers=cookie_header(app, world.cookies["admin"]),
        allow_redirects=False,
    )
    assert response.status == 303
    async with app[SESSIONMAKER]() as session:
        [payload] = await session.scalars(
            select(RecordEvent.payload).where(RecordEvent.kind == "retention_changed")
        )
    assert '"legal_hold":true' in payload
    staff = await client.get("/admin/retention", headers=cookie_header(app, world.cookies["staff"]))
    assert staff.status == 403


async def test_the_legal_hold_button_keeps_the_familys_own_rule(client: TestClient) -> None:
    app = client.server.app
    world = await make_world(app)
    services = Services.of(app)
    admin = await actor(app, world, "admin")
    own = RuleInput(RetentionKind.YEARS_AFTER_CLOSURE, 3, legal_hold=False)
    await retention.set_family_rule(services, admin, world.family_id, own)
    for hold in ("yes", "no"):
        response = await client.post(
            f"/admin/families/{world.family_id}/retention",
            data={"csrf_token": world.csrf["admin"], "legal_hold": hold},
            headers=cookie_header(app, world.cookies["admin"]),
            allow_redirects=False,
        )
        assert response.status == 303
        view = await retention.family_retention(services, admin, world.family_id)
        assert (view.own_kind, view.own_years) == (RetentionKind.YEARS_AFTER_CLOSURE, 3)
        assert view.legal_hold is (hold == "yes")
