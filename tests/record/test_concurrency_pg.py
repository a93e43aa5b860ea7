"""Two OS processes appending at once on PostgreSQL: no duplicate, no missing sequence number."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage import db
from storage.models import RecordEvent
from storage.record import verify_database
from tests.support.postgres import PostgresServer, unique_name
from tests.support.record import ROOT, make_family

APPENDS_PER_WORKER = 60

# Each worker appends to a shared family and to its own, one event per transaction. It says
# "ready" once connected and waits for "go", so both are appending at the same moment.
WORKER = """
import asyncio, sys, uuid
from storage import db
from storage.record import EventAuthor, RecordLog

async def main(url, shared, own, count):
    engine = db.create_engine(url)
    maker = db.create_sessionmaker(engine)
    log = RecordLog()
    actor = EventAuthor(None, "system")
    async with engine.connect() as connection:
        await connection.exec_driver_sql("SELECT 1")
    print("ready", flush=True)
    sys.stdin.readline()
    for n in range(count):
        family = shared if n % 2 == 0 else own
        async with maker.begin() as session:
            await log.append(session, uuid.UUID(family), "call_joined", {"n": n}, actor)
    await engine.dispose()
    print("done", flush=True)

asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
"""


def run_workers(tmp_path: Path, url: str, shared: str, own_families: list[str]) -> None:
    """Start the workers, release them together, and wait for both to finish cleanly."""
    script = tmp_path / "append_worker.py"
    script.write_text(WORKER)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LETTERBOX_")}
    env["PYTHONPATH"] = str(ROOT)
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                str(script),
                url,
                shared,
                own,
                str(APPENDS_PER_WORKER),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )
        for own in own_families
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None
            assert worker.stdout.readline().strip() == "ready"
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        for worker in workers:
            out, err = worker.communicate(timeout=240)
            assert worker.returncode == 0, err
            assert out.strip() == "done"
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()


@pytest.fixture
async def pg_database(pg: PostgresServer, pg_template: str) -> AsyncIterator[str]:
    name = unique_name("letterbox_record_conc")
    pg.psql(f"CREATE DATABASE {name} TEMPLATE {pg_template}")
    try:
        yield pg.url(name)
    finally:
        pg.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def test_two_processes_appending_at_once_keep_sequences_gap_free_and_chains_intact(
    pg_database: str, tmp_path: Path
) -> None:
    engine = db.create_engine(pg_database)
    maker = db.create_sessionmaker(engine)
    try:
        async with maker.begin() as session:
            shared, own_a, own_b = [(await make_family(session)).id for _ in range(3)]
        await asyncio.to_thread(
            run_workers, tmp_path, pg_database, str(shared), [str(own_a), str(own_b)]
        )

        async with maker() as session:
            seqs = list(await session.scalars(select(RecordEvent.seq).order_by(RecordEvent.seq)))
            per_family = dict(
                (
                    await session.execute(
                        select(RecordEvent.family_id, func.count()).group_by(RecordEvent.family_id)
                    )
                ).all()
            )
            report = await verify_database(session)
        total = 2 * APPENDS_PER_WORKER
        assert seqs == list(range(1, total + 1))
        assert per_family == {
            shared: APPENDS_PER_WORKER,
            own_a: APPENDS_PER_WORKER // 2,
            own_b: APPENDS_PER_WORKER // 2,
        }
        assert report.ok, [str(p) for p in report.problems]
        assert report.events == total
    finally:
        await engine.dispose()
