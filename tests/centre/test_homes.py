"""Each role's home page shows real data from the tables, and plain empty states."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from service.appkeys import KEYRING
from service.http.sessions import start_session
from storage.children import seal_relationship
from storage.models import (
    AccountStatus,
    Call,
    Direction,
    Family,
    FamilySender,
    Item,
    ItemKind,
    ItemStatus,
    ReferrerAccess,
    Role,
    User,
)
from tests.support.accounts import make_person, session_token, use_session
from tests.support.centre import accepted_family, admin_of_new_centre, one, sign_in_as
from tests.support.seeding import seeding_sessionmaker


async def test_staff_home_counts_items_waiting_for_moderation(client: TestClient) -> None:
    admin = await admin_of_new_centre(client)
    family_id = await accepted_family(admin)
    async with seeding_sessionmaker(client.server.app).begin() as session:
        # A submitted item is still being scanned: the queue starts at "in review".
        for status in (
            ItemStatus.SUBMITTED,
            ItemStatus.IN_REVIEW,
            ItemStatus.AWAITING_SECOND_APPROVAL,
            ItemStatus.APPROVED,
        ):
            session.add(
                Item(
                    family_id=family_id,
                    direction=Direction.TO_CHILD,
                    kind=ItemKind.LETTER,
                    sender_id=admin.person.user_id,
                    status=status,
                )
            )
    # (Items are written directly: this test is about the page, not the letterbox.)
    page = await (await client.get("/staff")).text()
    assert "2 items are waiting to be checked." in page


async def test_supervisor_home_lists_todays_calls(client: TestClient) -> None:
    admin = await admin_of_new_centre(client)
    family_id = await accepted_family(admin)
    supervisor = await make_person(client, Role.SUPERVISOR, admin.person.centre_id)
    now = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    async with seeding_sessionmaker(client.server.app).begin() as session:
        session.add(
            Call(
                family_id=family_id,
                supervisor_id=supervisor.user_id,
                scheduled_by=admin.person.user_id,
                starts_at=now,
                ends_at=now + timedelta(minutes=30),
            )
        )
    use_session(client, await session_token(client, supervisor))
    page = await (await client.get("/supervisor")).text()
    assert "12:00–12:30" in page and "<strong>You</strong>" in page


async def test_parent_letterbox_is_empty_until_something_is_sent(client: TestClient) -> None:
    admin = await admin_of_new_centre(client)
    family_id = await accepted_family(admin)
    parent = await make_person(client, Role.PARENT, admin.person.centre_id)
    async with seeding_sessionmaker(client.server.app).begin() as session:
        session.add(
            FamilySender(
                family_id=family_id,
                user_id=parent.user_id,
                relationship_sealed=await seal_relationship(
                    session, client.server.app[KEYRING], family_id, "Father"
                ),
            )
        )
    use_session(client, await session_token(client, parent))
    page = await (await client.get("/letterbox")).text()
    assert "Letters for Zephyrine" in page
    assert "You have not sent anything yet." in page


async def test_parent_never_sees_unapproved_items_sent_to_them(client: TestClient) -> None:
    admin = await admin_of_new_centre(client)
    family_id = await accepted_family(admin)
    parent = await make_person(client, Role.PARENT, admin.person.centre_id)
    async with seeding_sessionmaker(client.server.app).begin() as session:
        session.add(
            FamilySender(
                family_id=family_id,
                user_id=parent.user_id,
                relationship_sealed=await seal_relationship(
                    session, client.server.app[KEYRING], family_id, "Father"
                ),
            )
        )
        session.add(
            Item(
                id=uuid.uuid4(),
                family_id=family_id,
                direction=Direction.TO_PARENT,
                kind=ItemKind.REPLY,
                sender_id=admin.person.user_id,
                status=ItemStatus.IN_REVIEW,
            )
        )
    use_session(client, await session_token(client, parent))
    page = await (await client.get("/letterbox")).text()
    assert "You have not sent anything yet." in page and "Reply from" not in page


async def test_referrer_home_lists_only_unexpired_access(client: TestClient) -> None:
    admin = await admin_of_new_centre(client)
    # Referred by someone else, so that Priya's only access is what is granted here.
    other = {"referrer_email": "someone.else@firm.example"}
    granted = await accepted_family(admin, **other)
    revoked = await accepted_family(admin, **other, **{"children.0.name": "Noor"})
    for family_id in (granted, revoked):
        response = await admin.form(
            f"/admin/families/{family_id}/referrers",
            {"display_name": "Priya", "email": "priya@shah.example", "days": "10"},
        )
        assert response.status == 303
    access = await one(
        client,
        select(ReferrerAccess)
        .join(User, User.id == ReferrerAccess.user_id)
        .where(ReferrerAccess.family_id == revoked, User.email == "priya@shah.example"),
    )
    assert (
        await admin.form(f"/admin/families/{revoked}/referrers/{access.id}/revoke", {})
    ).status == 303

    referrer = await one(client, select(User).where(User.email == "priya@shah.example"))
    async with seeding_sessionmaker(client.server.app).begin() as session:
        user = await session.get(User, referrer.id)
        assert user is not None
        user.status = AccountStatus.ACTIVE  # as if they had used their invite
        token = await start_session(
            session, user, second_factor_done=True, ip=None, user_agent=None
        )
    use_session(client, token)
    page = await (await client.get("/referrer")).text()
    refs = {
        f: await one(client, select(Family.case_reference).where(Family.id == f))
        for f in (granted, revoked)
    }
    assert refs[granted] in page and refs[revoked] not in page


async def test_role_homes_refuse_other_roles(client: TestClient) -> None:
    await sign_in_as(client, Role.PARENT)
    for path in ("/admin", "/staff", "/supervisor", "/referrer"):
        assert (await client.get(path, allow_redirects=False)).status == 403, path
