"""Two ``letterbox serve`` nodes on one PostgreSQL database and one SeaweedFS bucket.

Production runs several app nodes behind one public origin; here both nodes get the same
``LETTERBOX_PUBLIC_URL`` and every request carries that Origin. The tests sign in through the
real pages (password, then TOTP for staff), move each step of a letter's life between the nodes,
and let both nodes append to the family record at the same moment.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pyotp
import pytest
from pytest_aiohttp import AiohttpClient
from sqlalchemy import select

from service.accounts.users import enrol_totp_secret
from service.app import create_app
from service.appkeys import KEYRING, SESSIONMAKER
from service.settings import Settings
from storage.models import RecordEvent, User
from tests.support.letterbox_world import ORIGIN, STAFF_PASSWORD, World, letter_form, make_world
from tests.support.reliability import Node, letterbox_env, new_master_key, run_letterbox
from tests.support.seaweedfs import S3Endpoint

pytestmark = pytest.mark.slow

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
CONCURRENT_LETTERS_PER_NODE = 8


@dataclass
class Visitor:
    """A browser of one person: its own cookies, sent by hand to whichever node it talks to."""

    http: aiohttp.ClientSession
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: str = ""

    def headers(self, **extra: str) -> dict[str, str]:
        return {
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
            "Origin": ORIGIN,
            "X-CSRF-Token": self.csrf,
            **extra,
        }

    async def call(
        self, node: Node, method: str, path: str, **kwargs: Any
    ) -> tuple[int, str, dict[str, str]]:
        headers = self.headers(**kwargs.pop("headers", {}))
        async with self.http.request(
            method, node.url + path, headers=headers, allow_redirects=False, **kwargs
        ) as response:
            for name, morsel in response.cookies.items():
                self.cookies[name] = morsel.value
            return response.status, await response.text(), dict(response.headers)

    async def json(self, node: Node, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        headers = {"Accept": "application/json", **kwargs.pop("headers", {})}
        status, text, _ = await self.call(node, method, path, headers=headers, **kwargs)
        return status, (json.loads(text) if text else None)

    async def form_token(self, node: Node, path: str) -> str:
        status, page, _ = await self.call(node, "GET", path)
        assert status == 200, (path, status)
        found = CSRF_FIELD.search(page)
        assert found is not None, f"no CSRF field on {path}"
        return found.group(1)

    async def sign_in(self, node: Node, email: str) -> str:
        self.csrf = ""
        token = await self.form_token(node, "/sign-in")
        status, _, headers = await self.call(
            node,
            "POST",
            "/sign-in",
            data={"email": email, "password": STAFF_PASSWORD, "csrf_token": token, "next": ""},
        )
        assert status == 303, status
        return headers["Location"]

    async def second_factor(self, node: Node, secret: str) -> None:
        token = await self.form_token(node, "/two-factor")
        status, _, headers = await self.call(
            node,
            "POST",
            "/two-factor",
            data={"code": pyotp.TOTP(secret).now(), "csrf_token": token, "next": ""},
        )
        assert status == 303, status
        assert headers["Location"] != "/two-factor"


@dataclass
class Cluster:
    env: dict[str, str]
    world: World
    a: Node
    b: Node
    staff_secret: str
    emails: dict[str, str]


@pytest.fixture
async def cluster(
    pg_database: str,
    s3_server: S3Endpoint,
    s3_bucket: str,
    aiohttp_client: AiohttpClient,
    tmp_path: Path,
) -> AsyncIterator[Cluster]:
    env = letterbox_env(
        pg_database, tmp_path / "data", new_master_key(), s3=s3_server, bucket=s3_bucket
    )
    # People are written before the nodes start, through an in-process app on the same
    # database (it also creates the record-signing key once).
    seeder = await aiohttp_client(create_app(Settings.from_env(env)))
    world = await make_world(seeder)
    secret = pyotp.random_base32()
    async with world.app[SESSIONMAKER].begin() as session:
        staff = await session.get(User, world.staff.user_id)
        parent = await session.get(User, world.parent.user_id)
        assert staff is not None and parent is not None
        await enrol_totp_secret(world.app[KEYRING], staff, secret)
        # The world's addresses carry display names; sign-in wants plain lower-case ones.
        tag = uuid.uuid4().hex[:8]
        staff.email, parent.email = f"staff-{tag}@example.org", f"parent-{tag}@example.org"
        emails = {"staff": staff.email, "parent": parent.email}
    a = Node("A", env, tmp_path / "node-a.log")
    b = Node("B", env, tmp_path / "node-b.log")
    try:
        await asyncio.to_thread(a.start)
        await asyncio.to_thread(b.start)
        yield Cluster(env, world, a, b, secret, emails)
    finally:
        await asyncio.gather(asyncio.to_thread(a.stop), asyncio.to_thread(b.stop))


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        yield session


def _iter(items: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    return ((i["item_id"], i) for i in items)


async def test_letter_sent_on_a_is_moderated_on_b_and_its_outcome_read_on_a(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    a, b, family = cluster.a, cluster.b, cluster.world.family_id
    parent, staff = Visitor(http), Visitor(http)

    # Sessions are shared: password on A, second factor on B; the parent signs in on A only.
    assert await staff.sign_in(a, cluster.emails["staff"]) == "/two-factor"
    await staff.second_factor(b, cluster.staff_secret)
    await parent.sign_in(a, cluster.emails["parent"])
    parent.csrf = await parent.form_token(b, f"/families/{family}/letterbox")
    staff.csrf = await staff.form_token(a, f"/staff/families/{family}/letterbox")

    sent = {}
    for name, text in (("kept", "Happy birthday Sam!"), ("returned", "I live at 4 Elm Road")):
        status, body = await parent.json(
            a, "POST", f"/api/families/{family}/items", data=letter_form(text)
        )
        assert status == 201, body
        sent[name] = body["item_id"]

    status, queue = await staff.json(b, "GET", "/api/moderation/queue")
    assert status == 200
    assert {q["item_id"] for q in queue["items"]} == set(sent.values())
    for name, decision in (("kept", {"decision": "approve"}), ("returned", {"decision": "return", "message": "Please leave out the address."})):  # fmt: skip
        status, item = await staff.json(b, "GET", f"/api/moderation/items/{sent[name]}")
        assert status == 200, item
        status, result = await staff.json(
            b,
            "POST",
            f"/api/moderation/items/{sent[name]}/decision",
            json={**decision, "version": item["version"]},
        )
        assert status == 200, result

    status, letterbox = await parent.json(a, "GET", f"/api/families/{family}/letterbox")
    assert status == 200
    seen = dict(_iter(letterbox["items"]))
    assert seen[sent["kept"]]["status"] == "approved"
    assert seen[sent["returned"]]["status"] == "returned"
    assert seen[sent["returned"]]["return_message"] == "Please leave out the address."

    # Signing out on B ends the session on A as well.
    assert (await parent.call(b, "POST", "/sign-out"))[0] in (200, 303)
    status, _ = await parent.json(a, "GET", f"/api/families/{family}/letterbox")
    assert status == 401


async def test_both_nodes_appending_at_once_keep_one_verifiable_gap_free_record(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    family = cluster.world.family_id
    parent = Visitor(http)
    await parent.sign_in(cluster.a, cluster.emails["parent"])
    parent.csrf = await parent.form_token(cluster.b, f"/families/{family}/letterbox")

    async def send(node: Node, n: int) -> str:
        status, body = await parent.json(
            node,
            "POST",
            f"/api/families/{family}/items",
            data=letter_form(f"Letter {n} through node {node.name}"),
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        assert status == 201, body
        return str(body["item_id"])

    sends = [
        send(node, n) for n in range(CONCURRENT_LETTERS_PER_NODE) for node in (cluster.a, cluster.b)
    ]
    item_ids = await asyncio.gather(*sends)
    assert len(set(item_ids)) == 2 * CONCURRENT_LETTERS_PER_NODE

    async with cluster.world.app[SESSIONMAKER]() as session:
        rows = (
            await session.execute(
                select(
                    RecordEvent.seq, RecordEvent.family_id, RecordEvent.family_seq, RecordEvent.kind
                ).order_by(RecordEvent.seq)
            )
        ).all()
    seqs = [row.seq for row in rows]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "global seq has a gap"
    family_seqs = [row.family_seq for row in rows if row.family_id == family]
    assert family_seqs == list(range(family_seqs[0], family_seqs[0] + len(family_seqs)))
    submitted = [row for row in rows if row.kind == "item_submitted"]
    assert len(submitted) == 2 * CONCURRENT_LETTERS_PER_NODE

    verified = await asyncio.to_thread(run_letterbox, cluster.env, "record", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "Record verified" in verified.stdout
