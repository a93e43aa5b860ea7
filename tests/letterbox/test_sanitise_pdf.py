"""PDFs that unpack to far more than they weigh are refused before pdfium reads them; ordinary
compressed PDFs still pass."""

from __future__ import annotations

import base64
import zlib
from pathlib import Path

import pytest
from fpdf import FPDF

from service.letterbox.pdfstreams import Exceeded, StreamLimits, TooLarge, unpack
from service.letterbox.sanitise import IntakeLimits, IntakeRefused, RefusalCode, sanitise
from tests.support import images

LIMITS = IntakeLimits()
MIB = 1024 * 1024


def refusal(data: bytes, filename: str) -> IntakeRefused:
    with pytest.raises(IntakeRefused) as caught:
        sanitise(data, filename, LIMITS)
    return caught.value


def test_small_pdf_that_inflates_to_hundreds_of_megabytes_is_refused_naming_file_and_limit() -> (
    None
):
    bomb = images.pdf_bomb(streams=100, megabytes_each=8)  # 800 MB of page contents
    assert len(bomb) < 1_000_000
    error = refusal(bomb, "homework.pdf")
    assert error.code is RefusalCode.CONTENT_TOO_LARGE
    assert error.field == "homework.pdf"
    assert error.message.startswith(
        "homework.pdf unpacks to more than 256 MB of page contents and pictures; "
        "the limit is 256 MB for one document"
    )
    assert "Please send fewer pages" in error.message


def test_one_stream_over_its_own_limit_is_refused_though_the_total_is_small() -> None:
    error = refusal(images.pdf_bomb(streams=1, megabytes_each=40), "one.pdf")
    assert error.code is RefusalCode.CONTENT_TOO_LARGE
    assert "one.pdf holds a part" in error.message and "more than 32 MB" in error.message


def test_picture_whose_jpeg_header_claims_a_huge_size_is_refused() -> None:
    # 12000 × 12000 grey pixels = 144 MB once decoded, from 2 bits a block on disk.
    jpeg = images.grey_jpeg_of_any_size(12000, 12000)
    pdf = images.pdf_with_one_stream(
        b"/Type /XObject /Subtype /Image /Width 12000 /Height 12000 /ColorSpace /DeviceGray "
        b"/BitsPerComponent 8 /Filter /DCTDecode",
        jpeg,
        picture=True,
    )
    error = refusal(pdf, "scan.pdf")
    assert error.code is RefusalCode.CONTENT_TOO_LARGE
    assert "scan.pdf holds a picture that unpacks to more than 128 MB" in error.message


def test_picture_declaring_an_enormous_size_over_little_data_is_refused() -> None:
    pdf = images.pdf_with_one_stream(
        b"/Type /XObject /Subtype /Image /Width 60000 /Height 60000 /ColorSpace /DeviceRGB "
        b"/BitsPerComponent 8 /Filter /FlateDecode",
        zlib.compress(b"\x00" * 1000),
        picture=True,
    )
    error = refusal(pdf, "poster.pdf")
    assert error.code is RefusalCode.CONTENT_TOO_LARGE
    assert "poster.pdf holds a picture" in error.message


def test_run_length_bomb_is_refused() -> None:
    pdf = images.pdf_with_one_stream(b"/Filter /RunLengthDecode", images.run_length_zeros(40 * MIB))
    assert refusal(pdf, "rl.pdf").code is RefusalCode.CONTENT_TOO_LARGE


def test_lzw_bomb_is_refused() -> None:
    data = images.lzw_zeros(40 * MIB)
    assert len(data) < 40_000
    pdf = images.pdf_with_one_stream(b"/Filter /LZWDecode", data)
    assert refusal(pdf, "lzw.pdf").code is RefusalCode.CONTENT_TOO_LARGE


def test_bomb_wrapped_in_ascii85_is_unwrapped_and_refused() -> None:
    squeezed = zlib.compress(b"\x00" * (40 * MIB), 9)
    wrapped = base64.a85encode(squeezed) + b"~>"
    pdf = images.pdf_with_one_stream(b"/Filter [/ASCII85Decode /FlateDecode]", wrapped)
    assert refusal(pdf, "a85.pdf").code is RefusalCode.CONTENT_TOO_LARGE


