"""Benchmark the court export and the offline verifier on a family with 10,000 events.

Run as ``python bench/export.py``. Writes bench/results/export.json.

A supervised family gets ~10,000 real record events (letters and their moderation, opening
sessions, gifts, calls with pauses and warnings, observation notes), appended through
``RecordLog`` on the embedded SQLite database. Then, in the same run:

1. export: ``make_export`` (signed checkpoint, plain-language PDF, bundle, both stored
   encrypted, the ``export_made`` event); target under 5 s. Baseline: reading the same events
   from the database and writing them as plain JSON lines with their SHA-256.
2. verify: ``verify_bundle`` on the bundle and the PDF, as ``letterbox verify`` does (the
   command's own wall time, interpreter start included, is reported too); target under 2 s.
   Baseline: parsing the same events.jsonl with ``json.loads`` and hashing the bundle.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402 - after the path set-up so the repo's packages import

from service.record import verifier  # noqa: E402
from service.record.export import Maker, Period, make_export  # noqa: E402
from storage import db  # noqa: E402
from storage import recordformat as rf  # noqa: E402
from storage.keyring import KeyRing  # noqa: E402
from storage.keys import MasterKey  # noqa: E402
from storage.models import ContactLevel, RecordEvent  # noqa: E402
from storage.objects import LocalObjectStore  # noqa: E402
from storage.record import EventAuthor, install_record_guard  # noqa: E402
from storage.vault import EncryptedStore  # noqa: E402
from tests.support.export_world import seed_family  # noqa: E402

RESULTS = ROOT / "bench" / "results"
CYCLES = 400  # 25 events per supervised cycle, plus 2: 10,002 events
ROUNDS = 3


def machine() -> dict[str, object]:
    versions = {}
    for package in ("fpdf2", "fonttools", "cryptography", "sqlalchemy", "aiosqlite"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "libraries": versions,
    }


async def plain_json_lines(maker: Any, family_id: uuid.UUID, out: Path) -> float:
    """The baseline: the same events, read and written as plain JSON lines + SHA-256."""
    started = time.perf_counter()
    async with maker() as session:
        rows = (
            await session.scalars(
                select(RecordEvent)
                .where(RecordEvent.family_id == family_id)
                .order_by(RecordEvent.family_seq)
            )
        ).all()
        lines = [
            json.dumps(
                {
                    "seq": r.seq,
                    "family_seq": r.family_seq,
                    "at": r.at.isoformat(),
                    "actor": str(r.actor_id),
                    "kind": r.kind,
                    "payload": json.loads(r.payload),
                },
                sort_keys=True,
            )
            for r in rows
        ]
    data = ("\n".join(lines) + "\n").encode()
    await asyncio.to_thread(out.write_bytes, data)
    hashlib.sha256(data).hexdigest()
    return time.perf_counter() - started


async def export_phase(work: Path) -> tuple[Any, list[float], list[float], list[float]]:
    url = f"sqlite+aiosqlite:///{work / 'letterbox.db'}"
    engine = db.create_engine(url)
    await db.upgrade(engine)
    maker = db.create_sessionmaker(engine)
    install_record_guard(maker)
    keyring = KeyRing(MasterKey.generate())
    objects = LocalObjectStore(work / "objects")
    await objects.start()
    vault = EncryptedStore(objects, keyring)

    started = time.perf_counter()
    family = await seed_family(
        maker,
        keyring,
        level=ContactLevel.SUPERVISED,
        cycles=CYCLES,
        progress=lambda n: print(f"\rseeding: {n} events", end="", flush=True),
    )
    print(f"\nseeded {family.events} events in {time.perf_counter() - started:.1f} s")
    period = Period(family.first_at.date(), family.last_at.date())
    who = Maker(EventAuthor(family.admin_id, "admin"), "Benchmark admin (centre admin)")

    export_times, baseline_times, export_cpu = [], [], []
    made = None
    for round_ in range(ROUNDS):
        started, cpu = time.perf_counter(), time.process_time()
        made = await make_export(maker, keyring, vault, family.family_id, period, who)
        export_times.append(time.perf_counter() - started)
        export_cpu.append(time.process_time() - cpu)
        baseline_times.append(await plain_json_lines(maker, family.family_id, work / "plain.jsonl"))
        print(f"export round {round_ + 1}: {export_times[-1]:.2f} s ({made.events} events)")
    assert made is not None
    await objects.close()
    await engine.dispose()
    return made, export_times, baseline_times, export_cpu


def run(work: Path) -> list[dict[str, Any]]:
    made, export_times, baseline_times, export_cpu = asyncio.run(export_phase(work))

    pdf_path, bundle_path = work / "record.pdf", work / "bundle.zip"
    pdf_path.write_bytes(made.pdf)
    bundle_path.write_bytes(made.bundle)
    public_key = verifier.parse_public_key(verifier.read_bundle(made.bundle).public_key_pem)
    fingerprint_hex = rf.key_fingerprint(public_key)

    verify_times, verify_baseline = [], []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        verdict = verifier.verify_bundle(made.bundle, fingerprint=fingerprint_hex, pdf=made.pdf)
        verify_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        parts = verifier.read_bundle(made.bundle)
        [json.loads(line) for line in parts.events_jsonl.splitlines()]
        hashlib.sha256(made.bundle).hexdigest()
        verify_baseline.append(time.perf_counter() - started)
    assert verdict.events == made.events

    started = time.perf_counter()
    command = subprocess.run(
        [
            sys.executable,
            "-m",
            "service.record.verifier",
            str(bundle_path),
            "--fingerprint",
            fingerprint_hex,
            "--pdf",
            str(pdf_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    command_seconds = time.perf_counter() - started
    assert command.returncode == 0, command.stdout + command.stderr

    when = datetime.now(UTC).isoformat(timespec="seconds")
    params = {
        "events": made.events,
        "family_events_at_export": made.checkpoint_size,
        "contact_level": "supervised",
        "pdf_bytes": len(made.pdf),
        "bundle_bytes": len(made.bundle),
        "rounds": ROUNDS,
        "database": "SQLite (embedded default), local encrypted object store",
    }
    export_value = statistics.median(export_times)
    export_baseline = statistics.median(baseline_times)
    verify_value = statistics.median(verify_times)
    verify_base = statistics.median(verify_baseline)
    return [
        {
            "name": "export_10k_events",
            "unit": "seconds per export (median)",
            "value": round(export_value, 3),
            "baseline_name": "the same events read and written as plain JSON lines + SHA-256",
            "baseline_value": round(export_baseline, 3),
            "ratio": round(export_value / export_baseline, 2),
            "ratio_meaning": (
                "ours / baseline time; ours also re-checks the whole chain, signs a checkpoint, "
                "draws the PDF, builds the bundle and stores both encrypted"
            ),
            "target": "< 5 s",
            "params": params
            | {
                "all_rounds": [round(t, 3) for t in export_times],
                "cpu_seconds_per_round": [round(t, 3) for t in export_cpu],
                "load_average_1min_at_end": round(os.getloadavg()[0], 2),
            },
            "machine": machine(),
            "when": when,
        },
        {
            "name": "verify_10k_event_bundle",
            "unit": "seconds per verification (median, in process)",
            "value": round(verify_value, 3),
            "baseline_name": "reading the bundle, json.loads of every event line, SHA-256 of the bundle",
            "baseline_value": round(verify_base, 3),
            "ratio": round(verify_value / verify_base, 2),
            "ratio_meaning": "ours / baseline time; ours checks every hash, link, the proof and the signature",
            "target": "< 2 s",
            "params": params
            | {
                "all_rounds": [round(t, 3) for t in verify_times],
                "command_wall_seconds": round(command_seconds, 3),
                "command": "python -m service.record.verifier BUNDLE --fingerprint FP --pdf PDF",
            },
            "machine": machine(),
            "when": when,
        },
    ]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="letterbox-bench-export-") as tmp:
        results = run(Path(tmp))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "export.json").write_text(json.dumps(results, indent=2) + "\n")
    for result in results:
        print(
            f"{result['name']}: {result['value']} s (baseline {result['baseline_value']} s, "
            f"ratio {result['ratio']}, target {result['target']})"
        )


if __name__ == "__main__":
    main()
