"""After a crypto-shred every page of the family still answers: 200, saying when and by whom
its content was destroyed where the content would have been, never a server error."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient

from service.appkeys import KEYRING, SESSIONMAKER
from storage.models import ContactLevel
from storage.record import EventAuthor, KeyRingPayloadSealer, RecordLog, record_transaction
from tests.support.letterbox_world import Person, World, make_world, send_letter

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


async def test_every_page_of_a_shredded_family_says_when_its_content_was_destroyed(
    client: TestClient,
) -> None:
    world = await make_world(client, level=ContactLevel.SUPERVISED)
    status, sent = await send_letter(client, world, "Dear Sam, see you on Saturday.")
    assert status == 201, sent
    await _shred(world)
    ids = {"family_id": str(world.family_id), "item_id": str(sent["item_id"])}
    pages = _family_pages(client, ids)
    assert len(pages) >= 3, pages
    people: list[Person] = [world.admin, world.staff, world.parent]
    answered: dict[str, int] = {}
    said = []
    for path in [*pages, "/letterbox", "/staff", "/admin"]:
        for person in people:
            response = await client.get(
                path, headers=person.headers(Accept="text/html"), allow_redirects=False
            )
            assert response.status != 500, f"{path} as {person.role.value}: server error"
            answered[f"{path} {person.role.value}"] = response.status
            if response.status == 200 and DESTROYED.search(await response.text()):
                said.append(path)
    assert said, f"no page said the content was destroyed: {answered}"
    # The letter's moderation page held its content: it says so now.
    assert f"/staff/moderation/items/{sent['item_id']}" in said, answered
    # The API says the same, as 410 Gone.
    api = await client.get(
        f"/api/moderation/items/{sent['item_id']}", headers=world.staff.headers()
    )
    if api.status == 410:
        body = await api.json()
        assert body["error"] == "content_destroyed" and DESTROYED.search(body["message"])
    else:
        assert api.status != 500
