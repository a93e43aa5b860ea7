"""Physical gifts: received, checked, handed over or returned; the parent sees received and given on."""

from __future__ import annotations

from aiohttp import FormData
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from service.appkeys import SESSIONMAKER
from storage.models import RecordEvent
from tests.support import images
from tests.support.letterbox_world import make_world


async def test_gift_steps_are_recorded_and_parent_sees_given_on(client: TestClient) -> None:
    world = await make_world(client)
    form = FormData(default_to_multipart=True)
    form.add_field("description", "A blue teddy bear")
    form.add_field("from_user_id", str(world.parent.user_id))
    form.add_field("photo", images.jpeg_with_everything(), filename="teddy.jpg")
    received = await client.post(
        f"/api/families/{world.family_id}/gifts", data=form, headers=world.staff.headers()
    )
    assert received.status == 201, await received.text()
    gift_id = (await received.json())["gift_id"]

    early = await client.post(f"/api/gifts/{gift_id}/handed-over", headers=world.staff.headers())
    assert early.status == 409  # must be checked first
    for step in ("checked", "handed-over"):
        response = await client.post(f"/api/gifts/{gift_id}/{step}", headers=world.staff.headers())
        assert response.status == 200, await response.text()

    overview = await (
        await client.get(
            f"/api/families/{world.family_id}/letterbox", headers=world.parent.headers()
        )
    ).json()
    [gift] = overview["gifts"]
    assert gift["description"] == "A blue teddy bear"
    assert gift["received_on"] and gift["given_on"]
    async with world.app[SESSIONMAKER]() as session:
        kinds = (
            await session.scalars(
                select(RecordEvent.kind)
                .where(RecordEvent.family_id == world.family_id)
                .order_by(RecordEvent.family_seq)
            )
        ).all()
    assert kinds == ["gift_logged", "gift_checked", "gift_handed_over"]
    parent_cannot = await client.post(
        f"/api/gifts/{gift_id}/returned", headers=world.parent.headers()
    )
    assert parent_cannot.status == 403


async def test_digital_gift_goes_through_the_same_intake(client: TestClient) -> None:
    world = await make_world(client)
    form = FormData(default_to_multipart=True)
    form.add_field("text", "Happy birthday!")
    form.add_field("files", images.jpeg_with_everything(), filename="card.jpg")
    response = await client.post(
        f"/api/families/{world.family_id}/items?kind=digital_gift",
        data=form,
        headers=world.parent.headers(),
    )
    assert response.status == 201
    body = await response.json()
    assert body["kind"] == "digital_gift" and body["status"] == "in_review"
    assert "GPS position" in body["parts"][1]["removed"]
