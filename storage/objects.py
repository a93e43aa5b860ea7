"""Object stores for encrypted object bodies: a local directory and S3 (through ``minio``).

Both backends hold only ciphertext and share one contract (tests/storage/
test_object_store_contract.py): streaming in and out with bounded memory, and atomic visibility —
a reader sees the whole object or nothing, never a partial write.

Object names are ids the application generates, never user input; `validate_name` enforces a
strict shape so a name can be used as a relative file path and an S3 key without escaping.
"""

from __future__ import annotations

import asyncio
import base64
import builtins
import contextlib
import functools
import hashlib
import io
import logging
import os
import re
import secrets
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Final, Protocol, TypeVar, runtime_checkable

import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE, ENABLED, Filter
from minio.datatypes import Part
from minio.error import MinioException, S3Error, ServerError
from minio.lifecycleconfig import AbortIncompleteMultipartUpload, LifecycleConfig, Rule

from storage.errors import (
    InvalidObjectName,
    ObjectNotFound,
    ObjectStoreError,
    StoreUnavailable,
)
from storage.stream import aclose_source

__all__ = [
    "InvalidObjectName",
    "LocalObjectStore",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectStore",
    "ObjectStream",
    "S3ObjectStore",
    "StoreUnavailable",
    "validate_name",
]

_log = logging.getLogger(__name__)
_T = TypeVar("_T")

# Lower-case ids with "/" separators; no dots at all, so no "..", no hidden files, and no clash
# with the local store's ".tmp" directory. Empty segments are refused separately.
_NAME_RE: Final = re.compile(r"[a-z0-9][a-z0-9/_-]{0,200}")
_PREFIX_RE: Final = re.compile(r"[a-z0-9/_-]{0,201}")
READ_PIECE: Final = 1024 * 1024
_LOCAL_WRITE_BATCH: Final = 1024 * 1024


def validate_name(name: str) -> str:
    """Return ``name`` if it is a well-formed object id, else raise `InvalidObjectName`."""
    if (
        not isinstance(name, str)
        or _NAME_RE.fullmatch(name) is None
        or name.endswith("/")
        or "//" in name
    ):
        raise InvalidObjectName(f"invalid object name {name!r}")
    return name


def _validate_prefix(prefix: str) -> str:
    if not isinstance(prefix, str) or _PREFIX_RE.fullmatch(prefix) is None or "//" in prefix:
        raise InvalidObjectName(f"invalid object name prefix {prefix!r}")
    return prefix


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    name: str
    size: int
    modified_at: datetime  # timezone-aware, UTC


class ObjectStream:
    """The body of one stored object as an async iterator of bytes.

    The underlying file or HTTP response is opened before this is returned (so a missing object
    fails at `ObjectStore.open`, not mid-response) and released on exhaustion, error or
    `aclose()`. Use ``async with`` when the stream might not be read to the end.
    """

    def __init__(
        self,
        size: int,
        read: Callable[[], bytes],
        release: Callable[[], None],
        run: Callable[[Callable[[], Any]], Any],
    ) -> None:
        self.size = size
        self._read = read
        self._release = release
        self._run = run
        self._closed = False

    def __aiter__(self) -> ObjectStream:
        return self

    async def __anext__(self) -> bytes:
        if self._closed:
            raise StopAsyncIteration
        try:
            piece: bytes = await self._run(self._read)
        except BaseException:
            await self.aclose()
            raise
        if not piece:
            await self.aclose()
            raise StopAsyncIteration
        return piece

    async def aclose(self) -> None:
        # Released inline, not in a thread: closing a file or an HTTP response does not wait on
        # the network, and a handler cancelled again while closing must not leave it open.
        if not self._closed:
            self._closed = True
            self._release()

    async def __aenter__(self) -> ObjectStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


