"""A referral carries through: accepting it invites the parents it names, gives the referring
person access to the family's exports, offers the places and names of the risk as sensitive
terms, and the court order reference shows on the family page, the referrer's pages and the
court PDF's cover. Personal details of the referral are sealed at rest."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from service.appkeys import KEYRING, SESSIONMAKER
from storage.children import open_referral, open_relationship
from storage.keyring import FamilyShredded
from storage.models import (
    AccountStatus,
    FamilySender,
    Referral,
    ReferrerAccess,
    Role,
    User,
)
from tests.support.accounts import Person, session_token, use_session
from tests.support.centre import REFERRAL_FORM, accepted_family, admin_of_new_centre, all_of, one
from tests.support.seeding import seeding_sessionmaker

PARENTS = {
    "parents.0.display_name": "Dana Jones",
    "parents.0.email": "dana.jones@example.org",
    "parents.0.relationship_to_child": "Father",
    "parents.1.display_name": "",
    "parents.1.email": "",
    "parents.1.relationship_to_child": "",
    "risk_names": "St Aldhelm's School\nMill Lane\nst aldhelm's school\n",
}


async def test_accepting_a_referral_invites_its_parents_and_gives_the_referrer_access(
    client: TestClient,
) -> None:
    admin = await admin_of_new_centre(client)
    family_id = await accepted_family(admin, **PARENTS)
    parent = await one(client, select(User).where(User.email == "dana.jones@example.org"))
    assert parent.role is Role.PARENT and parent.status is AccountStatus.INVITED
    sender = await one(client, select(FamilySender).where(FamilySender.user_id == parent.id))
    assert sender.family_id == family_id and b"Father" not in sender.relationship_sealed
    async with client.server.app[SESSIONMAKER]() as session:
        assert await open_relationship(session, client.server.app[KEYRING], sender) == "Father"
    referrer = await one(client, select(User).where(User.email == "priya@shah.example"))
    assert referrer.role is Role.REFERRER
    (grant,) = await all_of(
        client, select(ReferrerAccess).where(ReferrerAccess.user_id == referrer.id)
    )
    assert grant.family_id == family_id


async def test_referral_details_are_sealed_with_the_family_key_and_go_with_a_shred(
    client: TestClient,
) -> None:
    admin = await admin_of_new_centre(client)
    family_id = await accepted_family(admin, **PARENTS)
    referral = await one(client, select(Referral))
    for clear in (b"dana.jones", b"Aldhelm", b"Zephyrine", b"ZW24C00123", b"Shah & Co"):
        assert clear not in referral.details_sealed
    # The referrer's name, organisation and e-mail are in the sealed value, not in columns.
    assert not {"referrer_name", "referrer_organisation", "referrer_email"} & set(
        Referral.__table__.columns.keys()
    )
    app = client.server.app
    async with app[SESSIONMAKER]() as session:
        details = await open_referral(session, app[KEYRING], referral)
        assert details.court_order_reference == "ZW24C00123"
        assert details.children[0]["name"] == "Zephyrine"
        assert details.referrer_organisation == "Shah & Co Solicitors"
    # Sealed with the family key, not the centre's: shredding the family destroys it.
    async with app[SESSIONMAKER].begin() as session:
        await app[KEYRING].shred(session, family_id)
    async with app[SESSIONMAKER]() as session:
        with pytest.raises(FamilyShredded):
            await open_referral(session, app[KEYRING], referral)
    listed = await (await client.get("/admin/referrals")).text()
    assert "Zephyrine" not in listed and "ZW24C00123" not in listed
    assert "Shah &amp; Co" not in listed


async def test_risk_places_are_offered_once_each_until_added_as_sensitive_terms(
    client: TestClient,
) -> None:
    admin = await admin_of_new_centre(client)
    family_id = await accepted_family(admin, **PARENTS)
    page = await (await client.get(f"/admin/families/{family_id}")).text()
    assert "Court order reference: <strong>ZW24C00123</strong>" in page
    assert page.count("Add “St Aldhelm&#39;s School” to the list") == 1
    assert "Add “Mill Lane” to the list" in page
    response = await admin.form(f"/admin/families/{family_id}/terms", {"term": "Mill Lane"})
    assert response.status == 303
    page = await (await client.get(f"/admin/families/{family_id}")).text()
    assert "Add “Mill Lane” to the list" not in page
    assert "Add “St Aldhelm&#39;s School” to the list" in page


async def test_court_order_reference_shows_on_the_referrers_pages(client: TestClient) -> None:
    admin = await admin_of_new_centre(client)
    family_id = await accepted_family(admin, **PARENTS)
    referrer = await one(client, select(User).where(User.email == "priya@shah.example"))
    async with seeding_sessionmaker(client.server.app).begin() as session:
        user = await session.get(User, referrer.id)
        assert user is not None
        user.status = AccountStatus.ACTIVE  # as if they had used their invite
    person = Person(referrer.id, referrer.email, Role.REFERRER, admin.person.centre_id, None)
    use_session(client, await session_token(client, person))
    home = await (await client.get("/referrer")).text()
    assert "ZW24C00123" in home
    exports = await (await client.get(f"/referrer/families/{family_id}/exports")).text()
    assert "Court order reference: <strong>ZW24C00123</strong>" in exports


async def test_a_parent_email_used_twice_in_one_referral_is_refused_by_field(
    client: TestClient,
) -> None:
    admin = await admin_of_new_centre(client)
    response = await admin.form(
        "/admin/referrals",
        {
            **REFERRAL_FORM,
            **PARENTS,
            "parents.1.display_name": "Dana Again",
            "parents.1.email": "Dana.Jones@example.org",
            "parents.1.relationship_to_child": "Father",
        },
    )
    assert response.status == 422
    assert "Each parent needs their own e-mail address." in await response.text()
