"""Load benchmark: the parent's letterbox JSON under 50 concurrent clients, against a bare
aiohttp hello-world measured in the same run with the same client.

Run as ``python bench/api_load.py``. Writes bench/results/api_load.json.

Setup: a fresh PostgreSQL database (the test suite's server: LETTERBOX_TEST_PG, else
127.0.0.1:5432, else a throw-away cluster), a centre with one family whose parent has sent
LETTERS letters, and one ``letterbox serve`` process with a local encrypted store. The
baseline is an aiohttp server process answering ``{"ok": true}`` from one handler. The load
generator is wrk (C, one thread; ``make bench`` installs it): CONCURRENCY connections, each
sending the next request as soon as the last is answered, for SECONDS after a WARMUP; loopback
only. A load generator in Python took as much CPU as the server it measured, on the same two
cores. Targets: at least 40% of the hello-world rate, p99 under 100 ms; per request at most
1.5 ms of server CPU (or 1.2 times the SQLAlchemy floor below, if that is higher); two workers
at least 1.7 times one.

A third server, measured in the same run, is the stack's floor (bench/api_load_floor.py): a
bare aiohttp handler running the same four statements through SQLAlchemy async on one
connection, with none of our code. It shows how much of the gap to the hello-world is the
stack's and how much is ours.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "bench" / "results"
CONCURRENCY = 50
SECONDS = 10.0
WARMUP = 2.0
LETTERS = 20
ROUNDS = 3
TARGET_RATIO = 0.40
TARGET_P99_MS = 100.0
TARGET_WORKER_SPEEDUP = 1.7

HELLO = """
import sys
from aiohttp import web

async def hello(request):
    return web.json_response({"ok": True})

app = web.Application()
app.router.add_get("/hello", hello)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


# --- the load generator: wrk (C, one thread), so the client takes little of the 2 cores -------

# wrk calls done() once at the end; it prints the figures as one JSON line.
WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "non_2xx": %d, "socket_errors": %d, "p50_us": %d, "p99_us": %d}\\n',
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def _wrk(url: str, headers: dict[str, str], seconds: float, script: Path) -> dict[str, object]:
    command = ["wrk", "-t1", f"-c{CONCURRENCY}", f"-d{seconds:g}s", "--timeout", "10s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    result = subprocess.run(
        [*command, "-s", str(script), url],
        capture_output=True,
        text=True,
        timeout=seconds + 120,
        check=True,
    )
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of a process and its living descendants (Linux /proc):
    a ``serve --workers N`` parent and its workers."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        children += [int(c) for c in task.read_text().split()]
    return own + sum(_cpu_seconds(child) for child in children)


