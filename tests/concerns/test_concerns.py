"""Safeguarding concerns: an item held back at once (its sender sees only "Being checked"),
the designated lead e-mailed with no content, acknowledged by the lead or the admins
reminded after 24 hours (once, under a lease-free claim safe to run twice), the action
recorded, a staff-only list, the record and the court export as the level allows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from service.appkeys import KEYRING, SESSIONMAKER, SETTINGS
from service.concerns import concerns
from service.concerns.concerns import ConcernSource, SourceKind
from service.concerns.reminders import run_concerns_job
from service.errors import Conflict, Forbidden, Invalid
from service.letterbox import moderation
from service.record import export
from service.record.export import Maker, Period
from service.services import Services
from storage import record
from storage.models import (
    ContactLevel,
    Decision,
    Direction,
    Item,
    ItemKind,
    ItemStatus,
    RecordEvent,
    SafeguardingConcern,
    User,
)
from tests.support.calls import CallWorld, book_call, cookie_header, make_world
from tests.support.export_world import pdf_pages_text
from tests.support.mail import body_text
from tests.support.mail import outbox as read_outbox
from tests.support.reports import actor
from tests.support.seeding import seeding_sessionmaker

WHAT = "The father told Sam to keep a secret about meeting him at the park on Sunday."
ACTION = "Shared with the local authority children's services on 3 December."


async def _approved_letter(client: TestClient, world: CallWorld) -> uuid.UUID:
    async with seeding_sessionmaker(client.server.app).begin() as session:
        item = Item(
            family_id=world.family_id,
            direction=Direction.TO_CHILD,
            kind=ItemKind.LETTER,
            sender_id=world.users["parent"],
            child_id=world.child_id,
            status=ItemStatus.APPROVED,
        )
        session.add(item)
        await session.flush()
        return item.id


async def _make_lead(client: TestClient, world: CallWorld, name: str = "staff") -> None:
    async with seeding_sessionmaker(client.server.app).begin() as session:
        await session.execute(
            update(User).where(User.id == world.users[name]).values(safeguarding_lead=True)
        )


def _outbox(client: TestClient) -> list[EmailMessage]:
    return read_outbox(client.server.app[SETTINGS].outbox_dir)


async def _raise(client: TestClient, world: CallWorld, source: ConcernSource) -> uuid.UUID:
    app = client.server.app
    return await concerns.raise_concern(
        Services.of(app), await actor(app, world, "supervisor"), source, WHAT
    )


async def _item(client: TestClient, item_id: uuid.UUID) -> Item:
    async with client.server.app[SESSIONMAKER]() as session:
        item = await session.get(Item, item_id)
        assert item is not None
        return item


async def test_a_concern_withholds_the_item_at_once_and_the_sender_sees_only_being_checked(
    client: TestClient,
) -> None:
    app = client.server.app
    world = await make_world(app)
    item_id = await _approved_letter(client, world)
    await _make_lead(client, world)
    await _raise(client, world, ConcernSource(SourceKind.ITEM, item_id))
    item = await _item(client, item_id)
    assert item.status is ItemStatus.IN_REVIEW and item.withheld_at is not None
    page = await client.get("/letterbox", headers=cookie_header(app, world.cookies["parent"]))
    text = await page.text()
    assert page.status == 200 and "Being checked" in text
    assert "concern" not in text.lower() and "safeguarding" not in text.lower()
    async with app[SESSIONMAKER]() as session:
        [event] = await session.scalars(
            select(RecordEvent).where(RecordEvent.kind == "concern_raised")
        )
    assert WHAT not in event.payload  # sealed under the family key
    # Nobody reaches a parent's concern pages: they are staff-only.
    listing = await client.get(
        "/staff/concerns", headers=cookie_header(app, world.cookies["parent"])
    )
    assert listing.status == 403


async def test_no_moderator_can_decide_on_a_withheld_item(client: TestClient) -> None:
    app = client.server.app
    world = await make_world(app)
    item_id = await _approved_letter(client, world)
    await _raise(client, world, ConcernSource(SourceKind.ITEM, item_id))
    item = await _item(client, item_id)
    staff = await actor(app, world, "staff")
    for decision in (Decision.APPROVE, Decision.REJECT):
        with pytest.raises(Conflict, match="withheld"):
            await moderation.decide(
                app,
                staff,
                item_id,
                moderation.DecisionRequest(decision, item.version, message="No."),
            )
    assert (await _item(client, item_id)).status is ItemStatus.IN_REVIEW


async def test_the_lead_is_emailed_at_once_with_no_content(client: TestClient) -> None:
    app = client.server.app
    world = await make_world(app)
    await _make_lead(client, world)
    call_id = await book_call(app, world)
    await _raise(client, world, ConcernSource(SourceKind.CALL, call_id))
    [mail] = _outbox(client)
    assert mail["To"] == world.emails["staff"]
    assert mail["Subject"] == "A safeguarding concern needs you now"
    body = body_text(mail)
    assert "/staff/concerns" in body
    async with app[SESSIONMAKER]() as session:
        case = await session.scalar(select(SafeguardingConcern.family_id))
    for secret in ("Sam", "park", "secret", str(case), str(world.family_id), "LB-"):
        assert secret not in body and secret not in str(mail["Subject"])


async def test_without_a_designated_lead_the_admins_are_told(client: TestClient) -> None:
    app = client.server.app
    world = await make_world(app)
    call_id = await book_call(app, world)
    await _raise(client, world, ConcernSource(SourceKind.CALL, call_id))
    assert [m["To"] for m in _outbox(client)] == [world.emails["admin"]]


async def test_only_the_lead_acknowledges_and_records_the_action_which_may_release_the_item(
    client: TestClient,
) -> None:
    app = client.server.app
    world = await make_world(app)
    item_id = await _approved_letter(client, world)
    await _make_lead(client, world)
    concern_id = await _raise(client, world, ConcernSource(SourceKind.ITEM, item_id))
    services = Services.of(app)
    not_lead = await actor(app, world, "admin")
    with pytest.raises(Forbidden, match="safeguarding lead"):
        await concerns.acknowledge(services, not_lead, world.family_id, concern_id)
    lead = await actor(app, world, "staff")
    await concerns.acknowledge(services, lead, world.family_id, concern_id)
    with pytest.raises(Invalid) as empty:
        await concerns.record_action(services, lead, world.family_id, concern_id, "  ")
    assert empty.value.field == "action"
    await concerns.record_action(services, lead, world.family_id, concern_id, ACTION, release=True)
    view = await concerns.read_concern(services, lead, world.family_id, concern_id)
    assert view.action == ACTION and view.what == WHAT and not view.item_withheld
    assert (await _item(client, item_id)).withheld_at is None
    async with app[SESSIONMAKER]() as session:
        kinds = list(
            await session.scalars(
                select(RecordEvent.kind)
                .where(RecordEvent.kind.like("concern_%"))
                .order_by(RecordEvent.seq)
            )
        )
    assert kinds == ["concern_raised", "concern_acknowledged", "concern_action_recorded"]


async def test_admins_are_reminded_once_when_not_acknowledged_within_24_hours(
    client: TestClient,
) -> None:
    app = client.server.app
    world = await make_world(app)
    await _make_lead(client, world)
    services = Services.of(app)
    call_id = await book_call(app, world)
    concern_id = await _raise(client, world, ConcernSource(SourceKind.CALL, call_id))
    raised = datetime.now(UTC)
    assert await run_concerns_job(services, now=raised + timedelta(hours=23)) == []
    assert await run_concerns_job(services, now=raised + timedelta(hours=25)) == [concern_id]
    assert await run_concerns_job(services, now=raised + timedelta(hours=26)) == []
    reminders = [m for m in _outbox(client) if "not been acknowledged" in str(m["Subject"])]
    assert [m["To"] for m in reminders] == [world.emails["admin"]]
    assert "Sam" not in body_text(reminders[0]) and "park" not in body_text(reminders[0])
    # An acknowledged concern is never chased.
    second = await _raise(client, world, ConcernSource(SourceKind.CALL, call_id))
    await concerns.acknowledge(services, await actor(app, world, "staff"), world.family_id, second)
    assert await run_concerns_job(services, now=raised + timedelta(hours=30)) == []


async def test_concerns_list_shows_the_centre_staff_the_open_concerns(client: TestClient) -> None:
    app = client.server.app
    world = await make_world(app)
    call_id = await book_call(app, world)
    concern_id = await _raise(client, world, ConcernSource(SourceKind.CALL, call_id))
    page = await client.get("/staff/concerns", headers=cookie_header(app, world.cookies["staff"]))
    text = await page.text()
    assert page.status == 200 and str(concern_id) in text and "Waiting for the lead" in text
    assert WHAT not in text  # the words are on the concern's own page, not the list
    one = await client.get(
        f"/staff/families/{world.family_id}/concerns/{concern_id}",
        headers=cookie_header(app, world.cookies["staff"]),
    )
    assert one.status == 200 and WHAT in await one.text()


@pytest.mark.parametrize("level", [ContactLevel.SUPERVISED, ContactLevel.SUPPORTED])
async def test_court_export_shows_concerns_as_the_level_allows(
    client: TestClient, tmp_path: Path, level: ContactLevel
) -> None:
    app = client.server.app
    world = await make_world(app, level=level)
    await _make_lead(client, world)
    call_id = await book_call(app, world)
    concern_id = await _raise(client, world, ConcernSource(SourceKind.CALL, call_id))
    services = Services.of(app)
    await concerns.record_action(
        services, await actor(app, world, "staff"), world.family_id, concern_id, ACTION
    )
    today = datetime.now(UTC).date().isoformat()
    made = await export.make_export(
        services.sessionmaker,
        app[KEYRING],
        None,
        world.family_id,
        Period.parse(today, today),
        Maker(record.EventAuthor(world.users["admin"], "admin"), "Admin"),
    )
    text = " ".join(" ".join(pdf_pages_text(made.pdf, tmp_path)).split())
    assert "Safeguarding concerns" in text and "Safeguarding concern 1" in text
    # (pdftotext -layout sets the time column beside the first words of each line)
    assert "recorded by the safeguarding lead" in text
    if level is ContactLevel.SUPERVISED:
        assert "keep a secret" in text and "children's services" in text
    else:
        assert "keep a secret" not in text and "children's services" not in text


async def test_staff_raise_a_concern_through_the_page_and_an_admin_designates_the_lead(
    client: TestClient,
) -> None:
    app = client.server.app
    world = await make_world(app)
    item_id = await _approved_letter(client, world)
    admin = cookie_header(app, world.cookies["admin"])
    leads = await client.get("/admin/safeguarding-leads", headers=admin)
    assert leads.status == 200 and "Make Staff a lead" in await leads.text()
    made = await client.post(
        f"/admin/safeguarding-leads/{world.users['staff']}",
        data={"csrf_token": world.csrf["admin"], "lead": "yes"},
        headers=admin,
        allow_redirects=False,
    )
    assert made.status == 303
    staff = cookie_header(app, world.cookies["staff"])
    path = f"/staff/items/{item_id}/concern"
    assert (await client.get(path, headers=staff)).status == 200
    empty = await client.post(
        path, data={"csrf_token": world.csrf["staff"], "what": " "}, headers=staff
    )
    assert empty.status == 422 and "what you saw or heard" in await empty.text()
    assert (await _item(client, item_id)).withheld_at is None
    raised = await client.post(
        path,
        data={"csrf_token": world.csrf["staff"], "what": WHAT},
        headers=staff,
        allow_redirects=False,
    )
    assert raised.status == 303
    assert (await _item(client, item_id)).withheld_at is not None
    assert [m["To"] for m in _outbox(client)] == [world.emails["staff"]]
    # A parent cannot raise one (nor learn that the page exists for their item).
    parent = await client.post(
        path,
        data={"csrf_token": world.csrf["parent"], "what": WHAT},
        headers=cookie_header(app, world.cookies["parent"]),
        allow_redirects=False,
    )
    assert parent.status == 403


class _MailDown:
    """The mail server refusing everything (a fake at the network edge)."""

    async def send(self, **_: object) -> None:
        from service.errors import Unavailable

        raise Unavailable("mail server down")


async def test_when_mail_is_down_the_lead_is_told_by_the_next_run_and_never_twice(
    client: TestClient,
) -> None:
    import asyncio
    import dataclasses

    app = client.server.app
    world = await make_world(app)
    await _make_lead(client, world)
    services = Services.of(app)
    down = dataclasses.replace(services, mailer=_MailDown())
    call_id = await book_call(app, world)
    concern_id = await concerns.raise_concern(
        down, await actor(app, world, "supervisor"), ConcernSource(SourceKind.CALL, call_id), WHAT
    )
    async with app[SESSIONMAKER]() as session:
        row = await session.get(SafeguardingConcern, concern_id)
        assert row is not None and row.lead_told_at is None  # the claim was given back
    assert _outbox(client) == []
    # Two runs at once (two nodes, or a restart mid-run): the lead gets one e-mail.
    await asyncio.gather(run_concerns_job(services), run_concerns_job(services))
    assert [m["To"] for m in _outbox(client)] == [world.emails["staff"]]
    await run_concerns_job(services)
    assert len(_outbox(client)) == 1
