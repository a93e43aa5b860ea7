"""The family timeline page: every event in order, filters by day and kind, observation
notes inline for supervised families only, and only for the family's own centre staff."""

from __future__ import annotations

import html
import re

from aiohttp.test_utils import TestClient

from service.appkeys import KEYRING, SESSIONMAKER
from service.record.timeline import KIND_GROUPS, Names, describe
from storage.models import ContactLevel, Role
from tests.support.accounts import make_person, session_token, use_session
from tests.support.export_world import NOTE_TEXT, REJECT_REASON, SeededFamily, seed_family

ROWS = re.compile(r'data-kind="([a-z_]+)"')


async def _family(client: TestClient, level: ContactLevel) -> SeededFamily:
    app = client.server.app
    return await seed_family(app[SESSIONMAKER], app[KEYRING], level=level, cycles=2)


async def _sign_in(client: TestClient, role: Role, centre_id: object) -> None:
    person = await make_person(client, role, centre_id)  # type: ignore[arg-type]
    use_session(client, await session_token(client, person))


async def test_timeline_lists_every_event_in_order_with_notes_for_supervised_family(
    client: TestClient,
) -> None:
    family = await _family(client, ContactLevel.SUPERVISED)
    await _sign_in(client, Role.STAFF, family.centre_id)
    response = await client.get(f"/staff/families/{family.family_id}/timeline")
    assert response.status == 200
    page = await response.text()
    kinds = ROWS.findall(page)
    assert len(kinds) == family.events
    assert kinds[0] == "family_created" and kinds[-1] == "call_ended"
    assert page.count(NOTE_TEXT) == family.notes == 4
    assert html.unescape(page).count(REJECT_REASON) == 2
    record_numbers = [int(n) for n in re.findall(r"<td>(\d+)</td>", page)]
    assert record_numbers == sorted(record_numbers) == list(range(1, family.events + 1))


async def test_timeline_filters_by_day_and_kind(client: TestClient) -> None:
    family = await _family(client, ContactLevel.SUPERVISED)
    await _sign_in(client, Role.ADMIN, family.centre_id)
    base = f"/staff/families/{family.family_id}/timeline"

    one_day = await (
        await client.get(base, params={"from": "2025-03-05", "to": "2025-03-05"})
    ).text()
    per_cycle = (family.events - 2) // 2
    assert len(ROWS.findall(one_day)) == per_cycle
    assert "Wed 5 March 2025" in one_day and "Tue 4 March 2025" not in one_day

    calls = await (await client.get(base, params=[("kind", "calls")])).text()
    call_kinds = ROWS.findall(calls)
    assert call_kinds and all(k.startswith("call_") for k in call_kinds)
    assert len(call_kinds) == sum(n for k, n in family.kinds.items() if k.startswith("call_"))

    both = await (
        await client.get(
            base, params=[("kind", "letters"), ("kind", "notes"), ("to", "2025-03-04")]
        )
    ).text()
    found = set(ROWS.findall(both))
    assert "observation_note_added" in found and "item_submitted" in found
    assert not any(k.startswith(("call_", "gift_", "opening_")) for k in found)

    before_anything = await (await client.get(base, params={"to": "2025-03-01"})).text()
    assert ROWS.findall(before_anything) == [] and "No events match." in before_anything


async def test_timeline_refuses_a_bad_date_with_a_clear_message(client: TestClient) -> None:
    family = await _family(client, ContactLevel.SUPPORTED)
    await _sign_in(client, Role.STAFF, family.centre_id)
    response = await client.get(
        f"/staff/families/{family.family_id}/timeline", params={"from": "5 March"}
    )
    assert response.status == 422
    assert "year-month-day" in await response.text()


async def test_supported_family_timeline_shows_no_observation_notes(client: TestClient) -> None:
    family = await _family(client, ContactLevel.SUPPORTED)
    await _sign_in(client, Role.STAFF, family.centre_id)
    page = await (await client.get(f"/staff/families/{family.family_id}/timeline")).text()
    assert len(ROWS.findall(page)) == family.events
    assert "observation_note_added" not in page and NOTE_TEXT not in page
    assert "no observation notes are kept" in page


async def test_parent_and_other_centre_staff_cannot_read_the_timeline(client: TestClient) -> None:
    family = await _family(client, ContactLevel.SUPERVISED)
    path = f"/staff/families/{family.family_id}/timeline"
    await _sign_in(client, Role.PARENT, family.centre_id)
    assert (await client.get(path, allow_redirects=False)).status == 403
    other = await _family(client, ContactLevel.SUPERVISED)
    await _sign_in(client, Role.STAFF, other.centre_id)
    response = await client.get(path, allow_redirects=False)
    assert response.status == 404
    assert NOTE_TEXT not in await response.text()


def test_a_lapsed_admission_reads_as_why_the_parent_waits_again() -> None:
    names = Names()
    left = describe("call_admission_lapsed", {"why": "parent_left"}, "the system", names)
    assert left == (
        "The parent's admission lapsed because the parent left the call: they wait for the "
        "supervisor again before reaching the child."
    )
    again = describe("call_admission_lapsed", {"why": "parent_rejoined"}, "the system", names)
    assert "joined again from another window" in again
    assert "call_admission_lapsed" in KIND_GROUPS["calls"][1]
