"""A call's e-mails carry a calendar file that a real calendar library reads: the window, the
centre's name and the join link, and nothing about the child. Both mailers carry it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from service.app import create_app
from service.appkeys import MAILER, SETTINGS
from service.ics import CalendarEvent
from service.notify import KINDS, SmtpMailer, UnsafeEmail
from tests.support.calls import cookie_header, make_world
from tests.support.mail import body_text, calendar_bytes, calendar_event, outbox
from tests.support.settings import make_settings
from tests.support.smtp import Inbox, smtp_server

__all__ = ["smtp_server"]

# Commas, a semicolon and a long name: the file must escape and fold them, and a calendar
# must read them back exactly.
CENTRE = "Riverside, Northshire; Family Contact Centre for the Two Counties and the Coast"


@pytest.fixture
async def centre_client(
    aiohttp_client: AiohttpClient, database_url: str, tmp_path: Path
) -> AsyncIterator[TestClient]:
    settings = make_settings(database_url, tmp_path / "data", centre_name=CENTRE)
    yield await aiohttp_client(create_app(settings))


def form_time(when: datetime) -> str:
    return when.astimezone(ZoneInfo("Europe/London")).strftime("%Y-%m-%dT%H:%M")


def event_of(start: datetime, minutes: int = 45, **changes: object) -> CalendarEvent:
    event = CalendarEvent(
        call_id=uuid.uuid4(),
        starts_at=start,
        ends_at=start + timedelta(minutes=minutes),
        link="http://127.0.0.1/calls/x/join",
    )
    return CalendarEvent(**{**event.__dict__, **changes})  # type: ignore[arg-type]


async def test_booking_email_carries_a_calendar_file_with_window_centre_and_link_only(
    centre_client: TestClient,
) -> None:
    client = centre_client
    app = client.server.app
    world = await make_world(app)
    starts = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=3)
    response = await client.post(
        f"/calls/new/{world.family_id}",
        data={
            "csrf_token": world.csrf["staff"],
            "child_id": str(world.child_id),
            "supervisor_id": str(world.users["supervisor"]),
            "starts_at": form_time(starts),
            "ends_at": form_time(starts + timedelta(minutes=40)),
        },
        headers=cookie_header(app, world.cookies["staff"]),
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    (message,) = outbox(app[SETTINGS].outbox_dir)
    link = body_text(message).split("http", 1)[1].split()[0]
    join = f"http{link}"
    assert join.endswith("/join")

    event = calendar_event(message)
    assert event.decoded("DTSTART") == starts
    assert event.decoded("DTEND") == starts + timedelta(minutes=40)
    assert str(event["URL"]) == join
    assert join in str(event["DESCRIPTION"])
    assert str(event["SUMMARY"]) == f"Video call with {CENTRE}"
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["UID"]).startswith("call-")
    raw = calendar_bytes(message)
    # Nothing about the child or the case: not the child's name, nor the case reference.
    for secret in (b"Sam", b"LB-", str(world.child_id).encode(), str(world.family_id).encode()):
        assert secret not in raw
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))


async def test_moving_and_cancelling_update_the_same_calendar_entry(
    centre_client: TestClient,
) -> None:
    client = centre_client
    app = client.server.app
    world = await make_world(app)
    mailer = app[MAILER]
    base = app[SETTINGS].public_url
    start = datetime.now(UTC) + timedelta(days=2)
    call_id = uuid.uuid4()
    for kind, version, cancelled in (
        ("call_scheduled", 1, False),
        ("call_changed", 2, False),
        ("call_cancelled", 3, True),
    ):
        await mailer.send(
            to=world.emails["parent"],
            subject=KINDS[kind].subject,
            template=kind,
            context={"link": f"{base}/calls", "starts_at": start},
            calendar=CalendarEvent(
                call_id, start, start + timedelta(hours=1), f"{base}/calls/{call_id}/join",
                sequence=version, cancelled=cancelled,
            ),
        )  # fmt: skip
    events = [calendar_event(m) for m in outbox(app[SETTINGS].outbox_dir)]
    assert len({str(e["UID"]) for e in events}) == 1
    assert [int(e["SEQUENCE"]) for e in events] == [1, 2, 3]
    assert [str(e["STATUS"]) for e in events] == ["CONFIRMED", "CONFIRMED", "CANCELLED"]


async def test_smtp_mailer_carries_the_calendar_file_over_the_wire(
    aiohttp_client: AiohttpClient, database_url: str, tmp_path: Path, smtp_server: Inbox
) -> None:
    settings = make_settings(
        database_url, tmp_path / "data", smtp_url=smtp_server.url, centre_name=CENTRE
    )
    client = await aiohttp_client(create_app(settings))
    mailer = client.server.app[MAILER]
    assert isinstance(mailer, SmtpMailer)
    start = datetime(2031, 3, 4, 15, 30, tzinfo=UTC)
    link = f"{settings.public_url}/calls/{uuid.uuid4()}/join"
    await mailer.send(
        to="pat@example.org",
        subject=KINDS["call_reminder"].subject,
        template="call_reminder",
        context={"link": link, "starts_at": start},
        calendar=CalendarEvent(uuid.uuid4(), start, start + timedelta(minutes=30), link),
    )
    (message,) = await asyncio.to_thread(smtp_server.wait_for, 1)
    assert isinstance(message, EmailMessage)
    assert message["Subject"] == "Reminder: your video call is tomorrow"
    assert link in body_text(message)
    event = calendar_event(message)
    assert event.decoded("DTSTART") == start
    assert event.decoded("DTEND") == start + timedelta(minutes=30)
    assert str(event["URL"]) == link
    assert CENTRE in str(event["SUMMARY"])


@pytest.mark.parametrize(
    ("kind", "changes"),
    [
        ("reply_waiting", {}),  # a kind that is not about a call
        ("invite", {}),
        ("call_scheduled", {"link": "https://elsewhere.example/calls/x/join"}),
        ("call_scheduled", {"link": "http://127.0.0.1/calls/x/join?child=Sam"}),
        ("call_scheduled", {"starts_at": datetime(2031, 3, 4, 15, 30)}),  # no zone
        ("call_scheduled", {"sequence": -1}),
        ("call_scheduled", {"call_id": "Sam"}),
    ],
)
async def test_a_calendar_file_is_refused_where_it_does_not_belong_or_does_not_fit(
    client: TestClient, kind: str, changes: dict[str, object]
) -> None:
    app = client.server.app
    base = app[SETTINGS].public_url
    context: dict[str, object] = {"link": f"{base}/letterbox"}
    for key in KINDS[kind].keys - {"link"}:
        context[key] = datetime.now(UTC) + timedelta(days=1)
    with pytest.raises(UnsafeEmail):
        await app[MAILER].send(
            to="pat@example.org",
            subject=KINDS[kind].subject,
            template=kind,
            context=context,
            calendar=event_of(datetime(2031, 3, 4, 15, 30, tzinfo=UTC), **changes),
        )
    assert outbox(app[SETTINGS].outbox_dir) == []
