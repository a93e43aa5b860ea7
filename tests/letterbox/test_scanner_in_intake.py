"""The scanner as intake runs it: the family's own first names appear in every letter, so a
word of a sensitive term that is one of them is not flagged alone; the rest of the term is."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.support.letterbox_world import make_world, send_letter


async def _hit_words(client: TestClient, text: str, terms: list[str]) -> list[str]:
    world = await make_world(client, terms=terms)
    _, sent = await send_letter(client, world, text)
    view = await (
        await client.get(f"/api/moderation/items/{sent['item_id']}", headers=world.staff.headers())
    ).json()
    (part,) = [p for p in view["parts"] if p["kind"] == "text"]
    return [hit["matched"] for hit in part["hits"]]


async def test_the_childs_own_name_in_a_sensitive_term_is_not_flagged_alone(
    client: TestClient,
) -> None:
    # The test family's child is Sam; the centre watches for "Sam Hartley" (her old surname).
    words = await _hit_words(client, "Dear Sam, I hope school is fun this week.", ["Sam Hartley"])
    assert words == []


async def test_the_other_words_of_that_term_are_still_flagged(client: TestClient) -> None:
    words = await _hit_words(client, "Dear Sam, Grandma Hartley says hello.", ["Sam Hartley"])
    assert any("Hartley" in word for word in words)
