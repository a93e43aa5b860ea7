"""Physical gifts through the staff pages: logged as received on the family's letterbox page
(from whom, what, an optional photo that is sanitised), then checked and handed over or
returned with buttons; the parent's page shows "received on" and "given on"."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

from aiohttp import FormData
from aiohttp.test_utils import TestClient
from PIL import Image

from tests.support import images
from tests.support.letterbox_world import Person, World, make_world


def _today() -> str:
    return datetime.now(UTC).strftime("%-d %B %Y")


async def _family_page(client: TestClient, world: World, query: str = "") -> str:
    response = await client.get(
        f"/staff/families/{world.family_id}/letterbox{query}",
        headers=world.staff.headers(Accept="text/html"),
    )
    assert response.status == 200
    return await response.text()


async def _log_gift_as_the_page_does(
    client: TestClient, world: World, html: str, description: str, photo: bytes | None
) -> tuple[int, dict[str, object]]:
    """Post the page's gift form the way its script does: multipart, token in the header."""
    form_html = html[html.index('<form id="gift-form"') :]
    action = re.search(r'action="([^"]+)"', form_html)
    token = re.search(r'data-csrf="([^"]+)"', form_html)
    sender = re.search(r'<option value="([^"]+)">Parent', form_html)
    assert action and token and sender
    form = FormData(default_to_multipart=True)
    form.add_field("from_user_id", sender.group(1))
    form.add_field("description", description)
    if photo is not None:
        form.add_field("photo", photo, filename="teddy.jpg", content_type="image/jpeg")
    headers = world.staff.headers(**{"X-CSRF-Token": token.group(1)})
    response = await client.post(action.group(1), data=form, headers=headers)
    return response.status, await response.json()


async def _press(client: TestClient, person: Person, html: str, label: str) -> tuple[int, str]:
    """Press a gift button: find its form on the page and post it."""
    found = re.search(
        r'<form method="post" action="(/staff/gifts/[^"]+)">\s*'
        r'<input type="hidden" name="csrf_token" value="([^"]+)">\s*'
        r"<button[^>]*>" + re.escape(label) + "</button>",
        html,
    )
    assert found, f"no “{label}” button on the page"
    response = await client.post(
        found.group(1),
        data={"csrf_token": found.group(2)},
        headers=person.headers(Accept="text/html"),
        allow_redirects=False,
    )
    if response.status == 303:
        follow = await client.get(
            response.headers["Location"], headers=person.headers(Accept="text/html")
        )
        return follow.status, await follow.text()
    return response.status, await response.text()


async def test_staff_log_check_and_hand_over_a_gift_through_the_family_page(
    client: TestClient,
) -> None:
    world = await make_world(client)
    html = await _family_page(client, world)
    assert "No gifts logged." in html
    for label in ("Who is it from?", "What is it?", "Photo of the gift (optional)"):
        assert f">{label}</label>" in html

    status, body = await _log_gift_as_the_page_does(
        client, world, html, "A blue teddy bear", images.jpeg_with_everything()
    )
    assert status == 201, body
    gift_id = str(body["gift_id"])

    html = await _family_page(client, world, "?gift=received")
    assert "The gift was logged as received." in html
    assert "A blue teddy bear" in html and "from Parent" in html
    assert "Received, not checked yet" in html
    assert "Mark as handed over to the child" not in html  # not before it is checked

    # The photo was sanitised: no GPS, served as a picture, never as a page.
    photo = await client.get(f"/staff/gifts/{gift_id}/photo", headers=world.staff.headers())
    assert photo.status == 200
    assert photo.headers["X-Content-Type-Options"] == "nosniff"
    with Image.open(io.BytesIO(await photo.read())) as picture:
        assert not picture.getexif().get_ifd(0x8825)

    status, html = await _press(client, world.staff, html, "Mark as checked")
    assert status == 200
    assert "The gift was marked as checked." in html and "Checked, ready to hand over" in html

    parent_page = await client.get(
        f"/families/{world.family_id}/letterbox", headers=world.parent.headers(Accept="text/html")
    )
    parent_html = await parent_page.text()
    assert f"A blue teddy bear: received on {_today()}</li>" in parent_html

    status, html = await _press(client, world.staff, html, "Mark as handed over to the child")
    assert status == 200
    assert "Handed over to the child" in html
    assert "Mark as" not in html  # nothing more to do

    parent_page = await client.get(
        f"/families/{world.family_id}/letterbox", headers=world.parent.headers(Accept="text/html")
    )
    parent_html = await parent_page.text()
    assert f"A blue teddy bear: received on {_today()}, given on {_today()}" in parent_html


async def test_gift_returned_from_the_page_shows_returned_to_the_parent(
    client: TestClient,
) -> None:
    world = await make_world(client)
    html = await _family_page(client, world)
    status, _ = await _log_gift_as_the_page_does(client, world, html, "A football", None)
    assert status == 201
    html = await _family_page(client, world)
    status, html = await _press(client, world.staff, html, "Mark as returned to the sender")
    assert status == 200 and "The gift was marked as returned." in html
    parent_page = await client.get(
        f"/families/{world.family_id}/letterbox", headers=world.parent.headers(Accept="text/html")
    )
    assert "A football: received on" in (text := await parent_page.text())
    assert "returned to you" in text and "given on" not in text


async def test_gift_step_out_of_order_is_explained_next_to_the_gift(client: TestClient) -> None:
    world = await make_world(client)
    html = await _family_page(client, world)
    status, body = await _log_gift_as_the_page_does(client, world, html, "A kite", None)
    assert status == 201
    response = await client.post(
        f"/staff/gifts/{body['gift_id']}/handed-over",
        data={"csrf_token": world.staff.csrf},
        headers=world.staff.headers(Accept="text/html"),
        allow_redirects=False,
    )
    assert response.status == 409
    html = await response.text()
    assert "This gift is received; it cannot be marked handed over now." in html


async def test_gift_without_a_description_names_the_field(client: TestClient) -> None:
    world = await make_world(client)
    html = await _family_page(client, world)
    assert 'data-error-for="description"' in html
    status, body = await _log_gift_as_the_page_does(client, world, html, "  ", None)
    assert status == 422
    assert body["field"] == "description"
    assert "Please describe the gift" in str(body["message"])


async def test_parent_cannot_use_the_gift_buttons(client: TestClient) -> None:
    world = await make_world(client)
    html = await _family_page(client, world)
    _, body = await _log_gift_as_the_page_does(client, world, html, "A book", None)
    response = await client.post(
        f"/staff/gifts/{body['gift_id']}/checked",
        data={"csrf_token": world.parent.csrf},
        headers=world.parent.headers(Accept="text/html"),
        allow_redirects=False,
    )
    assert response.status == 403
