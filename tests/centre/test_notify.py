"""E-mails say only that there is something new, with a sign-in link: never the child's
name, letter content or an address. Sent over real SMTP to a real aiosmtpd server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from service.app import create_app
from service.appkeys import MAILER, SETTINGS
from service.notify import KINDS, OutboxMailer, SmtpMailer, UnsafeEmail
from storage.models import Role
from tests.support.centre import accepted_family, admin_of_new_centre, sign_in_as
from tests.support.settings import make_settings
from tests.support.smtp import Inbox, smtp_server

__all__ = ["smtp_server"]

CHILD = "Zephyrine"
POSTCODE = "SW1A 1AA"
TERM = "Oakfield Primary"


@pytest.fixture
async def smtp_client(
    aiohttp_client: AiohttpClient, database_url: str, tmp_path: Path, smtp_server: Inbox
) -> AsyncIterator[TestClient]:
    settings = make_settings(database_url, tmp_path / "data", smtp_url=smtp_server.url)
    yield await aiohttp_client(create_app(settings))


def _context(kind: str, base: str) -> dict[str, object]:
    later = datetime.now(UTC) + timedelta(days=2)
    context: dict[str, object] = {"link": f"{base}/letterbox"}
    if "expires_at" in KINDS[kind].keys:
        context["expires_at"] = later
    if "starts_at" in KINDS[kind].keys:
        context["starts_at"] = later
    if "due_on" in KINDS[kind].keys:
        context["due_on"] = later.date()
    return context


async def test_every_kind_of_email_carries_no_child_name_postcode_or_term(
    smtp_client: TestClient, smtp_server: Inbox
) -> None:
    client = smtp_client
    admin = await admin_of_new_centre(client)
    family_id = await accepted_family(
        admin, known_risks=f"Lives at {POSTCODE}", **{"children.0.name": CHILD}
    )
    await admin.form(f"/admin/families/{family_id}/terms", {"term": TERM})
    await admin.form(f"/admin/families/{family_id}/terms", {"term": POSTCODE})

    app = client.server.app
    mailer = app[MAILER]
    assert isinstance(mailer, SmtpMailer)
    base = app[SETTINGS].public_url
    for kind in KINDS:
        await mailer.send(
            to="pat@example.org",
            subject=KINDS[kind].subject,
            template=kind,
            context=_context(kind, base),
        )
    # One of each kind, after the referring solicitor's invite sent on accepting the referral.
    messages = await asyncio.to_thread(smtp_server.wait_for, len(KINDS) + 1)
    assert len(messages) == len(KINDS) + 1
    for message in messages:
        text = f"{message['Subject']}\n{message.get_content()}"
        for secret in (CHILD, POSTCODE, TERM):
            assert secret not in text
        assert f"{base}/" in text
    assert {m["Subject"] for m in messages} == {k.subject for k in KINDS.values()}


@pytest.mark.parametrize(
    "context",
    [
        {"link": "{base}/letterbox", "child_name": CHILD},
        {"link": "{base}/letterbox", "message": "Dear Zephyrine"},
        {"link": "https://elsewhere.example/letterbox"},
        {"link": "{base}/letterbox?child=" + CHILD},
        {},
    ],
)
async def test_email_refuses_anything_beyond_its_fixed_keys(
    client: TestClient, context: dict[str, str]
) -> None:
    mailer = client.server.app[MAILER]
    base = client.server.app[SETTINGS].public_url
    filled = {k: v.replace("{base}", base) for k, v in context.items()}
    with pytest.raises(UnsafeEmail):
        await mailer.send(
            to="pat@example.org",
            subject=KINDS["reply_waiting"].subject,
            template="reply_waiting",
            context=dict(filled),
        )


async def test_email_subject_is_fixed_per_kind(client: TestClient) -> None:
    mailer = client.server.app[MAILER]
    base = client.server.app[SETTINGS].public_url
    with pytest.raises(UnsafeEmail):
        await mailer.send(
            to="pat@example.org",
            subject=f"A letter from {CHILD}",
            template="reply_waiting",
            context={"link": f"{base}/letterbox"},
        )


async def test_embedded_default_writes_emails_to_the_outbox(client: TestClient) -> None:
    app = client.server.app
    mailer = app[MAILER]
    assert isinstance(mailer, OutboxMailer)
    await mailer.send(
        to="pat@example.org",
        subject=KINDS["item_approved"].subject,
        template="item_approved",
        context={"link": app[SETTINGS].public_url + "/letterbox"},
    )
    (eml,) = list(app[SETTINGS].outbox_dir.glob("*.eml"))
    assert "Subject: Something you sent has been approved" in eml.read_text()


async def test_staff_invite_goes_out_over_smtp(smtp_client: TestClient, smtp_server: Inbox) -> None:
    admin = await sign_in_as(smtp_client, Role.ADMIN)
    response = await admin.form(
        "/admin/people", {"display_name": "Jo", "email": "jo@centre.example", "role": "supervisor"}
    )
    assert response.status == 303
    (message,) = await asyncio.to_thread(smtp_server.wait_for, 1)
    assert message["To"] == "jo@centre.example"
    assert "/invite/" in message.get_content()
