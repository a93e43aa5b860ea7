"""The court PDF is made in the language chosen at export (issue 21): the admin form and the
``letterbox export --language`` option choose it, the person's own language is the default,
and a Welsh PDF's text, read back with pdftotext, holds its Welsh headings with their accented
letters intact."""

from __future__ import annotations

import base64
import os
import re
import uuid
from dataclasses import replace
from pathlib import Path

from aiohttp.test_utils import TestClient
from fontTools.ttLib import TTFont
from sqlalchemy import select, update

from service.appkeys import KEYRING, SESSIONMAKER
from service.i18n import use_language
from service.record.pdf import DEJAVU_DIR, render_court_pdf
from storage import db
from storage import recordformat as rf
from storage.keyring import KeyRing
from storage.keys import MasterKey
from storage.models import ContactLevel, RecordEvent, Role, User
from storage.record import install_record_guard
from tests.support.accounts import make_person
from tests.support.court_documents import document
from tests.support.export_world import SeededFamily, pdf_pages_text, seed_family
from tests.support.exports import OFFICER, post_form_at, sign_in_at_home
from tests.support.record import letterbox

# Headings and fixed labels the PDF prints, each in both languages (the Welsh as the
# catalogue has it). "gofnod hŷn" is the cover's and the checking page's fixed wording for "an
# earlier record": the correct Welsh carries ŷ; "Ôl bys" carries ô.
HEADINGS = {
    "Family contact record": "Cofnod cyswllt y teulu",
    "How to check this record": "Sut i wirio'r cofnod hwn",
    "How this record can be checked": "Sut mae modd gwirio'r cofnod hwn",
    "2. Run the verifier": "2. Rhedeg y gwiriwr",
    "Certificate of the records": "Tystysgrif y cofnodion",
    "Attendance": "Presenoldeb",
    "Letters, replies and digital gifts": "Llythyrau, atebion ac anrhegion digidol",
    "Physical gifts": "Anrhegion corfforol",
    "Other record entries": "Cofnodion eraill",
    "Supervised contact reports": "Adroddiadau cyswllt dan oruchwyliaeth",
    "Planned and actual contact": "Cyswllt a gynlluniwyd a chyswllt a gafwyd",
    "Contact per month by channel": "Cyswllt bob mis, fesul sianel",
    "Centre key fingerprint": "Ôl bys allwedd y ganolfan",
    "If the court holds an earlier record of this family": "Os oes gan y llys gofnod hŷn o'r "
    "teulu hwn",
}
PERIOD = {"from": "2025-03-01", "to": "2025-03-31"}


def _flat(pdf: bytes, workdir: Path) -> str:
    """The PDF's text with its layout whitespace collapsed (a phrase may wrap)."""
    return " ".join(" ".join(pdf_pages_text(pdf, workdir)).split())


def _assert_in_language(text: str, language: str) -> None:
    wanted = HEADINGS.values() if language == "cy" else HEADINGS.keys()
    other = HEADINGS.keys() if language == "cy" else HEADINGS.values()
    for heading in wanted:
        assert heading in text, f"{heading!r} missing from the {language} PDF"
    for heading in other:
        assert heading not in text, f"{heading!r} in the {language} PDF"


async def _set_language(client: TestClient, user_id: uuid.UUID, language: str) -> None:
    async with client.server.app[SESSIONMAKER].begin() as session:
        await session.execute(update(User).where(User.id == user_id).values(language=language))


async def _exports(client: TestClient, family_id: uuid.UUID) -> list[RecordEvent]:
    async with client.server.app[SESSIONMAKER]() as session:
        rows = await session.scalars(
            select(RecordEvent)
            .where(RecordEvent.family_id == family_id, RecordEvent.kind == "export_made")
            .order_by(RecordEvent.seq)
        )
        return list(rows.all())


async def _admin(client: TestClient, language: str) -> tuple[SeededFamily, str]:
    app = client.server.app
    family = await seed_family(app[SESSIONMAKER], app[KEYRING], level=ContactLevel.SUPERVISED)
    admin = await make_person(client, Role.ADMIN, family.centre_id)
    await _set_language(client, admin.user_id, language)
    return family, await sign_in_at_home(client, admin)


async def _export_pdf(
    client: TestClient, family: SeededFamily, csrf: str, form: dict[str, str]
) -> tuple[bytes, str]:
    """Make an export through the admin form, download its PDF; return it and its language."""
    path = f"/admin/families/{family.family_id}/exports"
    made = await post_form_at(client, path, csrf, {**PERIOD, **OFFICER, **form})
    assert made.status == 303, await made.text()
    event = (await _exports(client, family.family_id))[-1]
    pdf = await post_form_at(client, f"{path}/{event.seq}/pdf", csrf)
    assert pdf.status == 200 and pdf.content_type == "application/pdf"
    return await pdf.read(), str(rf.parse_canonical(event.payload)["pdf_language"])


