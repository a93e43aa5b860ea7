"""A translator moderates the items of the families an admin assigned them to, and reaches
nothing else: not another family's item by id, not the centre's queue, not after the
assignment is removed, not the staff pages, the original upload or the API. The assignment
and its removal are in the family record. Everything through the real app on both databases
(the route matrix, tests/http/test_route_matrix.py, covers every route with probes)."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from service.api.routes import PREFIX
from service.appkeys import SESSIONMAKER, SETTINGS
from service.http.sessions import start_session, token_hash
from storage.models import (
    AccountStatus,
    Family,
    Item,
    ItemPart,
    ItemStatus,
    RecordEvent,
    Role,
    User,
    WebSession,
)
from tests.support.letterbox_world import Person, World, make_world, send_letter

_VERSION = re.compile(r'name="version" value="(\d+)"')


@dataclass
class Scene:
    """Two families of one centre (the translator is assigned to ``mine``), a letter waiting
    in each, and the translator signed in with their second factor."""

    mine: World
    other: World
    translator: Person
    my_item: uuid.UUID
    other_item: uuid.UUID


async def _translator(client: TestClient, world: World, name: str = "Tamsin Translator") -> Person:
    app = client.server.app
    async with app[SESSIONMAKER]() as session, session.begin():
        user = User(
            id=uuid.uuid4(),
            centre_id=world.centre_id,
            email=f"translator-{uuid.uuid4().hex[:8]}@example.org",
            display_name=name,
            role=Role.TRANSLATOR,
            status=AccountStatus.ACTIVE,
            created_at=datetime.now(UTC),
        )
        session.add(user)
        await session.flush()
        # Signed in with the second factor done, as after /two-factor.
        token = await start_session(
            session, user, second_factor_done=True, ip=None, user_agent="tests"
        )
        await session.flush()
        row = await session.get(WebSession, token_hash(token))
        assert row is not None
        csrf = row.csrf_token
    return Person(user.id, Role.TRANSLATOR, app[SETTINGS].session_cookie_name, token, csrf)


async def _letter(client: TestClient, world: World, text: str) -> uuid.UUID:
    status, body = await send_letter(client, world, text)
    assert status == 201, body
    return uuid.UUID(body["item_id"])


async def _assign(client: TestClient, world: World, translator: Person) -> int:
    response = await client.post(
        f"/admin/families/{world.family_id}/translators",
        data={"csrf_token": world.admin.csrf, "translator_id": str(translator.user_id)},
        headers=world.admin.headers(Accept="text/html"),
        allow_redirects=False,
    )
    return response.status


async def _remove(client: TestClient, world: World, translator: Person) -> int:
    response = await client.post(
        f"/admin/families/{world.family_id}/translators/{translator.user_id}/remove",
        data={"csrf_token": world.admin.csrf},
        headers=world.admin.headers(Accept="text/html"),
        allow_redirects=False,
    )
    return response.status


async def _scene(client: TestClient) -> Scene:
    mine = await make_world(client)
    other = await make_world(client, centre_id=mine.centre_id)
    translator = await _translator(client, mine)
    assert await _assign(client, mine, translator) == 303
    my_item = await _letter(client, mine, "Querida Sam, el jardín está lleno de girasoles.")
    other_item = await _letter(client, other, "Annwyl Sam, mae'r ardd yn llawn blodau haul.")
    return Scene(mine, other, translator, my_item, other_item)


async def _page(client: TestClient, person: Person, path: str) -> tuple[int, str]:
    response = await client.get(
        path, headers=person.headers(Accept="text/html"), allow_redirects=False
    )
    return response.status, await response.text()


async def _decide_form(
    client: TestClient, person: Person, item_id: uuid.UUID, version: str, **fields: str
) -> tuple[int, str, str]:
    response = await client.post(
        f"/staff/moderation/items/{item_id}/decision",
        data={"csrf_token": person.csrf, "version": version, **fields},
        headers=person.headers(Accept="text/html"),
        allow_redirects=False,
    )
    return response.status, response.headers.get("Location", ""), await response.text()


async def _status(client: TestClient, item_id: uuid.UUID) -> ItemStatus:
    async with client.server.app[SESSIONMAKER]() as session:
        item = await session.get(Item, item_id)
        assert item is not None
        return item.status


async def _events(client: TestClient, world: World) -> list[RecordEvent]:
    async with client.server.app[SESSIONMAKER]() as session:
        rows = await session.scalars(
            select(RecordEvent)
            .where(RecordEvent.family_id == world.family_id)
            .order_by(RecordEvent.seq)
        )
        return list(rows)


# --- assigning --------------------------------------------------------------------------


async def test_assigning_and_removing_a_translator_is_in_the_family_record(
    client: TestClient,
) -> None:
    world = await make_world(client)
    translator = await _translator(client, world)
    status, page = await _page(client, world.admin, f"/admin/families/{world.family_id}")
    assert status == 200 and "Tamsin Translator" in page and "No translator moderates" in page

    assert await _assign(client, world, translator) == 303
    status, page = await _page(client, world.admin, f"/admin/families/{world.family_id}")
    assert 'id="assigned-translators"' in page and "Tamsin Translator" in page
    assert await _remove(client, world, translator) == 303
    status, page = await _page(client, world.admin, f"/admin/families/{world.family_id}")
    assert "No translator moderates" in page

    events = [(e.kind, e.actor_role, json.loads(e.payload)) for e in await _events(client, world)]
    assert [(k, role) for k, role, _ in events] == [
        ("translator_assigned", "admin"),
        ("translator_removed", "admin"),
    ]
    assert all(p == {"user_id": str(translator.user_id)} for _, _, p in events)
    # The family's timeline says both in words.
    status, page = await _page(client, world.admin, f"/staff/families/{world.family_id}/timeline")
    assert status == 200
    assert "Tamsin Translator (translator) was given the moderation of this family" in page
    assert "Tamsin Translator (translator)&#39;s moderation of this family" in page
    # Removing again is refused (nothing to remove), and records nothing.
    assert await _remove(client, world, translator) == 404
    assert len(await _events(client, world)) == 2


async def test_only_the_centres_translators_can_be_assigned(client: TestClient) -> None:
    world = await make_world(client)
    elsewhere = await make_world(client)  # another centre
    stranger = await _translator(client, elsewhere)
    for who in (world.staff.user_id, stranger.user_id, uuid.uuid4()):
        response = await client.post(
            f"/admin/families/{world.family_id}/translators",
            data={"csrf_token": world.admin.csrf, "translator_id": str(who)},
            headers=world.admin.headers(Accept="text/html"),
            allow_redirects=False,
        )
        assert response.status == 422
        assert "Please choose one of the centre&#39;s translators" in await response.text()
    response = await client.post(
        f"/admin/families/{world.family_id}/translators",
        data={"csrf_token": world.admin.csrf, "translator_id": "not-an-id"},
        headers=world.admin.headers(Accept="text/html"),
        allow_redirects=False,
    )
    assert response.status == 422
    assert await _events(client, world) == []


async def test_a_translator_is_invited_from_the_people_page_with_the_second_factor(
    client: TestClient,
) -> None:
    world = await make_world(client)
    response = await client.post(
        "/admin/people",
        data={
            "csrf_token": world.admin.csrf,
            "display_name": "Tomasz Tłumacz",
            "email": "tomasz@example.org",
            "role": "translator",
        },
        headers=world.admin.headers(Accept="text/html"),
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    async with client.server.app[SESSIONMAKER]() as session:
        user = await session.scalar(select(User).where(User.email == "tomasz@example.org"))
    assert user is not None and user.role is Role.TRANSLATOR
    assert user.status is AccountStatus.INVITED and user.role.needs_second_factor
    _, page = await _page(client, world.admin, "/admin/people")
    assert "Tomasz Tłumacz" in page


# --- what a translator sees and does -------------------------------------------------------


async def test_the_translators_queue_holds_only_their_families_items(client: TestClient) -> None:
    scene = await _scene(client)
    status, page = await _page(client, scene.translator, "/translator")
    assert status == 200
    assert f"/staff/moderation/items/{scene.my_item}" in page and "Querida Sam" in page
    assert str(scene.other_item) not in page and "Annwyl Sam" not in page
    # Not even the other family's case reference, in the list or the family filter.
    async with client.server.app[SESSIONMAKER]() as session:
        other = await session.get(Family, scene.other.family_id)
    assert other is not None and other.case_reference not in page
    assert str(scene.other.family_id) not in page
    # Filtering by the other family's id shows nothing of it either.
    status, page = await _page(
        client, scene.translator, f"/translator?family_id={scene.other.family_id}"
    )
    assert status == 200 and str(scene.other_item) not in page and "Annwyl" not in page
    # The centre's queue and its API are staff's.
    for path in ("/staff/moderation", "/api/moderation/queue", f"{PREFIX}/moderation/queue"):
        response = await client.get(path, headers=scene.translator.headers())
        assert response.status == 403, path


async def test_a_translator_cannot_open_or_decide_another_familys_item_by_id(
    client: TestClient,
) -> None:
    scene = await _scene(client)
    item = scene.other_item
    async with client.server.app[SESSIONMAKER]() as session:
        part_id = await session.scalar(select(ItemPart.id).where(ItemPart.item_id == item))
    for path in (
        f"/staff/moderation/items/{item}",
        f"/staff/items/{item}/parts/{part_id}/sanitised",
        f"/staff/items/{item}/parts/{part_id}/delivered",
        f"/staff/moderation/items/{uuid.uuid4()}",
    ):
        status, _ = await _page(client, scene.translator, path)
        assert status == 404, path
    status, _, _ = await _decide_form(client, scene.translator, item, "1", decision="approve")
    assert status == 404
    response = await client.post(
        f"/staff/moderation/items/{item}/take-over",
        data={"csrf_token": scene.translator.csrf},
        headers=scene.translator.headers(Accept="text/html"),
        allow_redirects=False,
    )
    assert response.status == 404
    assert await _status(client, item) is ItemStatus.IN_REVIEW
    assert [e.kind for e in await _events(client, scene.other)].count("item_moderated") == 0


async def test_a_translator_moderates_an_assigned_item_with_staffs_safeguards(
    client: TestClient,
) -> None:
    scene = await _scene(client)
    flagged = await _letter(client, scene.mine, "Escríbeme a papa@example.com, Sam.")
    status, page = await _page(client, scene.translator, f"/staff/moderation/items/{flagged}")
    assert status == 200 and "papa@example.com" in page
    # What only staff may do is not offered.
    assert "/concern" not in page and "/original" not in page
    found = _VERSION.search(page)
    assert found
    # An unresolved flag stops an approval, as it does for staff.
    status, _, _ = await _decide_form(
        client, scene.translator, flagged, found.group(1), decision="approve"
    )
    assert status == 422
    assert await _status(client, flagged) is ItemStatus.IN_REVIEW

    status, page = await _page(client, scene.translator, f"/staff/moderation/items/{scene.my_item}")
    assert status == 200
    found = _VERSION.search(page)
    assert found
    status, location, _ = await _decide_form(
        client, scene.translator, scene.my_item, found.group(1), decision="approve"
    )
    assert status == 303 and location == "/translator"
    assert await _status(client, scene.my_item) is ItemStatus.APPROVED
    moderated = [e for e in await _events(client, scene.mine) if e.kind == "item_moderated"]
    assert [(e.actor_id, e.actor_role) for e in moderated] == [
        (scene.translator.user_id, "translator")
    ]


async def test_removing_the_assignment_refuses_the_translator_at_once(
    client: TestClient,
) -> None:
    scene = await _scene(client)
    status, page = await _page(client, scene.translator, f"/staff/moderation/items/{scene.my_item}")
    assert status == 200  # opened (and claimed) while assigned
    found = _VERSION.search(page)
    assert found
    assert await _remove(client, scene.mine, scene.translator) == 303

    status, _, _ = await _decide_form(
        client, scene.translator, scene.my_item, found.group(1), decision="approve"
    )
    assert status == 404
    assert await _status(client, scene.my_item) is ItemStatus.IN_REVIEW
    status, _ = await _page(client, scene.translator, f"/staff/moderation/items/{scene.my_item}")
    assert status == 404
    status, page = await _page(client, scene.translator, "/translator")
    assert status == 200 and str(scene.my_item) not in page and "Querida" not in page
    # Their claim went with the assignment: staff open the item and hold it themselves.
    status, page = await _page(client, scene.mine.staff, f"/staff/moderation/items/{scene.my_item}")
    assert status == 200 and "You are reviewing this" in page
    assert "Tamsin Translator is reviewing this" not in page


async def test_a_translator_reaches_no_staff_page_record_export_or_api(client: TestClient) -> None:
    scene = await _scene(client)
    family, item = scene.mine.family_id, scene.my_item
    async with client.server.app[SESSIONMAKER]() as session:
        part_id = await session.scalar(select(ItemPart.id).where(ItemPart.item_id == item))
    refused = [
        "/staff",
        "/admin",
        "/staff/families",
        f"/staff/families/{family}/letterbox",
        f"/staff/families/{family}/timeline",
        f"/admin/families/{family}",
        f"/admin/families/{family}/exports",
        f"/staff/items/{item}/parts/{part_id}/original",
        f"/staff/items/{item}/concern",
        "/calls",
        f"/api/moderation/items/{item}",
        f"{PREFIX}/moderation/items/{item}/claim",
    ]
    for path in refused:
        method = "POST" if path.endswith("/claim") else "GET"
        response = await client.request(
            method, path, headers=scene.translator.headers(), allow_redirects=False
        )
        # Refused by role (403) or as if the family did not exist (404); never shown.
        assert response.status in (403, 404), (path, response.status)
    response = await client.post(
        f"/api/moderation/items/{item}/decision",
        json={"decision": "approve", "version": 1},
        headers=scene.translator.headers(),
    )
    assert response.status == 403
    assert await _status(client, item) is ItemStatus.IN_REVIEW
