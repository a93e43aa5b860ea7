"""The child's part of a call exists only on a centre device locked to that call.

A staff member's ordinary browser (the moderation queue of every family one click away) is
never the child's screen: its call page sends it to the password form that locks the device,
and its signalling socket is refused as the child, in plain words, and kept in the security log
and on the supervisor's console. A device locked to one call is not the child of another.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from service.appkeys import CALLS, SESSIONMAKER
from service.calls.signalling import CHILD_NEEDS_DEVICE
from service.security_log import Kind, recent_events
from storage.models import SecurityEvent
from tests.support.calls import (
    CallHarness,
    CallWorld,
    base_url,
    book_call,
    cookie_header,
    make_world,
    open_call_device,
)
from tests.support.synthetic_calls import wait_until


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


async def refusals(client: TestClient, call_id: uuid.UUID) -> list[SecurityEvent]:
    async with client.server.app[SESSIONMAKER]() as session:
        return await recent_events(session, Kind.CALL_REFUSED, about={"call_id": str(call_id)})


async def test_a_staff_browser_without_the_locked_device_never_gets_the_childs_page(
    client: TestClient, harness: CallHarness
) -> None:
    app = client.server.app
    page = await client.get(
        f"/calls/{harness.call_id}/join",
        headers={**cookie_header(app, harness.world.cookies["staff"]), "Accept": "text/html"},
        allow_redirects=False,
    )
    assert page.status == 303
    assert page.headers["Location"] == f"/calls/{harness.call_id}/device"
    # Where it lands asks for the staff password before anything of the call shows.
    form = await client.get(
        page.headers["Location"], headers=cookie_header(app, harness.world.cookies["staff"])
    )
    html = await form.text()
    assert "Lock this device to the call" in html
    assert 'data-role="child"' not in html


async def test_a_staff_browser_without_the_locked_device_is_refused_as_the_child_and_logged(
    client: TestClient, harness: CallHarness
) -> None:
    supervisor = await harness.join("supervisor")
    parent = await harness.join("parent")
    await supervisor.signal.send({"type": "admit"})
    await parent.signal.wait_for("state")

    staff = await harness.connect("staff", locked=False)
    await staff.wait_closed()
    assert staff.close_code == 4403
    assert staff.close_reason == CHILD_NEEDS_DEVICE
    assert not staff.of_type("state")  # never joined: nothing of the call was sent to it

    live = client.server.app[CALLS].get(harness.call_id)
    assert live is not None
    assert "child" not in live.connections
    assert all("child" not in m["participants"] for m in supervisor.signal.of_type("state"))

    (event,) = await refusals(client, harness.call_id)
    assert event.detail["reason"] == "child_without_device"
    assert event.detail["family_id"] == str(harness.world.family_id)
    assert event.user_id == harness.world.users["staff"]
    await wait_until(
        lambda: any(m["count"] == 1 for m in supervisor.signal.of_type("refused")),
        what="the refusal on the console",
    )
    (shown,) = [m for m in supervisor.signal.of_type("refused") if m["count"] == 1]
    assert [item["reason"] for item in shown["latest"]] == ["child_without_device"]

    # The same staff member, once the device is locked to this call, is the child.
    child = await harness.join("child")
    await wait_until(
        lambda: "child" in supervisor.signal.of_type("state")[-1]["participants"],
        what="the child from the locked device",
    )
    assert "child" in live.connections
    assert child.signal.close_code is None


async def test_a_device_locked_to_one_call_is_not_the_child_of_another(
    client: TestClient, world: CallWorld
) -> None:
    app = client.server.app
    call_a = await book_call(app, world)
    call_b = await book_call(app, world)
    device_a = await open_call_device(base_url(client), app, world, call_a)
    headers = {
        **cookie_header(app, world.cookies["staff"], device=device_a),
        "Accept": "text/html",
    }

    page = await client.get(f"/calls/{call_b}/join", headers=headers, allow_redirects=False)
    assert page.status == 303
    assert page.headers["Location"] == f"/calls/{call_a}/join"
    # Nor can it lock itself to call B without leaving A with the staff password.
    relock = await client.get(f"/calls/{call_b}/device", headers=headers, allow_redirects=False)
    assert relock.status == 303
    assert relock.headers["Location"] == f"/calls/{call_a}/join"
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await client.ws_connect(f"/calls/{call_b}/signal", headers=headers)
    assert app[CALLS].get(call_b) is None  # nobody joined call B

    own = await client.get(f"/calls/{call_a}/join", headers=headers)
    assert own.status == 200
    assert 'data-role="child"' in await own.text()
