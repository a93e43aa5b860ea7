"""Record lines read as sentences a person would write: a family change says what changed,
and a reply is the child's, typed by the staff member."""

from __future__ import annotations

from service.record.timeline import Names, describe


def test_a_reply_reads_as_the_childs_typed_by_the_staff_member() -> None:
    names = Names(children={"c1": "Mia"})
    line = describe(
        "reply_submitted",
        {"child_id": "c1", "parts": [{"kind": "text"}, {"kind": "image"}]},
        "Sam Staff",
        names,
    )
    assert line == "Reply from Mia with 1 photo, typed by Sam Staff."


def test_family_changes_read_as_sentences() -> None:
    names = Names()
    assert (
        describe("family_changed", {"change": "sensitive_term_added"}, "Alex", names)
        == "Sensitive term added, by Alex."
    )
    assert (
        describe("family_changed", {"change": "settings"}, "Alex", names)
        == "The family's settings were changed by Alex."
    )
    # A change this version does not know still reads as a sentence, never as a code.
    line = describe("family_changed", {"change": "contact_plan_set"}, "Alex", names)
    assert line == "The family's contact plan set changed, by Alex."
    assert "_" not in line
