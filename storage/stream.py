"""Chunked authenticated encryption of object bodies (format "LBX1", see docs/stream-format.md).

The body is cut into 64 KiB plaintext chunks, each sealed with AES-256-GCM under a 96-bit nonce
``prefix(7) || counter(4, big-endian) || last(1)`` — the STREAM construction of Hoang, Reyhanitabar,
Rogaway and Vizár (CRYPTO 2015). Because the position and the "last chunk" bit are inside the nonce,
reordering, duplicating, truncating or extending the stream changes the nonce a chunk is opened
with, and its tag fails. The associated data of every chunk binds the header and the object's
identity (object id and family id), so an object copied to another id or family fails as well.

Every chunk is authenticated before any of its plaintext is returned; `StreamTampered` is raised
on the first failure. Earlier chunks of a stream may already have been yielded by then, which is
inherent to streaming: a caller forwarding plaintext must abort its output on that error.
"""

from __future__ import annotations

import os
import struct
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage.errors import StorageError, StreamTampered

__all__ = [
    "CHUNK_SIZE",
    "HEADER_SIZE",
    "KEY_SIZE",
    "MAGIC",
    "TAG_SIZE",
    "VERSION",
    "DecryptedStream",
    "StorageError",
    "StreamTampered",
    "ciphertext_size",
    "decrypt_stream",
    "encrypt_stream",
    "open_bytes",
    "plaintext_size",
    "seal_bytes",
]

MAGIC: Final = b"LBX1"
VERSION: Final = 1
NONCE_PREFIX_SIZE: Final = 7
HEADER_SIZE: Final = len(MAGIC) + 1 + NONCE_PREFIX_SIZE  # 12
KEY_SIZE: Final = 32
TAG_SIZE: Final = 16
CHUNK_SIZE: Final = 64 * 1024
SEALED_CHUNK_SIZE: Final = CHUNK_SIZE + TAG_SIZE
# The counter is 32 bits; past this a nonce would repeat. 2**32 chunks of 64 KiB is 256 TiB.
MAX_CHUNKS: Final = 2**32
_ID_MAX_BYTES: Final = 0xFFFF


