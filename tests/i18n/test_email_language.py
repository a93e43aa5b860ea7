"""E-mails are written in the recipient's language, whoever or whatever sends them."""

from __future__ import annotations

import asyncio
import email
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from email.message import Message

from aiohttp.test_utils import TestClient
from sqlalchemy import update

from service.appkeys import ACCOUNT_TASKS, MAILER, SESSIONMAKER, SETTINGS
from service.i18n import gettext, use_language
from service.i18n.extract import extract
from service.notify import KINDS
from storage.models import Role, User
from tests.support.accounts import make_world, post_form


def _outbox(client: TestClient) -> list[Message]:
    folder = client.server.app[SETTINGS].outbox_dir
    if not folder.exists():
        return []
    return [email.message_from_bytes(p.read_bytes()) for p in sorted(folder.glob("*.eml"))]


def _subject(message: Message) -> str:
    return str(make_header(decode_header(message["Subject"])))


def _body(message: Message) -> str:
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def _flat(text: str) -> str:
    return " ".join(text.split())


def _flat(text: str) -> str:
    return " ".join(text.split())


def _welsh(text: str) -> str:
    with use_language("cy"):
        translated = gettext(text)
    assert translated != text, f"no Welsh for {text!r}"
    return translated


async def _set_language(client: TestClient, user_id: object, language: str) -> None:
    async with client.server.app[SESSIONMAKER].begin() as session:
        await session.execute(update(User).where(User.id == user_id).values(language=language))


async def test_every_kind_of_email_is_in_welsh_for_a_welsh_reader_and_english_otherwise(
    client: TestClient,
) -> None:
    world = await make_world(client)
    welsh, english = world.people[Role.PARENT], world.people[Role.STAFF]
    await _set_language(client, welsh.user_id, "cy")
    mailer = client.server.app[MAILER]
    when = datetime(2026, 12, 24, 15, 30, tzinfo=UTC)
    for kind in KINDS.values():
        context: dict[str, object] = {"link": "http://127.0.0.1/letterbox"}
        for key in kind.keys - {"link"}:
            context[key] = when.date() if key == "due_on" else when + timedelta(days=1)
        for person in (welsh, english):
            await mailer.send(
                to=person.email, subject=kind.subject, template=kind.name, context=context
            )
    mails = _outbox(client)
    assert len(mails) == 2 * len(KINDS)
    messages = extract()
    pairs = zip(mails[::2], mails[1::2], strict=True)
    for kind, (to_welsh, to_english) in zip(KINDS.values(), pairs, strict=True):
        assert _subject(to_welsh) == _welsh(kind.subject), kind.name
        assert _subject(to_english) == kind.subject, kind.name
        body, english = _flat(_body(to_welsh)), _flat(_body(to_english))
        own = [
            text
            for text, found in messages.items()
            if any(path.endswith(f"email/{kind.name}.txt") for path, _ in found.locations)
        ]
        shown = [text for text in own if text in english and len(text) > 25]
        assert shown, kind.name
        for text in shown:
            assert text not in body and _flat(_welsh(text)) in body, (kind.name, text)
        if kind.keys - {"link"}:
            assert "Rhagfyr" in body and "December" not in body, kind.name
            assert "December" in _body(to_english)


async def test_a_reset_asked_from_an_english_browser_comes_in_the_accounts_language(
    client: TestClient,
) -> None:
    world = await make_world(client)
    parent = world.people[Role.PARENT]
    await _set_language(client, parent.user_id, "cy")
    response = await post_form(client, "/forgot-password", {"email": parent.email.upper()})
    assert response.status in (200, 303)
    await asyncio.gather(*client.server.app[ACCOUNT_TASKS])
    (mail,) = _outbox(client)
    assert _subject(mail) == _welsh(KINDS["password_reset"].subject)
