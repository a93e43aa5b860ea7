"""Stream an upload to clamd (ClamAV's daemon) and read its verdict.

Uses the INSTREAM command: ``zINSTREAM\\0``, then chunks each prefixed with a 4-byte big-endian
length, then a zero-length chunk. Every failure to get a verdict (no daemon, a timeout, a refusal
such as the stream size limit) raises ClamdUnavailable, so the caller can never mistake "not
scanned" for "clean".
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Literal

DEFAULT_CHUNK_SIZE = 64 * 1024
_END_OF_STREAM = b"\x00\x00\x00\x00"
# A verdict is one short line; anything longer is not clamd talking.
_MAX_REPLY = 4096


class ClamdUnavailable(Exception):
    """clamd could not give a verdict; the file has not been scanned."""


@dataclass(frozen=True)
class Clean:
    pass


@dataclass(frozen=True)
class Infected:
    signature: str


ScanResult = Clean | Infected


@dataclass(frozen=True)
class ClamdAddress:
    transport: Literal["unix", "tcp"]
    path: str = ""
    host: str = ""
    port: int = 0

    @classmethod
    def parse(cls, value: str) -> ClamdAddress:
        """Read ``LETTERBOX_CLAMD``: ``unix:/run/clamav/clamd.ctl``, a bare socket path,
        ``tcp://127.0.0.1:3310`` or ``127.0.0.1:3310``."""
        value = value.strip()
        if value.startswith("unix:"):
            path = value.removeprefix("unix:").removeprefix("//")
            if path:
                return cls("unix", path=path)
        elif value.startswith("/"):
            return cls("unix", path=value)
        else:
            host, sep, port = value.removeprefix("tcp://").rpartition(":")
            host = host.strip("[]")
            if sep and host and port.isdigit() and 0 < int(port) < 65536:
                return cls("tcp", host=host, port=int(port))
        raise ValueError(
            f"LETTERBOX_CLAMD={value!r} is not a clamd address: use unix:/path/to/clamd.sock, "
            "/path/to/clamd.sock or tcp://host:port"
        )

    def __str__(self) -> str:
        return f"unix:{self.path}" if self.transport == "unix" else f"tcp://{self.host}:{self.port}"


class ClamdClient:
    """One connection per scan; clamd serves each INSTREAM on its own connection anyway."""

    def __init__(
        self,
        address: ClamdAddress,
        *,
        timeout: float = 60.0,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        if chunk_size <= 0:
            raise ValueError("chunk_size must be positive")
        self.address = address
        self.timeout = timeout
        self.chunk_size = chunk_size

    async def ping(self) -> None:
        """Raise ClamdUnavailable unless clamd answers PONG."""
        reply = await self._exchange(b"zPING\x00", _no_chunks())
        if reply != "PONG":
            raise ClamdUnavailable(f"clamd at {self.address} answered PING with {reply!r}")

    async def scan_bytes(self, data: bytes) -> ScanResult:
        return await self.scan_stream(_split(data, self.chunk_size))

    async def scan_stream(self, chunks: AsyncIterable[bytes]) -> ScanResult:
        """Scan a file as it arrives, e.g. straight from an upload."""
        reply = await self._exchange(b"zINSTREAM\x00", self._framed(chunks))
        return _verdict(reply, self.address)

    async def _framed(self, chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
        async for chunk in chunks:
            # Re-slice so no frame exceeds chunk_size, whatever the caller's chunking.
            for offset in range(0, len(chunk), self.chunk_size):
                piece = chunk[offset : offset + self.chunk_size]
                yield struct.pack(">I", len(piece)) + piece
        yield _END_OF_STREAM

    async def _exchange(self, command: bytes, frames: AsyncIterable[bytes]) -> str:
        try:
            async with asyncio.timeout(self.timeout):
                reader, writer = await self._connect()
                try:
                    return await _talk(reader, writer, command, frames)
                finally:
                    writer.close()
                    with contextlib.suppress(OSError):
                        await writer.wait_closed()
        except TimeoutError as exc:
            raise ClamdUnavailable(
                f"clamd at {self.address} gave no verdict within {self.timeout:g} s"
            ) from exc
        except OSError as exc:
            raise ClamdUnavailable(f"cannot reach clamd at {self.address}: {exc}") from exc

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.address.transport == "unix":
            return await asyncio.open_unix_connection(self.address.path)
        return await asyncio.open_connection(self.address.host, self.address.port)


async def _talk(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    command: bytes,
    frames: AsyncIterable[bytes],
) -> str:
    writer.write(command)
    try:
        async for frame in frames:
            writer.write(frame)
            await writer.drain()
    except (ConnectionResetError, BrokenPipeError):
        # clamd hangs up mid-stream when a limit is exceeded; its reply says which one.
        pass
    try:
        reply = await reader.readuntil(b"\x00")
    except asyncio.IncompleteReadError as exc:
        reply = exc.partial
    except asyncio.LimitOverrunError as exc:
        raise ClamdUnavailable("clamd sent an over-long reply") from exc
    if not reply:
        raise ClamdUnavailable("clamd closed the connection without a verdict")
    return reply[:_MAX_REPLY].rstrip(b"\x00\n").decode("utf-8", "replace")


def _verdict(reply: str, address: ClamdAddress) -> ScanResult:
    # Replies look like "stream: OK", "stream: Eicar-Signature FOUND" or "... ERROR".
    _, _, result = reply.partition(": ")
    if result == "OK":
        return Clean()
    if result.endswith(" FOUND"):
        return Infected(result.removesuffix(" FOUND"))
    raise ClamdUnavailable(f"clamd at {address} could not scan the file: {reply}")


async def _split(data: bytes, size: int) -> AsyncIterator[bytes]:
    for offset in range(0, len(data), size):
        yield data[offset : offset + size]


async def _no_chunks() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover - makes this an async generator
