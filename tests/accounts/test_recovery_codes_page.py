"""Centre staff can replace their recovery codes: password asked again, the old codes stop
working at once, the new ones are shown once, and the change is in the security log."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from service.accounts import totp
from service.appkeys import SESSIONMAKER
from storage.models import RecoveryCode, Role, SecurityEvent
from tests.support.accounts import (
    PASSWORD,
    make_world,
    post_form,
    session_token,
    use_session,
)
from tests.support.seeding import seeding_sessionmaker

CODE = re.compile(r"<code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code>")


async def test_new_recovery_codes_replace_the_old_ones_after_the_password(
    client: TestClient,
) -> None:
    world = await make_world(client)
    staff = world.people[Role.STAFF]
    async with seeding_sessionmaker(client.server.app).begin() as session:
        old_codes = await totp.replace_recovery_codes(session, staff.user_id)
    use_session(client, await session_token(client, staff))

    page = await client.get("/account/recovery-codes")
    assert page.status == 200 and "<strong>10</strong> unused" in await page.text()

    wrong = await post_form(client, "/account/recovery-codes", {"current": "not my password"})
    assert wrong.status == 422
    assert CODE.findall(await wrong.text()) == []

    done = await post_form(client, "/account/recovery-codes", {"current": PASSWORD})
    assert done.status == 200
    new_codes = CODE.findall(await done.text())
    assert len(set(new_codes)) == 10 and not set(new_codes) & set(old_codes)

    async with client.server.app[SESSIONMAKER]() as session:
        assert not await totp.use_recovery_code(session, staff.user_id, old_codes[0])
        stored = await session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == staff.user_id)
        )
        logged = await session.scalar(
            select(func.count())
            .select_from(SecurityEvent)
            .where(
                SecurityEvent.user_id == staff.user_id,
                SecurityEvent.kind == "recovery_codes_replaced",
            )
        )
    assert stored == 10 and logged == 1


async def test_parents_have_no_recovery_codes_page(client: TestClient) -> None:
    world = await make_world(client)
    use_session(client, await session_token(client, world.people[Role.PARENT]))
    response = await client.get("/account/recovery-codes", allow_redirects=False)
    assert response.status == 403
