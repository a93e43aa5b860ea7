"""Seeding test worlds straight into the database.

The app's own sessionmaker refuses contact changes without record events (the record guard).
Fixtures that set up rows "as if they had happened earlier" use this plain sessionmaker on
the app's engine instead; what the app itself does is always guarded.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.appkeys import ENGINE
from storage import db


def seeding_sessionmaker(app: web.Application) -> async_sessionmaker[AsyncSession]:
    return db.create_sessionmaker(app[ENGINE])
