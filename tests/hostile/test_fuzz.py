"""Hypothesis fuzzing of what hostile input reaches first.

Added where tests/storage/test_stream.py and tests/letterbox/test_scanner.py stop: the stream
decoder fed arbitrary bytes, cut or spliced objects (those tests change one byte of a valid
object); the scanner asked to find generated personal data inside ordinary words (those tests
check spans and speed on arbitrary text); random multipart uploads and random signalling frames
against the real node. Examples are few and derandomised, so CI runs the same cases every time.
"""

from __future__ import annotations

import asyncio
import json
import os
import string
from collections.abc import AsyncIterator

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.letterbox.scanner import Category, scan
from storage.errors import StorageError
from storage.stream import CHUNK_SIZE, HEADER_SIZE, decrypt_stream, seal_bytes
from tests.support.hostile import CLOSE_WITHIN, HostileNode, exchange, join_as_parent, status_of
from tests.support.hostile_corpus import Target, http_request

KEY = bytes(range(32))
OBJ, FAM = "obj-fuzz", "fam-fuzz"

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


async def _pieces(blob: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(blob), size):
        yield blob[start : start + size]


async def _decrypt(blob: bytes, size: int) -> bytes:
    return b"".join([p async for p in decrypt_stream(KEY, OBJ, FAM, _pieces(blob, size))])


# --- the stream decoder ---------------------------------------------------------------------


@FUZZ
@given(blob=st.binary(max_size=4 * HEADER_SIZE + 200), size=st.integers(1, 4096))
async def test_stream_decoder_refuses_arbitrary_bytes_only_with_a_storage_error(
    blob: bytes, size: int
) -> None:
    with pytest.raises(StorageError):
        await _decrypt(blob, size)


@FUZZ
@given(
    length=st.integers(0, 2 * CHUNK_SIZE + 50),
    cut=st.floats(0, 1, exclude_max=True),
    tail=st.binary(max_size=64),
    size=st.integers(1, 70_000),
)
async def test_stream_decoder_refuses_any_cut_or_extended_object(
    length: int, cut: float, tail: bytes, size: int
) -> None:
    blob = seal_bytes(KEY, OBJ, FAM, os.urandom(length))
    damaged = blob[: int(cut * len(blob))] + tail
    if damaged == blob:
        return
    with pytest.raises(StorageError):
        await _decrypt(damaged, size)


@FUZZ
@given(first=st.integers(0, CHUNK_SIZE * 2), second=st.integers(0, CHUNK_SIZE * 2))
async def test_stream_decoder_refuses_a_header_spliced_onto_another_body(
    first: int, second: int
) -> None:
    a = seal_bytes(KEY, OBJ, FAM, os.urandom(first))
    b = seal_bytes(KEY, OBJ, FAM, os.urandom(second))
    with pytest.raises(StorageError):
        await _decrypt(a[:HEADER_SIZE] + b[HEADER_SIZE:], 7777)


# --- the personal-data scanner ----------------------------------------------------------------

SAFE_WORDS = st.sampled_from(
    [
        "love",
        "hope",
        "you",
        "are",
        "well",
        "today",
        "we",
        "went",
        "swimming",
        "and",
        "had",
        "chips",
        "the",
        "dog",
        "says",
        "hello",
        "I",
        "miss",
        "you",
        "lots",
        "see",
        "you",
        "soon",
    ]
)
FILLER = st.lists(SAFE_WORDS, max_size=12).map(" ".join)
POSTCODE = st.builds(
    lambda area, district, sector, unit: f"{area}{district} {sector}{unit}",
    st.sampled_from(["LS", "M", "B", "SW", "EH", "CF", "NE", "BS"]),
    st.integers(1, 29),
    st.integers(0, 9),
    st.text(alphabet="ABDEFGHJLNPQRSTUWXYZ", min_size=2, max_size=2),
)
EMAIL = st.builds(
    lambda user, domain, tld: f"{user}@{domain}.{tld}",
    st.text(alphabet=string.ascii_lowercase + string.digits + "._", min_size=1, max_size=12).filter(
        lambda u: u[0].isalnum() and u[-1].isalnum()
    ),
    st.text(alphabet=string.ascii_lowercase, min_size=2, max_size=10),
    st.sampled_from(["com", "co.uk", "org", "net"]),
)
MOBILE = st.builds(lambda n: f"07700 {n:06d}", st.integers(900000, 900999))
TERM = st.text(alphabet=string.ascii_letters, min_size=4, max_size=12).filter(
    lambda t: t.lower() not in "love hope you are well today we went swimming and had chips"
)


@pytest.mark.parametrize(
    ("strategy", "category"),
    [(POSTCODE, Category.POSTCODE), (EMAIL, Category.EMAIL), (MOBILE, Category.PHONE)],
    ids=["postcode", "email", "mobile"],
)
def test_scanner_finds_generated_personal_data_inside_ordinary_words(
    strategy: st.SearchStrategy[str], category: Category
) -> None:
    @FUZZ
    @given(before=FILLER, secret=strategy, after=FILLER)
    def check(before: str, secret: str, after: str) -> None:
        text = f"{before} {secret} {after}".strip()
        start = text.index(secret)
        hits = scan(text)
        assert any(
            hit.category is category and hit.start <= start and hit.end >= start + len(secret)
            for hit in hits
        ), (text, hits)

    check()


