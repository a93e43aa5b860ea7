"""The LBX1 chunked AEAD format: round trips, every tamper case, documented vectors."""

from __future__ import annotations

import hashlib
import os
import re
import struct
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage.errors import StorageError, StreamTampered
from storage.stream import (
    CHUNK_SIZE,
    HEADER_SIZE,
    SEALED_CHUNK_SIZE,
    TAG_SIZE,
    ciphertext_size,
    decrypt_stream,
    encrypt_stream,
    open_bytes,
    plaintext_size,
    seal_bytes,
)

KEY = bytes(range(32))
OBJ = "obj-0001"
FAM = "fam-0001"
DOC = Path(__file__).resolve().parents[2] / "docs" / "stream-format.md"
SIZES = [0, 1, 65535, 65536, 65537, 10 * 1024 * 1024]


async def _aiter(pieces: Iterable[bytes]) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


def _pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


async def _collect(stream: AsyncIterator[bytes]) -> bytes:
    return b"".join([piece async for piece in stream])


async def _encrypt(data: bytes, piece: int = 10_000, **kw: str) -> bytes:
    return await _collect(
        encrypt_stream(KEY, kw.get("obj", OBJ), kw.get("fam", FAM), _aiter(_pieces(data, piece)))
    )


async def _decrypt(
    blob: bytes, piece: int = 7_777, *, key: bytes = KEY, obj: str = OBJ, fam: str = FAM
) -> bytes:
    return await _collect(decrypt_stream(key, obj, fam, _aiter(_pieces(blob, piece))))


# ------------------------------------------------------------------ round trips and sizes


@pytest.mark.parametrize("size", SIZES)
async def test_round_trip_restores_plaintext_of_every_boundary_size(size: int) -> None:
    data = os.urandom(size)
    blob = await _encrypt(data)
    assert len(blob) == ciphertext_size(size)
    assert plaintext_size(len(blob)) == size
    assert await _decrypt(blob) == data
    assert open_bytes(KEY, OBJ, FAM, blob) == data
    assert open_bytes(KEY, OBJ, FAM, seal_bytes(KEY, OBJ, FAM, data)) == data


