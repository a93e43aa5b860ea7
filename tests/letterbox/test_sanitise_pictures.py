"""Pictures: nothing hidden under transparency survives, big phone photos are scaled down while
they are decoded, and whatever a photo carried besides its picture is dropped and named."""

from __future__ import annotations

import io
import uuid

import pytest
from aiohttp.test_utils import TestClient
from PIL import Image, ImageChops

from service.appkeys import SESSIONMAKER
from service.letterbox.backdrop import PICTURE_BACKGROUND
from service.letterbox.redaction import Box, fill_boxes
from service.letterbox.sanitise import (
    EXTRA_PICTURES_REMOVED,
    TRANSPARENCY_REMOVED,
    IntakeLimits,
    IntakeRefused,
    RefusalCode,
    sanitise,
)
from storage.models import ItemPart
from tests.support import images
from tests.support.letterbox_world import make_world, read_stored, send_letter

LIMITS = IntakeLimits()
WHITE = (255, 255, 255)

HIDING_KINDS = ["rgba", "palette", "colour-key", "grey-alpha", "animated", "webp", "heic"]
EXTENSIONS = {"webp": "webp", "heic": "heic"}


def refusal(data: bytes, filename: str, limits: IntakeLimits = LIMITS) -> IntakeRefused:
    with pytest.raises(IntakeRefused) as caught:
        sanitise(data, filename, limits)
    return caught.value


