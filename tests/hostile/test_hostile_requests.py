"""Every case of the hostile corpus gets a clean 4xx; the node stays up and stores nothing."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import pytest

from tests.hostile.conftest import HostileNode
from tests.hostile.corpus import Case, hostile_requests

pytestmark = pytest.mark.slow

CASES = hostile_requests()
ANSWER_WITHIN = 60.0


def exchange(port: int, request: bytes) -> bytes:
    """Send ``request`` while reading the answer: a server may answer (and close) before it
    has read a hostile body, and that answer must not be lost to a reset."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=ANSWER_WITHIN)

    def send() -> None:
        # The server may stop reading a hostile body: its answer is what counts. No half-close
        # after sending: aiohttp takes EOF as the client gone.
        with contextlib.suppress(OSError):
            sock.sendall(request)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    received = bytearray()
    deadline = time.monotonic() + ANSWER_WITHIN
    try:
        while time.monotonic() < deadline:
            try:
                piece = sock.recv(65536)
            except ConnectionResetError:
                break
            if not piece:
                break
            received += piece
            if b"\r\n\r\n" in received and _complete(received):
                break
    finally:
        sock.close()
        sender.join(timeout=ANSWER_WITHIN)
    return bytes(received)


def _complete(received: bytearray) -> bool:
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip())
    return False


def status_of(answer: bytes) -> int:
    # aiohttp's parser answers a request it cannot parse as HTTP/1.0 400 and closes.
    assert answer.startswith((b"HTTP/1.1 ", b"HTTP/1.0 ")), f"no HTTP answer: {answer[:200]!r}"
    return int(answer.split(b" ", 2)[1])


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_request_gets_a_clean_4xx_and_nothing_is_stored(
    hostile_node: HostileNode, case: Case
) -> None:
    before = hostile_node.stored()
    answer = exchange(hostile_node.node.port, case.build(hostile_node.target))
    status = status_of(answer)
    body = answer.partition(b"\r\n\r\n")[2]
    assert 400 <= status < 500, f"{case.name} ({case.why}): {status} {body[:300]!r}"
    if not case.auth_refusal_ok:
        assert status not in (401, 403), f"{case.name}: the harness's own credentials failed"
    assert b"Traceback" not in body
    assert b"../" not in body and b"\x00" not in body  # a hostile name is never echoed raw
    assert hostile_node.node.alive
    assert hostile_node.healthz() == 200
    assert hostile_node.stored() == before  # no item, no object row, no object file


def test_the_corpus_has_at_least_fifty_cases() -> None:
    assert len(CASES) >= 50
