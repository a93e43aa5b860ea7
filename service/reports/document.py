"""An approved report as a PDF, for the referrer who downloads it, in their language.

Pure and synchronous (run it in a thread). DejaVu fonts when installed (Debian's
``fonts-dejavu-core``), else the PDF core fonts with what Latin-1 cannot show replaced.
"""

from __future__ import annotations

from datetime import tzinfo
from pathlib import Path
from typing import Any, Final

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from service.i18n import N_, _, use_language
from service.localtime import local_time
from service.reports.reports import ReportView

__all__ = ["render_report_pdf"]

FONT_DIR: Final = Path("/usr/share/fonts/truetype/dejavu")
_FONTS: Final = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}


_TITLE: Final = N_("Supervised contact report")
_LABELS: Final = {
    "case": N_("Case reference"),
    "date": N_("Date"),
    "time": N_("Time and length"),
    "venue": N_("Venue"),
    "supervisor": N_("Supervisor"),
    "checker": N_("Checked and approved by"),
    "sha256": N_("SHA-256 of the approved report"),
}


def render_report_pdf(
    report: ReportView, zone: tzinfo, *, language: str = "en", font_dir: Path = FONT_DIR
) -> bytes:
    """``language`` is the downloader's: the headings, labels and dates are in it; the
    supervisor's own words stay as written."""
    with use_language(language):
        return _draw(report, zone, font_dir)


def _draw(report: ReportView, zone: tzinfo, font_dir: Path) -> bytes:
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    unicode = all((font_dir / name).is_file() for name in _FONTS.values())
    family = "body" if unicode else "helvetica"
    if unicode:
        for style, name in _FONTS.items():
            pdf.add_font("body", style, str(font_dir / name))

    def t(text: str) -> str:
        return text if unicode else text.encode("latin-1", errors="replace").decode("latin-1")

    pdf.set_title(
        _("Supervised contact report, case {case}").format(case=report.header.case_reference)
    )
    pdf.set_creator("Letterbox")
    pdf.set_margins(18, 18, 18)
    pdf.add_page()
    pdf.set_font(family, "B", 16)
    pdf.multi_cell(0, 8, t(_(_TITLE)), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    h = report.header
    rows = [
        ("case", h.case_reference),
        ("date", local_time(h.started_at, zone, "%A %d %B %Y")),
        (
            "time",
            _("{start} to {end} ({minutes} minutes)").format(
                start=local_time(h.started_at, zone, "%H:%M"),
                end=local_time(h.ended_at, zone, "%H:%M %Z"),
                minutes=h.minutes,
            ),
        ),
        ("venue", h.venue),
        ("supervisor", h.supervisor),
        ("checker", report.checker or ""),
        ("sha256", report.sha256 or ""),
    ]
    pdf.ln(2)
    for key, value in rows:
        pdf.set_font(family, "B", 10)
        pdf.cell(62, 6, t(_(_LABELS[key])), new_x=XPos.RIGHT, new_y=YPos.TOP)
        pdf.set_font(family, "", 10)
        pdf.multi_cell(0, 6, t(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for label, text in report.labelled():
        pdf.ln(3)
        pdf.set_font(family, "B", 12)
        pdf.multi_cell(0, 7, t(_(label)), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(family, "", 10)
        pdf.multi_cell(0, 5.5, t(text or _("None.")), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    out: Any = pdf.output()
    return bytes(out)