def _postgres_cpu_seconds() -> float:
    """CPU time so far of every process named postgres on the machine (the server and its
    backends; the benchmark's connections are pooled, so they live through a run)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            head, tail = stat.read_text().rsplit(")", 1)
        except OSError:
            continue
        if head.endswith("(postgres"):
            fields = tail.split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


_STAT_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


def _machine_jiffies() -> dict[str, int]:
    """Clock ticks of every core so far by kind (Linux /proc/stat): user, system, softirq (the
    kernel's loopback networking), steal (taken by the host of this virtual machine), …"""
    fields = [int(f) for f in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    return dict(zip(_STAT_FIELDS, fields, strict=True))


def _machine_split(before: dict[str, int], after: dict[str, int]) -> dict[str, float]:
    """Each kind's share of the cores over a run; ``busy`` is all but idle and I/O wait."""
    spent = {kind: after[kind] - before[kind] for kind in _STAT_FIELDS}
    total = max(sum(spent.values()), 1)
    split = {kind: round(ticks / total, 3) for kind, ticks in spent.items() if ticks}
    split["busy"] = round(1 - (spent["idle"] + spent["iowait"]) / total, 3)
    return split


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_load(url: str, headers: dict[str, str], server_pid: int) -> dict[str, object]:
    """A warm-up, then SECONDS of CONCURRENCY connections each sending its next request as
    soon as the last is answered; returns the rate, latencies, errors and the CPU time per
    request of the server, of PostgreSQL and of the load generator (read around the
    measured run only)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(WRK_REPORT)
        script.flush()
        _wrk(url, headers, WARMUP, Path(script.name))
        machine_before = _machine_jiffies()
        before = _cpu_seconds(server_pid), _postgres_cpu_seconds(), _children_cpu_seconds()
        figures = _wrk(url, headers, SECONDS, Path(script.name))
        after = _cpu_seconds(server_pid), _postgres_cpu_seconds(), _children_cpu_seconds()
        machine_after = _machine_jiffies()
    server, postgres, client = (b - a for a, b in zip(before, after, strict=True))
    requests = max(int(figures["requests"]), 1)  # type: ignore[call-overload]
    return {
        "requests": requests,
        "errors": int(figures["non_2xx"]) + int(figures["socket_errors"]),  # type: ignore[call-overload]
        "seconds": SECONDS,
        "rps": requests / SECONDS,
        "p50_ms": int(figures["p50_us"]) / 1000,  # type: ignore[call-overload]
        "p99_ms": int(figures["p99_us"]) / 1000,  # type: ignore[call-overload]
        "server_cpu_ms_per_request": 1000 * server / requests,
        "postgres_cpu_ms_per_request": 1000 * postgres / requests,
        "load_generator_cpu_ms_per_request": 1000 * client / requests,
        # How the whole machine's cores were spent (every process and the kernel).
        "machine": _machine_split(machine_before, machine_after),
    }


# --- the servers ---------------------------------------------------------------------------


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


async def seed(env: dict[str, str]) -> tuple[str, dict[str, str]]:
    """A world in the database; returns the parent's letterbox path and request headers."""
    from aiohttp import web

    from service.app import create_app
    from service.i18n.web import LANGUAGE_COOKIE
    from service.settings import Settings
    from tests.support.letterbox_world import make_world

    app = create_app(Settings.from_env(env))
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        world = await make_world(app)
    finally:
        await runner.cleanup()
    headers = world.parent.headers()
    # A browser sends back the language cookie the first answer set (the parent's language).
    headers["Cookie"] += f"; {LANGUAGE_COOKIE}=en"
    return f"/api/families/{world.family_id}/letterbox", headers


async def send_letters(base: str, family_path: str, headers: dict[str, str]) -> None:
    import aiohttp

    from tests.support.letterbox_world import letter_form

    items = family_path.replace("/letterbox", "/items")
    async with aiohttp.ClientSession() as http:
        for n in range(LETTERS):
            async with http.post(
                base + items, data=letter_form(f"Letter number {n}. Love, Dad"), headers=headers
            ) as response:
                assert response.status == 201, await response.text()


def machine() -> dict[str, object]:
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "libraries": {
            p: metadata.version(p)
            for p in ("aiohttp", "sqlalchemy", "asyncpg", "uvloop")
            if _installed(p)
        },
    }


def _installed(name: str) -> bool:
    try:
        metadata.version(name)
    except metadata.PackageNotFoundError:
        return False
    return True


def main() -> None:
    from service.settings import Settings
    from storage import db
    from tests.support.postgres import postgres_server, unique_name
    from tests.support.reliability import Node, free_port, letterbox_env, new_master_key

    with postgres_server() as pg, tempfile.TemporaryDirectory(prefix="lbx-bench-") as tmp:
        name = unique_name("letterbox_bench")
        pg.psql(f"CREATE DATABASE {name}")
        hello: subprocess.Popen[bytes] | None = None
        floors: dict[str, tuple[subprocess.Popen[bytes], str]] = {}
        node: Node | None = None
        two: Node | None = None
        try:
            engine = db.create_engine(pg.url(name))
            asyncio.run(_migrate(engine))
            env = letterbox_env(pg.url(name), Path(tmp) / "data", new_master_key())
            env["LETTERBOX_ENV"] = "development"
            family_path, headers = asyncio.run(seed(env))
            node = Node("bench", env, Path(tmp) / "node.log")
            node.start()
            asyncio.run(send_letters(node.url, family_path, headers))
            # The same app as `serve --workers 2` on the same database: the cores' figure.
            two = Node("bench-2w", env, Path(tmp) / "node-2w.log", workers=2)
            two.start()

            hello_port = free_port()
            hello = subprocess.Popen(
                [sys.executable, "-c", HELLO, str(hello_port)],
                start_new_session=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            _wait_for(f"http://127.0.0.1:{hello_port}/hello")
            floors = {}
            for driver in ("sqlalchemy", "asyncpg"):
                port = free_port()
                floors[driver] = (
                    subprocess.Popen(
                        [
                            sys.executable,
                            str(ROOT / "bench" / "api_load_floor.py"),
                            str(port),
                            pg.url(name),
                            Settings.from_env(env).session_cookie_name,
                            driver,
                        ],
                        start_new_session=True,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    ),
                    f"http://127.0.0.1:{port}{family_path}",
                )
                _wait_for(floors[driver][1], headers=headers)

            assert node.process is not None and two.process is not None
            targets = {
                "app": (node.url + family_path, headers, node.process.pid),
                "app_2_workers": (two.url + family_path, headers, two.process.pid),
                "sqlalchemy": (floors["sqlalchemy"][1], headers, floors["sqlalchemy"][0].pid),
                "asyncpg": (floors["asyncpg"][1], headers, floors["asyncpg"][0].pid),
                "hello": (f"http://127.0.0.1:{hello_port}/hello", {}, hello.pid),
            }
            # Rounds, each server once a round: a busy moment of the machine then hits every
            # server alike, and the median round of each is kept.
            runs: dict[str, list[dict[str, object]]] = {key: [] for key in targets}
            for _ in range(ROUNDS):
                for key, (url, request_headers, pid) in targets.items():
                    runs[key].append(run_load(url, request_headers, pid))
            app, stack, bare, base, app2 = (
                _median_run(runs[key])
                for key in ("app", "sqlalchemy", "asyncpg", "hello", "app_2_workers")
            )
        finally:
            for server in (hello, *(process for process, _ in floors.values())):
                if server is not None:
                    _stop(server)
            for served in (node, two):
                if served is not None:
                    served.stop()
            pg.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    ratio = float(app["rps"]) / float(base["rps"])  # type: ignore[arg-type]
    met = ratio >= TARGET_RATIO and float(app["p99_ms"]) < TARGET_P99_MS  # type: ignore[arg-type]
    result = {
        "name": "parent letterbox JSON (GET /api/families/{id}/letterbox), authenticated, PostgreSQL",
        "unit": "requests/s",
        "value": round(float(app["rps"]), 1),  # type: ignore[arg-type]
        "baseline_name": "bare aiohttp hello-world JSON handler, same client and concurrency",
        "baseline_value": round(float(base["rps"]), 1),  # type: ignore[arg-type]
        "ratio": round(ratio, 3),
        "ratio_meaning": "app requests/s / hello-world requests/s (higher is better)",
        "target": f"ratio >= {TARGET_RATIO} and app p99 < {TARGET_P99_MS:.0f} ms",
        "target_met": met,
        "rps_of_each_round": {
            "app": app["rps_of_each_round"],
            "baseline": base["rps_of_each_round"],
        },
        "p50_ms": round(float(app["p50_ms"]), 2),  # type: ignore[arg-type]
        "p99_ms": round(float(app["p99_ms"]), 2),  # type: ignore[arg-type]
        "baseline_p50_ms": round(float(base["p50_ms"]), 2),  # type: ignore[arg-type]
        "baseline_p99_ms": round(float(base["p99_ms"]), 2),  # type: ignore[arg-type]
        "server_cpu_ms_per_request": round(float(app["server_cpu_ms_per_request"]), 2),  # type: ignore[arg-type]
        "postgres_cpu_ms_per_request": round(float(app["postgres_cpu_ms_per_request"]), 2),  # type: ignore[arg-type]
        "load_generator_cpu_ms_per_request": round(
            float(app["load_generator_cpu_ms_per_request"]),  # type: ignore[arg-type]
            3,
        ),
        "baseline_server_cpu_ms_per_request": round(
            float(base["server_cpu_ms_per_request"]),  # type: ignore[arg-type]
            3,
        ),
        "floors": {
            "sqlalchemy": _floor(
                "bare aiohttp handler, the same four statements through SQLAlchemy async on "
                "one AUTOCOMMIT connection, rows as JSON (bench/api_load_floor.py)",
                stack,
                app,
                base,
            ),
            "asyncpg": _floor(
                "bare aiohttp handler, the same four statements straight to an asyncpg pool, "
                "no SQLAlchemy (bench/api_load_floor.py asyncpg)",
                bare,
                app,
                base,
            ),
        },
        "workers": {
            "name": "the same request, `letterbox serve --workers 2` against `--workers 1`",
            "one_worker_rps": round(float(app["rps"]), 1),  # type: ignore[arg-type]
            "two_workers_rps": round(float(app2["rps"]), 1),  # type: ignore[arg-type]
            "speedup": round(float(app2["rps"]) / float(app["rps"]), 3),  # type: ignore[arg-type]
            "target": f"speedup >= {TARGET_WORKER_SPEEDUP}",
            "target_met": float(app2["rps"]) / float(app["rps"]) >= TARGET_WORKER_SPEEDUP,  # type: ignore[arg-type]
            "two_workers_p50_ms": round(float(app2["p50_ms"]), 2),  # type: ignore[arg-type]
            "two_workers_p99_ms": round(float(app2["p99_ms"]), 2),  # type: ignore[arg-type]
            "two_workers_server_cpu_ms_per_request": round(
                float(app2["server_cpu_ms_per_request"]),  # type: ignore[arg-type]
                2,
            ),
            "rps_of_each_round": app2["rps_of_each_round"],
            "two_workers_postgres_cpu_ms_per_request": round(
                float(app2["postgres_cpu_ms_per_request"]),  # type: ignore[arg-type]
                2,
            ),
            "two_workers_load_generator_cpu_ms_per_request": round(
                float(app2["load_generator_cpu_ms_per_request"]),  # type: ignore[arg-type]
                3,
            ),
            "speedup_the_cores_allow": _speedup_bound(app, app2),
            "machine_one_worker": app["machine"],
            "machine_two_workers": app2["machine"],
            # Two workers can at most busy every core: over one worker's run, that is
            # 1 / (the machine's busy share with one worker) at an unchanged cost a request.
            "speedup_the_machine_allows": round(
                1 / max(float(app["machine"]["busy"]), 0.001),  # type: ignore[index]
                3,
            ),
            "note": (
                "the load generator and PostgreSQL share the same cores as the workers: "
                "speedup_the_cores_allow is the two workers' rate if every core were busy with "
                "the CPU a request measured (server + PostgreSQL + load generator), over the "
                "one worker's measured rate, at most 2; speedup_the_machine_allows is 1 over "
                "the share of the machine busy during the one worker's run (every process and "
                "the kernel): what two workers could reach by using every core at the same "
                "cost a request"
            ),
        },
        "errors": {
            "app": app["errors"],
            "app_2_workers": app2["errors"],
            "floor_sqlalchemy": stack["errors"],
            "floor_asyncpg": bare["errors"],
            "baseline": base["errors"],
        },
        "params": {
            "concurrency": CONCURRENCY,
            "seconds": SECONDS,
            "warmup_seconds": WARMUP,
            "letters_in_list": LETTERS,
            "rounds": ROUNDS,
            "requests": {
                "app": app["requests"],
                "floor_sqlalchemy": stack["requests"],
                "floor_asyncpg": bare["requests"],
                "baseline": base["requests"],
            },
            "server": "one `letterbox serve` process; load generator: wrk -t1 (C) in its own process",
        },
        "machine": machine(),
        "when": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "api_load.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


def _median_run(runs: list[dict[str, object]]) -> dict[str, object]:
    """The run with the median request rate, with every run's rate beside it."""
    ordered = sorted(runs, key=lambda run: float(run["rps"]))  # type: ignore[arg-type]
    median = dict(ordered[len(ordered) // 2])
    median["rps_of_each_round"] = [round(float(run["rps"]), 1) for run in runs]  # type: ignore[arg-type]
    return median


def _speedup_bound(one: dict[str, object], two: dict[str, object]) -> float:
    """The most two workers could answer, over what one answered, on this machine's cores
    given the CPU each request costs with two workers (all of it on the same cores)."""
    cpu_ms = 0.0
    for key in (
        "server_cpu_ms_per_request",
        "postgres_cpu_ms_per_request",
        "load_generator_cpu_ms_per_request",
    ):
        cpu_ms += float(two[key])  # type: ignore[arg-type]
    cores = os.cpu_count() or 1
    return round(min(2.0, 1000 * cores / cpu_ms / float(one["rps"])), 3)  # type: ignore[arg-type]


def _floor(
    name: str, floor: dict[str, object], app: dict[str, object], base: dict[str, object]
) -> dict[str, object]:
    rps = float(floor["rps"])  # type: ignore[arg-type]
    return {
        "name": name,
        "rps": round(rps, 1),
        "p50_ms": round(float(floor["p50_ms"]), 2),  # type: ignore[arg-type]
        "p99_ms": round(float(floor["p99_ms"]), 2),  # type: ignore[arg-type]
        "server_cpu_ms_per_request": round(float(floor["server_cpu_ms_per_request"]), 2),  # type: ignore[arg-type]
        "postgres_cpu_ms_per_request": round(float(floor["postgres_cpu_ms_per_request"]), 2),  # type: ignore[arg-type]
        "rps_of_each_round": floor["rps_of_each_round"],
        "ratio_to_hello_world": round(rps / float(base["rps"]), 3),  # type: ignore[arg-type]
        "app_share_of_floor": round(float(app["rps"]) / rps, 3),  # type: ignore[arg-type]
    }


async def _migrate(engine: object) -> None:
    from storage import db

    try:
        await db.upgrade(engine)  # type: ignore[arg-type]
    finally:
        await engine.dispose()  # type: ignore[attr-defined]


def _wait_for(url: str, timeout: float = 30.0, headers: dict[str, str] | None = None) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - loopback
    while True:
        try:
            with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


if __name__ == "__main__":
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench/api_load.py needs wrk (the load generator): run `make bench`")
    main()
