"""Centre administration: staff accounts, referrals, families, parents and referrers, the
role home pages and the demo centre. Domain functions live in the modules named after what
they manage; ``views`` holds the thin page handlers and ``service.api`` the JSON ones."""

from __future__ import annotations

from service.centre.views import setup

__all__ = ["setup"]
