"""The centre's "read replies aloud" choice (issue 21 item 5): on for a new centre, turned off
and on again by an admin on the centre settings page, for every parent of that centre and no
other; a reply's page carries the controls and their script only while it is on, and only
for a reply with words. What the button does in a browser: tests/browser/test_read_aloud_browser.py.
"""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.support.letterbox_world import (
    World,
    letter_form,
    make_world,
    picture,
    start_opening_session,
)
from tests.support.pages import without_random_tokens

HTML = {"Accept": "text/html"}
CONTROLS = "data-read-aloud="
SCRIPT = "/static/js/letterbox/read_aloud.js"


async def _reply(client: TestClient, world: World, text: str) -> str:
    """A reply typed at the centre and approved by a colleague of the one who typed it."""
    session_id, device = await start_opening_session(client, world)
    replied = await client.post(
        f"/api/child/sessions/{session_id}/replies",
        data=letter_form(text, [("drawing.png", picture())]),
        headers=device.headers(),
    )
    assert replied.status == 201, await replied.text()
    reply_id = str((await replied.json())["item_id"])
    moderation = f"/api/moderation/items/{reply_id}"
    view = await (await client.get(moderation, headers=world.staff2.headers())).json()
    approved = await client.post(
        f"{moderation}/decision",
        json={"decision": "approve", "version": view["version"]},
        headers=world.staff2.headers(),
    )
    assert approved.status == 200, await approved.text()
    return reply_id


async def _reply_page(client: TestClient, world: World, reply_id: str) -> str:
    response = await client.get(
        f"/letterbox/items/{reply_id}", headers=world.parent.headers(**HTML)
    )
    assert response.status == 200
    # A random token could spell a word the checks look for.
    return without_random_tokens(await response.text())


async def _offered_in_api(client: TestClient, world: World, reply_id: str) -> bool:
    response = await client.get(f"/api/v1/replies/{reply_id}", headers=world.parent.headers())
    assert response.status == 200
    return bool((await response.json())["read_aloud"])


async def _admin_sets(client: TestClient, world: World, form: dict[str, str]) -> str:
    """The admin's form on the centre settings page; the notice it leads to."""
    saved = await client.post(
        "/admin/centre/read-aloud",
        data={**form, "csrf_token": world.admin.csrf},
        headers=world.admin.headers(**HTML),
        allow_redirects=False,
    )
    assert saved.status == 303
    page = await client.get(saved.headers["Location"], headers=world.admin.headers(**HTML))
    assert page.status == 200
    return await page.text()


async def test_a_new_centre_offers_reading_aloud_on_a_reply_with_words_only(
    client: TestClient,
) -> None:
    world = await make_world(client)
    with_words = await _reply(client, world, "Thank you Dad")
    page = await _reply_page(client, world, with_words)
    assert CONTROLS in page and SCRIPT in page and "Read this aloud" in page
    assert await _offered_in_api(client, world, with_words)
    # A drawing alone has no words to read: no button, no script.
    drawing_only = await _reply(client, world, "")
    page = await _reply_page(client, world, drawing_only)
    assert CONTROLS not in page and SCRIPT not in page


async def test_an_admin_turns_reading_aloud_off_and_on_for_their_centre_only(
    client: TestClient,
) -> None:
    world = await make_world(client)
    elsewhere = await make_world(client)
    reply_id = await _reply(client, world, "Thank you Dad")
    other_reply = await _reply(client, elsewhere, "Thank you Mum")

    settings = await _admin_sets(client, world, {})  # the box unticked: it is not sent
    assert "Reading replies aloud is now off" in settings
    assert 'name="read_aloud" value="on" checked' not in settings
    page = await _reply_page(client, world, reply_id)
    assert CONTROLS not in page and SCRIPT not in page and "aloud" not in page
    assert not await _offered_in_api(client, world, reply_id)
    # Another centre's parents keep it.
    assert CONTROLS in await _reply_page(client, elsewhere, other_reply)

    settings = await _admin_sets(client, world, {"read_aloud": "on"})
    assert "Parents can now have" in settings
    assert 'name="read_aloud" value="on" checked' in settings
    assert CONTROLS in await _reply_page(client, world, reply_id)
    assert await _offered_in_api(client, world, reply_id)