def test_flate_data_is_measured_whatever_its_dictionary_claims() -> None:
    squeezed = zlib.compress(b"\x00" * (40 * MIB), 9)
    pdf = images.pdf_with_one_stream(b"/Note (no filter here)", squeezed)
    assert refusal(pdf, "liar.pdf").code is RefusalCode.CONTENT_TOO_LARGE


def test_object_header_written_inside_a_string_does_not_hide_the_real_filters() -> None:
    pdf = images.pdf_with_one_stream(
        b"/Filter /RunLengthDecode /Note (9 0 obj << >>)", images.run_length_zeros(40 * MIB)
    )
    assert refusal(pdf, "decoy.pdf").code is RefusalCode.CONTENT_TOO_LARGE


def test_stream_hidden_inside_another_streams_data_is_refused() -> None:
    inner = b"9 0 obj\n<< /Filter /FlateDecode >>\nstream\n" + zlib.compress(b"\x00" * 1000)
    pdf = images.pdf_with_one_stream(b"", b"BT ET\n" + inner)
    error = refusal(pdf, "nested.pdf")
    assert error.code is RefusalCode.UNREADABLE_FILE
    assert "nested.pdf is built in a way we cannot check safely" in error.message


def test_pdf_of_tens_of_thousands_of_tiny_streams_is_refused() -> None:
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
    ]
    objects += [b"<< /Length 5 >>\nstream\nBT ET\nendstream"] * 20_001
    assert refusal(images.build_pdf(objects), "many.pdf").code is RefusalCode.UNREADABLE_FILE


def test_filters_named_through_a_reference_are_refused_as_uncheckable() -> None:
    pdf = images.pdf_with_one_stream(b"/Filter 9 0 R", b"BT ET")
    error = refusal(pdf, "indirect.pdf")
    assert error.code is RefusalCode.UNREADABLE_FILE
    assert "indirect.pdf is built in a way we cannot check safely" in error.message


def test_encrypted_pdf_is_refused_saying_to_send_an_unprotected_copy() -> None:
    error = refusal(images.encrypted(images.plain_pdf(1)), "report.pdf")
    assert error.code is RefusalCode.PASSWORD_PROTECTED
    assert error.message.startswith("report.pdf is encrypted")
    assert "copy without protection" in error.message


def test_ordinary_compressed_pdf_passes_and_is_measured() -> None:
    pdf = images.pdf_with_compressed_pages(3)
    measured = unpack(pdf, StreamLimits())
    # Three pages of text and one 200 × 150 colour picture.
    assert 90_000 <= measured.total <= 91_000
    result = sanitise(pdf, "letter.pdf", LIMITS)
    assert len(result.pages) == 3


def test_limits_bound_each_stream_each_picture_and_the_total() -> None:
    pdf = images.pdf_with_compressed_pages(2)
    with pytest.raises(TooLarge) as caught:
        unpack(pdf, StreamLimits(per_picture=50_000))
    assert caught.value.which is Exceeded.PICTURE and caught.value.limit == 50_000
    with pytest.raises(TooLarge) as caught:
        unpack(pdf, StreamLimits(total=60_000))
    assert caught.value.which is Exceeded.TOTAL
    with pytest.raises(TooLarge) as caught:
        unpack(pdf, StreamLimits(per_stream=20))
    assert caught.value.which is Exceeded.STREAM


def test_script_inside_a_compressed_stream_is_still_named() -> None:
    hidden = zlib.compress(b"<< /S /JavaScript /JS (app.alert(1)) >>")
    pdf = images.pdf_with_one_stream(b"/Filter /FlateDecode", hidden)
    assert "PDF scripts" in sanitise(pdf, "sneaky.pdf", LIMITS).removed


def test_pdf_written_by_a_real_pdf_library_passes(tmp_path: Path) -> None:
    # fpdf2 compresses pages, the embedded font and pictures with FlateDecode, as word
    # processors do.
    document = FPDF()
    document.add_font("DejaVu", fname=images.FONT)
    document.set_font("DejaVu", size=14)
    picture = tmp_path / "garden.png"
    images.photo((640, 480)).save(picture)
    for number in range(1, 4):
        document.add_page()
        document.multi_cell(0, 8, f"Page {number}. Dear Sam, " + "we went to the park. " * 40)
        document.image(str(picture), w=120)
    pdf = bytes(document.output())
    measured = unpack(pdf, StreamLimits())
    assert measured.total > 640 * 480 * 3  # the picture, the font and the pages were measured
    result = sanitise(pdf, "from-word.pdf", LIMITS)
    assert len(result.pages) == 3
