"""The sanitiser: every accepted format comes out as fresh pixels carrying nothing else."""

from __future__ import annotations

import io
import json
import pickle
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image

from service.errors import LetterboxError
from service.letterbox import filetypes
from service.letterbox.filetypes import FileType
from service.letterbox.sanitise import (
    IntakeLimits,
    IntakeRefused,
    RefusalCode,
    SanitisedFile,
    check_file_count,
    check_file_size,
    check_text_length,
    display_name,
    sanitise,
    sanitise_in_pool,
)
from service.letterbox.workers import FileWorkers
from tests.support import images

LIMITS = IntakeLimits()

FORMATS: dict[str, tuple[Callable[[], bytes], FileType]] = {
    "photo.jpg": (images.jpeg_with_everything, FileType.JPEG),
    "photo.png": (images.png_with_everything, FileType.PNG),
    "photo.webp": (images.webp_with_everything, FileType.WEBP),
    "photo.heic": (images.heic_with_everything, FileType.HEIF),
}

# exiftool groups (-G1) that a plain re-encoded JPEG or PNG has; anything else is metadata.
ALLOWED_EXIFTOOL_GROUPS = {"SourceFile", "ExifTool", "System", "File", "JFIF", "PNG", "Composite"}


def exiftool(tmp_path: Path, data: bytes, name: str) -> dict[str, object]:
    tool = shutil.which("exiftool")
    if tool is None:
        pytest.fail("exiftool is not installed: apt-get install -y libimage-exiftool-perl")
    path = tmp_path / name
    path.write_bytes(data)
    result = subprocess.run(
        [tool, "-j", "-G1", "-a", "-u", "-b", str(path)], check=True, capture_output=True
    )
    parsed: list[dict[str, object]] = json.loads(result.stdout)
    return parsed[0]


def groups(tags: dict[str, object]) -> set[str]:
    return {key.split(":", 1)[0] for key in tags}


def refusal(data: bytes, filename: str, limits: IntakeLimits = LIMITS) -> IntakeRefused:
    with pytest.raises(IntakeRefused) as caught:
        sanitise(data, filename, limits)
    return caught.value


# --- metadata removal --------------------------------------------------------------------------


@pytest.mark.parametrize("filename", list(FORMATS))
def test_gps_is_removed_from_uploaded_photo(tmp_path: Path, filename: str) -> None:
    build, expected_type = FORMATS[filename]
    original = build()
    before = exiftool(tmp_path, original, "original-" + filename)
    # The fixture really carries what the test claims to remove.
    assert {"GPS", "IFD0", "ExifIFD", "IFD1", "ICC_Profile"} <= groups(before)
    assert any(group.startswith("XMP") for group in groups(before))
    assert "MakerNotes" in str(before.get("ExifTool:Warning", "")) or any(
        "MakerNote" in key for key in before
    )
    assert images.MAKER_NOTE in original

    result = sanitise(original, filename, LIMITS)

    assert result.kind == "image"
    assert result.detected_type is expected_type
    [page] = result.pages
    after = exiftool(tmp_path, page.data, "clean." + page.media_type.split("/")[1])
    assert groups(after) <= ALLOWED_EXIFTOOL_GROUPS, sorted(groups(after))
    for key in after:
        assert not any(
            word in key for word in ("GPS", "Thumbnail", "MakerNote", "Make", "Model", "Comment")
        ), key
    for marker in images.LEAK_MARKERS:
        assert marker not in page.data, marker

    reopened = Image.open(io.BytesIO(page.data))
    assert not reopened.getexif()
    for key in ("exif", "xmp", "icc_profile", "comment", "XML:com.adobe.xmp", "photoshop"):
        assert key not in reopened.info, key
    assert getattr(reopened, "text", {}) == {}
    applist = getattr(reopened, "applist", [])
    assert [marker for marker, _ in applist] in ([], ["APP0"])
    assert (reopened.width, reopened.height) == (page.width, page.height) == (320, 240)


@pytest.mark.parametrize("filename", list(FORMATS))
def test_moderator_is_told_what_was_removed_in_plain_words(filename: str) -> None:
    build, _ = FORMATS[filename]
    removed = sanitise(build(), filename, LIMITS).removed
    assert removed[0] == "GPS position"
    for expected in (
        "date taken",
        "camera make and model",
        "camera serial number",
        "author/copyright",
        "maker notes",
        "embedded thumbnail",
        "XMP metadata",
        "software",
        "place names",
        "colour profile (converted to sRGB)",
    ):
        assert expected in removed, (expected, removed)
    assert len(set(removed)) == len(removed)


