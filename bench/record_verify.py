"""Benchmark the court-bundle verifier on a family with 10,000 record events.

Run as ``python bench/record_verify.py``. Writes bench/results/record_verify.json.

The family is built through the real append path (`RecordLog.append` on SQLite, sealed payload
values, one transaction per 100 events), its bundle is built from the database exactly as an
export does (`collect_material` makes the checkpoint), and `verify_bundle` checks it, every event
in the period. The baseline, measured in the same run, is plain SHA-256 over the same canonical
event bytes: the unavoidable cost of hashing the record once, with none of the parsing and checks.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.record.bundle import build_bundle, collect_material  # noqa: E402
from service.record.verifier import verify_bundle  # noqa: E402
from storage import db  # noqa: E402
from storage.keyring import KeyRing  # noqa: E402
from storage.keys import MasterKey  # noqa: E402
from storage.models import Centre, ContactLevel, Family  # noqa: E402
from storage.record import (  # noqa: E402
    EventAuthor,
    RecordLog,
    Sealed,
    StaticKeyPayloadSealer,
    load_or_create_signer,
)

RESULTS = ROOT / "bench" / "results"
EVENTS = 10_000
BATCH = 100
ROUNDS = 5
TARGET_SECONDS = 2.0
KINDS = ("item_submitted", "item_moderated", "item_opened", "call_joined", "call_ended")


def machine() -> dict[str, object]:
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "libraries": {p: metadata.version(p) for p in ("cryptography", "sqlalchemy")},
    }


def median_seconds(action: Callable[[], object], rounds: int) -> float:
    action()
    timings = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


async def build(directory: Path) -> tuple[bytes, bytes, float, float]:
    """The bundle of a 10,000-event family, its public key, and append and export timings."""
    engine = db.create_engine(f"sqlite+aiosqlite:///{directory / 'bench.db'}")
    await db.upgrade(engine)
    maker = db.create_sessionmaker(engine)
    keyring = KeyRing(MasterKey.generate())
    start_day = datetime(2024, 1, 1, tzinfo=UTC)
    clock = iter(start_day + timedelta(minutes=10 * n) for n in range(EVENTS + 1))
    try:
        async with maker.begin() as session:
            centre = Centre(name="Bench Centre")
            session.add(centre)
            await session.flush()
            family = Family(
                centre_id=centre.id,
                case_reference="LB-BENCH-1",
                contact_level=ContactLevel.SUPERVISED,
            )
            session.add(family)
            await session.flush()
            signer = await load_or_create_signer(session, keyring)
        log = RecordLog(
            StaticKeyPayloadSealer({family.id: os.urandom(32)}), clock=lambda: next(clock)
        )
        actor = EventAuthor(uuid.uuid4(), "staff")
        began = time.perf_counter()
        for first in range(0, EVENTS, BATCH):
            async with maker.begin() as session:
                for n in range(first, first + BATCH):
                    await log.append(
                        session,
                        family.id,
                        KINDS[n % len(KINDS)],
                        {
                            "item_id": str(uuid.uuid4()),
                            "object_sha256": hashlib.sha256(str(n).encode()).hexdigest(),
                            "note": Sealed(f"note {n}"),
                        },
                        actor,
                    )
        append_seconds = time.perf_counter() - began
        began = time.perf_counter()
        async with maker.begin() as session:
            material = await collect_material(
                session, family.id, start_day, start_day + timedelta(days=365), signer
            )
        data = build_bundle(material, hashlib.sha256(b"pdf").hexdigest(), signer.private_key)
        export_seconds = time.perf_counter() - began
        assert len(material.events) == EVENTS
        return data, signer.public_key, append_seconds, export_seconds
    finally:
        await engine.dispose()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data, public_key, append_seconds, export_seconds = asyncio.run(build(Path(tmp)))
    verdict = verify_bundle(data, public_key=public_key)
    assert verdict.events == EVENTS

    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        lines = archive.read("events.jsonl").splitlines()

    def baseline() -> None:
        for line in lines:
            hashlib.sha256(line).digest()

    verify_seconds = median_seconds(lambda: verify_bundle(data, public_key=public_key), ROUNDS)
    baseline_seconds = median_seconds(baseline, ROUNDS)
    result = {
        "name": "verify a court bundle of 10,000 events (service.record.verifier.verify_bundle)",
        "unit": "seconds",
        "value": round(verify_seconds, 4),
        "baseline_name": "plain SHA-256 over the same 10,000 canonical event lines",
        "baseline_value": round(baseline_seconds, 4),
        "ratio": round(verify_seconds / baseline_seconds, 1),
        "ratio_meaning": "verify time / bare hashing time (lower is better; the rest is "
        "parsing, canonical-form and field checks, and the chain and signature checks)",
        "target": "verify under 2 s",
        "target_met": verify_seconds < TARGET_SECONDS,
        "params": {
            "events": EVENTS,
            "rounds": ROUNDS,
            "bundle_bytes": len(data),
            "events_jsonl_bytes": sum(len(line) + 1 for line in lines),
            "append_batch": BATCH,
        },
        "extra": {
            "append_seconds_total_sqlite": round(append_seconds, 2),
            "append_events_per_second_sqlite": round(EVENTS / append_seconds),
            "bundle_export_seconds_without_pdf": round(export_seconds, 3),
        },
        "machine": machine(),
        "when": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "record_verify.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