async def test_welsh_export_holds_the_welsh_headings_with_accents_and_no_english_ones(
    client: TestClient, tmp_path: Path
) -> None:
    family, csrf = await _admin(client, "en")
    pdf, language = await _export_pdf(client, family, csrf, {"language": "cy"})
    assert language == "cy", "the export_made event records the PDF's language"
    listed = await (await client.get(f"/admin/families/{family.family_id}/exports")).text()
    assert 'Language of the PDF: <span lang="cy">Cymraeg</span>' in listed
    text = _flat(pdf, tmp_path)
    _assert_in_language(text, "cy")
    assert "hŷn" in text and "Ôl bys" in text, "accented letters survive extraction"
    assert re.search(r"Tudalen 1 o \d+", text) and "Page 1 of" not in text
    # Dates name Welsh months and days: the period is March 2025.
    assert "Mawrth 2025" in text and "March 2025" not in text


async def test_english_export_holds_the_english_headings_and_no_welsh_ones(
    client: TestClient, tmp_path: Path
) -> None:
    family, csrf = await _admin(client, "cy")
    pdf, language = await _export_pdf(client, family, csrf, {"language": "en"})
    assert language == "en"
    text = _flat(pdf, tmp_path)
    _assert_in_language(text, "en")
    assert re.search(r"Page 1 of \d+", text) and "March 2025" in text


async def test_the_persons_own_language_is_the_default(client: TestClient, tmp_path: Path) -> None:
    family, csrf = await _admin(client, "cy")
    page = await (await client.get(f"/admin/families/{family.family_id}/exports")).text()
    assert re.search(r'<option value="cy"\s+selected>Cymraeg</option>', page), page
    assert re.search(r'<option value="en"\s*>English</option>', page)
    # A form without the field (an older page) still follows the person's language.
    pdf, language = await _export_pdf(client, family, csrf, {})
    assert language == "cy"
    _assert_in_language(_flat(pdf, tmp_path), "cy")


async def test_the_form_refuses_an_unknown_language_naming_the_field(
    client: TestClient,
) -> None:
    family, csrf = await _admin(client, "en")
    path = f"/admin/families/{family.family_id}/exports"
    refused = await post_form_at(client, path, csrf, {**PERIOD, **OFFICER, "language": "fr"})
    assert refused.status == 422
    html = await refused.text()
    message = "Choose the language of the PDF: one of en (English), cy (Cymraeg)."
    assert message in html
    assert re.search(r'class="field invalid">\s*<label for="f-export-language"', html), html
    assert await _exports(client, family.family_id) == []


async def test_cli_export_in_welsh_and_refuses_an_unknown_language(
    database_url: str, tmp_path: Path
) -> None:
    master_key_b64 = base64.b64encode(os.urandom(32)).decode()
    engine = db.create_engine(database_url)
    try:
        sessionmaker = db.create_sessionmaker(engine)
        install_record_guard(sessionmaker)
        keyring = KeyRing(MasterKey.from_base64(master_key_b64))
        family = await seed_family(sessionmaker, keyring, level=ContactLevel.SUPERVISED)
    finally:
        await engine.dispose()
    common = {
        "database_url": database_url,
        "master_key_b64": master_key_b64,
        "data_dir": tmp_path / "data",
    }
    days = ["--from", family.first_at.date().isoformat(), "--to", family.last_at.date().isoformat()]
    refused = letterbox(
        "export",
        family.case_reference,
        *days,
        "--out",
        str(tmp_path / "x"),
        "--language",
        "fr",
        **common,
    )
    assert refused.returncode != 0
    assert "--language: choose one of en, cy" in refused.stderr + refused.stdout
    out = tmp_path / "out"
    run = letterbox(
        "export", family.case_reference, *days, "--out", str(out), "--language", "cy", **common
    )
    assert run.returncode == 0, run.stderr + run.stdout
    assert "in Cymraeg" in run.stdout
    text = _flat(next(out.glob("*_record.pdf")).read_bytes(), tmp_path)
    _assert_in_language(text, "cy")
    assert "gorchymyn allforio letterbox y ganolfan" in text, "the maker in Welsh"


def test_the_pdf_fonts_have_w_and_y_circumflex_and_they_extract_intact(tmp_path: Path) -> None:
    for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf"):
        cmap = TTFont(DEJAVU_DIR / name).getBestCmap()
        for letter in "ŵŷŴŶâêîôû":
            assert ord(letter) in cmap, f"{name} has no glyph for {letter}"
    with use_language("cy"):
        pdf = render_court_pdf(replace(document(blocks=2), centre_name="Canolfan Gyswllt Tŷ Gŵyr"))
    text = _flat(pdf, tmp_path)
    assert "Wedi'i baratoi ar gyfer y llys gan Canolfan Gyswllt Tŷ Gŵyr" in text
    assert "Tystysgrif y cofnodion" in text and "gofnod hŷn" in text


def test_the_core_font_fallback_writes_w_and_y_circumflex_as_plain_letters(
    tmp_path: Path,
) -> None:
    with use_language("cy"):
        pdf = render_court_pdf(replace(document(blocks=1), centre_name="Tŷ Gŵyr"), font_dir=None)
    text = _flat(pdf, tmp_path)
    assert "gofnod hyn" in text and "Ty Gwyr" in text
    assert "h?n" not in text and "T? G?yr" not in text
    assert "Ôl bys allwedd y ganolfan" in text, "Latin-1 letters stay as they are"
