"""Intake through the real app: streamed uploads, sanitising, scanning, refusals, idempotency."""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import FormData, web
from aiohttp.test_utils import TestClient
from PIL import Image
from pytest_aiohttp import AiohttpClient
from sqlalchemy import select

from service.app import create_app
from service.appkeys import SESSIONMAKER, SETTINGS
from storage.models import (
    IdempotentRequest,
    Item,
    ItemPart,
    ItemStatus,
    ObjectRole,
    PartKind,
    RecordEvent,
    SecurityEvent,
)
from tests.support import images
from tests.support.letterbox_world import count_rows, make_world, read_stored, send_letter
from tests.support.settings import make_settings


async def test_gps_is_removed_from_uploaded_photo(client: TestClient) -> None:
    world = await make_world(client)
    status, body = await send_letter(
        client, world, "Hello Sam!", [("holiday.jpg", images.jpeg_with_everything())]
    )
    assert status == 201, body
    assert body["status"] == "in_review"
    photo = next(p for p in body["parts"] if p["kind"] == "image")
    assert "GPS position" in photo["removed"]

    async with world.app[SESSIONMAKER]() as session:
        part = await session.get(ItemPart, uuid.UUID(photo["part_id"]))
        assert part is not None
        assert "GPS position" in part.removed_metadata
        sanitised_id, original_id = part.sanitised_object_id, part.original_object_id
    assert sanitised_id is not None and original_id is not None
    stored, data = await read_stored(world.app, sanitised_id)
    assert stored.role is ObjectRole.SANITISED
    with Image.open(io.BytesIO(data)) as picture:
        exif = picture.getexif()
        assert not exif.get_ifd(0x8825)  # no GPS IFD
        assert len(exif) == 0
        assert "xmp" not in picture.info and "comment" not in picture.info
    for marker in images.LEAK_MARKERS:
        assert marker not in data
    original, original_bytes = await read_stored(world.app, original_id)
    assert original.role is ObjectRole.ORIGINAL
    assert b"GPS" in original_bytes  # the original is kept, sealed, exactly as sent


async def test_submission_is_in_review_with_its_record_events(client: TestClient) -> None:
    world = await make_world(client)
    status, body = await send_letter(client, world, "Dear Sam, I hope school is fun.")
    assert status == 201
    async with world.app[SESSIONMAKER]() as session:
        item = await session.get(Item, uuid.UUID(body["item_id"]))
        assert item is not None and item.status is ItemStatus.IN_REVIEW
        kinds = (
            await session.scalars(
                select(RecordEvent.kind)
                .where(RecordEvent.family_id == world.family_id)
                .order_by(RecordEvent.family_seq)
            )
        ).all()
        parts = (await session.scalars(select(ItemPart).where(ItemPart.item_id == item.id))).all()
    assert list(kinds) == ["item_submitted", "item_in_review"]
    assert [p.kind for p in parts] == [PartKind.TEXT]
    assert parts[0].sanitised_object_id is not None
    _, text = await read_stored(world.app, parts[0].sanitised_object_id)
    assert text.decode() == "Dear Sam, I hope school is fun."
    # Letter text is stored encrypted: the plain words are nowhere on disk.
    store = world.app[SETTINGS].local_store_dir
    files = [path for path in store.rglob("*") if path.is_file()]
    assert files
    assert all(b"hope school" not in path.read_bytes() for path in files)


async def test_postcode_in_a_letter_is_highlighted(client: TestClient) -> None:
    world = await make_world(client, terms=["Greenfield Primary"])
    text = "We moved near LS6 2AB last week. Say hi to everyone at Greenfield Primary!"
    status, body = await send_letter(client, world, text)
    assert status == 201
    response = await client.get(
        f"/api/moderation/items/{body['item_id']}", headers=world.staff.headers()
    )
    assert response.status == 200
    view = await response.json()
    hits = view["parts"][0]["hits"]
    categories = {hit["category"]: hit["matched"] for hit in hits}
    assert categories["postcode"] == "LS6 2AB"
    assert categories["sensitive_term"] == "Greenfield Primary"
    assert view["sensitive_terms"] == ["Greenfield Primary"]
    # The text is highlighted, never changed.
    assert view["parts"][0]["text"] == text
    page = await client.get(
        f"/staff/moderation/items/{body['item_id']}",
        headers=world.staff.headers(Accept="text/html"),
    )
    html = await page.text()
    assert '<mark class="hit" title="postcode">LS6 2AB</mark>' in html


