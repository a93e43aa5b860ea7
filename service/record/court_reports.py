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

from service.record.pdf import ContactBlock, Section
from service.record.timeline import TimelineEntry, format_moment

__all__ = ["REPORT_HEADINGS", "reports_section"]

# The report's boxes in print order, with their headings (the reports capability's FIELDS).
REPORT_HEADINGS: Final = (
    ("present", "Who was present"),
    ("aim", "The aim of the session"),
    ("account", "What happened (a factual account)"),
    ("quotes", "Direct quotes"),
    ("arrival", "The child on arrival"),
    ("leaving", "The child on leaving"),
    ("concerns", "Concerns"),
    ("safeguarding", "Safeguarding"),
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
                f"Report approved {entry.when}",
                ("The report's text was erased when the family's data was destroyed.",),
            )
        ]
    header: Mapping[str, Any] = report.get("header") or {}
    fields: Mapping[str, Any] = report.get("fields") or {}
    summary = (
        f"Case {header.get('case_reference', '')}; {header.get('venue', '')}; from "
        f"{_moment(header.get('started_at'))} for {header.get('minutes', '?')} minutes.",
        f"Supervisor: {report.get('author') or header.get('supervisor', '')}. Checked and "
        f"approved by {report.get('checker', '')} on {entry.when}.",
        f"SHA-256 of the approved report: {entry.payload.get('sha256', '')}",
    )
    blocks = [
        ContactBlock(f"Report on the contact of {_moment(header.get('started_at'))}", summary)
    ]
    for name, heading in REPORT_HEADINGS:
        text = str(fields.get(name) or "").strip()
        blocks.append(ContactBlock(heading, (text or "None.",)))
    return blocks


def reports_section(entries: Sequence[TimelineEntry], *, supervised: bool) -> list[Section]:
    """The section of approved reports, or nothing for a supported family."""
    if not supervised:
        return []
    blocks = [b for e in entries if e.kind == "report_approved" for b in _blocks(e)]
    return [
        Section(
            "Supervised contact reports",
            "Each report was written by the supervisor after the contact, checked and approved "
            "by a second member of staff, and sealed into the record with its SHA-256.",
            blocks,
        )
    ]
