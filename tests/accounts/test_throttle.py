"""Sign-in throttling slows guessing, never locks the real user out, and answers the same
for unknown accounts and wrong passwords."""

from __future__ import annotations

import statistics
import time
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from service.accounts import passwords, throttle, views
from service.appkeys import SETTINGS
from storage.models import Role
from tests.support.accounts import PASSWORD, cookie, make_world


@pytest.fixture(autouse=True)
def client_address(monkeypatch: pytest.MonkeyPatch) -> None:
    """The network edge: tests say which address a request comes from."""

    def ip(request: web.Request) -> str | None:
        return request.headers.get("X-Test-Remote", request.remote)

    monkeypatch.setattr(views, "_ip", ip)


async def _attempt(client: TestClient, email: str, password: str, ip: str) -> int:
    token_page = await client.get("/sign-in")
    text = await token_page.text()
    token = text.split('name="csrf_token" value="')[1].split('"')[0]
    response = await client.post(
        "/sign-in",
        data={"email": email, "password": password, "csrf_token": token},
        headers={"Origin": "http://127.0.0.1", "X-Test-Remote": ip},
        allow_redirects=False,
    )
    return response.status


async def test_attacker_elsewhere_cannot_lock_out_the_real_user(client: TestClient) -> None:
    world = await make_world(client)
    parent = world.people[Role.PARENT]
    device_name = throttle.device_cookie_name(client.server.app[SETTINGS].secure_cookies)

    # The real user signed in from home before: the browser keeps a device cookie.
    assert await _attempt(client, parent.email, PASSWORD, "198.51.100.20") == 303
    device = cookie(client, device_name)
    assert device

    # An attacker on another network guesses until slowed down.
    client.session.cookie_jar.clear()
    statuses = [await _attempt(client, parent.email, f"guess {n}", "203.0.113.7") for n in range(6)]
    assert statuses[:3] == [401, 401, 401]
    assert 429 in statuses
    # Even the right password is not checked while that network must wait.
    assert await _attempt(client, parent.email, PASSWORD, "203.0.113.8") == 429

    # The real user, from another network, signs in straight away…
    assert await _attempt(client, parent.email, PASSWORD, "198.51.100.20") == 303
    # …and so does their own browser on the attacker's very network.
    client.session.cookie_jar.clear()
    client.session.cookie_jar.update_cookies({device_name: device}, client.make_url("/"))
    assert await _attempt(client, parent.email, PASSWORD, "203.0.113.9") == 303


async def test_unknown_accounts_are_throttled_like_real_ones(client: TestClient) -> None:
    world = await make_world(client)
    real = [
        await _attempt(client, world.people[Role.PARENT].email, "nope nope", "192.0.2.1")
        for _ in range(6)
    ]
    client.session.cookie_jar.clear()
    ghost = [
        await _attempt(client, "nobody@example.org", "nope nope", "192.0.2.2") for _ in range(6)
    ]
    assert [s == 429 for s in real] == [s == 429 for s in ghost]


async def test_unknown_user_and_wrong_password_answer_the_same(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = await make_world(client)
    parent = world.people[Role.PARENT]
    calls: list[str] = []
    real_verify = passwords._verify

    def counting(hasher: Any, password_hash: str | None, password: str) -> bool:
        calls.append("dummy" if password_hash is None else "real")
        return real_verify(hasher, password_hash, password)

    monkeypatch.setattr(passwords, "_verify", counting)

    async def answer(email: str, ip: str) -> tuple[int, str, float]:
        page = await client.get("/sign-in")
        token = (await page.text()).split('name="csrf_token" value="')[1].split('"')[0]
        started = time.perf_counter()
        response = await client.post(
            "/sign-in",
            data={"email": email, "password": "not the password", "csrf_token": token},
            headers={"Origin": "http://127.0.0.1", "X-Test-Remote": ip},
            allow_redirects=False,
        )
        body = (await response.text()).replace(email, "EMAIL")
        return response.status, body, time.perf_counter() - started

    known = [await answer(parent.email, f"10.{n}.0.1") for n in range(5)]
    unknown = [await answer(f"ghost{n}@example.org", f"10.{n}.1.1") for n in range(5)]
    assert {s for s, _, _ in known} == {s for s, _, _ in unknown} == {401}
    assert {b for _, b, _ in known} == {b for _, b, _ in unknown}
    # Both paths spend the hasher's time: a real check, or one against a dummy.
    assert calls == ["real"] * 5 + ["dummy"] * 5
    known_median = statistics.median(t for _, _, t in known)
    unknown_median = statistics.median(t for _, _, t in unknown)
    # Loose on purpose (no flaky timing): same order of magnitude.
    assert 0.1 < known_median / unknown_median < 10


async def test_spray_of_made_up_names_from_one_address_does_not_lock_out_a_real_account(
    client: TestClient,
) -> None:
    # Issue 19: behind one proxy address, 110 failures on made-up names refused every new
    # browser afterwards, right password or not.
    world = await make_world(client)
    parent = world.people[Role.PARENT]
    shared = "198.51.100.99"
    statuses = [
        await _attempt(client, f"made-up-{n}@example.org", "guess", shared)
        for n in range(throttle.ADDRESS.free_failures + 10)
    ]
    assert statuses[-1] == 429, "the spray itself is throttled"
    # A new browser (no device cookie) at the same address, the right password: let in.
    client.session.cookie_jar.clear()
    assert await _attempt(client, parent.email, PASSWORD, shared) == 303
    # The spray's own budget is still spent.
    client.session.cookie_jar.clear()
    assert await _attempt(client, "made-up-again@example.org", "guess", shared) == 429
