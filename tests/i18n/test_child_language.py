"""The child's screens follow the child's language set on the family, not the device's account."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from service.appkeys import SESSIONMAKER
from storage.models import Family
from tests.support.letterbox_world import make_world, start_opening_session


def _settings(csrf: str, language: str) -> list[tuple[str, str]]:
    """The whole settings form as the page sends it, with the child's language changed."""
    channels = [("channels", c) for c in ("letters", "photos", "gifts", "video")]
    return [
        ("csrf_token", csrf),
        ("contact_level", "supported"),
        *channels,
        ("status", "active"),
        ("child_language", language),
    ]


async def test_the_admin_sets_the_childs_language_and_the_child_view_follows_it(
    client: TestClient,
) -> None:
    world = await make_world(client)
    page = await (
        await client.get(
            f"/admin/families/{world.family_id}", headers=world.admin.headers(Accept="text/html")
        )
    ).text()
    assert 'name="child_language" value="en"' in page and "Cymraeg" in page
    saved = await client.post(
        f"/admin/families/{world.family_id}/settings",
        data=_settings(world.admin.csrf, "cy"),
        headers=world.admin.headers(Accept="text/html"),
        allow_redirects=False,
    )
    assert saved.status == 303, await saved.text()
    async with client.server.app[SESSIONMAKER]() as session:
        family = await session.get(Family, world.family_id)
        assert family is not None and family.child_language == "cy"
    session_id, device = await start_opening_session(client, world)
    child = await client.get(
        f"/child/sessions/{session_id}",
        headers=device.headers(Accept="text/html", **{"Accept-Language": "en-GB"}),
    )
    assert child.status == 200
    assert '<html lang="cy">' in await child.text()
    # The same member of staff's own pages stay in their own language.
    staff_page = await client.get("/staff", headers=world.staff.headers(Accept="text/html"))
    assert '<html lang="en-GB">' in await staff_page.text()


async def test_an_unknown_child_language_is_refused_and_nothing_changes(client: TestClient) -> None:
    world = await make_world(client)
    refused = await client.post(
        f"/admin/families/{world.family_id}/settings",
        data=_settings(world.admin.csrf, "xx"),
        headers=world.admin.headers(Accept="text/html"),
        allow_redirects=False,
    )
    assert refused.status == 422
    async with client.server.app[SESSIONMAKER]() as session:
        family = await session.get(Family, world.family_id)
        assert family is not None and family.child_language == "en"
