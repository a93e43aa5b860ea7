"""The released subject access copy as a PDF (pure and synchronous: run it in a thread).

Drawn in the language the copy was gathered in (the subject's), whoever downloads it: the
headings match the sentences the reviewer released."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from service.i18n import N_, _, use_language
from service.subjectaccess.requests import WITHHELD, Material

__all__ = ["render_pdf"]

FONT_DIR: Final = Path("/usr/share/fonts/truetype/dejavu")
_FONTS: Final = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
_SUBJECT_LABELS: Final = (
    ("name", N_("Name")),
    ("email", N_("E-mail")),
    ("relationship", N_("Relationship to the child")),
    ("birth_year", N_("Year of birth")),
    ("case_reference", N_("Case reference")),
)


def render_pdf(material: Material, *, font_dir: Path = FONT_DIR) -> bytes:
    with use_language(material.language):
        return _draw(material, font_dir)


def _draw(material: Material, font_dir: Path) -> bytes:
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    unicode = all((font_dir / name).is_file() for name in _FONTS.values())
    family = "body" if unicode else "helvetica"
    if unicode:
        for style, name in _FONTS.items():
            pdf.add_font("body", style, str(font_dir / name))

    def t(text: str) -> str:
        return text if unicode else text.encode("latin-1", errors="replace").decode("latin-1")

    def line(text: str, size: float = 10, style: str = "", height: float = 5.5) -> None:
        pdf.set_font(family, style, size)
        pdf.multi_cell(0, height, t(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    pdf.set_creator("Letterbox")
    pdf.set_margins(18, 18, 18)
    pdf.add_page()
    line(_("What the contact centre holds about you"), 16, "B", 8)
    subject = material.subject
    for key, label in _SUBJECT_LABELS:
        if subject.get(key) is not None:
            line(f"{_(label)}: {subject[key]}")
    line(
        _(
            "Other people's names are shown as {withheld}, and other people's details in "
            "letters are blacked out, where the law protects them."
        ).format(withheld=_(WITHHELD)),
        9,
    )
    for title, entries in material.sections:
        pdf.ln(3)
        line(title, 12, "B", 7)
        if not entries:
            line(_("Nothing."), 9)
        for entry in entries:
            line(f"{material.moment(entry)}  {material.shown(entry.text)}", 9, height=5)
            if entry.body:
                pdf.set_x(pdf.l_margin + 6)
                pdf.set_font(family, "", 9)
                pdf.multi_cell(0, 5, t(entry.released()), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    out: Any = pdf.output()
    return bytes(out)
