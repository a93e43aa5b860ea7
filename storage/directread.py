"""Reads that a hot route runs on every request, without SQLAlchemy's per-execution work.

A `DirectRead` is one Core SELECT. On PostgreSQL it is compiled once for the connection's
dialect and run straight on the asyncpg connection under SQLAlchemy (asyncpg prepares it once a
connection and keeps it in its statement cache); its parameters and columns go through the
column types' own bind and result processors, so the values are the ones SQLAlchemy would give
(enum members, aware UTC datetimes, ``uuid.UUID``). What is skipped is the execution context, the
parameter and result set-up, the event dispatch and the greenlet hop of every execution, about
a tenth of a millisecond of CPU a statement (docs/benchmarks.md). On SQLite, and on any other
dialect, the statement runs through SQLAlchemy like any other.

Only for statements that read: on the PostgreSQL path nothing is begun or committed, so use it on
the AUTOCOMMIT reading connections (`storage.db.reading_engine`).
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

Processor = Callable[[Any], Any] | None
# A parameter given at each execution (``bindparam("family_id")``), not fixed in the statement.
_GIVEN: Any = object()


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    # The statement's parameters in the order of $1, $2, …: (name, fixed value or _GIVEN,
    # processor).
    binds: tuple[tuple[str, Any, Processor], ...]
    results: tuple[Processor, ...]


class DirectRead:
    """One Core SELECT, compiled once for asyncpg; `rows` runs it (see the module's docstring)."""

    def __init__(self, statement: Select[*tuple[Any, ...]]) -> None:
        if any(bind.expanding for bind in statement.compile().binds.values()):
            raise ValueError("a DirectRead takes plain parameters, not IN lists (expanding)")
        self.statement = statement
        # Rows as named tuples, the same attributes as SQLAlchemy's rows.
        self._row: Callable[..., Any] = namedtuple(  # type: ignore[misc]  # names known at run time
            "Row", [str(column.key) for column in statement.selected_columns]
        )
        self._compiled: _Compiled | None = None  # for PostgreSQL through asyncpg, the one dialect

    async def rows(self, connection: AsyncConnection, params: Mapping[str, Any]) -> list[Any]:
        """The statement's rows for ``params``, each with its columns as attributes."""
        dialect = connection.dialect
        if dialect.driver != "asyncpg":
            return list((await connection.execute(self.statement, dict(params))).all())
        compiled = self._compiled or self._compile(dialect)
        args = []
        for name, fixed, processor in compiled.binds:
            value = params[name] if fixed is _GIVEN else fixed
            args.append(processor(value) if processor else value)
        raw = await connection.get_raw_connection()
        records = await raw.driver_connection.fetch(compiled.sql, *args)  # type: ignore[union-attr]
        return [
            self._row(*(p(v) if p else v for p, v in zip(compiled.results, r, strict=True)))
            for r in records
        ]

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect)
        names: Sequence[str] = compiled.positiontup or ()
        binds = []
        for name in names:
            bind = compiled.binds[name]
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            binds.append((name, _GIVEN if bind.required else bind.value, processor))
        results = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in self.statement.selected_columns
        )
        self._compiled = _Compiled(compiled.string, tuple(binds), results)
        return self._compiled
