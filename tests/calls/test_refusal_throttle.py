"""A flood of refused socket attempts is counted, not written one by one: at most one
security-log line per account, call and reason a minute, the rest counted into the next line;
the console and the family page still show every attempt."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from service.appkeys import CALLS, SESSIONMAKER, SETTINGS
from service.security_log import Kind, recent_events
from storage.models import SecurityEvent
from tests.support.calls import CallHarness, CallWorld, book_call, make_world
from tests.support.synthetic_calls import wait_until

EVIL = "https://evil.example"


@pytest.fixture
async def world(client: TestClient) -> CallWorld:
    return await make_world(client.server.app)


@pytest.fixture
async def harness(client: TestClient, world: CallWorld) -> AsyncIterator[CallHarness]:
    made = CallHarness(client, world, await book_call(client.server.app, world))
    try:
        yield made
    finally:
        await made.close()


async def lines(client: TestClient, call_id: uuid.UUID) -> list[SecurityEvent]:
    async with client.server.app[SESSIONMAKER]() as session:
        return await recent_events(session, Kind.CALL_REFUSED, about={"call_id": str(call_id)})


async def flood_from_another_site(harness: CallHarness, times: int) -> None:
    for _ in range(times):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await harness.connect("parent", origin=EVIL)
        assert refused.value.status == 403


async def test_a_flood_of_refused_attempts_writes_one_line_per_account_call_and_reason(
    client: TestClient, harness: CallHarness
) -> None:
    await harness.join("supervisor")
    await flood_from_another_site(harness, 30)
    for _ in range(5):
        staff = await harness.connect("staff", locked=False)
        await staff.wait_closed()
        assert staff.close_code == 4403

    written = await lines(client, harness.call_id)
    assert sorted(e.detail["reason"] for e in written) == ["bad_origin", "child_without_device"]
    assert {e.user_id for e in written} == {
        harness.world.users["parent"],
        harness.world.users["staff"],
    }
    # Every attempt is still counted for the supervisor's console.
    live = client.server.app[CALLS].get(harness.call_id)
    assert live is not None
    assert live.refusals == 35

    # Another account's attempt is its own line, at once.
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await harness.connect("supervisor", origin=EVIL)
    assert len(await lines(client, harness.call_id)) == 3


async def test_counted_refusals_are_written_as_one_line_when_the_minute_is_up(
    client: TestClient, harness: CallHarness
) -> None:
    app = client.server.app
    app[CALLS].refusal_log_every = 2.0  # the minute, shortened for the test
    supervisor = await harness.join("supervisor")
    await flood_from_another_site(harness, 30)

    async def total() -> int:
        return sum(int(e.detail.get("repeats", 1)) for e in await lines(client, harness.call_id))

    async def all_counted() -> bool:
        return await total() == 30

    await wait_until_async(all_counted, what="30 refusals counted in the security log")
    written = sorted(await lines(client, harness.call_id), key=lambda e: e.at)
    assert len(written) < 30
    assert any(e.detail.get("repeats", 0) > 0 for e in written)
    for earlier, later in itertools.pairwise(written):
        assert (later.at - earlier.at).total_seconds() >= 2.0 - 0.1
    await wait_until(
        lambda: supervisor.signal.of_type("refused")[-1]["count"] == 30,
        what="the console's count",
    )

    page = await client.get(
        f"/admin/families/{harness.world.family_id}",
        headers={"Cookie": f"{app[SETTINGS].session_cookie_name}={harness.world.cookies['admin']}"},
    )
    assert "30 refused attempts on this family" in await page.text()


async def wait_until_async(
    check: Callable[[], Awaitable[bool]], *, what: str, within: float = 30.0
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)
