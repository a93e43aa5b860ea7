"""What the timeline and the court PDF say about a moderation decision: "parts blacked out"
only when at least one passage or area was blacked out, with the counts."""

from __future__ import annotations

import pytest

from service.record.timeline import Names, describe

MODERATOR = "Sam Lee (staff member)"


def _moderated(decision: str, redactions: object) -> str:
    return describe(
        "item_moderated", {"decision": decision, "redactions": redactions}, MODERATOR, Names()
    )


@pytest.mark.parametrize("decision", ["approve", "approve_with_redactions"])
def test_nothing_blacked_out_is_not_called_blacked_out(decision: str) -> None:
    # Every moderation event carries the counts, zero or not (issue 19: an empty redaction
    # read as "parts blacked out").
    text = _moderated(decision, {"text_spans": 0, "image_boxes": 0})
    assert text == f"Moderated by {MODERATOR}: approved."
    assert "blacked out" not in text


def test_blacked_out_parts_are_counted_once() -> None:
    text = _moderated("approve_with_redactions", {"text_spans": 2, "image_boxes": 1})
    assert text == (
        f"Moderated by {MODERATOR}: approved with parts blacked out "
        "(2 passages of text, 1 area of a picture)."
    )
    assert text.count("blacked out") == 1


def test_one_passage_and_several_areas_read_naturally() -> None:
    assert "(1 passage of text)" in _moderated("approve_with_redactions", {"text_spans": 1})
    assert "(3 areas of pictures)" in _moderated(
        "approve_with_redactions", {"text_spans": 0, "image_boxes": 3}
    )


def test_returned_item_says_nothing_about_blacking_out() -> None:
    assert _moderated("return", {"text_spans": 0, "image_boxes": 0}) == (
        f"Moderated by {MODERATOR}: returned to the sender."
    )
