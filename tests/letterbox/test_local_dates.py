"""Dates a parent or staff member reads are the centre's calendar days, not UTC's."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from service.letterbox.parent import parent_status
from storage.models import Item, ItemStatus

LONDON = ZoneInfo("Europe/London")


def test_an_item_opened_just_after_midnight_bst_shows_the_local_day() -> None:
    # 23:30 UTC on 30 June is 00:30 BST on 1 July.
    item = Item(status=ItemStatus.OPENED, opened_at=datetime(2026, 6, 30, 23, 30, tzinfo=UTC))
    assert parent_status(item, LONDON) == ("opened", "Opened on 1 July 2026")
    assert parent_status(item, ZoneInfo("UTC")) == ("opened", "Opened on 30 June 2026")
