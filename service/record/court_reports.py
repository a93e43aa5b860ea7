"""The court export's section of approved supervised contact reports (issue 20).

Read from the record itself: each ``report_approved`` event carries the approved report,
sealed under the family key, and its SHA-256. A supported family never shows one (the
schema forbids such a report; this section refuses to print one regardless). A shredded
family's reports read as erased.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from service.i18n import N_, _, gettext
from service.record.pdf import ContactBlock, Section
from service.record.timeline import TimelineEntry, format_moment

__all__ = ["REPORT_HEADINGS", "reports_section"]

# The report's boxes in print order, with their headings (the reports capability's FIELDS);
# printed through gettext, in the language chosen at export.
REPORT_HEADINGS: Final = (
    ("present", N_("Who was present")),
    ("aim", N_("The aim of the session")),
    ("account", N_("What happened (a factual account)")),
    ("quotes", N_("Direct quotes")),
    ("arrival", N_("The child on arrival")),
    ("leaving", N_("The child on leaving")),
    ("concerns", N_("Concerns")),
    ("safeguarding", N_("Safeguarding")),
)


def _moment(text: Any) -> str:
    try:
        return format_moment(datetime.fromisoformat(str(text)))
    except ValueError:
        return str(text)


def _blocks(entry: TimelineEntry) -> list[ContactBlock]:
    report = entry.payload.get("report")
    if not isinstance(report, Mapping):
        return [
            ContactBlock(
                _("Report approved {when}").format(when=entry.when),
                (_("The report's text was erased when the family's data was destroyed."),),
            )
        ]
    header: Mapping[str, Any] = report.get("header") or {}
    fields: Mapping[str, Any] = report.get("fields") or {}
    summary = (
        _("Case {case}; {venue}; from {start} for {minutes} minutes.").format(
            case=header.get("case_reference", ""),
            venue=header.get("venue", ""),
            start=_moment(header.get("started_at")),
            minutes=header.get("minutes", "?"),
        ),
        _("Supervisor: {supervisor}. Checked and approved by {checker} on {when}.").format(
            supervisor=report.get("author") or header.get("supervisor", ""),
            checker=report.get("checker", ""),
            when=entry.when,
        ),
        _("SHA-256 of the approved report: {sha256}").format(
            sha256=entry.payload.get("sha256", "")
        ),
    )
    blocks = [
        ContactBlock(
            _("Report on the contact of {start}").format(start=_moment(header.get("started_at"))),
            summary,
        )
    ]
    for name, heading in REPORT_HEADINGS:
        text = str(fields.get(name) or "").strip()
        blocks.append(ContactBlock(gettext(heading), (text or _("None."),)))
    return blocks


def reports_section(entries: Sequence[TimelineEntry], *, supervised: bool) -> list[Section]:
    """The section of approved reports, or nothing for a supported family."""
    if not supervised:
        return []
    blocks = [b for e in entries if e.kind == "report_approved" for b in _blocks(e)]
    return [
        Section(
            _("Supervised contact reports"),
            _(
                "Each report was written by the supervisor after the contact, checked and "
                "approved by a second member of staff, and sealed into the record with its "
                "SHA-256."
            ),
            blocks,
        )
    ]