@FUZZ
@given(
    before=FILLER, term=TERM, after=FILLER, case=st.sampled_from([str.lower, str.upper, str.title])
)
def test_scanner_finds_a_family_sensitive_term_in_any_letter_case(
    before: str, term: str, after: str, case: object
) -> None:
    written = case(term)  # type: ignore[operator]
    text = f"{before} {written} {after}".strip()
    start = text.index(written)
    assert any(
        hit.category is Category.SENSITIVE_TERM and hit.start <= start < hit.end
        for hit in scan(text, [term])
    )


# --- uploads against the real node ----------------------------------------------------------

PART_NAMES = st.sampled_from(["text", "files", "kind", "child_id", "", "x" * 300]) | st.text(
    max_size=20
)
PART = st.tuples(
    PART_NAMES,
    st.none() | st.text(max_size=40) | st.binary(max_size=40),  # file name
    st.sampled_from(["", "image/jpeg", "text/html", "multipart/mixed", "\x00"]),
    st.binary(max_size=3000) | st.text(max_size=200).map(str.encode),
)
BOUNDARIES = st.text(
    alphabet=string.ascii_letters + string.digits + "'()+_,-./:=? ", min_size=1, max_size=80
)


def _header_safe(value: str) -> str:
    return "".join(ch for ch in value if ch not in "\r\n")


def _multipart(boundary: str, parts: list[tuple[str, object, str, bytes]], close: bool) -> bytes:
    out = b""
    for name, filename, ctype, data in parts:
        head = f'Content-Disposition: form-data; name="{_header_safe(name)}"'.encode(
            "utf-8", "surrogateescape"
        )
        if isinstance(filename, str):
            head += f'; filename="{_header_safe(filename)}"'.encode("utf-8", "surrogateescape")
        elif isinstance(filename, bytes):
            head += b'; filename="' + filename.replace(b"\r", b"").replace(b"\n", b"") + b'"'
        if ctype:
            head += f"\r\nContent-Type: {ctype}".encode()
        out += f"--{boundary}\r\n".encode() + head + b"\r\n\r\n" + data + b"\r\n"
    return out + (f"--{boundary}--\r\n".encode() if close else b"")


@FUZZ
@given(
    boundary=BOUNDARIES,
    declared=st.none() | BOUNDARIES,
    parts=st.lists(PART, max_size=6),
    close=st.booleans(),
    content_type=st.sampled_from(["multipart/form-data", "multipart/mixed", "text/plain", ""]),
    key=st.none() | st.text(max_size=220).map(_header_safe),
)
def test_random_uploads_are_answered_2xx_or_4xx_never_5xx(
    hostile_node: HostileNode,
    boundary: str,
    declared: str | None,
    parts: list[tuple[str, object, str, bytes]],
    close: bool,
    content_type: str,
    key: str | None,
) -> None:
    target: Target = hostile_node.target
    body = _multipart(boundary, parts, close)
    ctype = f'{content_type}; boundary="{declared if declared is not None else boundary}"'
    extra = [("Idempotency-Key", key)] if key else []
    request = http_request(
        target,
        "POST",
        f"/api/families/{target.family_id}/items",
        body,
        who=target.parent,
        content_type=ctype if content_type else None,
        extra=extra,
    )
    status = status_of(exchange(hostile_node.node.port, request))
    assert 200 <= status < 300 or 400 <= status < 500, status
    assert status not in (401, 403)
    assert hostile_node.node.alive


# --- signalling frames against the real node ------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
MESSAGES = st.dictionaries(
    st.sampled_from(["type", "sdp", "text", "reason"]) | st.text(max_size=8),
    st.sampled_from(["offer", "admit", "warn", "end", "note", "stop-request", "pause"])
    | JSON_VALUES,
    max_size=4,
).map(json.dumps)
FRAMES = MESSAGES | JSON_VALUES.map(json.dumps) | st.text(max_size=300) | st.binary(max_size=300)
# Codes a hostile frame may close with: our schema (4400), our role check (4403), aiohttp's own
# refusal of a frame that is not valid UTF-8 text (1007).
CLEAN_CLOSES = {4400, 4403, 1007}


@FUZZ
@given(frame=FRAMES)
async def test_random_signalling_frames_close_cleanly_with_a_reason(
    hostile_node: HostileNode, frame: str | bytes
) -> None:
    async with aiohttp.ClientSession() as http:
        ws = await join_as_parent(http, hostile_node)
        if isinstance(frame, bytes):
            await ws.send_bytes(frame)
        else:
            await ws.send_str(frame)
        reason = ""
        async with asyncio.timeout(CLOSE_WITHIN):
            while True:
                msg = await ws.receive()
                if msg.type is aiohttp.WSMsgType.CLOSE:
                    reason = str(msg.extra or "")
                if msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                    break
        assert ws.close_code in CLEAN_CLOSES, (frame, ws.close_code, reason)
        assert reason, (frame, ws.close_code)
    assert hostile_node.node.alive
