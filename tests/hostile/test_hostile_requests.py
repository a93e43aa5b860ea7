"""Every case of the hostile corpus gets a clean 4xx; the node stays up and stores nothing."""

from __future__ import annotations

import pytest

from tests.support.hostile import HostileNode, exchange, status_of
from tests.support.hostile_corpus import Case, hostile_requests

pytestmark = pytest.mark.slow

CASES = hostile_requests()


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
