"""Through the app: a small PDF that inflates to hundreds of megabytes is refused within its
limits while another family's photo letter, sent at the same time, is accepted. (How long the
letter waits is a benchmark figure: bench/sanitise.py.)"""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient

from tests.support import images
from tests.support.letterbox_world import make_world, send_letter


async def test_a_decompression_bomb_is_refused_while_another_familys_photo_letter_is_accepted(
    client: TestClient,
) -> None:
    hostile = await make_world(client)
    other = await make_world(client)
    bomb = images.pdf_bomb(streams=100, megabytes_each=8)  # 800 MB of page contents
    assert len(bomb) < 1_000_000
    photo = images.jpeg_with_everything()

    (bomb_status, bomb_body), (letter_status, letter_body) = await asyncio.gather(
        send_letter(client, hostile, "My homework", [("homework.pdf", bomb)]),
        send_letter(client, other, "A photo from the beach", [("beach.jpg", photo)]),
    )

    assert bomb_status == 422, bomb_body
    assert bomb_body["error"] == "content_too_large"
    assert "homework.pdf" in bomb_body["message"]
    assert letter_status == 201, letter_body
    queue = await (await client.get("/api/moderation/queue", headers=other.staff.headers())).json()
    assert letter_body["item_id"] in [entry["item_id"] for entry in queue["items"]]
