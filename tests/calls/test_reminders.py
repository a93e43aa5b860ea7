"""The day-before reminder: one e-mail per call (with its calendar file), whichever node runs
the job and however often; two app nodes on one database running it at once send one."""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient
from sqlalchemy import select, update

from service.app import create_app
from service.appkeys import MAILER, SESSIONMAKER, SETTINGS
from service.background import Job, once_per_centre
from service.calls import reminders
from service.calls.reminders import reminder_interval
from service.notify import SmtpMailer
from storage.leases import JobLeases
from storage.models import Call, CallReminder, CallStatus, JobLease
from tests.support.calls import CallWorld, book_call, cookie_header, make_world
from tests.support.mail import body_text, calendar_bytes, calendar_event, outbox
from tests.support.seeding import seeding_sessionmaker
from tests.support.settings import make_settings
from tests.support.smtp import free_port


@dataclass
class Nodes:
    """Two app instances (nodes) of one centre: one database, one master key, each with its
    own data folder (and so its own outbox)."""

    clients: list[TestClient]
    world: CallWorld

    @property
    def apps(self) -> list[web.Application]:
        return [client.server.app for client in self.clients]

    def mails(self) -> list[tuple[int, EmailMessage]]:
        """Every e-mail either node wrote, with the index of the node that wrote it."""
        return [(n, m) for n, app in enumerate(self.apps) for m in outbox(app[SETTINGS].outbox_dir)]


@pytest.fixture
async def nodes(
    aiohttp_client: AiohttpClient, database_url: str, tmp_path: Path
) -> AsyncIterator[Nodes]:
    key = base64.b64encode(os.urandom(32)).decode()
    clients = [
        await aiohttp_client(
            create_app(make_settings(database_url, tmp_path / name, master_key=key))
        )
        for name in ("node-a", "node-b")
    ]
    yield Nodes(clients, await make_world(clients[0].server.app))


def leased_job() -> Job:
    """The reminder job as a node's background runner runs it: behind the lease, under the
    node's own holder name (one per call here, as one per app there)."""
    return once_per_centre(reminders.JOB, reminder_interval, reminders.reminder_job)


async def reminder_rows(app: web.Application) -> list[CallReminder]:
    async with app[SESSIONMAKER]() as session:
        return list((await session.scalars(select(CallReminder))).all())


async def test_two_nodes_running_the_job_at_once_send_one_reminder_and_a_rerun_sends_none(
    nodes: Nodes,
) -> None:
    a, b = nodes.apps
    call_id = await book_call(a, nodes.world, starts_in=timedelta(hours=20))
    jobs = [leased_job(), leased_job()]
    await asyncio.gather(jobs[0](a), jobs[1](b))
    mails = nodes.mails()
    assert len(mails) == 1, mails
    _, message = mails[0]
    assert message["To"] == nodes.world.emails["parent"]
    assert message["Subject"] == "Reminder: your video call is tomorrow"
    assert f"/calls/{call_id}/join" in body_text(message)
    event = calendar_event(message)
    async with a[SESSIONMAKER]() as session:
        call = await session.get(Call, call_id)
    assert call is not None and event.decoded("DTSTART") == call.starts_at.replace(microsecond=0)
    assert b"Sam" not in calendar_bytes(message)
    assert "Sam" not in body_text(message)

    # Both run again (and again): nothing more goes out.
    await asyncio.gather(jobs[0](a), jobs[1](b))
    await asyncio.gather(jobs[1](b), jobs[0](a))
    assert len(nodes.mails()) == 1
    assert [r.call_id for r in await reminder_rows(a)] == [call_id]


async def test_without_the_lease_the_claim_alone_still_sends_one(nodes: Nodes) -> None:
    a, b = nodes.apps
    await book_call(a, nodes.world, starts_in=timedelta(hours=3))
    sent = await asyncio.gather(
        *(
            reminders.send_due_reminders(app[SESSIONMAKER], app[MAILER], app[SETTINGS])
            for app in (a, b, a, b)
        )
    )
    assert sorted(len(s) for s in sent) == [0, 0, 0, 1]
    assert len(nodes.mails()) == 1