@pytest.mark.parametrize("size", SIZES)
def test_ciphertext_size_matches_chunk_layout(size: int) -> None:
    chunks = max(1, -(-size // CHUNK_SIZE))
    assert ciphertext_size(size) == HEADER_SIZE + size + TAG_SIZE * chunks


async def test_stream_and_bytes_forms_produce_same_format() -> None:
    data = os.urandom(3 * CHUNK_SIZE + 17)
    prefix = b"\x01" * 7
    streamed = await _collect(
        encrypt_stream(KEY, OBJ, FAM, _aiter(_pieces(data, 999)), _nonce_prefix=prefix)
    )
    assert streamed == seal_bytes(KEY, OBJ, FAM, data, _nonce_prefix=prefix)


async def test_encryption_output_is_bounded_to_one_sealed_chunk_per_yield() -> None:
    pieces = [piece async for piece in encrypt_stream(KEY, OBJ, FAM, _aiter([os.urandom(1 << 20)]))]
    assert max(len(p) for p in pieces) == SEALED_CHUNK_SIZE


async def test_each_object_gets_a_fresh_nonce_prefix() -> None:
    a = await _encrypt(b"same")
    b = await _encrypt(b"same")
    assert a[:HEADER_SIZE] != b[:HEADER_SIZE]
    assert a != b


def test_plaintext_never_appears_in_ciphertext() -> None:
    canary = b"CANARY-the-childs-school-is-St-Mary" * 4000
    assert b"CANARY" not in seal_bytes(KEY, OBJ, FAM, canary)


def test_wrong_key_size_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        seal_bytes(b"short", OBJ, FAM, b"x")


# ------------------------------------------------------------------ tampering


async def _assert_tampered(blob: bytes, **kw: str) -> None:
    with pytest.raises(StreamTampered):
        await _decrypt(blob, **kw)  # type: ignore[arg-type]
    with pytest.raises(StreamTampered):
        open_bytes(KEY, kw.get("obj", OBJ), kw.get("fam", FAM), blob)


def _flip(blob: bytes, position: int, bit: int = 0) -> bytes:
    changed = bytearray(blob)
    changed[position] ^= 1 << bit
    return bytes(changed)


@pytest.fixture(scope="module")
def three_chunks() -> tuple[bytes, bytes]:
    data = os.urandom(2 * CHUNK_SIZE + 1000)
    return data, seal_bytes(KEY, OBJ, FAM, data)


def _interesting_positions(blob_len: int) -> list[int]:
    positions = set(range(HEADER_SIZE))  # every header byte: magic, version, prefix
    for chunk in range(3):
        start = HEADER_SIZE + chunk * SEALED_CHUNK_SIZE
        end = min(start + SEALED_CHUNK_SIZE, blob_len)
        positions |= {start, start + 1, (start + end) // 2, end - TAG_SIZE - 1}
        positions |= set(range(end - TAG_SIZE, end))  # every tag byte
    return sorted(p for p in positions if p < blob_len)


async def test_flipped_bit_anywhere_fails_authentication(three_chunks: tuple[bytes, bytes]) -> None:
    _, blob = three_chunks
    positions = _interesting_positions(len(blob))
    assert len(positions) > 60
    for position in positions:
        for bit in (0, 7):
            await _assert_tampered(_flip(blob, position, bit))


async def test_flipped_bit_in_empty_object_fails() -> None:
    blob = seal_bytes(KEY, OBJ, FAM, b"")
    for position in range(len(blob)):
        await _assert_tampered(_flip(blob, position))


async def test_truncation_at_chunk_boundaries_fails(three_chunks: tuple[bytes, bytes]) -> None:
    _, blob = three_chunks
    for cut in (
        0,
        HEADER_SIZE,
        HEADER_SIZE + SEALED_CHUNK_SIZE,
        HEADER_SIZE + 2 * SEALED_CHUNK_SIZE,
    ):
        await _assert_tampered(blob[:cut])


async def test_truncation_mid_chunk_fails(three_chunks: tuple[bytes, bytes]) -> None:
    _, blob = three_chunks
    for cut in (5, HEADER_SIZE + 1, HEADER_SIZE + 100, HEADER_SIZE + SEALED_CHUNK_SIZE + 15):
        await _assert_tampered(blob[:cut])
    await _assert_tampered(blob[:-1])


async def test_missing_final_chunk_fails_even_when_exact_multiple() -> None:
    data = os.urandom(2 * CHUNK_SIZE)  # final chunk is a full one
    blob = seal_bytes(KEY, OBJ, FAM, data)
    await _assert_tampered(blob[: HEADER_SIZE + SEALED_CHUNK_SIZE])


async def test_no_plaintext_of_a_tampered_chunk_is_yielded(
    three_chunks: tuple[bytes, bytes],
) -> None:
    data, blob = three_chunks
    bad = _flip(blob, HEADER_SIZE + SEALED_CHUNK_SIZE + 10)  # inside chunk 1
    received: list[bytes] = []
    with pytest.raises(StreamTampered, match="chunk 1"):
        async for piece in decrypt_stream(KEY, OBJ, FAM, _aiter(_pieces(bad, 4096))):
            received.append(piece)
    # Only chunk 0, which authenticated, was handed out.
    assert b"".join(received) == data[:CHUNK_SIZE]


def _split_chunks(blob: bytes) -> tuple[bytes, list[bytes]]:
    body = blob[HEADER_SIZE:]
    return blob[:HEADER_SIZE], [
        body[i : i + SEALED_CHUNK_SIZE] for i in range(0, len(body), SEALED_CHUNK_SIZE)
    ]


async def test_reordered_chunks_fail(three_chunks: tuple[bytes, bytes]) -> None:
    _, blob = three_chunks
    header, chunks = _split_chunks(blob)
    await _assert_tampered(header + chunks[1] + chunks[0] + chunks[2])


async def test_duplicated_chunk_fails(three_chunks: tuple[bytes, bytes]) -> None:
    _, blob = three_chunks
    header, chunks = _split_chunks(blob)
    await _assert_tampered(header + chunks[0] + chunks[0] + chunks[1] + chunks[2])
    await _assert_tampered(header + chunks[0] + chunks[0] + chunks[2])


async def test_final_chunk_moved_earlier_fails(three_chunks: tuple[bytes, bytes]) -> None:
    _, blob = three_chunks
    header, chunks = _split_chunks(blob)
    await _assert_tampered(header + chunks[2])


async def test_chunk_spliced_from_other_object_fails() -> None:
    data = os.urandom(2 * CHUNK_SIZE + 5)
    prefix = b"\x02" * 7
    a = seal_bytes(KEY, OBJ, FAM, data, _nonce_prefix=prefix)
    b = seal_bytes(KEY, OBJ, FAM, os.urandom(len(data)), _nonce_prefix=b"\x03" * 7)
    header, chunks_a = _split_chunks(a)
    _, chunks_b = _split_chunks(b)
    await _assert_tampered(header + chunks_a[0] + chunks_b[1] + chunks_a[2])


@pytest.mark.parametrize("extra", [b"\x00", os.urandom(16), os.urandom(SEALED_CHUNK_SIZE)])
async def test_data_appended_after_final_chunk_fails(
    three_chunks: tuple[bytes, bytes], extra: bytes
) -> None:
    _, blob = three_chunks
    await _assert_tampered(blob + extra)


async def test_data_appended_to_empty_object_fails() -> None:
    await _assert_tampered(seal_bytes(KEY, OBJ, FAM, b"") + b"\x00")


async def test_object_under_another_id_fails(three_chunks: tuple[bytes, bytes]) -> None:
    _, blob = three_chunks
    await _assert_tampered(blob, obj="obj-0002")


async def test_object_under_another_family_fails(three_chunks: tuple[bytes, bytes]) -> None:
    _, blob = three_chunks
    await _assert_tampered(blob, fam="fam-0002")


async def test_id_and_family_boundaries_are_unambiguous() -> None:
    blob = seal_bytes(KEY, "ab", "c", b"x")
    with pytest.raises(StreamTampered):
        open_bytes(KEY, "a", "bc", blob)


async def test_wrong_key_fails(three_chunks: tuple[bytes, bytes]) -> None:
    _, blob = three_chunks
    with pytest.raises(StreamTampered):
        await _decrypt(blob, key=bytes(32))


def test_stream_tampered_is_a_storage_error() -> None:
    assert issubclass(StreamTampered, StorageError)


def test_impossible_ciphertext_sizes_are_refused() -> None:
    for size in (0, HEADER_SIZE, HEADER_SIZE + TAG_SIZE - 1, HEADER_SIZE + SEALED_CHUNK_SIZE + 3):
        with pytest.raises(StreamTampered):
            plaintext_size(size)


# ------------------------------------------------------------------ documented vectors


def _doc_block(name: str) -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(rf"```{re.escape(name)}\n(.*?)```", text, re.S)
    assert match, f"vector block {name} missing from {DOC}"
    fields = {}
    for line in match.group(1).splitlines():
        key, _, value = line.partition("=")
        fields[key.strip()] = value.strip()
    return fields


def _common() -> tuple[bytes, str, str, bytes]:
    common = _doc_block("vector-common")
    return (
        bytes.fromhex(common["key"]),
        common["object_id"],
        common["family_id"],
        bytes.fromhex(common["prefix"]),
    )


def _first_principles(key: bytes, obj: str, fam: str, prefix: bytes, plaintext: bytes) -> bytes:
    """One-chunk object built only from the rules written in docs/stream-format.md."""
    header = b"LBX1" + b"\x01" + prefix
    aad = header
    for value in (obj, fam):
        raw = value.encode()
        aad += struct.pack(">H", len(raw)) + raw
    nonce = prefix + struct.pack(">I", 0) + b"\x01"
    return header + AESGCM(key).encrypt(nonce, plaintext, aad)


@pytest.mark.parametrize("block", ["vector-empty", "vector-hello"])
def test_documented_small_vectors_hold(block: str) -> None:
    key, obj, fam, prefix = _common()
    vector = _doc_block(block)
    plaintext = bytes.fromhex(vector["plaintext"])
    expected = bytes.fromhex(vector["ciphertext"])
    assert seal_bytes(key, obj, fam, plaintext, _nonce_prefix=prefix) == expected
    assert _first_principles(key, obj, fam, prefix, plaintext) == expected
    assert open_bytes(key, obj, fam, expected) == plaintext


def test_documented_two_chunk_vector_holds() -> None:
    key, obj, fam, prefix = _common()
    vector = _doc_block("vector-two-chunks")
    plaintext = bytes(i % 251 for i in range(65541))
    assert hashlib.sha256(plaintext).hexdigest() == vector["plaintext_sha256"]
    blob = seal_bytes(key, obj, fam, plaintext, _nonce_prefix=prefix)
    assert len(blob) == int(vector["ciphertext_size"])
    assert hashlib.sha256(blob).hexdigest() == vector["ciphertext_sha256"]
    chunk0 = blob[HEADER_SIZE : HEADER_SIZE + SEALED_CHUNK_SIZE]
    assert chunk0[:16].hex() == vector["chunk0_first16"]
    assert chunk0[-TAG_SIZE:].hex() == vector["chunk0_tag"]
    assert blob[HEADER_SIZE + SEALED_CHUNK_SIZE :].hex() == vector["final_chunk"]
    # Chunk 0 re-derived by hand: counter 0, last flag 0.
    aad = blob[:HEADER_SIZE] + b"\x00\x08" + obj.encode() + b"\x00\x08" + fam.encode()
    nonce = prefix + b"\x00\x00\x00\x00\x00"
    assert AESGCM(key).encrypt(nonce, plaintext[:CHUNK_SIZE], aad) == chunk0


# ------------------------------------------------------------------ properties

_chunkings = st.lists(st.integers(min_value=1, max_value=70_000), min_size=1, max_size=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.binary(max_size=3 * CHUNK_SIZE + 10) | st.integers(0, 3 * CHUNK_SIZE).map(os.urandom),
    write_sizes=_chunkings,
    read_sizes=_chunkings,
)
async def test_decrypt_inverts_encrypt_for_any_chunking(
    data: bytes, write_sizes: list[int], read_sizes: list[int]
) -> None:
    def cut(blob: bytes, sizes: list[int]) -> list[bytes]:
        out, i, k = [], 0, 0
        while i < len(blob):
            step = sizes[k % len(sizes)]
            out.append(blob[i : i + step])
            i += step
            k += 1
        return out or [b""]

    blob = await _collect(encrypt_stream(KEY, OBJ, FAM, _aiter(cut(data, write_sizes))))
    assert await _collect(decrypt_stream(KEY, OBJ, FAM, _aiter(cut(blob, read_sizes)))) == data


@settings(max_examples=150, deadline=None)
@given(
    size=st.integers(0, 2 * CHUNK_SIZE + 3),
    position=st.floats(0, 1, exclude_max=True),
    delta=st.integers(1, 255),
)
async def test_any_single_byte_change_fails_cleanly(size: int, position: float, delta: int) -> None:
    blob = bytearray(seal_bytes(KEY, OBJ, FAM, os.urandom(size)))
    index = int(position * len(blob))
    blob[index] = (blob[index] + delta) % 256
    with pytest.raises(StreamTampered):
        await _decrypt(bytes(blob))
