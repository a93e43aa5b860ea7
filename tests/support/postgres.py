"""A real PostgreSQL for the test run.

In order: ``LETTERBOX_TEST_PG`` (a server URL without database), else 127.0.0.1:5432 if it
answers, else a throw-away cluster started from the Debian ``initdb``/``pg_ctl`` binaries in
a temp dir. If none can be had the run fails saying why; it never silently skips.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    origin: str  # how we got it, shown in the test report

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://{self.user}@{self.host}:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        result = subprocess.run(
            [
                "psql",
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-U",
                self.user,
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-Atqc",
                sql,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise PostgresUnavailable(f"psql failed: {result.stderr.strip()}")
        return result.stdout.strip()


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    path = shutil.which(name)
    if path is None:
        raise PostgresUnavailable(
            "no PostgreSQL answers on 127.0.0.1:5432 and no initdb/pg_ctl binaries were found: "
            "install Debian package `postgresql` or set LETTERBOX_TEST_PG=postgresql://user@host:port"
        )
    return path


class PostgresCluster:
    """A throw-away cluster in a temp dir that a test can stop and start again.

    initdb refuses to run as root, so the cluster belongs to the `postgres` user then."""

    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="letterbox-pg-"))
        self.run_as: list[str] = []
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailable(
                    "running as root and no `postgres` user to own a test cluster"
                ) from None
            os.chown(self.tmp, owner.pw_uid, owner.pw_gid)
            self.run_as = ["runuser", "-u", "postgres", "--"]
        self.port = _free_port()
        self.data = self.tmp / "data"
        subprocess.run(
            [
                *self.run_as,
                _pg_bin("initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        self.server = PostgresServer(
            "127.0.0.1", self.port, "postgres", f"throw-away cluster on port {self.port}"
        )

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.tmp} -c fsync=off"
        subprocess.run(
            [
                *self.run_as,
                _pg_bin("pg_ctl"),
                "-D",
                str(self.data),
                "-o",
                options,
                "-l",
                str(self.tmp / "log"),
                "-w",
                "-t",
                "60",
                "start",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(
            [*self.run_as, _pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"],
            capture_output=True,
            timeout=60,
            check=False,
        )

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.tmp, ignore_errors=True)


@contextmanager
def throwaway_cluster() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    configured = os.environ.get("LETTERBOX_TEST_PG")
    if configured:
        from urllib.parse import urlsplit

        parts = urlsplit(configured)
        server = PostgresServer(
            parts.hostname or "127.0.0.1",
            parts.port or 5432,
            parts.username or "postgres",
            "LETTERBOX_TEST_PG",
        )
        if not _answers(server.host, server.port):
            raise PostgresUnavailable(f"LETTERBOX_TEST_PG={configured} does not answer")
        yield server
    elif _answers("127.0.0.1", 5432):
        yield PostgresServer("127.0.0.1", 5432, "postgres", "local server on 127.0.0.1:5432")
    else:
        with throwaway_cluster() as cluster:
            yield cluster.server


def wait_for(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"