def opened(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.copy()


# --- hidden pixels ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", HIDING_KINDS)
def test_message_in_fully_transparent_pixels_does_not_survive_sanitising(kind: str) -> None:
    hidden = images.png_with_hidden_message(kind)
    # The fixture really hides a message: drop the transparency and it can be read. (With a
    # colour key the whole transparent area is the key colour, message and all.)
    original = opened(hidden.data)
    original.info.pop("transparency", None)  # a palette's colours, as if nothing were see-through
    alpha_dropped = original.convert("RGB")
    elsewhere = alpha_dropped.getpixel((hidden.size[0] - 2, hidden.size[1] - 2))
    legible = sum(alpha_dropped.getpixel(xy) != elsewhere for xy in hidden.message_pixels)
    assert legible > 500 or kind == "colour-key"

    result = sanitise(hidden.data, f"blank.{EXTENSIONS.get(kind, 'png')}", LIMITS)

    [page] = result.pages
    stored = opened(page.data)
    assert stored.mode == "RGB" and "transparency" not in stored.info
    assert page.media_type == "image/png"  # lossless, so the comparison below is exact
    assert all(stored.getpixel(xy) == PICTURE_BACKGROUND for xy in hidden.message_pixels)
    # Exactly what the moderator would see on white (HEIC's colour conversion moves the visible
    # square by a shade).
    difference = ImageChops.difference(stored, hidden.as_seen_on_white()).getextrema()
    assert max(high for _, high in difference) <= (3 if kind == "heic" else 0)  # type: ignore[misc]
    assert TRANSPARENCY_REMOVED in result.removed


def test_half_transparent_pixels_are_blended_with_white_as_a_browser_shows_them() -> None:
    picture = Image.new("RGBA", (40, 40), (255, 0, 0, 128))
    picture.paste((0, 0, 0, 255), (0, 0, 10, 10))
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    [page] = sanitise(buffer.getvalue(), "pink.png", LIMITS).pages
    red, green, blue = opened(page.data).getpixel((30, 30))  # type: ignore[misc]
    assert red == 255 and 125 <= green <= 128 and 125 <= blue <= 128
    assert opened(page.data).getpixel((5, 5)) == (0, 0, 0)


def test_photo_with_transparency_and_many_colours_is_flattened_and_stored_as_jpeg() -> None:
    buffer = io.BytesIO()
    images.photo((320, 240), alpha=True).save(buffer, "PNG")
    [page] = sanitise(buffer.getvalue(), "cut-out.png", LIMITS).pages
    assert page.media_type == "image/jpeg"
    corner = opened(page.data).getpixel((5, 5))
    assert isinstance(corner, tuple) and min(corner) >= 250  # white, give or take JPEG


def test_redaction_lays_a_stored_transparent_picture_over_white_instead_of_dropping_alpha() -> None:
    # Pictures stored before intake flattened them still carry alpha; boxing one must not
    # uncover what the transparent pixels hide.
    hidden = images.png_with_hidden_message("rgba")
    box = Box(10, 80, 30, 20)
    data, media_type = fill_boxes(hidden.data, [box])
    delivered = opened(data)
    assert media_type == "image/png" and delivered.mode == "RGB"
    assert all(delivered.getpixel(xy) == WHITE for xy in hidden.message_pixels)
    assert delivered.getpixel((box.x + 1, box.y + 1)) == (0, 0, 0)
    assert delivered.getpixel((20, 20)) == images.VISIBLE_COLOUR


async def test_delivered_copy_holds_no_trace_of_a_message_hidden_under_transparency(
    client: TestClient,
) -> None:
    world = await make_world(client)
    hidden = images.png_with_hidden_message("rgba")
    status, sent = await send_letter(
        client, world, "A drawing for you", [("blank.png", hidden.data)]
    )
    assert status == 201, sent
    item_id = sent["item_id"]
    view = await (
        await client.get(f"/api/moderation/items/{item_id}", headers=world.staff.headers())
    ).json()
    picture_part = next(part for part in view["parts"] if part["kind"] != "text")

    # What the moderator is shown is the flattened picture: blank but for the blue square.
    shown = await client.get(picture_part["sanitised_url"], headers=world.staff.headers())
    assert shown.status == 200
    assert opened(await shown.read()).tobytes() == hidden.as_seen_on_white().tobytes()

    # The moderator boxes a corner far from the (invisible) message, and approves.
    box = [0, 90, 40, 30]
    response = await client.post(
        f"/api/moderation/items/{item_id}/decision",
        json={
            "decision": "approve_with_redactions",
            "version": view["version"],
            "redactions": {"images": {picture_part["part_id"]: [box]}},
        },
        headers=world.staff.headers(),
    )
    assert response.status == 200, await response.text()

    async with world.app[SESSIONMAKER]() as session:
        part = await session.get(ItemPart, uuid.UUID(picture_part["part_id"]))
        assert part is not None and part.delivered_object_id is not None
        delivered_id = part.delivered_object_id
    _, data = await read_stored(world.app, delivered_id)
    delivered = opened(data).convert("RGB")
    expected = hidden.as_seen_on_white()
    expected.paste((0, 0, 0), (0, 90, 40, 120))
    assert delivered.tobytes() == expected.tobytes()
    assert all(delivered.getpixel(xy) == WHITE for xy in hidden.message_pixels)
    assert images.MESSAGE_COLOUR not in {colour for _, colour in delivered.getcolors() or []}


# --- big phone photos ---------------------------------------------------------------------------


def test_fifty_megapixel_phone_photo_is_accepted_scaled_down_and_stripped_of_metadata() -> None:
    photo = images.big_phone_photo(8660, 5774)  # 50.0 megapixels, with GPS
    assert b"\x25\x88" in photo  # the GPS directory's tag, little-endian
    result = sanitise(photo, "IMG_0001.jpg", LIMITS)
    [page] = result.pages
    assert page.width * page.height <= LIMITS.max_pixels
    assert (page.width, page.height) == (4330, 2887)  # decoded at half size
    assert "GPS position" in result.removed and "camera serial number" in result.removed
    stored = opened(page.data)
    assert not stored.getexif() and "exif" not in stored.info
    for marker in (b"GPS", b"LetterboxCam", b"SerialLeak", b"Exif\x00\x00"):
        assert marker not in page.data
    sky = stored.getpixel((page.width - 10, 10))
    grass = stored.getpixel((page.width // 2, page.height - 10))
    assert isinstance(sky, tuple) and isinstance(grass, tuple)
    assert sky[2] > 180 and grass[1] > 100 and grass[2] < 90  # the picture itself is intact


def test_two_hundred_megapixel_photo_is_decoded_small_rather_than_refused() -> None:
    photo = images.grey_jpeg_of_any_size(16320, 12240)  # 199.8 megapixels, under 1 MB
    [page] = sanitise(photo, "200mp.jpg", LIMITS).pages
    assert (page.width, page.height) == (4080, 3060)  # a quarter of each side
    assert page.width * page.height <= LIMITS.max_pixels


def test_photo_over_two_hundred_megapixels_is_refused_saying_which_file_and_limit() -> None:
    error = refusal(images.grey_jpeg_of_any_size(16400, 12300), "huge.jpg")
    assert error.code is RefusalCode.IMAGE_TOO_LARGE
    assert error.field == "huge.jpg"
    assert error.message == (
        "huge.jpg is 16400 × 12300 pixels (201.7 megapixels); the largest JPEG photo we can "
        "take is 200 megapixels. Please send a smaller copy of the picture."
    )


def test_picture_with_an_absurdly_long_side_is_refused_before_decoding() -> None:
    error = refusal(images.png_with_garbage_pixels(70000, 2), "ribbon.png")
    assert error.code is RefusalCode.IMAGE_TOO_LARGE
    assert "ribbon.png is 70000 × 2 pixels" in error.message
    assert "65,535 pixels" in error.message


def test_png_over_the_stored_limit_but_under_the_ceiling_is_scaled_down() -> None:
    # 48 megapixels: over the 40 stored, under the 100 a PNG may be decoded at.
    [page] = sanitise(images.png_bomb(8000, 6000), "scan.png", LIMITS).pages
    assert page.width * page.height <= LIMITS.max_pixels
    assert abs(page.width / page.height - 8000 / 6000) < 0.01


# --- bytes after the end of a JPEG --------------------------------------------------------------


def test_camera_jpeg_with_one_stray_byte_after_its_end_is_accepted_and_the_byte_listed() -> None:
    camera = images.jpeg_with_everything() + b"\x1a"
    result = sanitise(camera, "DSC_0042.JPG", LIMITS)
    assert "1 byte after the end of the picture" in result.removed
    assert "GPS position" in result.removed
    assert not result.pages[0].data.endswith(b"\x1a")


@pytest.mark.parametrize(
    "payload",
    [
        b"PK\x03\x04" + b"\x14\x00" * 20 + b"secret.txt" + b"\x00" * 60,
        b"Meet me at the park gates, 4pm Saturday. Don't tell anyone.\n",
        b"<html><script>alert(1)</script></html>",
    ],
)
def test_data_appended_after_a_jpeg_is_dropped_and_its_size_listed(payload: bytes) -> None:
    result = sanitise(images.plain_jpeg() + payload, "photo.jpg", LIMITS)
    assert f"{len(payload):,} bytes after the end of the picture" in result.removed
    data = result.pages[0].data
    for fragment in (payload[:12], b"secret", b"park gates", b"<script"):
        assert fragment not in data


def test_zero_padding_after_a_jpeg_is_not_worth_mentioning() -> None:
    result = sanitise(images.plain_jpeg() + b"\x00" * 512, "padded.jpg", LIMITS)
    assert result.removed == ()


def test_second_picture_after_a_jpeg_is_dropped_and_listed() -> None:
    appended = images.plain_jpeg() + images.small_jpeg((64, 48), (255, 0, 0))
    result = sanitise(appended, "two.jpg", LIMITS)
    assert EXTRA_PICTURES_REMOVED in result.removed
    [page] = result.pages
    assert (page.width, page.height) == (320, 240)
    assert page.data.count(b"\xff\xd8") == 1


def test_multi_picture_jpeg_keeps_only_its_first_picture_and_lists_the_rest() -> None:
    buffer = io.BytesIO()
    images.photo().save(
        buffer, "MPO", save_all=True, append_images=[images.photo((160, 120)).rotate(90)]
    )
    result = sanitise(buffer.getvalue(), "3d.jpg", LIMITS)
    assert EXTRA_PICTURES_REMOVED in result.removed
    [page] = result.pages
    assert (page.width, page.height) == (320, 240)
    assert page.data.count(b"\xff\xd8") == 1 and b"MPF" not in page.data


def test_mpf_header_announcing_more_pictures_is_listed() -> None:
    with_mpf = images.insert_jpeg_segment(images.plain_jpeg(), images.mpf_segment())
    assert EXTRA_PICTURES_REMOVED in sanitise(with_mpf, "mpf.jpg", LIMITS).removed


# --- naming what was removed --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("segment", "expected"),
    [
        (images.jfxx_thumbnail_segment(), "embedded thumbnail"),
        (images.jfif_with_thumbnail_segment(), "embedded thumbnail"),
        (images.private_app_segment(), "other embedded data"),
        (images.iptc_segment(), "IPTC metadata"),
    ],
)
def test_jpeg_segments_are_named_in_the_removed_list(segment: bytes, expected: str) -> None:
    data = images.insert_jpeg_segment(images.plain_jpeg(), segment)
    result = sanitise(data, "photo.jpg", LIMITS)
    assert expected in result.removed
    assert segment[4:12] not in result.pages[0].data


def test_jpeg_comment_icc_and_maker_notes_are_named() -> None:
    buffer = io.BytesIO()
    exif = images.build_exif(gps=False, thumbnail=False)
    images.photo().save(
        buffer, "JPEG", comment=b"hello", icc_profile=images.swapped_primaries_icc(), exif=exif
    )
    removed = sanitise(buffer.getvalue(), "photo.jpg", LIMITS).removed
    for expected in ("comment", "colour profile (converted to sRGB)", "maker notes"):
        assert expected in removed, (expected, removed)


def _only_xmp(format_name: str) -> bytes:
    buffer = io.BytesIO()
    picture = images.photo()
    if format_name == "PNG":
        from PIL import PngImagePlugin

        text = PngImagePlugin.PngInfo()
        text.add_itxt("XML:com.adobe.xmp", images.XMP_PACKET.decode())
        picture.save(buffer, "PNG", pnginfo=text)
    elif format_name == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
        picture.save(buffer, "HEIF", quality=60, xmp=images.XMP_PACKET)
    else:
        picture.save(buffer, format_name, xmp=images.XMP_PACKET)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("format_name", "filename"),
    [("PNG", "a.png"), ("WEBP", "a.webp"), ("HEIF", "a.heic"), ("JPEG", "a.jpg")],
)
def test_xmp_is_named_in_every_format_with_what_it_gave_away(
    format_name: str, filename: str
) -> None:
    data = _only_xmp(format_name)
    assert b"xmpmeta" in data
    result = sanitise(data, filename, LIMITS)
    for expected in ("XMP metadata", "GPS position", "place names", "author/copyright", "software"):
        assert expected in result.removed, (expected, result.removed)
    assert b"xmpmeta" not in result.pages[0].data


def test_private_png_chunk_is_named_as_other_embedded_data() -> None:
    buffer = io.BytesIO()
    images.photo().save(buffer, "PNG")
    with_private = images.with_png_chunk(buffer.getvalue(), b"prVt", b"where-we-live")
    result = sanitise(with_private, "a.png", LIMITS)
    assert "other embedded data" in result.removed
    assert b"where-we-live" not in result.pages[0].data
