"""The court PDF renders: non-blank pages, "page X of Y" and the bundle hash on every page,
in the Unicode fonts and in the Latin-1 fallback."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from service.record.pdf import (
    DEJAVU_DIR,
    Certifier,
    render_court_pdf,
)
from tests.support.court_documents import DIGEST, document
from tests.support.export_world import (
    pdf_page_count,
    pdf_pages_text,
    pixel_stddev,
    render_pages,
)


@pytest.mark.parametrize("fonts", ["dejavu", "core"])
def test_pdf_pages_are_numbered_carry_the_bundle_hash_and_key_fingerprint_and_are_not_blank(
    fonts: str, tmp_path: Path
) -> None:
    if fonts == "dejavu":
        assert (DEJAVU_DIR / "DejaVuSans.ttf").is_file(), (
            "Debian fonts-dejavu-core is missing: apt-get install fonts-dejavu-core"
        )
    pdf = render_court_pdf(document(), font_dir=DEJAVU_DIR if fonts == "dejavu" else None)
    assert pdf.startswith(b"%PDF-")
    count = pdf_page_count(pdf, tmp_path)
    pages = pdf_pages_text(pdf, tmp_path)
    assert count > 5 and len(pages) == count
    for number, text in enumerate(pages, 1):
        assert f"Page {number} of {count}" in text
        assert f"Bundle RCC-2025/0042/{DIGEST[:12]}" in text, f"page {number} lacks the reference"
        assert DIGEST in text
        assert "ef" * 32 in text, f"page {number} lacks the centre key fingerprint"
    assert "Bundle hash (record" in pages[0] and "RCC-2025/0042" in pages[0]
    assert "Nothing of this kind happened in the period." in pages[-1]
    # Unicode survives in the DejaVu fonts; the fallback replaces, never fails.
    joined = "".join(pages)
    assert (
        "Zoë smiled — “see you soon”." if fonts == "dejavu" else 'Zoë smiled - "see you soon".'
    ) in joined
    rendered = render_pages(pdf, tmp_path, 1, 2)
    assert len(rendered) == 2
    for png in rendered:
        assert pixel_stddev(png) > 5, f"{png.name} is blank"


def test_pdf_wraps_long_unbroken_text_inside_the_page(tmp_path: Path) -> None:
    pdf = render_court_pdf(document(blocks=2, text="x" * 400 + " end"))
    text = "".join(pdf_pages_text(pdf, tmp_path))
    assert "end" in text
    assert max(len(line) for line in text.splitlines()) < 200


def test_supported_document_says_no_notes_are_kept(tmp_path: Path) -> None:
    pdf = render_court_pdf(document(blocks=2, supervised=False))
    cover = " ".join(pdf_pages_text(pdf, tmp_path)[0].split())
    assert "Supported contact" in cover and "no observation notes" in cover
    assert "Observation note" not in "".join(pdf_pages_text(pdf, tmp_path))


def test_pdf_tells_the_reader_to_compare_the_fingerprint_with_an_independent_one(
    tmp_path: Path,
) -> None:
    cover = " ".join(pdf_pages_text(render_court_pdf(document(blocks=1)), tmp_path)[0].split())
    assert "obtained independently" in cover
    assert "/.well-known/letterbox-record-key" in cover
    assert "Never trust the fingerprint printed in this same document" in cover


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_pdf_explains_how_to_check_it_in_plain_words(tmp_path: Path) -> None:
    pages = [_flat(p) for p in pdf_pages_text(render_court_pdf(document(blocks=1)), tmp_path)]
    (how,) = [p for p in pages if "How this record can be checked" in p]
    for words in (
        "Get the centre's key fingerprint from the centre itself",
        "VALID means",
        "NOT VALID means",
        "NOT VERIFIED means",
        "published with the Letterbox source code",
    ):
        assert words in how, words


def test_certificate_page_names_the_officer_their_role_and_the_fingerprint(
    tmp_path: Path,
) -> None:
    certified = replace(document(blocks=1), certifier=Certifier("Priya Shah", "Centre Manager"))
    pages = [_flat(p) for p in pdf_pages_text(render_court_pdf(certified), tmp_path)]
    (certificate,) = [p for p in pages if "Certificate of the records" in p]
    assert "I, Priya Shah, Centre Manager of" in certificate
    assert "ordinary course of the centre's work" in certificate
    assert "section 9 of the Civil Evidence Act 1995" in certificate
    assert "efef efef" in certificate  # the fingerprint, grouped

    uncertified = [_flat(p) for p in pdf_pages_text(render_court_pdf(document(blocks=1)), tmp_path)]
    assert any("No officer of the centre certified this export" in p for p in uncertified)


def test_cover_names_the_court_order_the_family_was_referred_under(tmp_path: Path) -> None:
    with_order = render_court_pdf(replace(document(blocks=1), court_order_reference="ZW24C00123"))
    cover = " ".join(pdf_pages_text(with_order, tmp_path)[0].split())
    assert "Court order reference" in cover and "ZW24C00123" in cover
    without = render_court_pdf(document(blocks=1))
    assert "Court order" not in " ".join(pdf_pages_text(without, tmp_path)[0].split())
