"""A court document with known contents, for tests that render the court PDF."""

from __future__ import annotations

from datetime import UTC, datetime

from service.record.pdf import ContactBlock, CourtDocument, EventLine, NoteEntry, Section

DIGEST = "ab" * 32


def document(*, blocks: int = 60, supervised: bool = True, text: str = "") -> CourtDocument:
    lines = [
        EventLine(
            "Tue 04 Mar 2025 10:03",
            text or f"A letter to the child was sent by Chris Parent (parent), number {n}.",
        )
        for n in range(6)
    ]
    notes = [
        NoteEntry("Tue 04 Mar 2025 12:51", "Jo Support-Worker", "Zoë smiled — “see you soon”.")
    ]
    return CourtDocument(
        centre_name="Riverside Child Contact Centre",
        case_reference="RCC-2025/0042",
        contact_level="supervised" if supervised else "supported",
        period="Mon 3 March 2025 to Mon 31 March 2025",
        period_utc="from 2025-03-03T00:00:00Z up to (not including) 2025-04-01T00:00:00Z",
        generated_by="Alex Admin (centre admin)",
        generated_at=datetime(2025, 4, 2, 9, 30, tzinfo=UTC),
        generated_at_text="Wed 2 April 2025, 10:30 BST",
        checkpoint_size=360,
        checkpoint_head="cd" * 32,
        checkpoint_time="Wed 2 April 2025, 10:30 BST",
        key_fingerprint="ef" * 32,
        record_digest=DIGEST,
        event_count=blocks * 6,
        sections=[
            Section(
                "Letters, replies and digital gifts",
                "Each item, from sending to its outcome.",
                [
                    ContactBlock(
                        f"Letter to the child, sent Tue 04 Mar 2025 10:0{n % 10}",
                        ("Outcome: opened on Tue 4 March 2025.",),
                        lines,
                        notes if supervised else (),
                    )
                    for n in range(blocks)
                ],
            ),
            Section("Physical gifts", "Gifts brought or posted to the centre.", []),
        ],
    )
