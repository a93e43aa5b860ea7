"""The clamd client against a real clamd, started here with a signature database built from EICAR."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from service.letterbox.clamd import (
    ClamdAddress,
    ClamdClient,
    ClamdUnavailable,
    Clean,
    Infected,
)

# The EICAR test file, kept encoded so this source file is not itself flagged by scanners.
EICAR = base64.b64decode(
    "WDVPIVAlQEFQWzRcUFpYNTQoUF4pN0NDKTd9JEVJQ0FSLVNUQU5EQVJELUFOVElWSVJVUy1URVNULUZJTEUhJEgrSCo="
)
STREAM_MAX_BYTES = 2 * 1024 * 1024
STARTUP_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class RunningClamd:
    unix: ClamdAddress
    tcp: ClamdAddress
    process: subprocess.Popen[bytes]


def _tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if found is None:
        pytest.fail(
            f"{name} is not installed; the malware-scan tests need a real clamd. "
            "Install it with: apt-get install -y clamav clamav-daemon",
            pytrace=False,
        )
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _build_signatures(sigtool: str, directory: Path) -> None:
    sample = directory / "eicar.com"
    sample.write_bytes(EICAR)
    # A whole-file MD5 signature, as sigtool writes it ("md5:size:name"), renamed to ours.
    md5_line = subprocess.run(
        [sigtool, "--md5", str(sample)], check=True, capture_output=True, text=True
    ).stdout.strip()
    digest, size, _ = md5_line.split(":", 2)
    (directory / "letterbox-test.hdb").write_text(f"{digest}:{size}:Letterbox.Test.EICAR.MD5\n")
    # A body signature, so EICAR is found anywhere inside a larger stream.
    hex_body = (
        subprocess.run([sigtool, "--hex-dump"], input=EICAR, check=True, capture_output=True)
        .stdout.decode()
        .strip()
    )
    (directory / "letterbox-test.ndb").write_text(f"Letterbox.Test.EICAR.Body:0:*:{hex_body}\n")
    sample.unlink()


def _ping(address: ClamdAddress) -> bool:
    family = socket.AF_UNIX if address.transport == "unix" else socket.AF_INET
    target: str | tuple[str, int] = (
        address.path if address.transport == "unix" else (address.host, address.port)
    )
    try:
        with socket.socket(family, socket.SOCK_STREAM) as conn:
            conn.settimeout(2)
            conn.connect(target)
            conn.sendall(b"zPING\x00")
            return conn.recv(16).startswith(b"PONG")
    except OSError:
        return False


@pytest.fixture(scope="module")
def clamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningClamd]:
    clamd_bin = _tool("clamd")
    sigtool = _tool("sigtool")
    # Unix socket paths are limited to ~100 bytes; pytest's tmp paths can be longer.
    work = tmp_path_factory.mktemp("clamd")
    socket_dir = Path(os.environ.get("TMPDIR", "/tmp")) / f"lbclamd-{os.getpid()}"
    socket_dir.mkdir(exist_ok=True)
    unix_path = socket_dir / "clamd.sock"
    port = _free_port()
    _build_signatures(sigtool, work)
    config = work / "clamd.conf"
    config.write_text(
        "\n".join(
            [
                f"LocalSocket {unix_path}",
                f"TCPSocket {port}",
                "TCPAddr 127.0.0.1",
                "Foreground yes",
                f"DatabaseDirectory {work}",
                f"TemporaryDirectory {work}",
                f"LogFile {work / 'clamd.log'}",
                f"StreamMaxLength {STREAM_MAX_BYTES}",
                "",
            ]
        )
    )
    process = subprocess.Popen(
        [clamd_bin, "--config-file", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    running = RunningClamd(
        unix=ClamdAddress("unix", path=str(unix_path)),
        tcp=ClamdAddress("tcp", host="127.0.0.1", port=port),
        process=process,
    )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not (_ping(running.unix) and _ping(running.tcp)):
            if process.poll() is not None:
                log = (work / "clamd.log").read_text() if (work / "clamd.log").exists() else ""
                pytest.fail(f"clamd exited with {process.returncode} at start:\n{log}")
            if time.monotonic() > deadline:
                pytest.fail(f"clamd did not answer PING within {STARTUP_TIMEOUT_S:g} s")
            time.sleep(0.1)
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)
        if process.stderr is not None:
            process.stderr.close()
        shutil.rmtree(socket_dir, ignore_errors=True)


@pytest.fixture(params=["unix", "tcp"])
def client(request: pytest.FixtureRequest, clamd: RunningClamd) -> ClamdClient:
    address = clamd.unix if request.param == "unix" else clamd.tcp
    return ClamdClient(address, timeout=30, chunk_size=4096)


async def test_clamd_answers_ping(client: ClamdClient) -> None:
    await client.ping()


async def test_clean_file_is_reported_clean(client: ClamdClient) -> None:
    result = await client.scan_bytes(b"Dear Sam, happy birthday! Love, Dad\n" * 1000)
    assert result == Clean()


async def test_eicar_file_is_reported_infected_with_signature_name(client: ClamdClient) -> None:
    result = await client.scan_bytes(EICAR)
    assert isinstance(result, Infected)
    assert result.signature.startswith("Letterbox.Test.EICAR")


async def test_eicar_split_across_many_chunks_is_still_found(client: ClamdClient) -> None:
    # 4 KiB frames with EICAR straddling a frame boundary in the middle of 1 MiB of data.
    padding = bytes(range(256)) * 2048
    data = padding[: 4096 * 100 - 30] + EICAR + padding
    result = await client.scan_bytes(data)
    assert isinstance(result, Infected)
    assert result.signature.startswith("Letterbox.Test.EICAR.Body")


async def test_scan_stream_accepts_uneven_upload_chunks(clamd: RunningClamd) -> None:
    client = ClamdClient(clamd.tcp, timeout=30, chunk_size=1000)

    async def upload() -> AsyncIterator[bytes]:
        yield b"x" * 5000
        yield EICAR[:10]
        yield EICAR[10:]
        yield b""
        yield b"y" * 7

    result = await client.scan_stream(upload())
    assert isinstance(result, Infected)


async def test_stream_over_clamd_limit_is_not_reported_clean(clamd: RunningClamd) -> None:
    client = ClamdClient(clamd.unix, timeout=30)
    with pytest.raises(ClamdUnavailable, match=r"could not scan|without a verdict|cannot reach"):
        await client.scan_bytes(b"\x00" * (STREAM_MAX_BYTES + 1024 * 1024))


async def test_missing_clamd_raises_unavailable(tmp_path: Path) -> None:
    for address in (
        ClamdAddress("unix", path=str(tmp_path / "nothing.sock")),
        ClamdAddress("tcp", host="127.0.0.1", port=_free_port()),
    ):
        with pytest.raises(ClamdUnavailable, match="cannot reach clamd"):
            await ClamdClient(address, timeout=10).scan_bytes(EICAR)


async def test_silent_clamd_times_out_as_unavailable() -> None:
    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # read until the client gives up and closes
        writer.close()

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        client = ClamdClient(ClamdAddress("tcp", host="127.0.0.1", port=port), timeout=0.5)
        started = time.monotonic()
        with pytest.raises(ClamdUnavailable, match="no verdict within"):
            await client.scan_bytes(b"hello")
        assert time.monotonic() - started < 10
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("unix:/run/clamav/clamd.ctl", ClamdAddress("unix", path="/run/clamav/clamd.ctl")),
        ("/run/clamav/clamd.ctl", ClamdAddress("unix", path="/run/clamav/clamd.ctl")),
        ("tcp://127.0.0.1:3310", ClamdAddress("tcp", host="127.0.0.1", port=3310)),
        ("clamav:3310", ClamdAddress("tcp", host="clamav", port=3310)),
        ("tcp://[::1]:3310", ClamdAddress("tcp", host="::1", port=3310)),
    ],
)
def test_clamd_setting_is_parsed(value: str, expected: ClamdAddress) -> None:
    assert ClamdAddress.parse(value) == expected


@pytest.mark.parametrize("value", ["", "unix:", "clamav", "tcp://host:notaport", "host:70000"])
def test_bad_clamd_setting_fails_with_what_to_set(value: str) -> None:
    with pytest.raises(ValueError, match="LETTERBOX_CLAMD"):
        ClamdAddress.parse(value)
