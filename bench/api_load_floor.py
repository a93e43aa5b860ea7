"""The stack's floor for bench/api_load.py: what any handler of the parent's letterbox pays on
aiohttp + SQLAlchemy async + asyncpg, before any code of ours.

A bare aiohttp handler runs the four statements the letterbox needs (the session with its
user, the family rule for a parent, the family's items, the parent's gifts) on one AUTOCOMMIT
connection of a plain engine, and answers the rows as JSON. No middleware, no ORM objects,
no CSRF, no logging, no liveness check, no dates in words: a lower bound, not a rival design.
With ``asyncpg`` as the fourth argument the same SQL goes straight to an asyncpg pool,
without SQLAlchemy: the floor of any handler that asks PostgreSQL four questions.

Run by bench/api_load.py as
``python bench/api_load_floor.py PORT DATABASE_URL COOKIE_NAME [sqlalchemy|asyncpg]``.
"""

from __future__ import annotations

import hashlib
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import bindparam, or_, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storage.models import (
    Direction,
    FamilySender,
    Item,
    ItemStatus,
    PhysicalGift,
    User,
    WebSession,
)

SESSION = (
    select(User.id, User.role, User.centre_id, WebSession.last_seen_at)
    .join(User, User.id == WebSession.user_id)
    .where(WebSession.token_hash == bindparam("hashed"))
)
SENDER = select(FamilySender.id).where(
    FamilySender.family_id == bindparam("family_id"),
    FamilySender.user_id == bindparam("user_id"),
    FamilySender.approved.is_(True),
)
ITEMS = (
    select(Item.id, Item.kind, Item.direction, Item.status, Item.submitted_at, Item.opened_at)
    .where(
        Item.family_id == bindparam("family_id"),
        or_(
            (Item.direction == Direction.TO_CHILD) & (Item.sender_id == bindparam("user_id")),
            (Item.direction == Direction.TO_PARENT)
            & or_(Item.status == ItemStatus.APPROVED, Item.status == ItemStatus.OPENED),
        ),
    )
    .order_by(Item.submitted_at.desc(), Item.id)
)
GIFTS = select(PhysicalGift.id, PhysicalGift.received_at, PhysicalGift.status).where(
    PhysicalGift.family_id == bindparam("family_id"),
    PhysicalGift.from_user_id == bindparam("user_id"),
)


def make_app(engine: AsyncEngine, cookie_name: str) -> web.Application:
    async def letterbox(request: web.Request) -> web.Response:
        token = request.cookies.get(cookie_name, "")
        family_id = uuid.UUID(request.match_info["family_id"])
        async with engine.connect() as connection:
            user = (
                await connection.execute(
                    SESSION, {"hashed": hashlib.sha256(token.encode()).hexdigest()}
                )
            ).first()
            if user is None:
                raise web.HTTPUnauthorized()
            ids = {"family_id": family_id, "user_id": user.id}
            if await connection.scalar(SENDER, ids) is None:
                raise web.HTTPNotFound()
            items = (await connection.execute(ITEMS, ids)).all()
            gifts = (await connection.execute(GIFTS, ids)).all()
        return web.json_response(
            {
                "family_id": str(family_id),
                "items": [
                    {
                        "item_id": str(i.id),
                        "kind": i.kind.value,
                        "direction": i.direction.value,
                        "status": i.status.value,
                        "submitted_at": i.submitted_at.isoformat() if i.submitted_at else None,
                        "opened_at": i.opened_at.isoformat() if i.opened_at else None,
                    }
                    for i in items
                ],
                "gifts": [{"gift_id": str(g.id), "status": g.status.value} for g in gifts],
            }
        )

    app = web.Application()
    app.router.add_get("/api/families/{family_id}/letterbox", letterbox)

    async def dispose(_app: web.Application) -> None:
        await engine.dispose()

    app.on_cleanup.append(dispose)
    return app


def _asyncpg_sql(statement: Any) -> str:
    return str(statement.compile(dialect=postgresql.asyncpg.dialect()))


def make_asyncpg_app(dsn: str, cookie_name: str) -> web.Application:
    import asyncpg

    session_sql, sender_sql, items_sql, gifts_sql = (
        _asyncpg_sql(statement) for statement in (SESSION, SENDER, ITEMS, GIFTS)
    )
    pools: list[asyncpg.Pool] = []

    async def letterbox(request: web.Request) -> web.Response:
        token = request.cookies.get(cookie_name, "")
        family_id = uuid.UUID(request.match_info["family_id"])
        async with pools[0].acquire() as connection:
            user = await connection.fetchrow(
                session_sql, hashlib.sha256(token.encode()).hexdigest()
            )
            if user is None:
                raise web.HTTPUnauthorized()
            if await connection.fetchval(sender_sql, family_id, user["id"]) is None:
                raise web.HTTPNotFound()
            items = await connection.fetch(
                items_sql,
                family_id,
                Direction.TO_CHILD.value,
                user["id"],
                Direction.TO_PARENT.value,
                ItemStatus.APPROVED.value,
                ItemStatus.OPENED.value,
            )
            gifts = await connection.fetch(gifts_sql, family_id, user["id"])
        return web.json_response(
            {
                "family_id": str(family_id),
                "items": [
                    {
                        "item_id": str(i["id"]),
                        "kind": i["kind"],
                        "direction": i["direction"],
                        "status": i["status"],
                        "submitted_at": i["submitted_at"].isoformat()
                        if i["submitted_at"]
                        else None,
                        "opened_at": i["opened_at"].isoformat() if i["opened_at"] else None,
                    }
                    for i in items
                ],
                "gifts": [{"gift_id": str(g["id"]), "status": g["status"]} for g in gifts],
            }
        )

    async def pool_ctx(_app: web.Application) -> AsyncIterator[None]:
        pools.append(await asyncpg.create_pool(dsn, min_size=10, max_size=20))
        yield
        await pools[0].close()

    app = web.Application()
    app.router.add_get("/api/families/{family_id}/letterbox", letterbox)
    app.cleanup_ctx.append(pool_ctx)
    return app


def main() -> None:
    port, url, cookie_name = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    driver = sys.argv[4] if len(sys.argv) > 4 else "sqlalchemy"
    if driver == "asyncpg":
        app = make_asyncpg_app(url.replace("postgresql+asyncpg://", "postgresql://"), cookie_name)
    else:
        engine = create_async_engine(url, pool_size=10, max_overflow=10)
        app = make_app(engine.execution_options(isolation_level="AUTOCOMMIT"), cookie_name)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