async def test_a_lease_held_by_a_dead_node_expires_and_the_job_is_taken_over(
    nodes: Nodes,
) -> None:
    a, b = nodes.apps
    await book_call(a, nodes.world, starts_in=timedelta(hours=10))
    dead = JobLeases(a[SESSIONMAKER], "node-that-died")
    assert await dead.take(reminders.JOB, timedelta(minutes=15))
    # While the dead node's lease runs, no live node runs the job (it fails closed).
    await leased_job()(b)
    assert nodes.mails() == []
    async with a[SESSIONMAKER].begin() as session:  # ...its lease runs out
        await session.execute(
            update(JobLease).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    await leased_job()(b)
    assert [n for n, _ in nodes.mails()] == [1]
    async with a[SESSIONMAKER]() as session:
        holder = await session.scalar(select(JobLease.holder))
    assert holder not in (None, "node-that-died")


async def test_only_calls_due_tomorrow_that_are_still_booked_are_reminded(nodes: Nodes) -> None:
    a, _ = nodes.apps
    world = nodes.world
    due = await book_call(a, world, starts_in=timedelta(hours=23))
    later = await book_call(a, world, starts_in=timedelta(hours=25))
    cancelled = await book_call(a, world, starts_in=timedelta(hours=5))
    await book_call(a, world, starts_in=timedelta(minutes=-5))  # already started
    async with seeding_sessionmaker(a).begin() as session:
        await session.execute(
            update(Call).where(Call.id == cancelled).values(status=CallStatus.CANCELLED)
        )
    sent = await reminders.send_due_reminders(a[SESSIONMAKER], a[MAILER], a[SETTINGS])
    assert sent == [due]
    # A day on, the later call is due, and only it.
    tomorrow = datetime.now(UTC) + timedelta(hours=2)
    sent = await reminders.send_due_reminders(a[SESSIONMAKER], a[MAILER], a[SETTINGS], now=tomorrow)
    assert sent == [later]


async def test_a_call_moved_after_its_reminder_is_reminded_at_its_new_time(
    nodes: Nodes,
) -> None:
    a, _ = nodes.apps
    call_id = await book_call(a, nodes.world, starts_in=timedelta(hours=20))
    assert await reminders.send_due_reminders(a[SESSIONMAKER], a[MAILER], a[SETTINGS]) == [call_id]
    async with seeding_sessionmaker(a).begin() as session:  # as if moved a day later
        call = await session.get(Call, call_id)
        assert call is not None
        call.starts_at += timedelta(days=1)
        call.ends_at += timedelta(days=1)
    assert await reminders.send_due_reminders(a[SESSIONMAKER], a[MAILER], a[SETTINGS]) == []
    a_day_on = datetime.now(UTC) + timedelta(days=1)
    again = await reminders.send_due_reminders(
        a[SESSIONMAKER], a[MAILER], a[SETTINGS], now=a_day_on
    )
    assert again == [call_id]
    assert len(nodes.mails()) == 2


async def test_a_reminder_that_could_not_be_sent_is_tried_again_next_run(nodes: Nodes) -> None:
    a, _ = nodes.apps
    call_id = await book_call(a, nodes.world, starts_in=timedelta(hours=20))
    # The mail server is down: nothing listens on its port.
    down = make_settings(
        a[SETTINGS].database_url, a[SETTINGS].data_dir, smtp_url=f"smtp://127.0.0.1:{free_port()}"
    )
    sent = await reminders.send_due_reminders(a[SESSIONMAKER], SmtpMailer(down), a[SETTINGS])
    assert sent == []
    assert await reminder_rows(a) == []  # the claim was given back
    sent = await reminders.send_due_reminders(a[SESSIONMAKER], a[MAILER], a[SETTINGS])
    assert sent == [call_id]
    assert len(nodes.mails()) == 1


async def test_a_booking_within_a_day_of_the_call_is_its_own_reminder(nodes: Nodes) -> None:
    a, _ = nodes.apps
    world = nodes.world
    starts = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=6)
    local = ZoneInfo("Europe/London")
    response = await nodes.clients[0].post(
        f"/calls/new/{world.family_id}",
        data={
            "csrf_token": world.csrf["staff"],
            "child_id": str(world.child_id),
            "supervisor_id": str(world.users["supervisor"]),
            "starts_at": starts.astimezone(local).strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (starts + timedelta(hours=1)).astimezone(local).strftime("%Y-%m-%dT%H:%M"),
        },
        headers=cookie_header(a, world.cookies["staff"]),
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    assert [str(m["Subject"]) for _, m in nodes.mails()] == ["A video call has been booked"]
    assert await reminders.send_due_reminders(a[SESSIONMAKER], a[MAILER], a[SETTINGS]) == []
    assert len(nodes.mails()) == 1