@runtime_checkable
class ObjectStore(Protocol):
    """Where encrypted object bodies live. Every method is safe to call from the event loop."""

    async def put(self, name: str, chunks: AsyncIterable[bytes]) -> int:
        """Store the stream under ``name``; returns bytes written. All-or-nothing visibility."""
        ...

    async def open(self, name: str) -> ObjectStream:
        """Open a stored object for streaming; raises `ObjectNotFound`."""
        ...

    async def delete(self, name: str) -> None:
        """Delete ``name``; deleting a missing object is not an error (idempotent)."""
        ...

    async def exists(self, name: str) -> bool: ...

    def list(self, prefix: str = "") -> AsyncIterator[ObjectInfo]:
        """Objects whose name starts with ``prefix``, in name order."""
        ...

    async def close(self) -> None: ...


# --------------------------------------------------------------------------- local directory


class LocalObjectStore:
    """Objects as files under ``root``; the embedded default.

    A write goes to ``root/.tmp/<random>``, is fsynced, then renamed over the final name with
    `os.replace` (atomic on POSIX) and the parent directory is fsynced, so after a crash either
    the old state or the complete new object is visible. File I/O runs in a thread.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp = root / ".tmp"

    def _path(self, name: str) -> Path:
        return self.root / validate_name(name)

    async def start(self) -> None:
        await asyncio.to_thread(self._start_sync)

    def _start_sync(self) -> None:
        self._tmp.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Leftovers of writes interrupted by a crash are never visible; remove them.
        for leftover in self._tmp.iterdir():
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()

    async def put(self, name: str, chunks: AsyncIterable[bytes]) -> int:
        final = self._path(name)
        await asyncio.to_thread(self._tmp.mkdir, parents=True, exist_ok=True, mode=0o700)
        tmp = self._tmp / secrets.token_hex(16)
        fh: BinaryIO = await asyncio.to_thread(open, tmp, "xb")
        written = 0
        committed = False
        try:
            batch = bytearray()
            async for piece in chunks:
                batch += piece
                # Batch writes so each thread hop moves ~1 MiB, not one 64 KiB chunk.
                if len(batch) >= _LOCAL_WRITE_BATCH:
                    await asyncio.to_thread(fh.write, bytes(batch))
                    written += len(batch)
                    batch.clear()
            if batch:
                await asyncio.to_thread(fh.write, bytes(batch))
                written += len(batch)
            await asyncio.to_thread(self._commit_sync, fh, tmp, final)
            committed = True
        finally:
            if not committed:
                await asyncio.to_thread(self._discard_sync, fh, tmp)
                await aclose_source(chunks)
        return written

    @staticmethod
    def _commit_sync(fh: BinaryIO, tmp: Path, final: Path) -> None:
        fh.flush()
        os.fsync(fh.fileno())
        fh.close()
        final.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.replace(tmp, final)
        dir_fd = os.open(final.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    @staticmethod
    def _discard_sync(fh: BinaryIO, tmp: Path) -> None:
        fh.close()
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()

    async def open(self, name: str) -> ObjectStream:
        path = self._path(name)
        try:
            fh: BinaryIO = await asyncio.to_thread(open, path, "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(f"no object named {name!r}") from None
        size = os.fstat(fh.fileno()).st_size
        return ObjectStream(
            size,
            functools.partial(fh.read, READ_PIECE),
            fh.close,
            asyncio.to_thread,
        )

    async def delete(self, name: str) -> None:
        path = self._path(name)
        await asyncio.to_thread(path.unlink, missing_ok=True)

    async def exists(self, name: str) -> bool:
        return await asyncio.to_thread(self._path(name).is_file)

    async def list(self, prefix: str = "") -> AsyncIterator[ObjectInfo]:
        _validate_prefix(prefix)
        for info in await asyncio.to_thread(self._list_sync, prefix):
            yield info

    def _list_sync(self, prefix: str) -> builtins.list[ObjectInfo]:
        found: builtins.list[ObjectInfo] = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            if Path(dirpath) == self.root:
                dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            rel_dir = os.path.relpath(dirpath, self.root)
            for filename in filenames:
                name = filename if rel_dir == "." else f"{rel_dir}/{filename}"
                if not name.startswith(prefix) or _NAME_RE.fullmatch(name) is None:
                    continue
                with contextlib.suppress(FileNotFoundError):  # deleted while listing
                    st = os.stat(os.path.join(dirpath, filename))
                    found.append(
                        ObjectInfo(name, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC))
                    )
        found.sort(key=lambda info: info.name)
        return found

    async def close(self) -> None:
        return None


# --------------------------------------------------------------------------- S3 via minio


class S3ObjectStore:
    """Objects in an S3 bucket through the synchronous ``minio`` client, run in a thread pool.

    Uploads stream: a body that fits in one part goes up in one PUT, a larger one as a
    multipart upload of ``part_size`` parts with ``parallel_parts`` in flight, so memory per
    upload is bounded by a few parts whatever the body size. S3 makes an object visible only when
    its PUT or multipart completion succeeds, which gives atomicity. On any failure the multipart
    upload is aborted; if the abort cannot reach the server either, the bucket's lifecycle rule
    (set in `start`) removes the orphaned parts after one day.
    """

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        *,
        secure: bool = True,
        region: str | None = None,
        executor: ThreadPoolExecutor | None = None,
        part_size: int = 8 * 1024 * 1024,
        parallel_parts: int = 3,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        retries: int = 2,
    ) -> None:
        if part_size < 5 * 1024 * 1024:
            raise ValueError("S3 multipart parts must be at least 5 MiB")
        self.endpoint = endpoint
        self.bucket = bucket
        self.part_size = part_size
        # Parts uploading at once; memory per upload is about (parallel_parts + 2) × part_size.
        self.parallel_parts = parallel_parts
        self._owns_executor = executor is None
        self._executor = executor or ThreadPoolExecutor(
            max_workers=8, thread_name_prefix="letterbox-s3"
        )
        # minio's default pool waits 5 minutes per socket operation and retries 5 times; a dead
        # server must instead become StoreUnavailable within seconds. Retries are few and only
        # for connection failures and 5xx answers; every request minio sends is idempotent.
        self._http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
            maxsize=16,
            retries=urllib3.Retry(
                total=retries,
                connect=retries,
                read=1,
                backoff_factor=0.2,
                backoff_max=2.0,
                status_forcelist=(500, 502, 503, 504),
            ),
        )
        self._client = Minio(
            endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region,
            http_client=self._http,
        )

    async def _run(self, fn: Callable[[], _T]) -> _T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn)
        except (ObjectStoreError, asyncio.CancelledError):
            raise
        except Exception as exc:
            raise self._map_error(exc) from exc

    def _map_error(self, exc: BaseException) -> BaseException:
        if isinstance(exc, S3Error):
            if exc.code in ("NoSuchKey", "NoSuchObject"):
                return ObjectNotFound(f"no object named {exc.object_name!r}")
            if exc.code in ("SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout"):
                return StoreUnavailable(self._unavailable_message(exc.code))
            return ObjectStoreError(f"object store refused the request: {exc.code}: {exc.message}")
        if isinstance(exc, ServerError):
            return StoreUnavailable(self._unavailable_message(f"HTTP {exc.status_code}"))
        if isinstance(exc, urllib3.exceptions.HTTPError | OSError | MinioException):
            return StoreUnavailable(self._unavailable_message(type(exc).__name__))
        return exc

    def _unavailable_message(self, reason: str) -> str:
        return f"object store at {self.endpoint} is unavailable ({reason}); retry later"

    async def start(self) -> None:
        """Create the bucket if missing and install the multipart clean-up rule."""
        await self._run(self._start_sync)

    def _start_sync(self) -> None:
        if not self._client.bucket_exists(self.bucket):
            with contextlib.suppress(S3Error):  # another node may create it at the same time
                self._client.make_bucket(self.bucket)
            if not self._client.bucket_exists(self.bucket):
                raise ObjectStoreError(f"could not create bucket {self.bucket!r}")
        rule = Rule(
            ENABLED,
            rule_filter=Filter(prefix=""),
            rule_id="letterbox-abort-incomplete-multipart",
            abort_incomplete_multipart_upload=AbortIncompleteMultipartUpload(
                days_after_initiation=1
            ),
        )
        try:
            self._client.set_bucket_lifecycle(self.bucket, LifecycleConfig([rule]))
        except S3Error as exc:
            # SeaweedFS does not implement this lifecycle action; parts of uploads whose abort
            # also failed then stay until an operator removes them.
            _log.warning(
                "object store at %s did not accept the rule aborting incomplete multipart "
                "uploads after 1 day (%s); orphaned parts need manual clean-up",
                self.endpoint,
                exc.code,
            )

    async def put(self, name: str, chunks: AsyncIterable[bytes]) -> int:
        validate_name(name)
        parts = _read_parts(chunks, self.part_size)
        try:
            first = await anext(parts, b"")
            second = await anext(parts, None)
            if second is None:
                # Fits in one part: a single PUT, visible only once it has fully arrived.
                await self._run(
                    functools.partial(
                        self._client.put_object, self.bucket, name, io.BytesIO(first), len(first)
                    )
                )
                return len(first)
            return await self._put_multipart(name, _chain(first, second, parts))
        finally:
            await parts.aclose()
            await aclose_source(chunks)

    async def put_retained(self, name: str, data: bytes, retain_until: datetime) -> None:
        """Put a small object with S3 Object Lock retention in COMPLIANCE mode until
        ``retain_until``: no one, the bucket's owner included, may delete or overwrite it
        before then (on a store that enforces it, and in a bucket made with Object Lock).
        S3 wants the body's MD5 with a lock, so it is always sent."""
        validate_name(name)
        until = retain_until.astimezone(UTC)
        headers: dict[str, str | list[str] | tuple[str]] = {
            "Content-MD5": base64.b64encode(
                hashlib.md5(data, usedforsecurity=False).digest()
            ).decode("ascii"),
            "Content-Type": "application/json",
            "x-amz-object-lock-mode": COMPLIANCE,
            "x-amz-object-lock-retain-until-date": until.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        }
        # minio's put_object sends no Content-MD5 (and would file it under x-amz-meta-), so the
        # PUT is made with the call put_object itself is built on.
        await self._run(
            functools.partial(self._client._put_object, self.bucket, name, data, headers)
        )

    async def _put_multipart(self, name: str, parts: AsyncIterator[bytes]) -> int:
        """Upload parts with up to ``parallel_parts`` in flight; fail fast, abort on any error.

        minio's ``put_object`` can do this, but in parallel mode it reports a failed part only
        after reading the whole body, and sequentially it cannot overlap reading and sending.
        So this drives minio's multipart calls (the ones ``put_object`` itself is built on).
        """
        client = self._client
        upload_id: str = await self._run(
            functools.partial(
                client._create_multipart_upload,
                self.bucket,
                name,
                {"Content-Type": "application/octet-stream"},
            )
        )
        in_flight: set[asyncio.Future[Part]] = set()
        done_parts: list[Part] = []
        written = 0
        try:
            number = 0
            async for part in parts:
                while len(in_flight) >= self.parallel_parts:
                    finished, in_flight = await asyncio.wait(
                        in_flight, return_when=asyncio.FIRST_COMPLETED
                    )
                    # Look at every outcome first: when the store dies, several parts fail
                    # together, and a failure nobody retrieved would be reported as a bug.
                    for future in finished:
                        _consume_exception(future)
                    done_parts += [future.result() for future in finished]  # raises on failure
                number += 1
                written += len(part)
                in_flight.add(
                    asyncio.ensure_future(
                        self._run(
                            functools.partial(self._upload_part, name, upload_id, number, part)
                        )
                    )
                )
            if in_flight:
                done_parts += await asyncio.gather(*in_flight)
                in_flight = set()
            done_parts.sort(key=lambda p: p.part_number)
            await self._run(
                functools.partial(
                    client._complete_multipart_upload, self.bucket, name, upload_id, done_parts
                )
            )
        except BaseException:
            if in_flight:
                # Let running part uploads end (bounded by the HTTP timeouts) before aborting.
                await asyncio.wait(in_flight)
                for future in in_flight:
                    _consume_exception(future)
            await self._abort_upload(name, upload_id)
            raise
        return written

    def _upload_part(self, name: str, upload_id: str, number: int, data: bytes) -> Part:
        etag = self._client._upload_part(self.bucket, name, data, None, upload_id, number)
        return Part(number, etag)

    async def _abort_upload(self, name: str, upload_id: str) -> None:
        try:
            await self._run(
                functools.partial(
                    self._client._abort_multipart_upload, self.bucket, name, upload_id
                )
            )
        except Exception as exc:  # the upload already failed; keep its error, log this one
            _log.warning(
                "could not abort multipart upload %s of %s (%s); its parts stay until the "
                "bucket lifecycle rule removes them",
                upload_id,
                name,
                exc,
            )

    async def open(self, name: str) -> ObjectStream:
        validate_name(name)
        response = await self._run(functools.partial(self._client.get_object, self.bucket, name))
        size = int(response.headers.get("Content-Length", "0"))

        def release() -> None:
            response.close()
            response.release_conn()

        return ObjectStream(
            size,
            functools.partial(response.read, READ_PIECE),
            release,
            self._run,
        )

    async def delete(self, name: str) -> None:
        validate_name(name)
        await self._run(functools.partial(self._client.remove_object, self.bucket, name))

    async def exists(self, name: str) -> bool:
        validate_name(name)
        try:
            await self._run(functools.partial(self._client.stat_object, self.bucket, name))
        except ObjectNotFound:
            return False
        return True

    async def list(self, prefix: str = "") -> AsyncIterator[ObjectInfo]:
        _validate_prefix(prefix)
        listing = self._client.list_objects(self.bucket, prefix=prefix or None, recursive=True)
        # minio pages lazily with a blocking HTTP call per page; pull a page-sized batch per
        # thread hop instead of one hop per object.
        pages: Iterator[Any] = iter(listing)
        while True:
            batch = await self._run(functools.partial(_take, pages, 1000))
            for obj in batch:
                if obj.is_dir:
                    continue
                modified = obj.last_modified or datetime.fromtimestamp(0, UTC)
                yield ObjectInfo(obj.object_name, obj.size or 0, modified.astimezone(UTC))
            if len(batch) < 1000:
                return

    async def close(self) -> None:
        self._http.clear()  # minio has no close(); drop the pooled sockets
        if self._owns_executor:
            self._executor.shutdown(wait=False, cancel_futures=True)


def _take(iterator: Iterator[_T], n: int) -> list[_T]:
    out: list[_T] = []
    for item in iterator:
        out.append(item)
        if len(out) >= n:
            break
    return out


async def _read_parts(chunks: AsyncIterable[bytes], part_size: int) -> AsyncGenerator[bytes]:
    """Re-cut a byte stream into ``part_size`` parts (the last may be shorter, or empty)."""
    buffer = bytearray()
    async for piece in chunks:
        buffer += piece
        while len(buffer) >= part_size:
            yield bytes(buffer[:part_size])
            del buffer[:part_size]
    if buffer:
        yield bytes(buffer)


async def _chain(first: bytes, second: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    yield second
    async for part in rest:
        yield part


def _consume_exception(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
