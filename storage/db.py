"""The database engine, the session factory and the migration helpers."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.util import await_only

from storage.keys import MasterKey

# What a lookup runs its statements on: an ORM session, or a plain connection where no ORM
# object is needed (the session middleware's reads, see reading_engine).
Queryable = AsyncSession | AsyncConnection

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
CONNECT_TIMEOUT_SECONDS = 10.0


class DatabaseError(Exception):
    """The database cannot be used; the message says what to do."""


class NotMigrated(DatabaseError):
    pass


def create_engine(url: str) -> AsyncEngine:
    parsed = make_url(url)
    options: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            _private_sqlite_file(Path(database))
        # SQLite has one writer; a generous busy timeout beats "database is locked".
        options = {"connect_args": {"timeout": 30}}
    else:
        options |= {"pool_size": 10, "max_overflow": 10, "pool_timeout": 10}
    engine = create_async_engine(url, **options)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin_immediate)
    else:
        event.listen(engine.sync_engine, "checkout", _postgres_liveness)
        event.listen(engine.sync_engine, "checkin", _postgres_checked_in)
    return engine


def _private_sqlite_file(path: Path) -> None:
    """Create the database's folder (0700) and file (0600) before SQLite does: it would make
    the file world-readable under the usual umask, and its -wal and -shm files copy the
    database file's mode."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(
            path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600
        )
    except FileExistsError:
        return
    os.close(fd)


# A connection back from a request a moment ago is not pinged: a terminated or restarted
# backend closes its socket, which asyncpg notices for free (``is_closed``), and the rare
# connection that dies silently in between fails its first statement, which invalidates the
# whole pool (the session middleware then retries once, see service.http.sessions). One that
# sat idle longer, where a firewall may have dropped it without a word, answers a ping first.
IDLE_BEFORE_PING_SECONDS = 10.0
_CHECKED_IN_AT = "letterbox_checked_in_at"


def _postgres_checked_in(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info[_CHECKED_IN_AT] = time.monotonic()


def _postgres_liveness(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
    """Hand out only live connections, with no round trip for a connection just used.

    SQLAlchemy's own pre-ping costs three round trips (BEGIN, ``;``, ROLLBACK, for
    pgbouncer's transaction mode, which this deployment does not use) at every checkout;
    here a connection idle for more than ``IDLE_BEFORE_PING_SECONDS`` answers one empty
    statement, any other costs nothing. Raising DisconnectionError makes the pool discard
    the connection and open another.
    """
    driver = dbapi_connection.driver_connection
    if driver.is_closed():
        raise DisconnectionError("the database server closed this connection")
    checked_in_at = record.info.get(_CHECKED_IN_AT)
    if checked_in_at is not None and time.monotonic() - checked_in_at < IDLE_BEFORE_PING_SECONDS:
        return
    try:
        await_only(driver.fetchrow(";"))
    except Exception as exc:  # any failure here means the connection is unusable
        raise DisconnectionError(f"the connection failed its liveness check: {exc}") from exc


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Foreign keys carry real rules here (observation notes are supervised-only), and
    # SQLite ignores them unless asked. WAL lets readers run beside the one writer.
    dbapi_connection.isolation_level = None  # let SQLAlchemy's "begin" event own BEGIN
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # Freed space is zeroed, not left holding old rows: a shredded family's wrapped key must
    # not linger in a free page (scrub_sqlite finishes the job for the write-ahead log).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def scrub_sqlite(url: str) -> bool:
    """After a crypto-shred: leave no copy of overwritten bytes in the database files.

    Copies the write-ahead log into the database and truncates it to nothing; secure_delete
    (on for every connection, and here) has already zeroed the space the old value left in
    its page. VACUUM is not used: run from another process while the service held
    connections, it left the file malformed in our tests. Returns False when a reader still
    held part of the log and it could not be emptied (retry with the service stopped); True
    for a non-SQLite URL (PostgreSQL: see docs/deploy.md)."""
    parsed = make_url(url)
    if (
        parsed.get_backend_name() != "sqlite"
        or not parsed.database
        or parsed.database == ":memory:"
    ):
        return True
    connection = sqlite3.connect(parsed.database, timeout=30, isolation_level=None)
    try:
        connection.execute("PRAGMA secure_delete=ON")
        clean = True
        row = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if row is not None and row[0] != 0:
            clean = False  # busy: a reader still holds part of the log
    finally:
        connection.close()
    wal = Path(f"{parsed.database}-wal")
    return clean and (not wal.exists() or wal.stat().st_size == 0)


def _sqlite_begin_immediate(connection: Connection) -> None:
    # Take the write lock at BEGIN, so two writers queue on the busy timeout instead of
    # failing on lock upgrade halfway through a transaction.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def reading_engine(engine: AsyncEngine) -> AsyncEngine:
    """The same pool, for short lookups that need no transaction of their own.

    On PostgreSQL each statement commits by itself (AUTOCOMMIT): no BEGIN and ROLLBACK round
    trips around a lookup. SQLite keeps its transactions: AUTOCOMMIT there would skip the
    BEGIN IMMEDIATE that queues its one writer.
    """
    if engine.dialect.name == "sqlite":
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


class ReadOnlySessionError(RuntimeError):
    """A read-only session was asked to write."""


def create_read_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """ORM sessions for views that only read, on ``reading_engine(engine)``.

    On PostgreSQL they run outside a transaction (no BEGIN and ROLLBACK round trips); the
    statements of one view may then see commits made between them, which a view of rows
    that only move forward (item statuses) tolerates. Any flush is refused: outside a
    transaction a write would be durable at once, before the record guard could see it.
    """
    return async_sessionmaker(
        reading_engine(engine), expire_on_commit=False, sync_session_class=_ReadOnlySession
    )


async def rows_connection(session: AsyncSession) -> AsyncConnection:
    """Where to read plain rows (Core statements) for ``session``: the connection it was bound
    to when opened on one (``sessionmaker(bind=connection)``), with no session transaction to
    begin; else the session's own connection."""
    bind = session.bind
    if isinstance(bind, AsyncConnection):
        return bind
    return await session.connection()


class _ReadOnlySession(Session):
    pass


@event.listens_for(_ReadOnlySession, "before_flush")
def _refuse_flush(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise ReadOnlySessionError("this session only reads; use a sessionmaker session to write")


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise DatabaseError(f"migrations have {len(heads)} heads; merge them")
    return heads[0]


async def upgrade(
    engine: AsyncEngine, revision: str = "head", master: MasterKey | None = None
) -> None:
    """Migrate to ``revision``. ``master`` is needed only by migrations that seal existing
    rows with a family key (0011: the children's names); an empty database needs none."""
    config = alembic_config()

    def run(connection: Connection) -> None:
        config.attributes["connection"] = connection
        config.attributes["master_key"] = master
        command.upgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(run)


async def current_revision(engine: AsyncEngine) -> str | None:
    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as connection:
        return await connection.run_sync(read)


async def check_ready(engine: AsyncEngine) -> None:
    """Fail fast, with what to do, when the database is unreachable or not migrated."""
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS):
            revision = await current_revision(engine)
    except (TimeoutError, SQLAlchemyError, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DatabaseError(
            f"LETTERBOX_DATABASE_URL: cannot reach the database ({reason[:200]})"
        ) from exc
    head = head_revision()
    if revision != head:
        state = "empty" if revision is None else f"at revision {revision}"
        raise NotMigrated(
            f"the database is {state}, not at {head}: run `letterbox db upgrade` first"
        )
