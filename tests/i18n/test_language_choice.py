"""Which language a page is in: the person's own, else the switch, else the browser."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from sqlalchemy import update

from service.accounts.tokens import INVITE_LIFETIME, issue_token
from service.accounts.users import create_user
from service.appkeys import KEYRING, SESSIONMAKER
from service.i18n import N_, gettext, use_language
from service.i18n.context import translate_shown
from service.i18n.web import LANGUAGE_COOKIE, negotiate
from storage.models import Role, TokenPurpose, User
from tests.support.accounts import make_world, post_form, sign_in

NEW = "a fresh long passphrase"

SIGN_IN = "Sign in"


def welsh(text: str) -> str:
    with use_language("cy"):
        translated = gettext(text)
    assert translated != text, f"no Welsh for {text!r} in the catalogue"
    return translated


def test_accept_language_picks_the_best_of_our_languages() -> None:
    assert negotiate("cy-GB,cy;q=0.9,en;q=0.8") == "cy"
    assert negotiate("en-GB,en;q=0.9,cy;q=0.8") == "en"
    assert negotiate("pl,cy;q=0.5") == "cy"
    assert negotiate("fr, de;q=0.7") == "en"
    assert negotiate("cy;q=nonsense, en") == "en"
    assert negotiate("") == "en"


async def test_signed_out_pages_follow_the_browser(client: TestClient) -> None:
    page = await client.get("/sign-in", headers={"Accept-Language": "cy,en;q=0.5"})
    html = await page.text()
    assert '<html lang="cy">' in html
    assert welsh(SIGN_IN) in html
    english = await (await client.get("/sign-in", headers={"Accept-Language": "en-GB"})).text()
    assert '<html lang="en-GB">' in english and welsh(SIGN_IN) not in english


async def test_the_switch_is_visible_keeps_the_query_and_is_remembered(client: TestClient) -> None:
    html = await (await client.get("/sign-in?next=/letterbox")).text()
    assert 'class="language-switch"' in html
    assert 'href="/sign-in?next=/letterbox&amp;lang=cy" lang="cy"' in html
    switched = await client.get("/sign-in?lang=cy", headers={"Accept-Language": "en"})
    assert switched.cookies[LANGUAGE_COOKIE].value == "cy"
    again = await (await client.get("/sign-in", headers={"Accept-Language": "en"})).text()
    assert '<html lang="cy">' in again and welsh(SIGN_IN) in again


async def test_error_pages_are_in_the_readers_language(client: TestClient) -> None:
    page = await client.get(
        "/no-such-page", headers={"Accept-Language": "cy", "Accept": "text/html"}
    )
    assert page.status == 404
    assert '<html lang="cy">' in await page.text()


async def test_a_signed_in_person_reads_their_own_language_whatever_the_browser(
    client: TestClient,
) -> None:
    world = await make_world(client)
    parent = world.people[Role.PARENT]
    async with client.server.app[SESSIONMAKER].begin() as session:
        await session.execute(update(User).where(User.id == parent.user_id).values(language="cy"))
    await sign_in(client, parent)
    page = await client.get("/letterbox", headers={"Accept-Language": "en-GB"})
    html = await page.text()
    assert '<html lang="cy">' in html
    assert 'class="language-switch"' not in html  # their language is set on My account
    assert welsh("My calls") in html


def test_python_messages_are_translated_where_shown_and_peoples_words_never() -> None:
    with use_language("cy"):
        assert translate_shown(N_(SIGN_IN)) == welsh(SIGN_IN)
        assert translate_shown(SIGN_IN) == SIGN_IN  # a parent's own words stay as written


async def test_my_account_changes_the_language_of_the_next_page(client: TestClient) -> None:
    world = await make_world(client)
    parent = world.people[Role.PARENT]
    await sign_in(client, parent)
    account = await (await client.get("/account/password")).text()
    assert 'name="language" value="en" checked' in account
    token = csrf_of(account)
    refused = await post_form(client, "/account/language", {"language": "xx"}, token=token)
    assert refused.status == 422
    assert "Choose one of the languages listed (English, Cymraeg)." in await refused.text()
    saved = await post_form(client, "/account/language", {"language": "cy"}, token=token)
    assert saved.status == 303
    html = await (await client.get(saved.headers["Location"])).text()
    assert '<html lang="cy">' in html and 'name="language" value="cy" checked' in html
    async with client.server.app[SESSIONMAKER]() as session:
        user = await session.get(User, parent.user_id)
        assert user is not None and user.language == "cy"


def csrf_of(html: str) -> str:
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


async def test_the_invitation_asks_the_language_and_keeps_the_answer(client: TestClient) -> None:
    world = await make_world(client)
    app = client.server.app
    async with app[SESSIONMAKER].begin() as session:
        user = await create_user(
            session,
            app[KEYRING],
            centre_id=world.centre_id,
            email="new.parent@example.org",
            display_name="New person",
            role=Role.PARENT,
        )
        raw = await issue_token(session, user.id, TokenPurpose.INVITE, INVITE_LIFETIME)
    path = f"/invite/{raw}"
    # Opened in Welsh (the switch on the e-mail's page), the question starts at Welsh.
    page = await (await client.get(f"{path}?lang=cy")).text()
    assert 'name="language" value="cy" checked' in page
    done = await post_form(
        client, path, {"password": NEW, "confirm": NEW, "language": "cy"}, page=path
    )
    assert done.status == 303
    async with app[SESSIONMAKER]() as session:
        stored = await session.get(User, user.id)
        assert stored is not None and stored.language == "cy"
    home = await (await client.get("/letterbox", headers={"Accept-Language": "en"})).text()
    assert '<html lang="cy">' in home


async def test_after_signing_out_the_sign_in_page_stays_in_the_persons_language(
    client: TestClient,
) -> None:
    world = await make_world(client)
    parent = world.people[Role.PARENT]
    await _set_welsh(client, parent.user_id)
    await sign_in(client, parent)
    home = await client.get("/letterbox", headers={"Accept-Language": "en"})
    assert home.cookies[LANGUAGE_COOKIE].value == "cy"
    client.session.cookie_jar.clear(lambda cookie: cookie.key != LANGUAGE_COOKIE)
    page = await (await client.get("/sign-in", headers={"Accept-Language": "en"})).text()
    assert '<html lang="cy">' in page and welsh(SIGN_IN) in page


async def _set_welsh(client: TestClient, user_id: object) -> None:
    async with client.server.app[SESSIONMAKER].begin() as session:
        await session.execute(update(User).where(User.id == user_id).values(language="cy"))