REFUSALS = [
    (
        "notes.jpg",
        b"this is plain text pretending to be a photo",
        415,
        "unsupported_type",
        "We accept",
    ),
    ("empty.jpg", b"", 422, "empty_file", "empty (0 bytes)"),
    ("bomb.png", images.png_bomb(11_000, 10_000), 422, "image_too_large", "megapixels"),
    (
        "cut.jpg",
        images.small_jpeg((64, 64), (1, 2, 3))[:-200],
        422,
        "truncated_file",
        "incomplete",
    ),
]


@pytest.mark.parametrize(("name", "data", "status", "code", "words"), REFUSALS)
async def test_refused_upload_names_the_file_and_leaves_nothing_stored(
    client: TestClient, name: str, data: bytes, status: int, code: str, words: str
) -> None:
    world = await make_world(client)
    before = await count_rows(world.app)
    got, body = await send_letter(client, world, "Hello", [(name, data)])
    assert got == status, body
    assert body["error"] == code
    assert name in body["message"] and words in body["message"]
    assert await count_rows(world.app) == before


async def test_too_many_files_are_refused_before_storage(client: TestClient) -> None:
    world = await make_world(client)
    photo = images.small_jpeg((16, 16), (9, 9, 9))
    got, body = await send_letter(client, world, "Hello", [(f"p{i}.jpg", photo) for i in range(11)])
    assert got == 413
    assert body["error"] == "too_many_files"
    assert "11 files" in body["message"] and "up to 10 in one letter" in body["message"]
    assert await count_rows(world.app) == (0, 0)


async def test_a_form_with_thousands_of_parts_is_refused_early(client: TestClient) -> None:
    world = await make_world(client)
    form = FormData(default_to_multipart=True)
    form.add_field("text", "Hello")
    for i in range(2000):
        form.add_field(f"extra{i}", "x")
    response = await client.post(
        f"/api/families/{world.family_id}/items", data=form, headers=world.parent.headers()
    )
    assert response.status == 422
    body = await response.json()
    assert "too many parts" in body["message"] and "at most 10 files" in body["message"]
    assert await count_rows(world.app) == (0, 0)


async def test_too_long_letter_is_refused_with_the_limit(client: TestClient) -> None:
    world = await make_world(client)
    got, body = await send_letter(client, world, "a" * 20_001)
    assert got == 413
    assert body["error"] == "text_too_long"
    assert "20,001" in body["message"] and "20,000" in body["message"]
    assert await count_rows(world.app) == (0, 0)


@pytest.fixture
async def small_limit_client(
    aiohttp_client: AiohttpClient, database_url: str, tmp_path: Path
) -> AsyncIterator[TestClient]:
    settings = make_settings(database_url, tmp_path / "data", max_file_bytes="50000")
    yield await aiohttp_client(create_app(settings))


async def test_oversize_file_is_refused_while_streaming(small_limit_client: TestClient) -> None:
    world = await make_world(small_limit_client)
    big = images.small_jpeg((16, 16), (1, 1, 1)) + b"\x00" * 60_000
    got, body = await send_letter(small_limit_client, world, "Hi", [("huge.jpg", big)])
    assert got == 413
    assert body["error"] == "file_too_large"
    assert "huge.jpg" in body["message"] and "per file" in body["message"]
    assert await count_rows(world.app) == (0, 0)


# --- idempotency ------------------------------------------------------------------------------


