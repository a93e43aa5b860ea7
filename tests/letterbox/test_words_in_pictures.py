"""Personal details written inside a picture are flagged for the moderator like those in a
letter: tesseract reads the sanitised picture, the scanner marks the words, the words are
sealed for moderators and never reach the parent or the child. Real tesseract."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from PIL import Image, ImageDraw, ImageFont
from pytest_aiohttp import AiohttpClient

from service.app import create_app
from service.appkeys import SESSIONMAKER, WORD_READER
from service.letterbox import ocr
from service.settings import SettingsError
from storage.models import ItemPart
from tests.support.images import FONT, NOTE, POSTCODE, SCHOOL, picture_with_words
from tests.support.letterbox_world import make_world, send_letter
from tests.support.settings import make_settings


async def test_a_postcode_and_a_sensitive_term_in_a_picture_are_flagged_for_the_moderator(
    client: TestClient,
) -> None:
    world = await make_world(client, terms=[SCHOOL])
    status, sent = await send_letter(client, world, "A photo of my note", [("note.png", NOTE)])
    assert status == 201, sent
    picture = next(part for part in sent["parts"] if part["kind"] == "image")
    assert picture["hits"] >= 2

    view = await (
        await client.get(f"/api/moderation/items/{sent['item_id']}", headers=world.staff.headers())
    ).json()
    image = next(part for part in view["parts"] if part["kind"] == "image")
    flagged = {(hit["category"], hit["matched"]) for hit in image["hits"]}
    assert ("postcode", POSTCODE) in flagged
    assert ("sensitive_term", SCHOOL) in flagged
    assert POSTCODE in image["read_text"]

    page = await client.get(
        f"/staff/moderation/items/{sent['item_id']}", headers=world.staff.headers()
    )
    html = await page.text()
    assert page.status == 200
    assert "Words in picture 1 that may be personal details" in html
    assert f"“{POSTCODE}” (postcode)" in html


async def test_the_words_read_from_a_picture_are_sealed_at_rest(client: TestClient) -> None:
    world = await make_world(client)
    _, sent = await send_letter(client, world, "", [("note.png", NOTE)])
    async with client.server.app[SESSIONMAKER]() as session:
        part = (
            await session.execute(
                ItemPart.__table__.select().where(ItemPart.item_id == uuid.UUID(sent["item_id"]))
            )
        ).one()
    assert part.read_text_sealed is not None
    assert POSTCODE.encode() not in part.read_text_sealed
    assert b"Elm Road" not in part.read_text_sealed
    # Offsets and categories only: the matched words are not in the hits either.
    assert POSTCODE not in str(part.scan_hits)


async def test_the_parent_never_sees_the_words_read_from_their_picture(
    client: TestClient,
) -> None:
    world = await make_world(client)
    _, sent = await send_letter(client, world, "", [("note.png", NOTE)])
    letterbox = await client.get(
        f"/api/families/{world.family_id}/letterbox", headers=world.parent.headers()
    )
    body = await letterbox.text()
    assert letterbox.status == 200 and sent["item_id"] in body
    assert POSTCODE not in body and "read_text" not in body


async def test_a_picture_with_no_words_is_stored_without_words_or_flags(
    client: TestClient,
) -> None:
    world = await make_world(client)
    blank = picture_with_words()
    _, sent = await send_letter(client, world, "", [("blank.png", blank)])
    picture = next(part for part in sent["parts"] if part["kind"] == "image")
    assert picture["hits"] == 0


async def test_without_tesseract_pictures_are_still_accepted_unflagged(
    aiohttp_client: AiohttpClient, database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path / "data", tesseract="off")
    assert settings.tesseract is None
    client = await aiohttp_client(create_app(settings))
    world = await make_world(client)
    status, sent = await send_letter(client, world, "", [("note.png", NOTE)])
    assert status == 201
    picture = next(part for part in sent["parts"] if part["kind"] == "image")
    assert picture["hits"] == 0


def test_a_tesseract_setting_naming_no_program_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"LETTERBOX_TESSERACT: names no program"):
        make_settings(
            f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
            tmp_path / "data",
            tesseract=str(tmp_path / "no-such-tesseract"),
        )


def _drawn_box(line: int, text: str, upto: str = "") -> tuple[float, float, float, float]:
    """Where ``text`` (after ``upto`` on the same line) was drawn by picture_with_words:
    left, top, right, bottom."""
    font = ImageFont.truetype(FONT, 48)
    draw = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    top_left = (50, 60 + 100 * line)
    left = draw.textbbox(top_left, upto + text, font=font)
    before = draw.textlength(upto, font=font)
    return (50 + before, left[1], left[2], left[3])


async def test_each_flagged_word_comes_with_a_box_over_it_in_the_picture(
    client: TestClient,
) -> None:
    world = await make_world(client, terms=[SCHOOL])
    _, sent = await send_letter(client, world, "", [("note.png", NOTE)])
    view = await (
        await client.get(f"/api/moderation/items/{sent['item_id']}", headers=world.staff.headers())
    ).json()
    image = next(part for part in view["parts"] if part["kind"] == "image")
    for matched, line, upto in ((POSTCODE, 1, "London "), (SCHOOL, 2, "")):
        hit = next(hit for hit in image["hits"] if hit["matched"] == matched)
        [(x, y, w, h)] = hit["boxes"]
        left, top, right, bottom = _drawn_box(line, matched, upto)
        # The box covers the drawn words, with a small margin, and not the line's other words.
        assert x <= left + 2 and y <= top + 2 and x + w >= right - 2 and y + h >= bottom - 2
        assert left - x < 30 and top - y < 30 and x + w - right < 30 and y + h - bottom < 30
    page = await (
        await client.get(
            f"/staff/moderation/items/{sent['item_id']}", headers=world.staff.headers()
        )
    ).text()
    assert "data-add-boxes=" in page and "Cover the flagged words in picture 1" in page


async def test_covering_the_flagged_boxes_delivers_a_picture_without_those_words(
    client: TestClient,
) -> None:
    world = await make_world(client, terms=[SCHOOL])
    _, sent = await send_letter(client, world, "", [("note.png", NOTE)])
    item_id = sent["item_id"]
    view = await (
        await client.get(f"/api/moderation/items/{item_id}", headers=world.staff.headers())
    ).json()
    image = next(part for part in view["parts"] if part["kind"] == "image")
    boxes = [box for hit in image["hits"] for box in hit["boxes"]]
    response = await client.post(
        f"/api/moderation/items/{item_id}/decision",
        json={
            "decision": "approve_with_redactions",
            "version": view["version"],
            "redactions": {"images": {image["part_id"]: boxes}},
        },
        headers=world.staff.headers(),
    )
    assert response.status == 200, await response.text()
    delivered = await client.get(
        f"/staff/items/{item_id}/parts/{image['part_id']}/delivered",
        headers=world.staff.headers(),
    )
    assert delivered.status == 200
    reader = client.server.app[WORD_READER]
    assert reader is not None
    read = await reader.read(await delivered.read())
    assert read is not None
    assert "We moved to" in read.text  # the rest of the note is still there
    assert "SW1A" not in read.text and "Oakfield" not in read.text and "Elm Road" not in read.text


def _stuck_tesseract(tmp_path: Path) -> tuple[str, Path]:
    """A stand-in for tesseract that says its pid and then never answers."""
    pid_file = tmp_path / "tesseract.pid"
    script = tmp_path / "stuck-tesseract"
    script.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 600\n")
    script.chmod(0o755)
    return str(script), pid_file


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie still answers kill(0); it has ended all the same.
    return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"


def _read_pid(pid_file: Path) -> int | None:
    text = pid_file.read_text().strip() if pid_file.exists() else ""
    return int(text) if text else None


async def _pid_of(pid_file: Path) -> int:
    async with asyncio.timeout(30):
        while (pid := _read_pid(pid_file)) is None:
            await asyncio.sleep(0.01)
    return pid


async def test_a_picture_tesseract_cannot_finish_is_stored_without_words_and_no_process_is_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Long enough for the stand-in to start and say its pid on a busy machine.
    monkeypatch.setattr(ocr, "TIMEOUT_SECONDS", 5.0)
    program, pid_file = _stuck_tesseract(tmp_path)
    reading = asyncio.create_task(ocr.WordReader(program).read(NOTE))
    pid = await _pid_of(pid_file)
    assert await reading is None
    assert _gone(pid)


async def test_an_abandoned_upload_leaves_no_tesseract_running(tmp_path: Path) -> None:
    program, pid_file = _stuck_tesseract(tmp_path)
    reading = asyncio.create_task(ocr.WordReader(program).read(NOTE))
    pid = await _pid_of(pid_file)
    reading.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reading
    assert _gone(pid)
