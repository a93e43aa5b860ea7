"""Opening sessions: notes only for supervised families, leaving needs the staff password."""

from __future__ import annotations

import uuid

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy.exc import IntegrityError

from storage.models import ContactLevel, ObservationNote
from tests.support.letterbox_world import (
    STAFF_PASSWORD,
    Person,
    World,
    make_world,
    start_opening_session,
)
from tests.support.pages import without_random_tokens
from tests.support.seeding import seeding_sessionmaker


async def _start(client: TestClient, world: World) -> tuple[str, Person]:
    return await start_opening_session(client, world)


async def test_supported_family_cannot_store_an_observation_note(client: TestClient) -> None:
    world = await make_world(client, level=ContactLevel.SUPPORTED)
    session_id, _device = await _start(client, world)
    response = await client.post(
        f"/api/opening-sessions/{session_id}/notes",
        json={"text": "Sam seemed happy."},
        headers=world.staff.headers(),
    )
    assert response.status == 403
    body = await response.json()
    assert body["error"] == "notes_not_allowed"
    assert "supported contact" in body["message"]

    # The database refuses it too, whatever level the row claims.
    for claimed in (ContactLevel.SUPPORTED, ContactLevel.SUPERVISED):
        async with seeding_sessionmaker(world.app)() as session:
            with pytest.raises(IntegrityError):
                async with session.begin():
                    session.add(
                        ObservationNote(
                            family_id=world.family_id,
                            contact_level=claimed,
                            author_id=world.staff.user_id,
                            opening_session_id=uuid.UUID(session_id),
                            text_sealed=b"x",
                        )
                    )


async def test_supervised_family_note_is_recorded(client: TestClient) -> None:
    world = await make_world(client, level=ContactLevel.SUPERVISED)
    session_id, _device = await _start(client, world)
    response = await client.post(
        f"/api/opening-sessions/{session_id}/notes",
        json={"text": "Sam read the letter twice and smiled."},
        headers=world.staff.headers(),
    )
    assert response.status == 201


async def test_child_view_needs_the_staff_password_to_leave(client: TestClient) -> None:
    world = await make_world(client)
    session_id, device = await _start(client, world)
    html_headers = device.headers(Accept="text/html")
    page = await client.get(f"/child/sessions/{session_id}", headers=html_headers)
    assert page.status == 200
    html = without_random_tokens(await page.text())
    assert "Staff password to leave" in html and "CASE-" not in html
    # While the device shows the child view, staff pages send it back there.
    queue = await client.get("/staff/moderation", headers=html_headers, allow_redirects=False)
    assert queue.status == 303 and queue.headers["Location"] == f"/child/sessions/{session_id}"

    wrong = await client.post(
        f"/child/sessions/{session_id}/leave",
        data={"password": "not-the-password", "csrf_token": device.csrf},
        headers=html_headers,
        allow_redirects=False,
    )
    assert wrong.status == 403
    right = await client.post(
        f"/child/sessions/{session_id}/leave",
        data={"password": STAFF_PASSWORD, "csrf_token": device.csrf},
        headers=html_headers,
        allow_redirects=False,
    )
    assert right.status == 303
    assert right.headers["Location"] == f"/staff/opening-sessions/{session_id}"
    device.cookies.pop("letterbox-child")
    staff_page = await client.get(
        f"/staff/opening-sessions/{session_id}", headers=device.headers(Accept="text/html")
    )
    assert staff_page.status == 200


async def test_child_view_only_works_on_the_session_device(client: TestClient) -> None:
    world = await make_world(client)
    session_id, _device = await _start(client, world)
    # Another device: the staff member's sign-in, but no device cookie.
    response = await client.get(
        f"/api/child/sessions/{session_id}/items", headers=world.staff.headers()
    )
    assert response.status == 403
