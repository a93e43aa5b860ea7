"""The contact plan: what the order or agreement says (each channel's frequency, dates to
avoid, names to use and never to use, start, review and end dates, the order's reference),
what is due, sent and overdue per family and across the centre, and the parent's reminder
two weeks before a letter is due. Plan changes are recorded.

Names other capabilities may use (``__all__``):

- ``next_letters(services, actor)``: for a parent, per family, from when their next letter
  can be sent and by when it is due (the parent's letterbox page shows it).
- ``NextLetter``: what it returns.
- ``beyond_plan(services, family_id, channel)``: the note for a parent when a letter or gift
  goes beyond what the plan allows (the intake stores it as usual, so it waits for staff,
  and answers with the note), or ``None``.
- ``court_plan(session, keyring, family_id)``: the family's plan (a ``FamilyPlan``: the
  order's reference, dates, rules in words) for the court export, or ``None``;
  ``planned_per_month(plan, first_day, last_day)``: the contacts it expects per month and
  channel (the export sets them against what happened).
- ``FamilyPlan``: what ``court_plan`` returns; ``Rule``: one of its rules (the court PDF words
  it in its own language).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from service.plan.plans import (
    FamilyPlan,
    NextLetter,
    Rule,
    beyond_plan,
    court_plan,
    next_letters,
    planned_per_month,
)

if TYPE_CHECKING:
    from aiohttp import web

    from service.typedefs import CleanupContext

__all__ = [
    "FamilyPlan",
    "NextLetter",
    "Rule",
    "beyond_plan",
    "court_plan",
    "next_letters",
    "planned_per_month",
]


def setup(app: web.Application) -> None:
    from service.plan import views

    views.setup(app)


def cleanup_contexts() -> Sequence[CleanupContext]:
    from service.plan.reminders import letter_reminders_ctx

    # Two weeks before a letter is due, its parents are reminded (once per centre, leased).
    return (letter_reminders_ctx,)
