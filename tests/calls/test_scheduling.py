"""Booking, changing and cancelling calls through the real pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from service.appkeys import SESSIONMAKER, SETTINGS
from service.calls import scheduling
from service.errors import Invalid
from service.settings import Settings, SettingsError
from storage.models import Call, CallStatus, Family, RecordEvent
from tests.support.calls import CallWorld, cookie_header, make_world
from tests.support.mail import body_text, calendar_bytes, calendar_event
from tests.support.mail import outbox as read_outbox


def form_time(when: datetime) -> str:
    # What a person types: the centre's local time (the test settings keep Europe/London).
    return when.astimezone(ZoneInfo("Europe/London")).strftime("%Y-%m-%dT%H:%M")


def booking(world: CallWorld, starts: datetime, minutes: int = 45) -> dict[str, str]:
    return {
        "csrf_token": world.csrf["admin"],
        "child_id": str(world.child_id),
        "supervisor_id": str(world.users["supervisor"]),
        "starts_at": form_time(starts),
        "ends_at": form_time(starts + timedelta(minutes=minutes)),
    }


def outbox(client: TestClient) -> list[EmailMessage]:
    folder: Path = client.server.app[SETTINGS].outbox_dir
    return read_outbox(folder)


async def record_kinds(client: TestClient) -> list[str]:
    async with client.server.app[SESSIONMAKER]() as session:
        return list(
            (await session.scalars(select(RecordEvent.kind).order_by(RecordEvent.seq))).all()
        )


async def book(client: TestClient, world: CallWorld, starts: datetime) -> Call:
    app = client.server.app
    response = await client.post(
        f"/calls/new/{world.family_id}",
        data=booking(world, starts),
        headers=cookie_header(app, world.cookies["admin"]),
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    async with app[SESSIONMAKER]() as session:
        call = await session.scalar(select(Call).where(Call.family_id == world.family_id))
    assert call is not None
    return call


async def test_booking_a_call_records_it_and_emails_the_parent_without_the_childs_name(
    client: TestClient,
) -> None:
    world = await make_world(client.server.app)
    starts = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=2)
    call = await book(client, world, starts)
    assert call.status is CallStatus.SCHEDULED
    assert call.starts_at == starts
    assert call.supervisor_id == world.users["supervisor"]
    assert "call_scheduled" in await record_kinds(client)

    mails = outbox(client)
    assert [m["To"] for m in mails] == [world.emails["parent"]]
    assert mails[0]["Subject"] == "A video call has been booked"
    text = body_text(mails[0])
    assert f"/calls/{call.id}/join" in text
    assert "Sam" not in text and "LB-" not in text
    # Its calendar file holds the window and the same join link, and nothing about the child.
    event = calendar_event(mails[0])
    assert event.decoded("DTSTART") == starts
    assert str(event["URL"]).endswith(f"/calls/{call.id}/join")
    assert b"Sam" not in calendar_bytes(mails[0]) and b"LB-" not in calendar_bytes(mails[0])


async def test_parent_and_staff_see_the_upcoming_call(client: TestClient) -> None:
    app = client.server.app
    world = await make_world(app)
    call = await book(client, world, datetime.now(UTC) + timedelta(days=1))
    # Staff open the child's screen on a locked centre device (service.calls.device).
    for person, page in (("parent", "join"), ("staff", "device"), ("supervisor", "join")):
        response = await client.get("/calls", headers=cookie_header(app, world.cookies[person]))
        assert response.status == 200
        # The parent's "Join" goes live 15 minutes before the call; until then it is listed.
        shown = f'data-call-id="{call.id}"' if person == "parent" else f"/calls/{call.id}/{page}"
        assert shown in await response.text()
    other = await client.get("/calls", headers=cookie_header(app, world.cookies["other_parent"]))
    assert str(call.id) not in await other.text()


async def test_changing_a_call_records_it_and_tells_the_parent(client: TestClient) -> None:
    app = client.server.app
    world = await make_world(app)
    call = await book(client, world, datetime.now(UTC) + timedelta(days=1))
    later = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=3)
    data = booking(world, later, minutes=30) | {"version": str(call.version)}
    response = await client.post(
        f"/calls/{call.id}/edit",
        data=data,
        headers=cookie_header(app, world.cookies["admin"]),
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    async with app[SESSIONMAKER]() as session:
        changed = await session.get(Call, call.id)
    assert changed is not None and changed.starts_at == later
    assert "call_changed" in await record_kinds(client)
    assert [m["Subject"] for m in outbox(client)] == [
        "A video call has been booked",
        "A video call has changed",
    ]


async def test_cancelling_a_call_records_it(client: TestClient) -> None:
    app = client.server.app
    world = await make_world(app)
    call = await book(client, world, datetime.now(UTC) + timedelta(days=1))
    response = await client.post(
        f"/calls/{call.id}/cancel",
        data={"csrf_token": world.csrf["admin"], "reason": "parent_unavailable", "version": "1"},
        headers=cookie_header(app, world.cookies["admin"]),
        allow_redirects=False,
    )
    assert response.status == 303
    async with app[SESSIONMAKER]() as session:
        cancelled = await session.get(Call, call.id)
    assert cancelled is not None and cancelled.status is CallStatus.CANCELLED
    assert (await record_kinds(client))[-1] == "call_cancelled"


async def test_cancelling_a_call_emails_the_parent_only_the_time_and_a_sign_in_link(
    client: TestClient,
) -> None:
    app = client.server.app
    world = await make_world(app)
    starts = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=1)
    call = await book(client, world, starts)
    response = await client.post(
        f"/calls/{call.id}/cancel",
        data={"csrf_token": world.csrf["admin"], "reason": "child_unavailable", "version": "1"},
        headers=cookie_header(app, world.cookies["admin"]),
        allow_redirects=False,
    )
    assert response.status == 303
    mails = outbox(client)
    assert [m["Subject"] for m in mails] == [
        "A video call has been booked",
        "A video call has been cancelled",
    ]
    cancelled = mails[-1]
    assert cancelled["To"] == world.emails["parent"]
    text = body_text(cancelled)
    assert str(calendar_event(cancelled)["STATUS"]) == "CANCELLED"
    assert starts.astimezone(ZoneInfo("Europe/London")).strftime("%A %d %B %Y at %H:%M %Z") in text
    base = app[SETTINGS].public_url
    # One link: the list of calls, behind sign-in.
    assert {word for word in text.split() if word.startswith("http")} == {f"{base}/calls"}
    # Never the child's name, the case, the reason or where anyone is.
    for secret in ("Sam", "LB-", "child_unavailable", "The child cannot attend"):
        assert secret not in text


async def test_parent_cannot_book_a_call(client: TestClient) -> None:
    app = client.server.app
    world = await make_world(app)
    data = booking(world, datetime.now(UTC) + timedelta(days=1))
    data["csrf_token"] = world.csrf["parent"]
    response = await client.post(
        f"/calls/new/{world.family_id}",
        data=data,
        headers=cookie_header(app, world.cookies["parent"]),
        allow_redirects=False,
    )
    assert response.status == 403
    async with app[SESSIONMAKER]() as session:
        assert await session.scalar(select(Call.id)) is None


async def test_family_without_video_cannot_have_a_call_booked(client: TestClient) -> None:
    app = client.server.app
    world = await make_world(app)
    async with app[SESSIONMAKER].begin() as session:
        await session.execute(
            update(Family).where(Family.id == world.family_id).values(channels=["letters"])
        )
    response = await client.post(
        f"/calls/new/{world.family_id}",
        data=booking(world, datetime.now(UTC) + timedelta(days=1)),
        headers=cookie_header(app, world.cookies["admin"]),
        allow_redirects=False,
    )
    assert response.status == 422
    assert "Video calls are not allowed" in await response.text()
    assert outbox(client) == []
    assert "call_scheduled" not in await record_kinds(client)


async def test_supervisor_must_be_one_of_the_centres_supervisors(client: TestClient) -> None:
    app = client.server.app
    world = await make_world(app)
    data = booking(world, datetime.now(UTC) + timedelta(days=1))
    data["supervisor_id"] = str(world.users["staff"])
    response = await client.post(
        f"/calls/new/{world.family_id}",
        data=data,
        headers=cookie_header(app, world.cookies["admin"]),
        allow_redirects=False,
    )
    assert response.status == 422


def test_booking_times_are_read_in_the_centre_time_zone_and_stored_in_utc() -> None:
    london = ZoneInfo("Europe/London")
    summer = scheduling.parse_time("2026-07-01T14:30", "starts_at", london)
    winter = scheduling.parse_time("2026-12-01T14:30", "starts_at", london)
    assert summer == datetime(2026, 7, 1, 13, 30, tzinfo=UTC)  # BST is UTC+1
    assert winter == datetime(2026, 12, 1, 14, 30, tzinfo=UTC)
    with pytest.raises(Invalid) as refused:
        scheduling.parse_time("1 July, half past two", "starts_at", london)
    assert refused.value.field == "starts_at"


def test_unknown_centre_time_zone_is_refused_naming_the_variable() -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"LETTERBOX_TIMEZONE": "Mars/Olympus_Mons"})
    assert refused.value.variable == "LETTERBOX_TIMEZONE"