async def test_retry_with_same_idempotency_key_returns_the_original_result(
    client: TestClient,
) -> None:
    world = await make_world(client)
    first = await send_letter(client, world, "Once only", **{"Idempotency-Key": "letter-1"})
    again = await send_letter(client, world, "Once only", **{"Idempotency-Key": "letter-1"})
    assert first[0] == 201
    assert again == first
    assert (await count_rows(world.app))[0] == 1


async def test_same_idempotency_key_with_different_letter_is_refused(client: TestClient) -> None:
    world = await make_world(client)
    first = await send_letter(client, world, "First letter", **{"Idempotency-Key": "k"})
    other = await send_letter(client, world, "A different letter", **{"Idempotency-Key": "k"})
    assert first[0] == 201
    assert other[0] == 422
    assert other[1]["error"] == "idempotency_key_reused"
    assert (await count_rows(world.app))[0] == 1


async def test_concurrent_duplicate_submission_gets_conflict(client: TestClient) -> None:
    world = await make_world(client)
    boundary = "letterbox-test-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\n'
        f"Sent twice at once\r\n--{boundary}--\r\n"
    ).encode()
    first_half_sent = asyncio.Event()
    duplicate_answered = asyncio.Event()

    async def slow_body() -> AsyncIterator[bytes]:
        yield body[:20]
        first_half_sent.set()
        await duplicate_answered.wait()
        yield body[20:]

    headers = world.parent.headers(
        **{
            "Idempotency-Key": "same",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        }
    )

    async def first() -> tuple[int, dict[str, object]]:
        response = await client.post(
            f"/api/families/{world.family_id}/items", data=slow_body(), headers=headers
        )
        return response.status, await response.json()

    first_task = asyncio.create_task(first())
    await first_half_sent.wait()
    await asyncio.wait_for(_claimed(world.app, world.parent.user_id, "same"), timeout=10)
    duplicate = await client.post(
        f"/api/families/{world.family_id}/items", data=body, headers=headers
    )
    duplicate_answered.set()
    assert duplicate.status == 409
    assert (await duplicate.json())["error"] == "request_in_progress"
    status, result = await first_task
    assert status == 201, result
    assert (await count_rows(world.app))[0] == 1


async def _claimed(app: web.Application, user_id: uuid.UUID, key: str) -> None:
    """Until the first request has claimed the key (it does so before reading its body)."""
    while True:
        async with app[SESSIONMAKER]() as session:
            if await session.get(IdempotentRequest, (user_id, key)) is not None:
                return
        await asyncio.sleep(0.005)


# --- malware scanning (clamd faked at the network edge; the real one is in test_clamd.py) ----


@pytest.fixture
async def infected_clamd() -> AsyncIterator[str]:
    """A clamd stand-in on a TCP port that finds EICAR in every stream it is sent."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\x00")  # zINSTREAM\0
        while True:
            size = int.from_bytes(await reader.readexactly(4), "big")
            if size == 0:
                break
            await reader.readexactly(size)
        writer.write(b"stream: Eicar-Signature FOUND\x00")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"tcp://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


async def test_infected_upload_is_refused_and_staff_alerted(
    aiohttp_client: AiohttpClient, database_url: str, tmp_path: Path, infected_clamd: str
) -> None:
    settings = make_settings(database_url, tmp_path / "data", clamd=infected_clamd)
    client = await aiohttp_client(create_app(settings))
    world = await make_world(client)
    got, body = await send_letter(
        client, world, "Hi", [("virus.jpg", images.small_jpeg((16, 16), (1, 1, 1)))]
    )
    assert got == 422
    assert body["error"] == "infected_file"
    assert "virus.jpg" in body["message"] and "Eicar-Signature" in body["message"]
    assert await count_rows(world.app) == (0, 0)
    async with world.app[SESSIONMAKER]() as session:
        alerts = (
            await session.scalars(
                select(SecurityEvent).where(SecurityEvent.kind == "malware_refused")
            )
        ).all()
    assert [a.detail["signature"] for a in alerts] == ["Eicar-Signature"]
