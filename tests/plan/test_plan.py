"""The contact plan: frequency windows, due / sent / overdue per family and across the
centre, dates to avoid, names never to use as sensitive terms, plan changes recorded, the
parent's next-letter dates and the reminder two weeks before (no content, sent once)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from service.appkeys import SESSIONMAKER, SETTINGS
from service.errors import Invalid
from service.http.rules import Actor
from service.plan import plans
from service.plan.plans import FamilyPlan, Rule, channel_status, windows
from service.plan.reminders import send_letter_reminders
from service.services import Services
from storage.models import (
    Direction,
    Item,
    ItemKind,
    ItemStatus,
    RecordEvent,
    Role,
    SensitiveTerm,
)
from tests.support.calls import CallWorld, cookie_header, make_world
from tests.support.letterbox_world import make_world as letterbox_world
from tests.support.letterbox_world import send_letter
from tests.support.mail import body_text
from tests.support.mail import outbox as read_outbox
from tests.support.reports import actor
from tests.support.seeding import seeding_sessionmaker

UK = ZoneInfo("Europe/London")


def test_a_letter_every_two_months_makes_back_to_back_windows_clamped_at_month_end() -> None:
    rule = Rule("letters", 2, "months")
    found = windows(rule, date(2026, 1, 31), None, date(2026, 6, 1))
    assert found == [
        (date(2026, 1, 31), date(2026, 3, 30)),
        (date(2026, 3, 31), date(2026, 5, 30)),
        (date(2026, 5, 31), date(2026, 7, 30)),
    ]
    weekly = windows(
        Rule("video", 1, "weeks"), date(2026, 12, 5), date(2026, 12, 20), date(2027, 1, 1)
    )
    assert weekly[-1] == (date(2026, 12, 19), date(2026, 12, 20))  # cut at the plan's end


def test_cards_for_birthday_and_christmas_are_due_on_the_day_and_allowed_two_weeks_before() -> None:
    rule = Rule("gifts", dates=((6, 14), (12, 25)))
    found = windows(rule, date(2026, 3, 1), None, date(2026, 12, 1))
    assert found == [
        (date(2026, 5, 31), date(2026, 6, 14)),
        (date(2026, 12, 11), date(2026, 12, 25)),
    ]
    assert rule.words() == "A gift for 14 June, 25 December"


def _plan(rule: Rule, starts: date, avoid: tuple[tuple[date, date], ...] = ()) -> FamilyPlan:
    return FamilyPlan(uuid.uuid4(), starts, None, None, "", (rule,), avoid, "", (), (), 1)


def test_due_sent_and_overdue_follow_what_was_sent_in_each_window() -> None:
    rule = Rule("letters", 1, "months")
    plan = _plan(rule, date(2026, 9, 1))
    today = date(2026, 11, 10)
    status = channel_status(plan, rule, [date(2026, 9, 20)], today)
    assert status.missed == (date(2026, 10, 31),)  # October had nothing
    assert status.state == "due" and status.due_by == date(2026, 11, 30)
    sent = channel_status(
        plan, rule, [date(2026, 9, 20), date(2026, 10, 2), date(2026, 11, 3)], today
    )
    assert sent.state == "sent" and sent.missed == () and not sent.overdue
    early = channel_status(plan, rule, [], date(2026, 8, 1))
    assert early.state == "not started"


def test_the_plan_form_names_the_field_and_the_rule() -> None:
    base = {"starts_on": "2026-12-01"}
    cases = [
        ({"starts_on": ""}, "starts_on"),
        ({"starts_on": "1 Dec"}, "starts_on"),
        ({**base, "ends_on": "2026-11-01"}, "ends_on"),
        ({**base, "letters_every": "0", "letters_unit": "months"}, "letters_every"),
        ({**base, "letters_every": "2", "letters_unit": "fortnights"}, "letters_unit"),
        ({**base, "gifts_dates": "31/02"}, "gifts_dates"),
        (
            {**base, "gifts_dates": "25/12", "gifts_every": "1", "gifts_unit": "months"},
            "gifts_every",
        ),
        ({**base, "avoid": "Christmas"}, "avoid"),
    ]
    for form, field in cases:
        with pytest.raises(Invalid) as error:
            plans.PlanInput.parse(form)
        assert error.value.field == field, (form, error.value.message)


async def _letter(client: TestClient, world: CallWorld, day: date, status: ItemStatus) -> None:
    async with seeding_sessionmaker(client.server.app).begin() as session:
        session.add(
            Item(
                family_id=world.family_id,
                direction=Direction.TO_CHILD,
                kind=ItemKind.LETTER,
                sender_id=world.users["parent"],
                child_id=world.child_id,
                status=status,
                submitted_at=datetime.combine(day, time(12), tzinfo=UK).astimezone(UTC),
            )
        )


async def _set(client: TestClient, world: CallWorld, **form: str) -> int:
    app = client.server.app
    response = await client.post(
        f"/staff/families/{world.family_id}/plan",
        data={"csrf_token": world.csrf["staff"], **form},
        headers=cookie_header(app, world.cookies["staff"]),
        allow_redirects=False,
    )
    return response.status


def _outbox(client: TestClient) -> list[EmailMessage]:
    return read_outbox(client.server.app[SETTINGS].outbox_dir)


async def test_staff_set_the_plan_names_never_to_use_become_sensitive_terms_and_changes_are_recorded(
    client: TestClient,
) -> None:
    app = client.server.app
    world = await make_world(app)
    status = await _set(
        client,
        world,
        starts_on="2026-09-01",
        order_reference="ZW24C00123",
        letters_every="2",
        letters_unit="months",
        gifts_dates="14/06, 25/12",
        names_to_use="Sam",
        names_never="Samuel Hartley, Sammy",
    )
    assert status == 303
    async with app[SESSIONMAKER]() as session:
        terms = await session.scalar(
            select(func.count())
            .select_from(SensitiveTerm)
            .where(SensitiveTerm.family_id == world.family_id)
        )
        [event] = await session.scalars(
            select(RecordEvent).where(RecordEvent.kind == "plan_changed")
        )
    assert terms == 2
    assert "Hartley" not in event.payload and "ZW24C00123" not in event.payload
    plan = await plans.family_plan(Services.of(app), world.family_id)
    assert plan is not None and plan.order_reference == "ZW24C00123"
    assert [r.words() for r in plan.rules] == [
        "A letter every 2 months",
        "A gift for 14 June, 25 December",
    ]
    page = await client.get(
        f"/staff/families/{world.family_id}/plan",
        headers=cookie_header(app, world.cookies["staff"]),
    )
    assert page.status == 200 and "A letter every 2 months" in await page.text()
    # A change replaces the plan's own terms, and is recorded again.
    assert await _set(client, world, starts_on="2026-09-01", names_never="Sammy") == 303
    async with app[SESSIONMAKER]() as session:
        terms = await session.scalar(
            select(func.count())
            .select_from(SensitiveTerm)
            .where(SensitiveTerm.family_id == world.family_id)
        )
        changes = await session.scalar(
            select(func.count()).select_from(RecordEvent).where(RecordEvent.kind == "plan_changed")
        )
    assert terms == 1 and changes == 2
    bad = await _set(client, world, starts_on="2026-09-01", letters_every="x", letters_unit="days")
    assert bad == 422
    # A parent never reaches the plan pages.
    parent = await client.get(
        f"/staff/families/{world.family_id}/plan",
        headers=cookie_header(app, world.cookies["parent"]),
    )
    assert parent.status == 403


async def test_overdue_contact_is_listed_per_family_and_across_the_centre(
    client: TestClient,
) -> None:
    app = client.server.app
    world = await make_world(app)
    today = datetime.now(UK).date()
    starts = today - timedelta(days=70)
    await _set(client, world, starts_on=starts.isoformat(), letters_every="4", letters_unit="weeks")
    await _letter(client, world, starts + timedelta(days=3), ItemStatus.APPROVED)
    # A letter that was rejected was not contact: the second window stays missed.
    await _letter(client, world, starts + timedelta(days=30), ItemStatus.REJECTED)
    status = await plans.plan_status(Services.of(app), world.family_id)
    [letters] = status.channels
    assert letters.missed == (starts + timedelta(days=55),)
    staff = await actor(app, world, "staff")
    [entry] = await plans.overdue_list(Services.of(app), staff)
    assert entry.family_id == world.family_id
    page = await client.get(
        "/staff/plan/overdue", headers=cookie_header(app, world.cookies["staff"])
    )
    text = await page.text()
    assert page.status == 200 and "LB-" in text and "A letter every 4 weeks" in text


async def test_parent_sees_when_the_next_letter_can_be_sent_and_is_due(client: TestClient) -> None:
    app = client.server.app
    world = await make_world(app)
    today = datetime.now(UK).date()
    starts = today - timedelta(days=5)
    blocked_to = today + timedelta(days=2)
    await _set(
        client,
        world,
        starts_on=starts.isoformat(),
        letters_every="1",
        letters_unit="months",
        avoid=f"{today.strftime('%d/%m')} - {blocked_to.strftime('%d/%m')}",
    )
    parent = await actor(app, world, "parent")
    [nxt] = await plans.next_letters(Services.of(app), parent)
    # Today and the next two days are to be avoided: the letter can go after them.
    assert nxt.can_send_from == today + timedelta(days=3) and not nxt.sent
    page = await client.get("/letterbox", headers=cookie_header(app, world.cookies["parent"]))
    text = await page.text()
    assert "Your next letter can be sent from" in text and "is due by" in text
    # Once this window's letter is sent, the next one is the next window's.
    await _letter(client, world, today, ItemStatus.IN_REVIEW)
    [after] = await plans.next_letters(Services.of(app), parent)
    assert after.sent and after.can_send_from is not None and after.can_send_from > today


async def test_the_parent_is_reminded_once_two_weeks_before_a_letter_is_due_with_no_content(
    client: TestClient,
) -> None:
    app = client.server.app
    world = await make_world(app)
    services = Services.of(app)
    await _set(client, world, starts_on="2026-09-01", letters_every="1", letters_unit="months")
    # 20 days before the end of November's window: too early.
    assert await send_letter_reminders(services, today=date(2026, 11, 10)) == []
    assert await send_letter_reminders(services, today=date(2026, 11, 20)) == [world.family_id]
    assert await send_letter_reminders(services, today=date(2026, 11, 21)) == []
    [mail] = _outbox(client)
    assert mail["To"] == world.emails["parent"]
    body = body_text(mail)
    assert "Monday 30 November 2026" in body and "/letterbox" in body
    for secret in ("Sam", "LB-", str(world.family_id)):
        assert secret not in body
    # A letter already sent in the window: no reminder for it.
    await _letter(client, world, date(2026, 12, 2), ItemStatus.SUBMITTED)
    assert await send_letter_reminders(services, today=date(2026, 12, 20)) == []


async def test_a_letter_beyond_the_plan_is_not_dropped_it_waits_for_staff_with_a_note(
    client: TestClient,
) -> None:
    app = client.server.app
    world = await letterbox_world(client)
    staff = Actor(
        world.staff.user_id, Role.STAFF, world.centre_id, "Moderator One", "", "", "", True
    )
    today = datetime.now(UK).date()
    form = {
        "starts_on": (today - timedelta(days=5)).isoformat(),
        "letters_every": "1",
        "letters_unit": "months",
    }
    await plans.set_plan(Services.of(app), staff, world.family_id, plans.PlanInput.parse(form))
    status, first = await send_letter(client, world, "Dear Sam, happy days.")
    assert status == 201 and "plan_note" not in first
    status, second = await send_letter(client, world, "Dear Sam, one more.")
    assert status == 201 and second["status"] == "in_review"
    assert (
        "already been sent" in second["plan_note"] and "wait for the centre" in second["plan_note"]
    )
    async with app[SESSIONMAKER]() as session:
        beyond = list(
            await session.scalars(select(RecordEvent).where(RecordEvent.kind == "item_beyond_plan"))
        )
        held = await session.get(Item, uuid.UUID(second["item_id"]))
    assert held is not None and held.status is ItemStatus.IN_REVIEW
    assert len(beyond) == 1 and str(held.id) in beyond[0].payload


async def test_two_reminder_runs_at_once_send_one_reminder(client: TestClient) -> None:
    import asyncio

    app = client.server.app
    world = await make_world(app)
    services = Services.of(app)
    await _set(client, world, starts_on="2026-09-01", letters_every="1", letters_unit="months")
    day = date(2026, 11, 25)
    runs = await asyncio.gather(
        send_letter_reminders(services, today=day), send_letter_reminders(services, today=day)
    )
    assert sorted(len(r) for r in runs) == [0, 1]
    assert len(_outbox(client)) == 1
