"""The parent's side from the outside: the home as the hub, each sent item's page with its
history, a returned letter changed and sent again, replies on their own page, one wording per
state everywhere, drafts that survive (and are refused plainly), the centre's contact details."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from service.appkeys import KEYRING, SESSIONMAKER, SETTINGS
from service.http.sessions import token_hash
from service.statuses import CALL_WORDS, PARENT_WORDS, REPLY_WORDS, ParentStatus
from storage.models import (
    Call,
    Centre,
    Family,
    FamilyStatus,
    Item,
    ItemStatus,
    ParentDraft,
    RecordEvent,
    WebSession,
)
from tests.support.letterbox_world import (
    World,
    letter_form,
    make_world,
    picture,
    send_letter,
    start_opening_session,
)
from tests.support.seeding import seeding_sessionmaker

HTML = {"Accept": "text/html"}
# Words no parent page may show: staff vocabulary and the old name of "Being checked".
STAFF_WORDS = ("In review", "in review", "Awaiting second", "safeguarding", "Moderator")


async def _decide(
    client: TestClient, world: World, item_id: str, decision: str, **extra: Any
) -> None:
    view = await (
        await client.get(f"/api/moderation/items/{item_id}", headers=world.staff.headers())
    ).json()
    response = await client.post(
        f"/api/moderation/items/{item_id}/decision",
        json={"decision": decision, "version": view["version"], **extra},
        headers=world.staff.headers(),
    )
    assert response.status == 200, await response.text()


async def _page(client: TestClient, world: World, path: str) -> str:
    response = await client.get(path, headers=world.parent.headers(**HTML))
    assert response.status == 200, (path, response.status)
    return await response.text()


async def _reply(client: TestClient, world: World, text: str) -> str:
    session_id, device = await start_opening_session(client, world)
    replied = await client.post(
        f"/api/child/sessions/{session_id}/replies",
        data=letter_form(text, [("drawing.png", picture())]),
        headers=device.headers(),
    )
    assert replied.status == 201, await replied.text()
    reply_id = str((await replied.json())["item_id"])
    # The staff member who typed the reply may not approve it: the second moderator does.
    view = await (
        await client.get(f"/api/moderation/items/{reply_id}", headers=world.staff2.headers())
    ).json()
    approved = await client.post(
        f"/api/moderation/items/{reply_id}/decision",
        json={"decision": "approve", "version": view["version"]},
        headers=world.staff2.headers(),
    )
    assert approved.status == 200, await approved.text()
    return reply_id


async def test_home_is_the_hub_with_write_photos_and_one_conversation_newest_first(
    client: TestClient,
) -> None:
    world = await make_world(client)
    _, first = await send_letter(client, world, "Hello Sam, first letter")
    reply_id = await _reply(client, world, "Thank you Dad")
    _, second = await send_letter(client, world, "Hello again Sam")

    home = await _page(client, world, "/letterbox")
    assert f'href="/families/{world.family_id}/letterbox">Write a letter</a>' in home
    assert "Send photos" in home
    assert 'href="/calls">My calls</a>' in home
    links = re.findall(r'href="/letterbox/items/([0-9a-f-]{36})"', home)
    # One list, newest first: the second letter, the child's reply, the first letter.
    assert links == [second["item_id"], reply_id, first["item_id"]]
    assert "Reply from Sam" in home
    assert home.count(PARENT_WORDS[ParentStatus.BEING_CHECKED].words) >= 2
    for word in STAFF_WORDS:
        assert word not in home


async def test_no_photos_button_when_the_family_has_no_photo_channel(client: TestClient) -> None:
    world = await make_world(client)
    async with seeding_sessionmaker(world.app).begin() as session:
        await session.execute(
            update(Family).where(Family.id == world.family_id).values(channels=["letters"])
        )
    home = await _page(client, world, "/letterbox")
    assert "Write a letter" in home and "Send photos" not in home
    page = await _page(client, world, f"/families/{world.family_id}/letterbox")
    assert 'type="file"' not in page


async def test_sent_item_page_shows_own_words_pictures_and_dated_history_only(
    client: TestClient,
) -> None:
    world = await make_world(client, terms=["Greenfield"])
    status, sent = await send_letter(
        client, world, "Hope Greenfield is fun", [("cat.png", picture())]
    )
    assert status == 201
    item_id = sent["item_id"]
    page = await _page(client, world, f"/letterbox/items/{item_id}")
    assert "Hope Greenfield is fun" in page
    assert "Being checked" in page and "Sent" in page
    for staff_only in ("sensitive", "GPS", "hits", "Moderator", "In review"):
        assert staff_only not in page
    (src,) = re.findall(r'src="(/letterbox/items/[^"]+/pictures/[^"]+)"', page)
    shown = await client.get(src, headers=world.parent.headers())
    assert shown.status == 200 and shown.content_type.startswith("image/")
    assert shown.headers["Content-Disposition"].startswith("inline")

    await _decide(
        client,
        world,
        item_id,
        "approve_with_redactions",
        redactions={"text": [[5, 15]], "images": {}},
    )
    page = await _page(client, world, f"/letterbox/items/{item_id}")
    steps = re.findall(
        r'<li data-step="([a-z_]+)"><strong>([^<]+)</strong> · <time datetime="([^"]+)"', page
    )
    assert [s[0] for s in steps] == ["sent", "being_checked", "approved"]
    assert all(datetime.fromisoformat(s[2]).tzinfo is not None for s in steps)

    # Another parent's item, or a picture of someone else's item, answers "not found".
    other = await make_world(client, centre_id=world.centre_id)
    assert (
        await client.get(f"/letterbox/items/{item_id}", headers=other.parent.headers(**HTML))
    ).status == 404
    assert (await client.get(src, headers=other.parent.headers())).status == 404


async def test_returned_letter_changed_and_sent_again_links_both_in_the_record(
    client: TestClient,
) -> None:
    world = await make_world(client)
    _, sent = await send_letter(client, world, "See you at the park", [("cat.png", picture())])
    old_id = sent["item_id"]
    await _decide(client, world, old_id, "return", message="Please leave out where you meet.")

    page = await _page(client, world, f"/letterbox/items/{old_id}")
    # The centre's message comes first, before what was sent.
    assert page.index("Please leave out where you meet.") < page.index("See you at the park")
    assert PARENT_WORDS[ParentStatus.RETURNED].words in page
    form_link = f"/families/{world.family_id}/letterbox?replaces={old_id}"
    assert f'href="{form_link}">Change and send again</a>' in page

    form_page = await _page(client, world, form_link)
    assert ">See you at the park</textarea>" in form_page
    (keep,) = re.findall(r'name="keep_0" value="([0-9a-f-]{36})" checked', form_page)

    form = letter_form("See you soon")
    form.add_field("keep_0", keep)
    resent = await client.post(
        f"/api/families/{world.family_id}/items?replaces={old_id}",
        data=form,
        headers=world.parent.headers(),
    )
    assert resent.status == 201, await resent.text()
    body = await resent.json()
    new_id = body["item_id"]
    assert [p["kind"] for p in body["parts"]] == ["text", "image"]  # the kept picture came along

    async with world.app[SESSIONMAKER]() as session:
        new = await session.get(Item, uuid.UUID(new_id))
        assert new is not None and str(new.replaces_item_id) == old_id
        kinds = (
            await session.scalars(
                select(RecordEvent.kind)
                .where(RecordEvent.family_id == world.family_id)
                .order_by(RecordEvent.family_seq)
            )
        ).all()
    assert kinds.count("item_returned") == 1 and kinds.count("item_submitted") == 2

    old_page = await _page(client, world, f"/letterbox/items/{old_id}")
    assert (
        f'href="/letterbox/items/{new_id}"' in old_page and "Change and send again" not in old_page
    )
    assert f'href="/letterbox/items/{old_id}"' in await _page(
        client, world, f"/letterbox/items/{new_id}"
    )

    # Sent again once: a second try is refused in words, and nothing is added.
    again = await client.post(
        f"/api/families/{world.family_id}/items?replaces={old_id}",
        data=letter_form("Again"),
        headers=world.parent.headers(),
    )
    assert again.status == 409 and "already" in (await again.json())["message"]
    # A letter that was not returned cannot be "sent again".
    not_returned = await client.post(
        f"/api/families/{world.family_id}/items?replaces={new_id}",
        data=letter_form("Again"),
        headers=world.parent.headers(),
    )
    assert not_returned.status == 409


async def test_reply_opens_on_its_own_page_with_text_and_pictures(client: TestClient) -> None:
    world = await make_world(client)
    reply_id = await _reply(client, world, "I drew a cat for you")
    page = await _page(client, world, f"/letterbox/items/{reply_id}")
    assert "Reply from Sam" in page and "I drew a cat for you" in page
    (src,) = re.findall(r'<img class="reply-picture" src="([^"]+)"', page)
    shown = await client.get(src, headers=world.parent.headers())
    assert shown.status == 200 and shown.headers["Content-Disposition"].startswith("inline")
    assert "Save picture 1 to your phone" in page


async def test_every_state_has_one_wording_on_every_page_email_and_the_api(
    client: TestClient,
) -> None:
    world = await make_world(client)
    items: dict[ItemStatus, str] = {}
    for status in ItemStatus:
        _, sent = await send_letter(client, world, f"Letter {status.value}")
        items[status] = sent["item_id"]
    async with seeding_sessionmaker(world.app).begin() as session:
        for status, item_id in items.items():
            values: dict[str, Any] = {"status": status, "decided_at": datetime.now(UTC)}
            if status is ItemStatus.OPENED:
                values["opened_at"] = datetime.now(UTC)
            await session.execute(update(Item).where(Item.id == uuid.UUID(item_id)).values(values))
    home = await _page(client, world, "/letterbox")
    for status, item_id in items.items():
        expected = PARENT_WORDS[_parent(status)].words
        page = await _page(client, world, f"/letterbox/items/{item_id}")
        (shown,) = re.findall(r'class="status [a-z]*" data-status="[a-z_]+">([^<]+)<', page)
        assert shown.startswith(expected), (status, shown)
        row = home[home.index(f"/letterbox/items/{item_id}") :]
        assert re.search(r'data-status="[a-z_]+">([^<]+)<', row).group(1).startswith(expected)  # type: ignore[union-attr]
        api = await (
            await client.get(f"/api/items/{item_id}", headers=world.parent.headers())
        ).json()
        assert api["status"] == _parent(status).value and api["status_text"].startswith(expected)
        for word in STAFF_WORDS:
            assert word not in page
    # The e-mails name states with the same words.
    renderer = world.app  # the outbox mailer writes .eml files
    outbox = renderer[SETTINGS].outbox_dir
    await _decide_fresh(client, world, "approve")
    await _decide_fresh(client, world, "return", message="Please change it.")
    bodies = [
        message_from_bytes(p.read_bytes()).get_payload(decode=True).decode()  # type: ignore[union-attr]
        for p in sorted(outbox.glob("*.eml"))
    ]
    assert any(f'"{PARENT_WORDS[ParentStatus.APPROVED].words}"' in b for b in bodies)
    assert any(f'"{PARENT_WORDS[ParentStatus.RETURNED].words}"' in b for b in bodies)
    # One wording per state: no two states share words.
    words = [w.words for w in PARENT_WORDS.values()] + [REPLY_WORDS.words]
    assert len(set(words)) == len(words)
    assert len(set(CALL_WORDS.values())) == len(CALL_WORDS)


def _parent(status: ItemStatus) -> ParentStatus:
    return {
        ItemStatus.APPROVED: ParentStatus.APPROVED,
        ItemStatus.OPENED: ParentStatus.OPENED,
        ItemStatus.RETURNED: ParentStatus.RETURNED,
        ItemStatus.REJECTED: ParentStatus.NOT_PASSED_ON,
    }.get(status, ParentStatus.BEING_CHECKED)


async def _decide_fresh(client: TestClient, world: World, decision: str, **extra: Any) -> None:
    _, sent = await send_letter(client, world, f"For {decision}")
    await _decide(client, world, sent["item_id"], decision, **extra)


async def test_a_held_or_unknown_state_reads_being_checked() -> None:
    from service.statuses import parent_words

    for held in ("awaiting_second_approval", "held_safeguarding", "held_frequency", "anything"):
        assert parent_words(held).words == "Being checked"


async def test_draft_survives_sealed_and_is_the_writing_page_after_signing_in_again(
    client: TestClient,
) -> None:
    world = await make_world(client)
    words = "Dear Sam, I have been thinking about you all week."
    saved = await client.put(
        f"/api/families/{world.family_id}/draft",
        json={"text": words},
        headers=world.parent.headers(),
    )
    assert saved.status == 200, await saved.text()
    async with world.app[SESSIONMAKER]() as session:
        row = await session.scalar(select(ParentDraft))
        assert row is not None and words.encode() not in row.text_sealed
    page = await _page(client, world, f"/families/{world.family_id}/letterbox")
    assert f">{words}</textarea>" in page and "We kept the letter you were writing" in page
    assert "Carry on writing it" in await _page(client, world, "/letterbox")
    # Sending the letter discards the draft.
    assert (await send_letter(client, world, words))[0] == 201
    assert (
        await (
            await client.get(
                f"/api/families/{world.family_id}/draft", headers=world.parent.headers()
            )
        ).json()
    )["draft"] is None


async def test_draft_over_the_letter_limit_is_refused_naming_the_limit_and_keeps_the_last(
    client: TestClient,
) -> None:
    world = await make_world(client)
    limit = world.app[SETTINGS].intake.max_text_chars
    url = f"/api/families/{world.family_id}/draft"
    assert (
        await client.put(url, json={"text": "Kept words"}, headers=world.parent.headers())
    ).status == 200
    refused = await client.put(
        url, json={"text": "x" * (limit + 1)}, headers=world.parent.headers()
    )
    assert refused.status == 413
    body = await refused.json()
    assert body["field"] == "text" and f"{limit:,}" in body["message"]
    kept = await (await client.get(url, headers=world.parent.headers())).json()
    assert kept["draft"]["text"] == "Kept words"


async def test_draft_for_a_paused_or_closed_family_cannot_be_sent_and_says_why(
    client: TestClient,
) -> None:
    world = await make_world(client)
    url = f"/api/families/{world.family_id}/draft"
    for status, why in ((FamilyStatus.PAUSED, "paused"), (FamilyStatus.CLOSED, "ended")):
        async with seeding_sessionmaker(world.app).begin() as session:
            await session.execute(
                update(Family).where(Family.id == world.family_id).values(status=status)
            )
        saved = await client.put(url, json={"text": "Still mine"}, headers=world.parent.headers())
        draft = (await saved.json())["draft"]
        assert draft["may_send"] is False and why in draft["why_not"]
        page = await _page(client, world, f"/families/{world.family_id}/letterbox")
        assert ">Still mine</textarea>" in page and why in page
        assert "Send letter</button>" not in page
        sent_anyway = await client.post(
            f"/api/families/{world.family_id}/items",
            data=letter_form("Still mine"),
            headers=world.parent.headers(),
        )
        assert sent_anyway.status == 409
        # Nothing lost: the draft is still there.
        assert (await (await client.get(url, headers=world.parent.headers())).json())["draft"][
            "text"
        ] == "Still mine"


async def test_saving_a_draft_does_not_count_as_activity_for_the_idle_timeout(
    client: TestClient,
) -> None:
    world = await make_world(client)
    hashed = token_hash(world.parent.token)
    long_ago = datetime.now(UTC) - timedelta(minutes=30)
    async with seeding_sessionmaker(world.app).begin() as session:
        await session.execute(
            update(WebSession).where(WebSession.token_hash == hashed).values(last_seen_at=long_ago)
        )
    saved = await client.put(
        f"/api/families/{world.family_id}/draft",
        json={"text": "typing"},
        headers=world.parent.headers(**{"Letterbox-Background": "1"}),
    )
    assert saved.status == 200
    async with world.app[SESSIONMAKER]() as session:
        seen = await session.scalar(
            select(WebSession.last_seen_at).where(WebSession.token_hash == hashed)
        )
    assert seen == long_ago
    # An ordinary request ("Stay signed in") does count.
    await client.get(f"/api/families/{world.family_id}/draft", headers=world.parent.headers())
    async with world.app[SESSIONMAKER]() as session:
        seen = await session.scalar(
            select(WebSession.last_seen_at).where(WebSession.token_hash == hashed)
        )
    assert seen is not None and seen > long_ago


async def test_centre_contact_set_by_admin_shows_on_pages_and_in_email_footers(
    client: TestClient,
) -> None:
    world = await make_world(client)
    admin_form = {
        "phone": "0113 496 0000",
        "email": "help@centre.example",
        "opening_hours": "Monday to Friday, 9:00 to 17:00",
    }
    bad = await client.post(
        "/admin/centre",
        data={**admin_form, "phone": "call me maybe", "csrf_token": world.admin.csrf},
        headers={
            **world.admin.headers(**HTML),
            "Content-Type": "application/x-www-form-urlencoded",
        },
        allow_redirects=False,
    )
    assert bad.status == 422 and "phone number" in (await bad.text())
    saved = await client.post(
        "/admin/centre",
        data={**admin_form, "csrf_token": world.admin.csrf},
        headers=world.admin.headers(**HTML),
        allow_redirects=False,
    )
    assert saved.status == 303
    assert (
        'href="/admin/centre"'
        in await (await client.get("/admin", headers=world.admin.headers(**HTML))).text()
    )
    async with world.app[SESSIONMAKER]() as session:
        centre = await session.get(Centre, world.centre_id)
        assert centre is not None and centre.contact_phone == "0113 496 0000"
    for path in ("/letterbox", f"/families/{world.family_id}/letterbox", "/calls"):
        page = await _page(client, world, path)
        assert "0113 496 0000" in page and "help@centre.example" in page and "9:00 to 17:00" in page
    await _decide_fresh(client, world, "approve")
    (eml,) = sorted(world.app[SETTINGS].outbox_dir.glob("*.eml"))
    text = message_from_bytes(eml.read_bytes()).get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert "Phone: 0113 496 0000" in text and "E-mail: help@centre.example" in text


async def test_my_calls_lists_upcoming_and_past_and_join_is_live_from_15_minutes_before(
    client: TestClient,
) -> None:
    world = await make_world(client)
    now = datetime.now(UTC)
    async with seeding_sessionmaker(world.app).begin() as session:
        soon = Call(
            family_id=world.family_id,
            child_id=world.child_id,
            supervisor_id=world.staff.user_id,
            scheduled_by=world.admin.user_id,
            starts_at=now + timedelta(minutes=10),
            ends_at=now + timedelta(minutes=40),
        )
        later = Call(
            family_id=world.family_id,
            child_id=world.child_id,
            supervisor_id=world.staff.user_id,
            scheduled_by=world.admin.user_id,
            starts_at=now + timedelta(days=2),
            ends_at=now + timedelta(days=2, minutes=30),
        )
        past = Call(
            family_id=world.family_id,
            child_id=world.child_id,
            supervisor_id=world.staff.user_id,
            scheduled_by=world.admin.user_id,
            starts_at=now - timedelta(days=2),
            ends_at=now - timedelta(days=2) + timedelta(minutes=30),
            status="ended",
            end_reason="missed",
        )
        session.add_all([soon, later, past])
    home = await _page(client, world, "/letterbox")
    assert f'href="/calls/{soon.id}/join">Join the call</a>' in home
    page = await _page(client, world, "/calls")
    assert f'<p><a class="button primary" href="/calls/{soon.id}/join">' in page
    # A later call's button is in the page, hidden until its moment (home.js reveals it).
    assert f'hidden><a class="button primary" href="/calls/{later.id}/join">' in page
    assert CALL_WORDS[_state("join_now")] in page and CALL_WORDS[_state("booked")] in page
    assert CALL_WORDS[_state("missed")] in page
    assert page.index(str(soon.id)) < page.index(str(later.id)) < page.index(str(past.id))
    assert 'href="/calls"' in page  # the navigation names it too


def _state(value: str) -> Any:
    from service.statuses import CallState

    return CallState(value)


async def test_every_page_of_the_parents_journeys_is_reached_by_links_from_home(
    client: TestClient,
) -> None:
    world = await make_world(client)
    _, approved = await send_letter(client, world, "Hello Sam", [("cat.png", picture())])
    await _decide(client, world, approved["item_id"], "approve")
    _, returned = await send_letter(client, world, "See you soon")
    await _decide(client, world, returned["item_id"], "return", message="Please change it.")
    reply_id = await _reply(client, world, "Thank you")
    now = datetime.now(UTC)
    async with seeding_sessionmaker(world.app).begin() as session:
        call = Call(
            family_id=world.family_id,
            child_id=world.child_id,
            supervisor_id=world.staff.user_id,
            scheduled_by=world.admin.user_id,
            starts_at=now + timedelta(minutes=5),
            ends_at=now + timedelta(minutes=35),
        )
        session.add(call)
    await client.put(
        f"/api/families/{world.family_id}/draft",
        json={"text": "Half a letter"},
        headers=world.parent.headers(),
    )

    seen: set[str] = set()
    queue = ["/letterbox"]
    while queue and len(seen) < 200:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        response = await client.get(path, headers=world.parent.headers(**HTML))
        assert response.status == 200, (path, response.status)
        if not response.content_type.startswith("text/html"):
            continue
        for href in re.findall(r'href="(/[^"#]*)"', await response.text()):
            href = href.replace("&amp;", "&")
            if not href.startswith("/static/") and href not in seen:
                queue.append(href)

    family, old = world.family_id, returned["item_id"]
    wanted = {
        "home": "/letterbox",
        "write a letter": f"/families/{family}/letterbox",
        "send photos": f"/families/{family}/letterbox?photos=1",
        "a sent item and its history": f"/letterbox/items/{approved['item_id']}",
        "a returned item": f"/letterbox/items/{old}",
        "change and send again": f"/families/{family}/letterbox?replaces={old}",
        "a reply": f"/letterbox/items/{reply_id}",
        "my calls": "/calls",
        "join a call": f"/calls/{call.id}/join",
        "my account": "/account/password",
    }
    missing = {name: path for name, path in wanted.items() if path not in seen}
    assert missing == {}


async def test_the_parents_side_is_in_the_json_api_and_its_openapi_document(
    client: TestClient,
) -> None:
    world = await make_world(client)
    _, sent = await send_letter(client, world, "Hello Sam", [("cat.png", picture())])
    await _decide(client, world, sent["item_id"], "approve")
    reply_id = await _reply(client, world, "Thank you")
    api = "/api/v1"
    headers = world.parent.headers()

    listed = await (
        await client.get(f"{api}/families/{world.family_id}/conversation", headers=headers)
    ).json()
    assert [e["item_id"] for e in listed] == [reply_id, sent["item_id"]]
    assert listed[0]["title"] == "Reply from Sam"
    assert listed[1]["status"] == "approved" and listed[1]["status_text"] == "Approved"

    history = await (
        await client.get(f"{api}/items/{sent['item_id']}/history", headers=headers)
    ).json()
    assert history["text"] == "Hello Sam" and len(history["pictures"]) == 1
    assert [s["status"] for s in history["history"]] == ["sent", "being_checked", "approved"]
    reply = await (await client.get(f"{api}/replies/{reply_id}", headers=headers)).json()
    assert reply["text"] == "Thank you" and reply["child_name"] == "Sam"

    draft_url = f"{api}/families/{world.family_id}/draft"
    assert (await client.get(draft_url, headers=headers)).status == 404
    saved = await client.put(draft_url, json={"text": "Half a letter"}, headers=headers)
    assert saved.status == 200 and (await saved.json())["text"] == "Half a letter"
    limit = world.app[SETTINGS].intake.max_text_chars
    too_long = await client.put(draft_url, json={"text": "y" * (limit + 1)}, headers=headers)
    assert too_long.status == 413 and f"{limit:,}" in (await too_long.json())["message"]
    assert (await (await client.get(draft_url, headers=headers)).json())["text"] == "Half a letter"
    assert (await client.delete(draft_url, headers=headers)).status == 204

    calls = await client.get(f"{api}/calls/mine", headers=headers)
    assert calls.status == 200 and await calls.json() == []

    # Staff do not read a parent's conversation; another family's parent gets "not found".
    staff = await client.get(
        f"{api}/families/{world.family_id}/conversation", headers=world.staff.headers()
    )
    assert staff.status == 403
    other = await make_world(client, centre_id=world.centre_id)
    foreign = await client.get(
        f"{api}/items/{sent['item_id']}/history", headers=other.parent.headers()
    )
    assert foreign.status == 404

    document = await (await client.get(f"{api}/openapi.json", headers=headers)).json()
    for path in (
        "/api/v1/families/{family_id}/conversation",
        "/api/v1/items/{item_id}/history",
        "/api/v1/replies/{item_id}",
        "/api/v1/families/{family_id}/draft",
        "/api/v1/calls/mine",
        "/api/v1/centre/contact",
    ):
        assert path in document["paths"], path


async def test_a_draft_of_a_crypto_shredded_family_is_gone_and_the_home_still_opens(
    client: TestClient,
) -> None:
    world = await make_world(client)
    url = f"/api/families/{world.family_id}/draft"
    assert (
        await client.put(url, json={"text": "Unsent"}, headers=world.parent.headers())
    ).status == 200
    async with seeding_sessionmaker(world.app).begin() as session:
        await world.app[KEYRING].shred(session, world.family_id)
    home = await _page(client, world, "/letterbox")
    assert "Carry on writing it" not in home
    assert (await (await client.get(url, headers=world.parent.headers())).json())["draft"] is None
