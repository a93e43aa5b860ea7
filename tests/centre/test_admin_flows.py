"""Centre administration through the real pages: referrals become families with keys and
record events, edits are recorded, problems are shown next to their fields, and only admins
of the family's own centre get in."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from service.appkeys import KEYRING, SESSIONMAKER, SETTINGS
from storage.children import open_children
from storage.models import (
    AccountStatus,
    Child,
    Family,
    FamilyKey,
    FamilySender,
    OneTimeToken,
    RecordEvent,
    Referral,
    ReferralStatus,
    ReferrerAccess,
    Role,
    SensitiveTerm,
    User,
)
from tests.support.centre import (
    REFERRAL_FORM,
    accepted_family,
    admin_of_new_centre,
    all_of,
    one,
    sign_in_as,
)


async def test_accepting_a_referral_creates_family_key_children_and_record_event(
    client: TestClient,
) -> None:
    admin = await admin_of_new_centre(client)
    family_id = await accepted_family(admin)

    family = await one(client, select(Family).where(Family.id == family_id))
    assert re.fullmatch(rf"LB-{datetime.now(UTC).year}-0001", family.case_reference)
    assert family.contact_level.value == "supervised"
    assert await one(client, select(FamilyKey).where(FamilyKey.family_id == family_id))
    rows = await all_of(client, select(Child).where(Child.family_id == family_id))
    assert len(rows) == 1 and b"Zephyrine" not in rows[0].details_sealed  # sealed at rest
    async with client.server.app[SESSIONMAKER]() as session:
        children = await open_children(session, client.server.app[KEYRING], family_ids=[family_id])
    assert [(c.name, c.birth_year) for c in children] == [("Zephyrine", 2017)]
    referral = await one(client, select(Referral).where(Referral.family_id == family_id))
    assert referral.status is ReferralStatus.ACCEPTED
    events = await all_of(client, select(RecordEvent).where(RecordEvent.family_id == family_id))
    # The referring solicitor was given access to the exports in its own recorded change.
    assert [e.kind for e in events] == ["family_created", "referrer_access_granted"]
    # The child's name is in the record only sealed under the family key.
    assert "Zephyrine" not in events[0].payload


async def test_known_risks_are_sealed_at_rest_and_shown_to_the_admin(client: TestClient) -> None:
    admin = await admin_of_new_centre(client)
    response = await admin.form("/admin/referrals", REFERRAL_FORM)
    referral_path = response.headers["Location"].split("?")[0]
    stored = await one(client, select(Referral))
    assert b"St Aldhelm" not in stored.details_sealed
    page = await (await client.get(referral_path)).text()
    assert "St Aldhelm" in page


async def test_case_references_are_unique_and_numbered_in_order(client: TestClient) -> None:
    admin = await admin_of_new_centre(client)
    first = await accepted_family(admin)
    second = await accepted_family(admin, **{"children.0.name": "Noor"})
    refs = [
        await one(client, select(Family.case_reference).where(Family.id == f))
        for f in (first, second)
    ]
    year = datetime.now(UTC).year
    assert refs == [f"LB-{year}-0001", f"LB-{year}-0002"]


async def test_referral_cannot_be_accepted_twice(client: TestClient) -> None:
    admin = await admin_of_new_centre(client)
    await accepted_family(admin)
    referral = await one(client, select(Referral))
    response = await admin.form(f"/admin/referrals/{referral.id}/accept", {})
    assert response.status == 409
    assert len(await all_of(client, select(Family))) == 1


async def test_referral_form_problems_are_shown_next_to_their_fields(client: TestClient) -> None:
    admin = await admin_of_new_centre(client)
    bad = {
        **REFERRAL_FORM,
        "referrer_name": "",
        "referrer_email": "not-an-address",
        "children.0.birth_year": "twenty",
    }
    response = await admin.form("/admin/referrals", bad)
    assert response.status == 422
    page = await response.text()
    for field in ("referrer_name", "referrer_email", "children-0-birth_year"):
        assert f'id="f-referral-{field}-error"' in page, field
        assert re.search(
            rf'id="f-referral-{field}"[^>]*aria-describedby="[^"]*f-referral-{field}-error"', page
        ), field
    # What the admin typed is kept.
    assert 'value="Shah &amp; Co Solicitors"' in page
    assert await all_of(client, select(Referral)) == []


async def test_family_edits_are_saved_and_each_is_a_family_changed_event(
    client: TestClient,
) -> None:
    admin = await admin_of_new_centre(client)
    family_id = await accepted_family(admin)
    base = f"/admin/families/{family_id}"

    settings = [
        ("contact_level", "supervised"),
        ("channels", "letters"),
        ("channels", "video"),
        ("status", "paused"),
        ("requires_second_approval", "on"),
    ]
    assert (await admin.form(base + "/settings", settings)).status == 303
    assert (
        await admin.form(base + "/children", {"name": "Ollie", "birth_year": "2019"})
    ).status == 303
    assert (await admin.form(base + "/terms", {"term": "Oakfield Primary"})).status == 303

    family = await one(client, select(Family).where(Family.id == family_id))
    assert family.status.value == "paused"
    assert family.channels == ["letters", "video"]
    assert family.requires_second_approval is True
    term = await one(client, select(SensitiveTerm).where(SensitiveTerm.family_id == family_id))
    assert b"Oakfield" not in term.term_sealed
    events = await all_of(
        client,
        select(RecordEvent).where(RecordEvent.family_id == family_id).order_by(RecordEvent.seq),
    )
    assert [e.kind for e in events] == [
        "family_created",
        "referrer_access_granted",
        "family_changed",
        "family_changed",
        "family_changed",
    ]
    assert all("Oakfield" not in e.payload and "Ollie" not in e.payload for e in events)

    page = await (await client.get(base)).text()
    assert "Oakfield Primary" in page and "Ollie" in page

    assert (await admin.form(base + f"/terms/{term.id}/remove", {})).status == 303
    assert await all_of(client, select(SensitiveTerm)) == []


async def test_birth_year_in_the_future_is_refused_next_to_the_field(client: TestClient) -> None:
    admin = await admin_of_new_centre(client)
    family_id = await accepted_family(admin)
    next_year = str(datetime.now(UTC).year + 1)
    response = await admin.form(
        f"/admin/families/{family_id}/children", {"name": "Ollie", "birth_year": next_year}
    )
    assert response.status == 422
    assert 'id="f-child-birth_year-error"' in await response.text()


async def test_inviting_a_parent_creates_sender_and_invite_and_writes_the_email(
    client: TestClient, tmp_path: Path
) -> None:
    admin = await admin_of_new_centre(client)
    family_id = await accepted_family(admin)
    response = await admin.form(
        f"/admin/families/{family_id}/parents",
        {
            "display_name": "Pat Parent",
            "email": "Pat@Example.org",
            "relationship_to_child": "Father",
        },
    )
    assert response.status == 303, await response.text()
    parent = await one(client, select(User).where(User.email == "pat@example.org"))
    assert parent.role is Role.PARENT and parent.status is AccountStatus.INVITED
    sender = await one(client, select(FamilySender).where(FamilySender.user_id == parent.id))
    assert sender.family_id == family_id and sender.approved
    assert await one(client, select(OneTimeToken).where(OneTimeToken.user_id == parent.id))
    # The embedded default writes the e-mail to the outbox folder.
    outbox = client.server.app[SETTINGS].outbox_dir
    # (Accepting the referral invited the referring solicitor too.)
    (eml,) = [e for e in outbox.glob("*.eml") if "pat@example.org" in e.read_text()]
    text = eml.read_text()
    assert "/invite/" in text and "Zephyrine" not in text
    kinds = [e.kind for e in await all_of(client, select(RecordEvent).order_by(RecordEvent.seq))]
    assert kinds == ["family_created", "referrer_access_granted", "sender_approved"]


async def test_admin_creates_and_disables_staff(client: TestClient) -> None:
    admin = await admin_of_new_centre(client)
    response = await admin.form(
        "/admin/people",
        {"display_name": "Sam Staff", "email": "sam@centre.example", "role": "staff"},
    )
    assert response.status == 303, await response.text()
    sam = await one(client, select(User).where(User.email == "sam@centre.example"))
    assert sam.role is Role.STAFF and sam.status is AccountStatus.INVITED
    assert await one(client, select(OneTimeToken).where(OneTimeToken.user_id == sam.id))

    duplicate = await admin.form(
        "/admin/people",
        {"display_name": "Sam Again", "email": "sam@centre.example", "role": "staff"},
    )
    assert duplicate.status == 422
    assert 'id="f-person-email-error"' in await duplicate.text()

    assert (await admin.form(f"/admin/people/{sam.id}/disable", {})).status == 303
    sam = await one(client, select(User).where(User.id == sam.id))
    assert sam.status is AccountStatus.DISABLED


async def test_admin_cannot_disable_themselves(client: TestClient) -> None:
    admin = await admin_of_new_centre(client)
    response = await admin.form(f"/admin/people/{admin.person.user_id}/disable", {})
    assert response.status == 409


async def test_referrer_gets_time_limited_access_to_one_family(client: TestClient) -> None:
    admin = await admin_of_new_centre(client)
    family_id = await accepted_family(admin)
    other_id = await accepted_family(admin, **{"children.0.name": "Noor"})
    response = await admin.form(
        f"/admin/families/{family_id}/referrers",
        {"display_name": "Priya Shah", "email": "priya@shah.example", "days": "30"},
    )
    assert response.status == 303, await response.text()
    # The newest grant of this family (accepting the referral made the first).
    grant = await one(
        client,
        select(ReferrerAccess)
        .where(ReferrerAccess.family_id == family_id)
        .order_by(ReferrerAccess.granted_at.desc())
        .limit(1),
    )
    assert grant.family_id == family_id
    expected = datetime.now(UTC) + timedelta(days=30)
    assert abs((grant.expires_at - expected).total_seconds()) < 60
    referrer = await one(client, select(User).where(User.id == grant.user_id))
    assert referrer.role is Role.REFERRER
    assert other_id != family_id


async def test_admin_of_another_centre_cannot_see_or_change_the_family(
    client: TestClient,
) -> None:
    admin = await admin_of_new_centre(client)
    family_id = await accepted_family(admin)
    stranger = await sign_in_as(client, Role.ADMIN)
    assert (await client.get(f"/admin/families/{family_id}")).status == 404
    response = await stranger.form(f"/admin/families/{family_id}/terms", {"term": "x y"})
    assert response.status == 404


async def test_staff_cannot_reach_admin_pages(client: TestClient) -> None:
    await sign_in_as(client, Role.STAFF)
    for path in ("/admin", "/admin/people", "/admin/referrals/new", "/admin/families"):
        assert (await client.get(path, allow_redirects=False)).status == 403, path
