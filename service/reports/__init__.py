"""Supervised contact reports: after a supervised call, the supervisor writes a structured
report; a second, different member of staff returns it with comments or approves it.
Approval seals it: its SHA-256 and its sealed text go into the family record (so the court
export shows it), and the family's referrers may download it, each download recorded.
Supported contact never has one (here and in the schema).

Names other capabilities may use (``__all__``):

- ``reports_to_do(services, actor)``: the reports this person still has to write, revise or
  check (the supervisor's home page lists them).
- ``ReportsToDo``: what it returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from service.reports.reports import ReportsToDo, reports_to_do

if TYPE_CHECKING:
    from aiohttp import web

    from service.typedefs import CleanupContext

__all__ = ["ReportsToDo", "reports_to_do"]


def setup(app: web.Application) -> None:
    from service.reports import views

    views.setup(app)


def cleanup_contexts() -> Sequence[CleanupContext]:
    return ()