def test_jpeg_iptc_and_comment_are_reported_and_removed() -> None:
    result = sanitise(images.jpeg_with_everything(), "photo.jpg", LIMITS)
    assert "IPTC metadata" in result.removed
    assert "comment" in result.removed
    assert b"8BIM" not in result.pages[0].data


def test_photo_without_metadata_reports_nothing_removed() -> None:
    buffer = io.BytesIO()
    images.photo().save(buffer, "JPEG", quality=90)
    result = sanitise(buffer.getvalue(), "plain.jpg", LIMITS)
    assert result.removed == ()


def test_removed_list_reflects_only_what_the_original_carried() -> None:
    buffer = io.BytesIO()
    exif = images.build_exif(gps=False, maker_note=False, thumbnail=False)
    images.photo().save(buffer, "JPEG", exif=exif)
    removed = sanitise(buffer.getvalue(), "nogps.jpg", LIMITS).removed
    assert "camera make and model" in removed
    assert "GPS position" not in removed
    assert "maker notes" not in removed
    assert "embedded thumbnail" not in removed


@pytest.mark.parametrize(
    ("orientation", "size"), [(1, (320, 240)), (6, (240, 320)), (8, (240, 320))]
)
def test_exif_orientation_is_applied_to_the_pixels(orientation: int, size: tuple[int, int]) -> None:
    image = Image.new("RGB", (320, 240), (255, 255, 255))
    image.paste((0, 0, 0), (0, 0, 40, 40))  # a black mark in the top-left corner
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95, exif=images.build_exif(orientation=orientation))
    [page] = sanitise(buffer.getvalue(), "turned.jpg", LIMITS).pages
    out = Image.open(io.BytesIO(page.data))
    assert out.size == size
    corners = {
        1: (5, 5),  # unchanged
        6: (size[0] - 6, 5),  # rotated 90° clockwise: top-left goes to top-right
        8: (5, size[1] - 6),  # rotated 90° anticlockwise: top-left goes to bottom-left
    }
    assert max(out.convert("RGB").getpixel(corners[orientation])) < 60  # type: ignore[arg-type]
    assert not out.getexif()


def test_embedded_colour_profile_is_converted_to_srgb_not_just_dropped() -> None:
    # Under this profile, "red" is sRGB green: converting must turn the red pixels green.
    tagged = images.solid_jpeg((255, 0, 0), icc=images.swapped_primaries_icc())
    [page] = sanitise(tagged, "red.jpg", LIMITS).pages
    red, green, blue = Image.open(io.BytesIO(page.data)).convert("RGB").getpixel((32, 24))  # type: ignore[misc]
    assert green > 200 and red < 60 and blue < 60
    untagged = images.solid_jpeg((255, 0, 0))
    [plain] = sanitise(untagged, "red.jpg", LIMITS).pages
    red, green, _ = Image.open(io.BytesIO(plain.data)).convert("RGB").getpixel((32, 24))  # type: ignore[misc]
    assert red > 200 and green < 60


def test_transparent_photo_is_laid_over_white_and_opaque_png_becomes_jpeg() -> None:
    result = sanitise(images.png_with_everything(alpha=True), "cut-out.png", LIMITS)
    [page] = result.pages
    out = Image.open(io.BytesIO(page.data))
    assert out.mode == "RGB"
    assert out.convert("RGB").getpixel((5, 5)) == (255, 255, 255)  # was fully transparent
    assert "transparency (the picture now sits on white, as you see it)" in result.removed
    for chunk in (b"iCCP", b"eXIf", b"iTXt", b"tEXt", b"tRNS"):
        assert chunk not in page.data
    opaque = sanitise(images.png_with_everything(), "drawing.png", LIMITS)
    assert opaque.pages[0].media_type == "image/jpeg"
    assert not any("transparency" in what for what in opaque.removed)


# --- refusals -----------------------------------------------------------------------------------


def test_decompression_bomb_is_refused_before_decoding() -> None:
    # 12000 × 10000 = 120 megapixels of zeros in a PNG, which cannot be decoded smaller.
    bomb = images.png_bomb(12000, 10000)
    assert len(bomb) < 300_000
    error = refusal(bomb, "bomb.png")
    assert error.code is RefusalCode.IMAGE_TOO_LARGE
    assert "bomb.png" in error.message and "120.0 megapixels" in error.message
    assert "the largest PNG image we can take is 100 megapixels" in error.message


