"""The court PDF: a family's record in plain language, for a judge to read.

Pure and synchronous (run it in a thread): it takes a `CourtDocument` that
``service.record.export`` has already put together and returns the PDF bytes. It uses the
DejaVu Unicode fonts from Debian's ``fonts-dejavu-core`` when they are installed; without them
it falls back to the PDF core fonts and replaces what Latin-1 cannot show.

Its words are in the language current when it is drawn (``service.i18n.use_language``: the
export chooses it); the caller builds the `CourtDocument` in the same language.

Every page carries "Page X of Y" and the bundle hash (the record digest: SHA-256 over the
bundle's events.jsonl, proof.json and checkpoint.txt, fixed before the PDF is made, so the
bundle can hold the PDF's own SHA-256 without a loop).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from service.i18n import _

__all__ = [
    "DEJAVU_DIR",
    "Certifier",
    "ContactBlock",
    "CourtDocument",
    "EventLine",
    "NoteEntry",
    "Section",
    "render_court_pdf",
]

DEJAVU_DIR: Final = Path("/usr/share/fonts/truetype/dejavu")
_FONT_FILES: Final = {
    ("body", ""): "DejaVuSans.ttf",
    ("body", "B"): "DejaVuSans-Bold.ttf",
    ("body", "I"): "DejaVuSans-Oblique.ttf",
}
_TIME_WIDTH: Final = 44.0  # mm, the "when" column
_LINE: Final = 4.6  # mm per line of 9 pt text
# What to type: the same in every language.
_VERIFY_COMMAND: Final = "letterbox verify BUNDLE.zip --fingerprint FINGERPRINT --pdf THIS.pdf"

# Latin-1 stand-ins for the typographic characters our own texts use.
_LATIN1: Final = str.maketrans(
    {
        "“": '"',
        "”": '"',
        "‘": "'",
        "’": "'",
        "–": "-",
        "—": "-",
        "…": "...",
        "·": "-",
        "•": "*",
        "→": "->",
        "\u00a0": " ",
        # Welsh w and y with a circumflex are not in Latin-1 (â ê î ô û are): a plain letter
        # reads better than a question mark.
        "ŵ": "w",
        "ŷ": "y",
        "Ŵ": "W",
        "Ŷ": "Y",
    }
)


@dataclass(frozen=True)
class EventLine:
    when: str
    text: str


@dataclass(frozen=True)
class NoteEntry:
    when: str
    author: str
    text: str


@dataclass(frozen=True)
class ContactBlock:
    """One contact: a letter and what happened to it, a call, an opening session…"""

    title: str
    summary: Sequence[str] = ()
    lines: Sequence[EventLine] = ()
    notes: Sequence[NoteEntry] = ()


@dataclass(frozen=True)
class Section:
    title: str
    intro: str
    blocks: Sequence[ContactBlock] = ()


@dataclass(frozen=True)
class Certifier:
    """The named officer who signs the business-records certificate, and their role."""

    name: str
    role: str


@dataclass(frozen=True)
class CourtDocument:
    centre_name: str
    case_reference: str
    contact_level: str  # "supported" or "supervised"
    period: str  # in words, UK days
    period_utc: str  # the exact instants the bundle states
    generated_by: str
    generated_at: datetime
    generated_at_text: str
    checkpoint_size: int
    checkpoint_head: str  # hex
    checkpoint_time: str
    key_fingerprint: str
    record_digest: str
    event_count: int
    sections: Sequence[Section] = field(default_factory=tuple)
    # Drawn after the sections, each given the PDF (issue 20: the contact chart, court_plan.py).
    drawings: Sequence[Callable[[Any], None]] = field(default_factory=tuple)
    # The officer of the centre who certifies the records (entered at export); None: nobody did.
    certifier: Certifier | None = None

    @property
    def bundle_reference(self) -> str:
        """Names this export on every page: the case and the start of the record digest."""
        return f"{self.case_reference}/{self.record_digest[:12]}"

    # The order the family was referred under, if the referral named one.
    court_order_reference: str | None = None

    @property
    def supervised(self) -> bool:
        return self.contact_level == "supervised"


def _groups(text: str, size: int = 4) -> str:
    return " ".join(text[i : i + size] for i in range(0, len(text), size))


class _CourtPDF(FPDF):
    def __init__(self, doc: CourtDocument, font_dir: Path | None) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.doc = doc
        self._font: tuple[str, str, float] = ("", "", 0.0)
        self._widths: dict[tuple[str, float, str], float] = {}
        self.unicode = font_dir is not None and all(
            (font_dir / name).is_file() for name in _FONT_FILES.values()
        )
        if self.unicode:
            assert font_dir is not None  # noqa: S101 - checked just above
            for (family, style), name in _FONT_FILES.items():
                self.add_font(family, style, str(font_dir / name))
            # Hashes are set in the body font: a fourth font costs a parse and a subset.
            self.body_font, self.mono_font = "body", "body"
        else:
            self.body_font, self.mono_font = "helvetica", "courier"
        self.set_margins(18, 20, 18)
        self.set_auto_page_break(True, margin=26)
        self.set_title(_("Family contact record, case {case}").format(case=doc.case_reference))
        self.set_author(doc.centre_name)
        self.set_creator("Letterbox")
        self.set_creation_date(doc.generated_at)

    # Text goes through here, so the core-font fallback never meets a character it lacks.
    def t(self, text: str) -> str:
        if self.unicode:
            return text
        text = unicodedata.normalize("NFC", text.translate(_LATIN1))
        return text.encode("latin-1", errors="replace").decode("latin-1")

    def font(self, size: float, style: str = "", mono: bool = False) -> None:
        wanted = (self.mono_font, "", size) if mono else (self.body_font, style, size)
        if wanted != self._font:  # set_font is costly even when nothing changes
            self.set_font(*wanted)
            self._font = wanted

    def add_page(self, *args: Any, **kwargs: Any) -> None:
        super().add_page(*args, **kwargs)
        self._font = ("", "", 0.0)  # fpdf2 restores the font behind our back

    def header(self) -> None:
        self._font = ("", "", 0.0)
        if self.page_no() == 1:
            return
        self.font(8)
        self.set_text_color(90, 90, 90)
        self.cell(
            0,
            5,
            self.t(
                _("{centre} · family contact record · case {case}").format(
                    centre=self.doc.centre_name, case=self.doc.case_reference
                )
            ),
            align="R",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        self.set_text_color(0, 0, 0)
        self.ln(2)

    def footer(self) -> None:
        self._font = ("", "", 0.0)
        self.set_y(-21)
        self.set_draw_color(180, 180, 180)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(1.2)
        self.set_text_color(70, 70, 70)
        self.font(7)
        self.cell(25, 4, self.t(_("Bundle hash:")), new_x=XPos.RIGHT, new_y=YPos.TOP)
        self.font(7, mono=True)
        self.cell(0, 4, self.doc.record_digest, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.font(7)
        self.cell(25, 4, self.t(_("Centre key:")), new_x=XPos.RIGHT, new_y=YPos.TOP)
        self.font(7, mono=True)
        self.cell(0, 4, self.doc.key_fingerprint, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.font(8)
        self.cell(
            0,
            5,
            self.t(
                _("Bundle {reference} · Page {page} of {total}").format(
                    reference=self.doc.bundle_reference, page=self.page_no(), total="{nb}"
                )
            ),
            align="C",
        )
        self.set_text_color(0, 0, 0)

    # --- building blocks -------------------------------------------------------------------

    @property
    def text_width(self) -> float:
        return float(self.w - self.l_margin - self.r_margin)

    def room_for(self, height: float) -> None:
        if self.get_y() + height > self.page_break_trigger:
            self.add_page()

    def heading(self, text: str, size: float = 14) -> None:
        self.room_for(size * 1.6)
        self.font(size, "B")
        self.multi_cell(0, size * 0.5, self.t(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1.5)

    def paragraph(self, text: str, size: float = 9.5, style: str = "") -> None:
        self.font(size, style)
        self.multi_cell(0, size * 0.5, self.t(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1.5)

    def field(self, label: str, value: str, *, mono: bool = False) -> None:
        self.font(9.5, "B")
        label_width = 52.0
        self.room_for(10)
        y = self.get_y()
        self.multi_cell(label_width, 5, self.t(label), align="L", new_x=XPos.RIGHT, new_y=YPos.TOP)
        self.font(9 if mono else 9.5, mono=mono)
        self.set_xy(self.l_margin + label_width, y)
        self.multi_cell(
            self.text_width - label_width,
            5,
            self.t(value),
            align="L",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        self.ln(1)

    # The body can run to hundreds of pages (10,000 events): it is laid out here, word by
    # word with cached widths, and drawn with text(), because fpdf2's cell and multi_cell
    # cost ~1 ms per line. Page breaks are ours too; header() and footer() still run.

    def wrap(self, text: str, width: float, size: float, style: str = "") -> list[str]:
        """``text`` broken into lines no wider than ``width`` mm in the given font.

        Widths are summed per word from a cache: the record repeats the same few hundred
        words, and measuring whole lines through fpdf2 dominated the export's time."""
        self.font(size, style)
        words = text.split(" ")
        widths = [self._width(word, size, style) for word in words]
        space = self._width(" ", size, style)
        if sum(widths) + space * (len(words) - 1) <= width:
            return [text]
        lines: list[str] = []
        current: list[str] = []
        used = 0.0
        for word, word_width in zip(words, widths, strict=True):
            while word_width > width and word:  # a word longer than a line: cut it
                cut = max(1, int(len(word) * width / word_width) - 1)
                if current:
                    lines.append(" ".join(current))
                    current, used = [], 0.0
                lines.append(word[:cut])
                word = word[cut:]
                word_width = self._width(word, size, style)
            extra = word_width + (space if current else 0.0)
            if current and used + extra > width:
                lines.append(" ".join(current))
                current, used = [word], word_width
            else:
                current.append(word)
                used += extra
        if current:
            lines.append(" ".join(current))
        return lines

    def _width(self, text: str, size: float, style: str) -> float:
        key = (style, size, text)
        width = self._widths.get(key)
        if width is None:
            width = float(self.get_string_width(text))
            if len(text) < 40:
                self._widths[key] = width
        return width

    def draw_lines(
        self,
        x: float,
        lines: Sequence[str],
        size: float,
        style: str = "",
        *,
        height: float = _LINE,
        fill: tuple[int, int, int] | None = None,
        fill_width: float = 0.0,
    ) -> None:
        for line in lines:
            if self.get_y() + height > self.page_break_trigger:
                self.add_page()
            y = self.get_y()
            if fill is not None:
                self.set_fill_color(*fill)
                self.rect(x - 1, y, fill_width + 1, height, style="F")
            self.font(size, style)
            self.text(x, y + height * 0.72, line)
            self.set_y(y + height)

    def event_line(self, line: EventLine) -> None:
        width = self.text_width - _TIME_WIDTH
        lines = self.wrap(self.t(line.text), width - 1, 8.5)
        if self.get_y() + _LINE * min(len(lines), 3) > self.page_break_trigger:
            self.add_page()
        y = self.get_y()
        self.set_text_color(70, 70, 70)
        self.font(8.5)
        self.text(self.l_margin, y + _LINE * 0.72, self.t(line.when))
        self.set_text_color(0, 0, 0)
        self.draw_lines(self.l_margin + _TIME_WIDTH, lines, 8.5)

    def note(self, note: NoteEntry) -> None:
        x = self.l_margin + 5
        width = self.text_width - 6
        heading = self.wrap(
            self.t(
                _("Observation note, {when}, by {author}").format(
                    when=note.when, author=note.author
                )
            ),
            width,
            8.5,
            "B",
        )
        body = self.wrap(self.t(note.text), width, 9, "I")
        if self.get_y() + _LINE * min(len(heading) + len(body), 4) > self.page_break_trigger:
            self.add_page()
        fill = (242, 239, 230)
        self.draw_lines(x, heading, 8.5, "B", fill=fill, fill_width=width)
        self.draw_lines(x, body, 9, "I", fill=fill, fill_width=width)
        self.set_y(self.get_y() + 1)

    def block(self, block: ContactBlock) -> None:
        self.room_for(20)
        self.draw_lines(
            self.l_margin,
            self.wrap(self.t(block.title), self.text_width, 10.5, "B"),
            10.5,
            "B",
            height=5.5,
        )
        for line in block.summary:
            self.draw_lines(self.l_margin, self.wrap(self.t(line), self.text_width, 9, "I"), 9, "I")
        for event in block.lines:
            self.event_line(event)
        for note in block.notes:
            self.note(note)
        self.set_y(self.get_y() + 3)

    # --- pages -----------------------------------------------------------------------------

    def cover(self) -> None:
        doc = self.doc
        self.add_page()
        self.font(20, "B")
        self.cell(0, 12, self.t(_("Family contact record")), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.font(12)
        self.cell(
            0,
            7,
            self.t(_("Prepared for the court by {centre}").format(centre=doc.centre_name)),
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        self.ln(6)
        self.field(_("Contact centre"), doc.centre_name)
        self.field(_("Case reference"), doc.case_reference)
        if doc.court_order_reference:
            self.field(_("Court order reference"), doc.court_order_reference)
        self.field(_("Period"), doc.period)
        self.field(_("Exact period (UTC)"), doc.period_utc)
        level = (
            _(
                "Supervised contact: staff watched and noted the contact; their observation "
                "notes are included."
            )
            if doc.supervised
            else _(
                "Supported contact: staff were present but did not observe or report; only "
                "the contact events and attendance are recorded, and no observation notes."
            )
        )
        self.field(_("Contact level"), level)
        self.field(_("Events in the period"), str(doc.event_count))
        self.field(_("Generated by"), doc.generated_by)
        self.field(_("Generated on"), doc.generated_at_text)
        self.field(
            _("Signed checkpoint"),
            _("{size} events in the family's record, signed {time}; head {head}").format(
                size=doc.checkpoint_size, time=doc.checkpoint_time, head=doc.checkpoint_head
            ),
            mono=False,
        )
        self.field(_("Centre key fingerprint"), _groups(doc.key_fingerprint), mono=True)
        self.field(_("Bundle hash (record digest)"), _groups(doc.record_digest), mono=True)
        self.ln(3)
        self.heading(_("How to check this record"), 12)
        self.paragraph(
            _(
                "This PDF comes with a verification bundle (a zip file). The bundle holds every "
                "event of this family in the period exactly as the centre recorded it, the proof "
                "that ties them to the checkpoint signed with the centre's key, and the SHA-256 "
                "of this PDF. Anyone can check the bundle offline with the free Letterbox "
                "verifier:"
            )
        )
        self.command_line(_VERIFY_COMMAND)
        self.paragraph(
            _(
                "Compare the centre key fingerprint printed here with one you obtained "
                "independently: from the centre itself (by letter or telephone, or its page "
                "/.well-known/letterbox-record-key) or from the court's earlier records. Never "
                "trust the fingerprint printed in this same document on its own: anyone who "
                "could forge this PDF could print their own. The verifier says VALID only if no "
                "event was changed, removed, added or reordered, and prints the bundle hash. The "
                "bundle hash printed at the foot of every page is the record digest: SHA-256 of "
                'the line "letterbox-record-digest/v1" followed by the SHA-256 of the bundle\'s '
                "events.jsonl, proof.json and checkpoint.txt. It is fixed before this PDF is "
                "made, so the bundle can also hold this PDF's own SHA-256."
            )
        )
        self.paragraph(
            _(
                "Times are UK times (GMT or BST). The content of letters, photos and gifts is not "
                "reproduced here; only what happened to them."
            )
        )

    def command_line(self, text: str) -> None:
        """A command to type, set in the monospaced font and never translated."""
        self.font(9, mono=True)
        self.multi_cell(0, _LINE, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1.5)

    def how_to_check(self) -> None:
        doc = self.doc
        self.add_page()
        self.heading(_("How this record can be checked"))
        self.paragraph(
            _(
                "This record comes with a second file, the verification bundle (a zip file). "
                "The bundle holds every event of this family in the period exactly as the "
                "centre's system recorded it, sealed with the centre's digital signature. A free "
                "program, the Letterbox verifier, checks the bundle and this PDF. It needs no "
                "access to the centre's systems and no internet connection, and anyone with a "
                "computer can run it."
            )
        )
        self.heading(_("1. Get the centre's key fingerprint from the centre itself"), 11)
        self.paragraph(
            _(
                "Ask {centre} for the fingerprint of its record key, by letter or telephone, or "
                "read it on the centre's web address /.well-known/letterbox-record-key, or take "
                "it from an earlier record the court already holds. The fingerprint is a line of "
                "64 letters and digits. Do not rely only on the fingerprint printed in this "
                "document: someone who forged this document could print their own."
            ).format(centre=doc.centre_name)
        )
        self.paragraph(_("For comparison, the fingerprint this document was made with is:"))
        self.command_line(_groups(doc.key_fingerprint))
        self.heading(_("2. Run the verifier"), 11)
        self.paragraph(
            _(
                "The verifier is two short files published with the Letterbox source code "
                "(service/record/verifier.py and storage/recordformat.py); it needs Python 3.11 "
                'and the widely used "cryptography" package. The centre gives a copy to anyone '
                "who asks, and any IT professional can read what it does. The command is:"
            )
        )
        self.command_line(_VERIFY_COMMAND)
        self.heading(_("3. Read the answer"), 11)
        self.paragraph(
            _(
                "VALID means: the bundle was signed with the key that has the fingerprint you "
                "obtained, no event of this family in the period was changed, removed, added or "
                "put in a different order, and this PDF is the one made with the bundle."
            )
        )
        self.paragraph(
            _(
                "NOT VALID means: something does not match, and the line after it says what. Do "
                "not rely on this record until the centre explains it."
            )
        )
        self.paragraph(
            _(
                "NOT VERIFIED means: no fingerprint was given, so the verifier could not tell who "
                "signed the bundle. Obtain the fingerprint (step 1) and run it again."
            )
        )
        self.paragraph(
            _(
                "If the court holds an earlier record of this family, add --since EARLIER.zip: "
                "the verifier then also proves that nothing in the earlier record was changed "
                "since, even by the centre."
            )
        )

    def certificate(self) -> None:
        doc = self.doc
        self.add_page()
        self.heading(_("Certificate of the records"))
        who = doc.certifier
        if who is None:
            self.paragraph(
                _(
                    "No officer of the centre certified this export. Ask the centre for a "
                    "certified export if the court needs one."
                ),
                style="I",
            )
            return
        self.paragraph(
            _("I, {name}, {role} of {centre}, certify that:").format(
                name=who.name, role=who.role, centre=doc.centre_name
            ),
        )
        for number, text in enumerate(
            (
                _(
                    "the records in this document form part of the records of the centre, made "
                    "in the ordinary course of the centre's work of supporting and supervising "
                    "contact between children and their families;"
                ),
                _(
                    "each event was recorded by the centre's Letterbox system at the time it "
                    "happened, automatically and in the same step as the action it describes, "
                    "and the system keeps every event in a chained and signed log that cannot be "
                    "changed without the change showing;"
                ),
                _(
                    "this document was produced from that log by the same system on {when}, for "
                    "the period {period}, and shows {count} events;"
                ).format(when=doc.generated_at_text, period=doc.period, count=doc.event_count),
                _(
                    "the accompanying verification bundle is signed with the centre's record "
                    "key, whose fingerprint is:"
                ),
            ),
            1,
        ):
            self.paragraph(f"{number}. {text}")
        self.font(9, mono=True)
        self.multi_cell(0, _LINE, _groups(doc.key_fingerprint), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(2)
        self.paragraph(
            _(
                "This certificate is given for the purposes of section 9 of the Civil Evidence "
                "Act 1995 (records of a business or public authority). The contents of letters, "
                "photographs and gifts are not reproduced."
            )
        )
        self.ln(6)
        for label, value in (
            (_("Name"), who.name),
            (_("Role"), who.role),
            (_("Signature"), ""),
            (_("Date"), ""),
        ):
            self.field(label, value or "_" * 40)
            self.ln(2)

    def body(self) -> None:
        for section in self.doc.sections:
            self.add_page()
            self.heading(section.title)
            self.paragraph(section.intro)
            if not section.blocks:
                self.paragraph(_("Nothing of this kind happened in the period."), style="I")
            for block in section.blocks:
                self.block(block)
        for draw in self.doc.drawings:
            draw(self)


def render_court_pdf(doc: CourtDocument, *, font_dir: Path | None = DEJAVU_DIR) -> bytes:
    """The court PDF's bytes. ``font_dir=None`` forces the core-font (Latin-1) fallback."""
    pdf = _CourtPDF(doc, font_dir)
    pdf.cover()
    pdf.how_to_check()
    pdf.certificate()
    pdf.body()
    out: Any = pdf.output()
    return bytes(out)
