"""The moderation queue a support worker reads (whose, from whom, waiting against the centre's
working-day target, flags, first words, who is reviewing) and its filters; claims and
explicit take-overs; the once-a-day late notice; and the same through the JSON API with
family search. Everything through the real app on both databases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from service.api.routes import OPENAPI_PATH, PREFIX
from service.appkeys import KEYRING, SETTINGS
from service.letterbox.queue import late_items_job, working_deadline
from service.services import Services
from storage.children import ReferralDetails, seal_referral_with_key
from storage.models import Family, Item, ItemClaim, ItemStatus, Referral, User
from tests.support.letterbox_world import (
    Person,
    World,
    letter_form,
    make_world,
    send_letter,
    start_opening_session,
)
from tests.support.seeding import seeding_sessionmaker

LONDON = ZoneInfo("Europe/London")


def test_the_waiting_target_skips_saturdays_and_sundays() -> None:
    friday_evening = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
    # Two working days after Friday evening: Monday, then Tuesday evening.
    assert working_deadline(friday_evening, 2, LONDON) == datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
    monday_morning = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    assert working_deadline(monday_morning, 1, LONDON) == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


async def _letter(client: TestClient, world: World, text: str) -> uuid.UUID:
    status, body = await send_letter(client, world, text)
    assert status == 201, body
    return uuid.UUID(body["item_id"])


async def _age(client: TestClient, item_id: uuid.UUID, days: int) -> None:
    async with seeding_sessionmaker(client.server.app).begin() as session:
        await session.execute(
            update(Item)
            .where(Item.id == item_id)
            .values(submitted_at=datetime.now(UTC) - timedelta(days=days))
        )


async def _queue(
    client: TestClient, world: World, query: str = "", person: Person | None = None
) -> dict:  # type: ignore[type-arg]
    who = person or world.staff
    response = await client.get(f"{PREFIX}/moderation/queue{query}", headers=who.headers())
    assert response.status == 200, await response.text()
    return await response.json()  # type: ignore[no-any-return]


async def test_queue_rows_say_whose_from_whom_and_how_it_starts(client: TestClient) -> None:
    world = await make_world(client)
    item_id = await _letter(client, world, "Dear Sam, the garden is full of sunflowers now. Dad")
    page = await _queue(client, world)
    (row,) = page["rows"]
    assert row["item_id"] == str(item_id)
    assert row["child_name"] == "Sam" and row["sender"] == "Parent"
    assert row["first_words"].startswith("Dear Sam, the garden is full")
    assert row["late"] is False and page["target_days"] == 2
    html = await (
        await client.get("/staff/moderation", headers=world.staff.headers(Accept="text/html"))
    ).text()
    assert "Dear Sam, the garden is full" in html and "Parent" in html


async def test_queue_filters_flagged_and_late_and_family(client: TestClient) -> None:
    world = await make_world(client)
    other = await make_world(client, centre_id=world.centre_id)
    plain = await _letter(client, world, "Dear Sam, see you soon. Dad")
    flagged = await _letter(client, world, "Dear Sam, call me on 07700 900123. Dad")
    elsewhere = await _letter(client, other, "Dear Sam, hello from the other family. Mum")
    await _age(client, plain, 6)

    rows = (await _queue(client, world, "?flagged=1"))["rows"]
    assert [r["item_id"] for r in rows] == [str(flagged)]
    assert rows[0]["flags"] >= 1
    late = await _queue(client, world, "?late=true")
    assert [r["item_id"] for r in late["rows"]] == [str(plain)]
    assert late["rows"][0]["late"] is True
    mine = await _queue(client, world, f"?family_id={other.family_id}")
    assert [r["item_id"] for r in mine["rows"]] == [str(elsewhere)]
    bad = await client.get(f"{PREFIX}/moderation/queue?late=maybe", headers=world.staff.headers())
    assert bad.status == 422 and "late" in (await bad.json())["message"]


async def test_the_admin_sets_the_waiting_target(client: TestClient) -> None:
    world = await make_world(client)
    item_id = await _letter(client, world, "Dear Sam, hello. Dad")
    await _age(client, item_id, 8)
    assert (await _queue(client, world))["rows"][0]["late"] is True
    form = await client.post(
        "/admin/moderation-target",
        data={"working_days": "10", "csrf_token": world.admin.csrf},
        headers={**world.admin.headers(), "Accept": "text/html"},
        allow_redirects=False,
    )
    assert form.status == 303, await form.text()
    page = await _queue(client, world)
    assert page["target_days"] == 10 and page["rows"][0]["late"] is False
    refused = await client.post(
        "/admin/moderation-target",
        data={"working_days": "0", "csrf_token": world.admin.csrf},
        headers={**world.admin.headers(), "Accept": "text/html"},
    )
    assert refused.status == 422 and "from 1 to 10" in await refused.text()
    staff = await client.post(
        "/admin/moderation-target",
        data={"working_days": "3", "csrf_token": world.staff.csrf},
        headers=world.staff.headers(),
    )
    assert staff.status == 403


async def test_opening_claims_and_a_colleague_takes_over_only_explicitly(
    client: TestClient,
) -> None:
    world = await make_world(client)
    item_id = await _letter(client, world, "Dear Sam, hello. Dad")
    claim = f"{PREFIX}/moderation/items/{item_id}/claim"
    first = await (await client.post(claim, headers=world.staff.headers())).json()
    assert first["mine"] is True
    second = await (await client.post(claim, headers=world.staff2.headers())).json()
    assert second["mine"] is False and second["claim"]["moderator_name"] == "Moderator One"
    row = (await _queue(client, world, person=world.staff2))["rows"][0]
    assert row["claimed_by"] == "Moderator One" and row["claimed_by_me"] is False
    assert (await _queue(client, world))["rows"][0]["claimed_by_me"] is True

    # Moderator Two cannot decide while Moderator One holds it.
    view = await (
        await client.get(f"/api/moderation/items/{item_id}", headers=world.staff2.headers())
    ).json()
    refused = await client.post(
        f"/api/moderation/items/{item_id}/decision",
        json={"decision": "return", "version": view["version"], "message": "Please change."},
        headers=world.staff2.headers(),
    )
    assert refused.status == 409
    assert "Moderator One has been reviewing" in (await refused.json())["message"]

    taken = await client.post(
        f"{PREFIX}/moderation/items/{item_id}/take-over", headers=world.staff2.headers()
    )
    assert taken.status == 200
    assert (await taken.json())["history"] == [
        "Moderator Two took this item over from Moderator One."
    ]
    # Now it is Moderator One who is refused, told by whom; nothing was applied.
    late = await client.post(
        f"/api/moderation/items/{item_id}/decision",
        json={"decision": "approve", "version": view["version"]},
        headers=world.staff.headers(),
    )
    assert late.status == 409 and "Moderator Two" in (await late.json())["message"]
    done = await client.post(
        f"/api/moderation/items/{item_id}/decision",
        json={"decision": "return", "version": view["version"], "message": "Please change."},
        headers=world.staff2.headers(),
    )
    assert done.status == 200, await done.text()
    async with Services.of(client.server.app).sessionmaker() as session:
        claims = (
            await session.scalars(select(ItemClaim).where(ItemClaim.item_id == item_id))
        ).all()
        item = await session.get(Item, item_id)
    assert item is not None and item.status is ItemStatus.RETURNED
    assert all(c.released_at is not None for c in claims)
    assert [c.taken_over_from for c in claims if c.taken_over_from] == [world.staff.user_id]


async def test_staff_are_told_once_a_day_when_items_are_late_with_no_content(
    client: TestClient,
) -> None:
    world = await make_world(client)
    item_id = await _letter(client, world, "Dear Sam, the secret word is pineapple. Dad")
    app = client.server.app
    # (The small world's names make addresses with spaces: give them plain ones.)
    async with seeding_sessionmaker(app).begin() as session:
        for person in (world.staff, world.staff2, world.admin):
            await session.execute(
                update(User)
                .where(User.id == person.user_id)
                .values(email=f"{person.user_id.hex}@centre.example")
            )
    outbox = app[SETTINGS].outbox_dir
    before = set(outbox.glob("*.eml")) if outbox.exists() else set()
    await late_items_job(app)
    assert set(outbox.glob("*.eml")) - before == set(), "nothing is late yet"
    await _age(client, item_id, 9)
    await late_items_job(app)
    sent = set(outbox.glob("*.eml")) - before
    # Two moderators and the admin of the centre.
    assert len(sent) == 3
    for eml in sent:
        text = eml.read_text()
        assert "/staff/moderation" in text
        assert "pineapple" not in text and "Sam" not in text
    # A second run the same day (another node, or the next tick) tells no one again.
    await late_items_job(app)
    assert set(outbox.glob("*.eml")) - before == sent


async def test_family_search_finds_by_child_parent_case_and_order_reference(
    client: TestClient,
) -> None:
    world = await make_world(client)
    other = await make_world(client, centre_id=world.centre_id)
    async with seeding_sessionmaker(client.server.app).begin() as session:
        family = await session.get(Family, other.family_id)
        assert family is not None
        session.add(
            Referral(
                centre_id=world.centre_id,
                referrer_kind="solicitor",
                contact_level=family.contact_level,
                channels=["letters"],
                details_sealed=seal_referral_with_key(
                    await client.server.app[KEYRING].family_key(session, family.id),
                    family.id,
                    ReferralDetails(court_order_reference="ZW24C00123"),
                ),
                recorded_by=world.admin.user_id,
                family_id=other.family_id,
            )
        )

    async def found(q: str) -> list[str]:
        response = await client.get(
            f"{PREFIX}/families/search", params={"q": q}, headers=world.staff.headers()
        )
        assert response.status == 200, await response.text()
        return [f["id"] for f in (await response.json())["families"]]

    assert set(await found("sam")) == {str(world.family_id), str(other.family_id)}
    assert await found("zw24c00123") == [str(other.family_id)]
    assert await found("  PARENT  ") != []
    assert await found("nobody-by-this-name") == []
    page = await client.get(
        "/staff/families", params={"q": "ZW24"}, headers=world.staff.headers(Accept="text/html")
    )
    assert "ZW24C00123" in await page.text()


async def test_openapi_documents_the_queue_claim_and_search_with_their_parameters(
    client: TestClient,
) -> None:
    world = await make_world(client)
    document = await (await client.get(OPENAPI_PATH, headers=world.staff.headers())).json()
    queue = document["paths"][f"{PREFIX}/moderation/queue"]["get"]
    assert {p["name"] for p in queue["parameters"]} == {"family_id", "direction", "flagged", "late"}
    assert "post" in document["paths"][f"{PREFIX}/moderation/items/{{item_id}}/claim"]
    assert "post" in document["paths"][f"{PREFIX}/moderation/items/{{item_id}}/take-over"]
    search = document["paths"][f"{PREFIX}/families/search"]["get"]
    assert [p["name"] for p in search["parameters"]] == ["q"]


async def test_a_reply_is_shown_as_the_childs_typed_by_the_staff_member(
    client: TestClient,
) -> None:
    world = await make_world(client)
    session_id, device = await start_opening_session(client, world)
    replied = await client.post(
        f"/api/child/sessions/{session_id}/replies",
        data=letter_form("Hi Dad, I liked the ducks"),
        headers=device.headers(),
    )
    assert replied.status == 201, await replied.text()
    reply_id = (await replied.json())["item_id"]
    (row,) = (await _queue(client, world, person=world.staff2))["rows"]
    assert row["sender"] == "Sam’s reply" and row["direction"] == "to_parent"
    page = await client.get(
        f"/staff/moderation/items/{reply_id}", headers=world.staff2.headers(Accept="text/html")
    )
    assert "Sam’s reply, typed by Moderator One" in await page.text()