def ciphertext_size(plaintext_size: int) -> int:
    """Exact size of the encrypted object for a plaintext of ``plaintext_size`` bytes."""
    if plaintext_size < 0:
        raise ValueError("plaintext size must not be negative")
    # An empty plaintext still has one (empty) final chunk; otherwise ceil(size / CHUNK_SIZE).
    chunks = max(1, -(-plaintext_size // CHUNK_SIZE))
    return HEADER_SIZE + plaintext_size + chunks * TAG_SIZE


def plaintext_size(ciphertext_size: int) -> int:
    """Plaintext size of a well-formed encrypted object of ``ciphertext_size`` bytes.

    Raises `StreamTampered` for a size no encryption could have produced (e.g. truncated).
    """
    body = ciphertext_size - HEADER_SIZE
    if body < TAG_SIZE:
        raise StreamTampered("encrypted object is too short to hold a header and a final chunk")
    full, rest = divmod(body, SEALED_CHUNK_SIZE)
    if rest == 0:
        return full * CHUNK_SIZE  # the final chunk is a full one
    if rest < TAG_SIZE:
        raise StreamTampered("encrypted object size does not match the chunk layout")
    return full * CHUNK_SIZE + rest - TAG_SIZE


def _associated_data(header: bytes, object_id: str, family_id: str) -> bytes:
    # Length-prefixed so that ("ab", "c") and ("a", "bc") can never produce the same bytes.
    parts = [header]
    for value in (object_id, family_id):
        raw = value.encode("utf-8")
        if not raw or len(raw) > _ID_MAX_BYTES:
            raise ValueError("object id and family id must be 1..65535 bytes of UTF-8")
        parts.append(struct.pack(">H", len(raw)))
        parts.append(raw)
    return b"".join(parts)


def _check_key(key: bytes) -> None:
    if len(key) != KEY_SIZE:
        raise ValueError(f"stream key must be {KEY_SIZE} bytes, got {len(key)}")


class _Sealer:
    """Seals one object chunk by chunk; the synchronous core shared by every entry point."""

    def __init__(
        self, key: bytes, object_id: str, family_id: str, nonce_prefix: bytes | None = None
    ) -> None:
        _check_key(key)
        # A fresh random prefix per object; the data key is also fresh per object, so a nonce
        # can only repeat if both collide. The hook for a fixed prefix exists for test vectors.
        prefix = os.urandom(NONCE_PREFIX_SIZE) if nonce_prefix is None else nonce_prefix
        if len(prefix) != NONCE_PREFIX_SIZE:
            raise ValueError(f"nonce prefix must be {NONCE_PREFIX_SIZE} bytes")
        self.header = MAGIC + bytes([VERSION]) + prefix
        self._prefix = prefix
        self._aead = AESGCM(key)
        self._aad = _associated_data(self.header, object_id, family_id)
        self._counter = 0
        self._finished = False

    def seal(self, chunk: bytes, *, last: bool) -> bytes:
        if self._finished:
            raise StorageError("stream already sealed its final chunk")
        if len(chunk) > CHUNK_SIZE or (not last and len(chunk) != CHUNK_SIZE):
            raise ValueError("non-final chunks must be exactly CHUNK_SIZE bytes")
        if self._counter >= MAX_CHUNKS:
            raise StorageError("object too large for the stream format (2**32 chunks)")
        nonce = self._prefix + struct.pack(">IB", self._counter, 1 if last else 0)
        self._counter += 1
        self._finished = last
        return self._aead.encrypt(nonce, chunk, self._aad)


class _Opener:
    """Opens one object chunk by chunk; refuses anything that does not authenticate."""

    def __init__(self, key: bytes, object_id: str, family_id: str, header: bytes) -> None:
        _check_key(key)
        if len(header) != HEADER_SIZE or header[: len(MAGIC)] != MAGIC:
            raise StreamTampered("not a Letterbox encrypted object (bad magic)")
        if header[len(MAGIC)] != VERSION:
            raise StreamTampered(f"unsupported stream format version {header[len(MAGIC)]}")
        self._prefix = header[len(MAGIC) + 1 :]
        self._aead = AESGCM(key)
        self._aad = _associated_data(header, object_id, family_id)
        self._counter = 0

    def open(self, sealed: bytes, *, last: bool) -> bytes:
        if len(sealed) < TAG_SIZE:
            raise StreamTampered("encrypted object is truncated (final chunk missing)")
        if self._counter >= MAX_CHUNKS:
            raise StreamTampered("encrypted object has more chunks than the format allows")
        nonce = self._prefix + struct.pack(">IB", self._counter, 1 if last else 0)
        try:
            plaintext = self._aead.decrypt(nonce, sealed, self._aad)
        except InvalidTag:
            # One message for every cause: a flipped bit, a cut, a reorder and a wrong
            # object/family are indistinguishable by design, and saying which would not help.
            raise StreamTampered(
                f"encrypted object failed authentication at chunk {self._counter}: it was altered, "
                "truncated, reordered, or does not belong to this object id and family"
            ) from None
        self._counter += 1
        return plaintext


def _seal_chunks(sealer: _Sealer, pieces: Iterable[bytes]) -> Iterator[bytes]:
    """Re-chunk ``pieces`` into CHUNK_SIZE plaintext chunks and seal them, header first."""
    yield sealer.header
    buffer = bytearray()
    for piece in pieces:
        buffer += piece
        # Strictly more than one chunk buffered: the first one is known not to be the last.
        while len(buffer) > CHUNK_SIZE:
            yield sealer.seal(bytes(buffer[:CHUNK_SIZE]), last=False)
            del buffer[:CHUNK_SIZE]
    yield sealer.seal(bytes(buffer), last=True)


def seal_bytes(
    key: bytes,
    object_id: str,
    family_id: str,
    plaintext: bytes,
    *,
    _nonce_prefix: bytes | None = None,
) -> bytes:
    """Encrypt a small value in memory into the same format as `encrypt_stream`.

    ``_nonce_prefix`` is for test vectors only; production code must leave it random.
    """
    sealer = _Sealer(key, object_id, family_id, _nonce_prefix)
    return b"".join(_seal_chunks(sealer, (plaintext,)))


def open_bytes(key: bytes, object_id: str, family_id: str, ciphertext: bytes) -> bytes:
    """Decrypt a value produced by `seal_bytes` or `encrypt_stream`; raises `StreamTampered`."""
    plaintext_size(len(ciphertext))  # rejects impossible sizes early with a clear message
    opener = _Opener(key, object_id, family_id, ciphertext[:HEADER_SIZE])
    out = bytearray()
    view = memoryview(ciphertext)[HEADER_SIZE:]
    while len(view) > SEALED_CHUNK_SIZE:
        out += opener.open(bytes(view[:SEALED_CHUNK_SIZE]), last=False)
        view = view[SEALED_CHUNK_SIZE:]
    out += opener.open(bytes(view), last=True)
    return bytes(out)


async def aclose_source(source: AsyncIterable[bytes]) -> None:
    """Close a byte source that can be closed (an object body, an async generator)."""
    aclose = getattr(source, "aclose", None)
    if aclose is not None:
        await aclose()


async def encrypt_stream(
    key: bytes,
    object_id: str,
    family_id: str,
    source: AsyncIterable[bytes],
    *,
    _nonce_prefix: bytes | None = None,
) -> AsyncIterator[bytes]:
    """Encrypt an async byte stream of any chunking.

    Yields the header, then one sealed chunk (at most 64 KiB + 16 bytes) at a time, so memory
    stays bounded by one chunk plus one input piece.

    Each AES-GCM call covers one 64 KiB chunk (tens of microseconds), so it runs inline rather
    than paying a thread hop per chunk.
    """
    sealer = _Sealer(key, object_id, family_id, _nonce_prefix)
    yield sealer.header
    buffer = bytearray()
    async for piece in source:
        buffer += piece
        while len(buffer) > CHUNK_SIZE:
            yield sealer.seal(bytes(buffer[:CHUNK_SIZE]), last=False)
            del buffer[:CHUNK_SIZE]
    yield sealer.seal(bytes(buffer), last=True)


class DecryptedStream:
    """The plaintext of one encrypted stream, one authenticated chunk at a time.

    It owns its ciphertext source: ``aclose()`` (or leaving ``async with``) closes the source
    whether or not reading began, and reading to the end or meeting tampering closes it too, so
    a tampered object, a browser that goes away mid-download or a response that never started
    cannot leave a stored file or an HTTP response open.
    """

    def __init__(self, chunks: AsyncGenerator[bytes, None], source: AsyncIterable[bytes]) -> None:
        self._chunks = chunks
        self._source = source

    def __aiter__(self) -> DecryptedStream:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await anext(self._chunks)
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        try:
            await self._chunks.aclose()
        finally:
            await aclose_source(self._source)

    async def __aenter__(self) -> DecryptedStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def decrypt_stream(
    key: bytes,
    object_id: str,
    family_id: str,
    source: AsyncIterable[bytes],
) -> DecryptedStream:
    """Decrypt an async stream of any chunking; yields plaintext one authenticated chunk at a time.

    Raises `StreamTampered` on any alteration, truncation, missing final chunk, reorder,
    duplication, trailing data, or wrong object id / family id. The stream owns ``source``.
    """
    _check_key(key)
    return DecryptedStream(_decrypted_chunks(key, object_id, family_id, source), source)


async def _decrypted_chunks(
    key: bytes,
    object_id: str,
    family_id: str,
    source: AsyncIterable[bytes],
) -> AsyncGenerator[bytes, None]:
    opener: _Opener | None = None
    buffer = bytearray()
    async for piece in source:
        buffer += piece
        if opener is None:
            if len(buffer) < HEADER_SIZE:
                continue
            opener = _Opener(key, object_id, family_id, bytes(buffer[:HEADER_SIZE]))
            del buffer[:HEADER_SIZE]
        # Only a chunk followed by more bytes is known to be non-final; the rest waits for EOF.
        while len(buffer) > SEALED_CHUNK_SIZE:
            yield opener.open(bytes(buffer[:SEALED_CHUNK_SIZE]), last=False)
            del buffer[:SEALED_CHUNK_SIZE]
    if opener is None:
        raise StreamTampered("encrypted object is truncated (header incomplete)")
    # Whatever remains must be exactly one final chunk; trailing bytes make it fail its tag.
    yield opener.open(bytes(buffer), last=True)
