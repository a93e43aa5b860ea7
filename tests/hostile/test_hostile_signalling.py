"""Hostile frames on the call signalling socket: each closes the socket with a code and a
reason a person can read; the node stays up and the call's other state is untouched."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

import aiohttp
import pytest

from tests.support.hostile import CLOSE_WITHIN, HostileNode, join_as_parent

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Frame:
    name: str
    data: str | bytes
    code: int
    reason: str  # a fragment the close reason must contain ("" for protocol-level closes)


def _offer(sdp: object) -> str:
    return json.dumps({"type": "offer", "sdp": sdp})


FRAMES = [
    Frame("text-not-json", "hello there", 4400, "not JSON"),
    Frame("binary-frame", b"\x00\x01\x02binary", 4400, "JSON text"),
    Frame("json-array", "[1, 2]", 4400, "JSON object"),
    Frame("json-number", "42", 4400, "JSON object"),
    Frame("json-null", "null", 4400, "JSON object"),
    Frame("unknown-type", '{"type": "hack"}', 4400, "unknown message type"),
    Frame("type-not-text", '{"type": 1}', 4400, "unknown message type"),
    Frame("type-with-nul", '{"type": "offer\\u0000"}', 4400, "unknown message type"),
    Frame("offer-without-sdp", '{"type": "offer"}', 4400, "offer takes exactly"),
    Frame(
        "offer-with-foreign-candidate",
        '{"type": "offer", "sdp": "v=0", "candidate": "203.0.113.9"}',
        4400,
        "offer takes exactly",
    ),
    Frame("offer-sdp-not-text", _offer({"v": 0}), 4400, "must be text"),
    Frame("sdp-garbage", _offer("this is not a session description"), 4400, ""),
    Frame("sdp-lone-surrogate", '{"type": "offer", "sdp": "\\ud800"}', 4400, ""),
    Frame(
        "sdp-garbage-60kb",
        _offer("v=0\r\n" + "a=candidate:garbage " * 3000),
        4400,
        "",
    ),
    Frame(
        "sdp-without-media",
        _offer("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"),
        4400,
        "",
    ),
    Frame("json-nested-60000-deep", "[" * 30_000 + "]" * 30_000, 4400, "not JSON"),
    Frame("oversized-100kb", _offer("x" * 100_000), 4400, "larger than"),
    Frame("oversized-1mb", _offer("x" * 1_000_000), 1009, ""),
    Frame("parent-tries-admit", '{"type": "admit"}', 4403, "only the supervisor"),
    Frame("parent-tries-end", '{"type": "end", "reason": "ended"}', 4403, "only the supervisor"),
    Frame("parent-tries-note", '{"type": "note", "text": "hi"}', 4403, "only the supervisor"),
    Frame("parent-tries-stop", '{"type": "stop-request"}', 4403, "only the child"),
]


@pytest.mark.parametrize("frame", FRAMES, ids=[f.name for f in FRAMES])
async def test_hostile_signalling_frame_closes_the_socket_with_a_reason(
    hostile_node: HostileNode, frame: Frame
) -> None:
    async with aiohttp.ClientSession() as http:
        ws = await join_as_parent(http, hostile_node)
        if isinstance(frame.data, bytes):
            await ws.send_bytes(frame.data)
        else:
            await ws.send_str(frame.data)
        reason = ""
        async with asyncio.timeout(CLOSE_WITHIN):  # never a hung socket
            while True:
                msg = await ws.receive()
                if msg.type is aiohttp.WSMsgType.CLOSE:
                    reason = str(msg.extra or "")
                if msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                    break
                if msg.type is aiohttp.WSMsgType.TEXT:
                    assert json.loads(msg.data)["type"] != "answer", "garbage was answered"
        assert ws.close_code == frame.code, (ws.close_code, reason)
        if frame.code >= 4000:
            assert reason and frame.reason in reason, reason
    assert hostile_node.node.alive
    assert hostile_node.healthz() == 200


def test_the_signalling_corpus_has_at_least_twenty_frames() -> None:
    assert len(FRAMES) >= 20
