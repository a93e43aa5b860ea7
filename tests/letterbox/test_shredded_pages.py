"""After a crypto-shred every page of the family still answers: 200, saying when and by whom
its content was destroyed where the content would have been, never a server error."""

from __future__ import annotations

import re
import uuid

from aiohttp.test_utils import TestClient

from service.appkeys import KEYRING, SESSIONMAKER
from storage.models import ContactLevel
from storage.record import EventAuthor, KeyRingPayloadSealer, RecordLog, record_transaction
from tests.support.families import add_referrer_with_access
from tests.support.letterbox_world import (
    Person,
    World,
    make_world,
    send_letter,
    sign_in,
    start_opening_session,
)

DESTROYED = re.compile(r"Content destroyed on \d{1,2} \w+ \d{4} by Dana Admin")


async def _shred(world: World) -> None:
    app = world.app
    log = RecordLog(sealer=KeyRingPayloadSealer(app[KEYRING]))
    async with record_transaction(
        app[SESSIONMAKER], log, EventAuthor(world.admin.user_id, "admin")
    ) as work:
        await work.record(
            world.family_id,
            "family_shredded",
            {"case_reference": "LB-TEST", "by": "Dana Admin"},
        )
        await app[KEYRING].shred(work.session, world.family_id)


def _family_pages(client: TestClient, ids: dict[str, str]) -> list[str]:
    """Every HTML page (GET) whose path names only ids this family has."""
    paths = []
    for resource in client.server.app.router.resources():
        canonical = resource.canonical
        if canonical.startswith(("/api/", "/static")) or "{" not in canonical:
            continue
        names = re.findall(r"\{(\w+)(?::[^}]*)?\}", canonical)
        if not names or any(n not in ids for n in names):
            continue
        if not any(route.method == "GET" for route in resource):
            continue
        path = re.sub(r"\{(\w+)(?::[^}]*)?\}", lambda m: ids[m.group(1)], canonical)
        paths.append(path)
    return sorted(set(paths))


async def _referrer(world: World) -> Person:
    """A referrer with read access to the family's exports and reports."""
    async with world.app[SESSIONMAKER]() as session, session.begin():
        user = await add_referrer_with_access(
            session,
            world.centre_id,
            world.family_id,
            world.admin.user_id,
            email=f"referrer-{uuid.uuid4().hex[:8]}@example.org",
            display_name="Priya Shah",
        )
    return await sign_in(world.app, user.id)


async def test_every_page_of_a_shredded_family_says_when_its_content_was_destroyed(
    client: TestClient,
) -> None:
    world = await make_world(client, level=ContactLevel.SUPERVISED)
    status, sent = await send_letter(client, world, "Dear Sam, see you on Saturday.")
    assert status == 201, sent
    referrer = await _referrer(world)
    session_id, device = await start_opening_session(client, world)
    await _shred(world)
    ids = {"family_id": str(world.family_id), "item_id": str(sent["item_id"])}
    pages = _family_pages(client, ids)
    assert len(pages) >= 3, pages
    people: list[Person] = [world.admin, world.staff, world.parent, referrer]
    answered: dict[str, int] = {}
    said: set[str] = set()
    silent = []
    for path in [*pages, "/letterbox", "/staff", "/admin"]:
        for person in people:
            response = await client.get(
                path, headers=person.headers(Accept="text/html"), allow_redirects=False
            )
            assert response.status != 500, f"{path} as {person.role.value}: server error"
            answered[f"{path} {person.role.value}"] = response.status
            if response.status != 200:
                continue
            if DESTROYED.search(await response.text()):
                said.add(path)
            elif path in pages:
                silent.append(f"{path} as {person.role.value}")
    # Every page of the family that answers says when and by whom its content was destroyed.
    assert silent == [], f"these family pages do not say the content was destroyed: {silent}"
    family = f"/admin/families/{world.family_id}"
    for page in (
        family,  # the family page
        f"{family}/exports",  # the court exports
        f"/staff/families/{world.family_id}/letterbox",  # the centre's letterbox
        f"/families/{world.family_id}/letterbox",  # the parent's letterbox
        f"/staff/moderation/items/{sent['item_id']}",  # the moderation item
        f"/letterbox/items/{sent['item_id']}",  # the parent's letter
        f"/staff/families/{world.family_id}/timeline",  # the timeline
        f"/referrer/families/{world.family_id}/exports",  # the referrer's page
    ):
        assert page in said, f"{page}: {answered}"
    # The child's view on the centre device, opened before the shred, says it too.
    child = await client.get(
        f"/child/sessions/{session_id}",
        headers=device.headers(Accept="text/html"),
        allow_redirects=False,
    )
    assert child.status == 200 and DESTROYED.search(await child.text())
    # The API says the same, as 410 Gone.
    api = await client.get(
        f"/api/moderation/items/{sent['item_id']}", headers=world.staff.headers()
    )
    assert api.status == 410
    body = await api.json()
    assert body["error"] == "content_destroyed" and DESTROYED.search(body["message"])