def test_bomb_with_broken_pixel_data_is_refused_for_size_proving_no_decode_happened() -> None:
    # The header claims 20000 × 20000 but the pixel data is garbage: only a header check can
    # give "too large" rather than "unreadable".
    bomb = images.png_with_garbage_pixels(20000, 20000)
    error = refusal(bomb, "huge.png")
    assert error.code is RefusalCode.IMAGE_TOO_LARGE


def test_jpeg_claiming_enormous_size_is_refused_from_its_header() -> None:
    error = refusal(images.jpeg_claiming_size(60000, 60000), "giant.jpg")
    assert error.code is RefusalCode.IMAGE_TOO_LARGE
    assert "giant.jpg is 60000 × 60000 pixels (3600.0 megapixels)" in error.message
    assert "200 megapixels" in error.message


def test_stored_megapixel_limit_is_a_setting_that_scales_pictures_down() -> None:
    small = IntakeLimits(max_megapixels=0.05)
    [page] = sanitise(images.jpeg_with_everything(), "photo.jpg", small).pages
    assert page.width * page.height <= 50_000
    assert abs(page.width / page.height - 320 / 240) < 0.02
    with Image.open(io.BytesIO(page.data)) as stored:
        assert stored.size == (page.width, page.height)


@pytest.mark.parametrize("filename", list(FORMATS))
def test_truncated_photo_is_refused_with_clear_message(filename: str) -> None:
    build, _ = FORMATS[filename]
    data = build()
    error = refusal(data[: len(data) * 2 // 3], filename)
    assert error.code is RefusalCode.TRUNCATED_FILE
    assert error.field == filename
    assert error.message.startswith(f"{filename} is incomplete")
    assert "send it again" in error.message


def test_truncated_jpeg_is_refused_with_clear_message() -> None:
    data = images.jpeg_with_everything()
    for cut in (len(data) - 2, len(data) // 2, 400, 3):
        error = refusal(data[:cut], "holiday.jpg")
        assert error.code in (RefusalCode.TRUNCATED_FILE, RefusalCode.UNREADABLE_FILE), cut
        assert "holiday.jpg" in error.message


def test_html_polyglot_in_jpeg_comment_does_not_survive() -> None:
    buffer = io.BytesIO()
    images.photo().save(buffer, "JPEG", comment=images.COMMENT)
    original = buffer.getvalue()
    assert b"<script>" in original
    result = sanitise(original, "innocent.jpg", LIMITS)
    assert "comment" in result.removed
    data = result.pages[0].data
    assert b"<script" not in data and b"<html" not in data and b"alert" not in data


@pytest.mark.parametrize(
    "payload",
    [
        b"<html><script>alert(1)</script></html>",
        b"PK\x03\x04" + b"\x00" * 100,
        b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF",
        b"MZ\x90\x00" + b"\x00" * 60,
    ],
)
@pytest.mark.parametrize("filename", ["photo.png", "photo.webp", "photo.heic"])
def test_file_that_is_not_a_single_image_is_refused(filename: str, payload: bytes) -> None:
    build, _ = FORMATS[filename]
    error = refusal(build() + payload, filename)
    assert error.code is RefusalCode.NOT_A_SINGLE_FILE
    assert filename in error.message and "hidden" in error.message


def test_phone_extras_after_a_jpeg_are_tolerated_and_reported() -> None:
    photo = images.jpeg_with_everything()
    with_gain_map = photo + images.small_jpeg((16, 16), (0, 0, 0))
    assert "extra pictures" in " ".join(sanitise(with_gain_map, "hdr.jpg", LIMITS).removed)
    motion = photo + b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64
    assert "motion-photo video" in " ".join(sanitise(motion, "motion.jpg", LIMITS).removed)


@pytest.mark.parametrize("filename", ["holiday.pdf", "holiday.png", "holiday.txt", "holiday"])
def test_wrong_extension_is_ignored_type_comes_from_bytes(filename: str) -> None:
    result = sanitise(images.jpeg_with_everything(), filename, LIMITS)
    assert result.detected_type is FileType.JPEG
    assert result.kind == "image"
    # And the other way round: a text file called .jpg is not a photo.
    error = refusal(b"Just some text, honestly a photo", "photo.jpg")
    assert error.code is RefusalCode.UNSUPPORTED_TYPE


@pytest.mark.parametrize(
    "data",
    [
        b"GIF89a" + b"\x00" * 100,
        b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
        b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf",
        b"II*\x00\x08\x00\x00\x00",
        b"PK\x03\x04",
    ],
)
def test_unaccepted_type_is_refused_listing_what_is_accepted(data: bytes) -> None:
    error = refusal(data, "thing.jpg")
    assert error.code is RefusalCode.UNSUPPORTED_TYPE
    assert "thing.jpg" in error.message
    for accepted in ("JPEG", "PNG", "WebP", "HEIC", "PDF"):
        assert accepted in error.message


def test_zero_byte_file_is_refused() -> None:
    error = refusal(b"", "empty.jpg")
    assert error.code is RefusalCode.EMPTY_FILE
    assert error.message == (
        "empty.jpg is empty (0 bytes). Please choose the file again and send it."
    )


def test_oversize_file_is_refused_naming_file_limit_and_what_to_do() -> None:
    data = images.jpeg_with_everything()
    limits = IntakeLimits(max_file_bytes=len(data) - 1)
    assert refusal(data, "holiday.jpg", limits).code is RefusalCode.FILE_TOO_LARGE
    with pytest.raises(IntakeRefused) as caught:
        check_file_size("holiday.jpg", int(31.2 * 1024 * 1024), LIMITS, head=data[:16])
    assert caught.value.message == (
        "holiday.jpg is 31.2 MB. The most you can send is 25 MB per file. Please send a smaller photo."
    )
    with pytest.raises(IntakeRefused, match="shorter document"):
        check_file_size("letter.pdf", 26 * 1024 * 1024, LIMITS, head=b"%PDF-1.7")
    check_file_size("ok.jpg", 25 * 1024 * 1024, LIMITS)  # exactly at the limit is fine


def test_file_count_and_text_length_limits_say_what_to_do() -> None:
    check_file_count(10, LIMITS)
    with pytest.raises(IntakeRefused) as caught:
        check_file_count(11, LIMITS)
    assert caught.value.code is RefusalCode.TOO_MANY_FILES
    assert "11 files" in caught.value.message and "10" in caught.value.message
    check_text_length("x" * 20_000, LIMITS)
    with pytest.raises(IntakeRefused) as caught:
        check_text_length("x" * 20_001, LIMITS)
    assert caught.value.code is RefusalCode.TEXT_TOO_LONG
    assert caught.value.field == "text" and "20,000" in caught.value.message


def test_corrupt_pixel_data_is_refused_as_unreadable() -> None:
    data = bytearray(images.jpeg_with_everything())
    sos = data.rfind(b"\xff\xda")
    # Scribble over the entropy-coded data but keep the markers intact.
    for index in range(sos + 20, len(data) - 10, 7):
        if data[index] != 0xFF and data[index - 1] != 0xFF:
            data[index] = 0xFF if index % 2 else 0x00
    with pytest.raises(IntakeRefused) as caught:
        sanitise(bytes(data), "scribbled.jpg", LIMITS)
    assert caught.value.code in (RefusalCode.UNREADABLE_FILE, RefusalCode.TRUNCATED_FILE)


def test_file_name_is_made_safe_to_show() -> None:
    assert display_name("../../etc/passwd") == "passwd"
    assert display_name("C:\\Users\\me\\holiday.jpg") == "holiday.jpg"
    assert display_name("evil\x1b[31mred\u202e.jpg") == "evil[31mred.jpg"
    assert display_name("") == "The file"
    assert len(display_name("a" * 500)) == 80
    error = refusal(b"", "../x/\x00bad.jpg")
    assert error.field == "bad.jpg"


def test_limits_fail_fast_on_nonsense() -> None:
    with pytest.raises(ValueError, match="max_files"):
        IntakeLimits(max_files=0)


# --- PDFs -----------------------------------------------------------------------------------------


def test_pdf_with_javascript_and_attachment_becomes_page_images_only() -> None:
    original = images.pdf_with_script_and_attachment()
    # The fixture is a real PDF with a script and an attachment, as pdfium sees it.
    document = pdfium.PdfDocument(original)
    assert len(document) == 2 and document.count_attachments() == 1
    document.close()

    result = sanitise(original, "letter.pdf", LIMITS)

    assert result.kind == "pdf" and result.detected_type is FileType.PDF
    assert len(result.pages) == 2
    for page in result.pages:
        assert page.media_type in ("image/png", "image/jpeg")
        assert filetypes.detect(page.data) in (FileType.PNG, FileType.JPEG)
        for leak in (b"JavaScript", b"app.alert", b"secret", b"example.com", b"HIDDEN", b"%PDF"):
            assert leak not in page.data
        image = Image.open(io.BytesIO(page.data))
        assert (image.width, image.height) == (page.width, page.height)
        # US Letter at 150 dpi (pdfium may round up by a pixel).
        assert 1275 <= page.width <= 1276 and 1650 <= page.height <= 1651
        darkest, _ = image.convert("L").getextrema()
        assert isinstance(darkest, int) and darkest < 100  # the text was rendered
    for expected in (
        "PDF scripts",
        "PDF attachments",
        "PDF links",
        "PDF automatic actions",
        "document details (author, title, dates)",
        "selectable and hidden text (each page is now a picture)",
    ):
        assert expected in result.removed, (expected, result.removed)


def test_plain_pdf_reports_only_its_text() -> None:
    result = sanitise(images.plain_pdf(2), "plain.pdf", LIMITS)
    assert len(result.pages) == 2
    assert result.removed == ("selectable and hidden text (each page is now a picture)",)


def test_pdf_over_page_limit_is_refused_before_rendering() -> None:
    error = refusal(images.plain_pdf(21), "long.pdf")
    assert error.code is RefusalCode.TOO_MANY_PAGES
    assert "long.pdf has 21 pages; the limit is 20" in error.message
    assert len(sanitise(images.plain_pdf(20), "ok.pdf", LIMITS).pages) == 20


def test_truncated_pdf_is_refused() -> None:
    data = images.pdf_with_script_and_attachment()
    error = refusal(data[: len(data) // 2], "cut.pdf")
    assert error.code is RefusalCode.TRUNCATED_FILE


def test_garbage_pdf_is_refused_as_unreadable() -> None:
    error = refusal(b"%PDF-1.7\n" + b"\x00garbage" * 200 + b"\n%%EOF\n", "bad.pdf")
    assert error.code is RefusalCode.UNREADABLE_FILE
    assert "bad.pdf" in error.message


def test_huge_pdf_page_is_rendered_at_a_capped_size() -> None:
    data = images.plain_pdf(1).replace(b"/MediaBox [0 0 595 842]", b"/MediaBox [0 0 14400 14400]")
    [page] = sanitise(data, "poster.pdf", LIMITS).pages
    assert max(page.width, page.height) <= 2500
    assert page.width * page.height <= 5_000_000


# --- running in a worker process ----------------------------------------------------------------


def test_refusal_survives_the_trip_across_processes() -> None:
    error = IntakeRefused(RefusalCode.EMPTY_FILE, "x.jpg is empty", "x.jpg")
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object, as the pool does
    assert (copy.code, copy.message, copy.field) == (error.code, error.message, error.field)
    assert (copy.status, copy.code) == (422, "empty_file")


def test_refusal_is_a_domain_error_with_the_status_of_its_kind() -> None:
    # The error middleware answers every LetterboxError with its status: no hand conversion.
    statuses = {
        RefusalCode.FILE_TOO_LARGE: 413,
        RefusalCode.TOO_MANY_FILES: 413,
        RefusalCode.TEXT_TOO_LONG: 413,
        RefusalCode.UNSUPPORTED_TYPE: 415,
        RefusalCode.TRUNCATED_FILE: 422,
        RefusalCode.TOOK_TOO_LONG: 422,
    }
    for code, status in statuses.items():
        error = IntakeRefused(code, "why and what to do", "a.jpg")
        assert isinstance(error, LetterboxError)
        assert (error.status, error.code, error.field) == (status, str(code), "a.jpg")


async def test_sanitise_in_pool_runs_in_another_process_and_returns_refusals() -> None:
    workers = FileWorkers(slots=1)
    try:
        result = await sanitise_in_pool(
            workers, images.jpeg_with_everything(), "a.jpg", LIMITS, sender="a", seconds=120
        )
        assert isinstance(result, SanitisedFile)
        assert "GPS position" in result.removed
        with pytest.raises(IntakeRefused) as caught:
            await sanitise_in_pool(workers, b"", "empty.jpg", LIMITS, sender="a", seconds=120)
        assert caught.value.code is RefusalCode.EMPTY_FILE
    finally:
        await workers.shutdown()


# --- type detection -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "brand", [b"heic", b"heix", b"mif1", b"msf1", b"heim", b"heis", b"hevc", b"hevx"]
)
def test_every_heif_brand_is_recognised(brand: bytes) -> None:
    header = b"\x00\x00\x00\x18ftyp" + brand + b"\x00\x00\x00\x00" + b"mif1miaf"
    if brand == b"mif1":
        header = b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00miafMA1B"
    assert filetypes.detect(header) is FileType.HEIF
    # As a compatible brand only, behind a brand we do not know.
    other = b"\x00\x00\x00\x18ftypzzzz\x00\x00\x00\x00" + brand + b"zzzz"
    assert filetypes.detect(other) is FileType.HEIF
