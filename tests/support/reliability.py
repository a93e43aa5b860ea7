"""Real ``letterbox`` processes for fault tests: start, wait until healthy, kill for real.

Each node runs in its own session (process group), so the sanitiser's forkserver and workers go
with it: SIGKILL to the group is a whole machine losing power, as far as the app is concerned.
Every wait is on a condition with a deadline; every process started here is stopped in
``finally`` (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.seaweedfs import S3Endpoint

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 90.0
STOP_GRACE = 10.0
ORIGIN_HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def new_master_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.05)


def letterbox_env(
    database_url: str,
    data_dir: Path,
    master_key: str,
    *,
    s3: S3Endpoint | None = None,
    bucket: str | None = None,
    public_url: str = f"http://{ORIGIN_HOST}",
    **extra: str,
) -> dict[str, str]:
    """The environment of a ``letterbox`` command: the runner's own, minus any LETTERBOX_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LETTERBOX_")}
    env |= {
        "LETTERBOX_ENV": "test",
        "LETTERBOX_DATA_DIR": str(data_dir),
        "LETTERBOX_DATABASE_URL": database_url,
        "LETTERBOX_MASTER_KEY": master_key,
        "LETTERBOX_ARGON2_TIME_COST": "1",
        "LETTERBOX_ARGON2_MEMORY_KIB": "64",
        "LETTERBOX_PUBLIC_URL": public_url,
        "PYTHONPATH": str(ROOT),
    }
    if s3 is not None:
        assert bucket is not None
        env |= {
            "LETTERBOX_S3_URL": f"http://{s3.netloc}/{bucket}",
            "LETTERBOX_S3_ACCESS_KEY": s3.access_key,
            "LETTERBOX_S3_SECRET_KEY": s3.secret_key,
        }
    env |= {f"LETTERBOX_{k.upper()}": v for k, v in extra.items()}
    return env


def run_letterbox(
    env: dict[str, str], *args: str, timeout: float = 120.0
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass
class Node:
    """One ``letterbox serve`` process on a port of its own."""

    name: str
    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    workers: int = 1  # ``--workers``: processes sharing the port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = self.env | {"LETTERBOX_HOST": "127.0.0.1", "LETTERBOX_PORT": str(self.port)}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "service", "serve", "--workers", str(self.workers)],
                env=env,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: the pool workers go with it
            )
        try:
            wait_until(self._healthy, START_TIMEOUT, f"node {self.name} to answer /healthz")
        except BaseException:
            self.stop()
            raise

    def _healthy(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(
                f"node {self.name} exited with {self.process.returncode}:\n{self.log()[-3000:]}"
            )
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            connection.request("GET", "/healthz")
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL to the node's whole process group: no shutdown code runs at all."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM (a clean shutdown), then SIGKILL if the group has not gone."""
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=STOP_GRACE)
        # Whatever is left of the group (pool workers) goes too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=30)


@contextlib.contextmanager
def running(*nodes: Node) -> Iterator[tuple[Node, ...]]:
    try:
        for node in nodes:
            node.start()
        yield nodes
    finally:
        for node in nodes:
            node.stop()
