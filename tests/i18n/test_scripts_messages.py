"""The words the browser's scripts show or speak are messages, and a Welsh reader gets them
in Welsh.

Two kinds of proof: a static look over web/static/js (every shown string goes through
``t()``/``tf()``, and each of those is a literal the extractor can find; the scripts catalogue
holds a Welsh sentence for each, with the same placeholders), and a real browser, where a
parent whose language is Welsh writes a letter and reads the scripts' own messages (the
draft's "Saved at …" and the upload check's refusal of an empty file) from scripts.po.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright, expect
from sqlalchemy import update

from service.appkeys import SESSIONMAKER
from service.i18n import gettext, use_language
from service.i18n.catalogues import LOCALES_DIR, read_catalogue
from service.i18n.extract import SCRIPTS, script_messages
from storage.models import User
from tests.support.browser import CHROMIUM, TIMEOUT_MS, live_call_app, new_browser
from tests.support.letterbox_world import STAFF_PASSWORD, make_world
from tests.support.smtp import Inbox, smtp_server

__all__ = ["smtp_server"]

SCRIPTS_PO = LOCALES_DIR / "cy" / "scripts.po"

# --- the static check ----------------------------------------------------------------------
#
# Where a script puts words in front of a person: text of an element, the attributes a
# screen reader or a tooltip reads, and the browser's own alert/confirm boxes; and the
# upper-case constants and tables of words the scripts keep for them (``const WORDS = {…}``).
_SINK = re.compile(
    r"""\.(?:textContent|innerText|title|placeholder|alt|ariaLabel)\s*=(?!=)"""
    r"""|\.setAttribute\(\s*["'](?:aria-label|title|placeholder|alt)["']\s*,"""
    r"""|\b(?:alert|confirm)\("""
    r"""|\bconst\s+[A-Z][A-Z0-9_]*\s*="""
)
# The scripts' own little helpers that put their argument on the page, by file.
_HELPERS = {
    "letterbox/upload.js": ("show",),
    "letterbox/redact.js": ("say", "changed"),
    "letterbox/draft.js": ("showTextError",),
}
# A string literal of any of the three kinds, or the end of the statement.
_TOKEN = re.compile(
    r"""(?P<literal>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`)|(?P<end>;)"""
)
_LETTER = re.compile(r"[^\W\d_]")
_TRANSLATED = re.compile(r"\btf?\($")
_COMPARED = re.compile(r"(?:===|!==|==|!=)$")
_ANY_CALL = re.compile(r"[\w$\])]\($")


def _shown_literal(literal: str) -> bool:
    """A literal with words in it (a template literal's ``${…}`` parts are not its words)."""
    body = literal[1:-1]
    if literal.startswith("`"):
        body = re.sub(r"\$\{[^}]*\}", "", body)
    return bool(_LETTER.search(body))


def untranslated_words(source: str, helpers: tuple[str, ...] = ()) -> list[str]:
    """Each literal with words that a statement putting words on the page uses bare.

    From each sink (``.textContent =``, ``setAttribute("aria-label", …)``, ``confirm(`` …, an
    upper-case ``const``, and the file's own helpers) to the end of its statement (``;``), a literal with a letter in it
    is a finding unless it is the first argument of ``t(``/``tf(``, one side of a comparison,
    or an argument of another function (``getElementById("…")``, ``has("parent")``).

    Limits: a regex, not a parser. It does not follow words through a lower-case variable, a
    ``return "…"`` (too many return codes such as ``"safe"``), an object built in place (the
    moderation page's confirm dialog), nor through functions other than the helpers named here; a statement without ``;`` runs on to the next ``;``; a ``${…}``
    holding ``}`` or a backtick confuses it. Reviewers still read new code: this catches the
    common slip of writing English straight into the page.
    """
    sink = _SINK.pattern
    if helpers:
        sink += r"|\b(?:" + "|".join(map(re.escape, helpers)) + r")\("
    found = []
    for match in re.finditer(sink, source):
        for token in _TOKEN.finditer(source, match.end()):
            if token.group("end") is not None or token.start() > match.end() + 800:
                break
            literal = token.group("literal")
            if not _shown_literal(literal):
                continue
            before = source[: token.start()].rstrip()
            if _TRANSLATED.search(before) or _COMPARED.search(before):
                continue
            if token.start() > match.end() and _ANY_CALL.search(before):
                continue
            line = source.count("\n", 0, token.start()) + 1
            found.append(f"{line}: {literal}")
    return found


def _scripts() -> Iterator[tuple[str, str]]:
    for path in sorted(SCRIPTS.rglob("*.js")):
        yield path.relative_to(SCRIPTS).as_posix(), path.read_text()


def test_the_check_finds_english_written_straight_into_the_page() -> None:
    bad = [
        'status.textContent = "Saved.";',
        "b.setAttribute('aria-label', 'blacked out');",
        "if (!window.confirm(`Leave the call?`)) stop();",
        "x.title = ok ? t('Yes') : 'No';",
        "x.textContent = `Sent at ${time}.`;",
        'x.placeholder = name || "Your name";',
        'const WORDS = { connected: "Connected", closed: t("Disconnected") };',
        'const NOT_AVAILABLE = "Reading aloud is not available";',
    ]
    for source in bad:
        assert untranslated_words(source), source
    assert untranslated_words('say(status, "Add a box first.");', ("say",))
    good = [
        'status.textContent = t("Saved.");',
        "b.setAttribute('aria-label', t('blacked out'));",
        'if (!window.confirm(t("Leave the call?"))) stop();',
        'x.textContent = tf("Sent at {time}.", { time });',
        'x.textContent = here.has("parent") ? t("in the call") : t("not here");',
        'cell.textContent = "–"; row.textContent = `${count}%`;',
        'x.textContent = m.text || ""; y.value = "plain value";',
        'const BLOCK = "█████"; const DELAYS = [1000, 2000]; const table = { a: "b" };',
    ]
    for source in good:
        assert untranslated_words(source, ("say",)) == [], source


def test_no_script_writes_untranslated_words_into_the_page() -> None:
    found = {
        name: words
        for name, source in _scripts()
        if (words := untranslated_words(source, _HELPERS.get(name, ())))
    }
    assert found == {}, f'wrap these in t("…") or tf("…", {{…}}): {found}'


def test_every_t_call_has_a_literal_the_extractor_can_find() -> None:
    """``t(variable)`` or ``t(`…${x}…`)`` would never reach the catalogue."""
    found = []
    for name, source in _scripts():
        if name == "i18n.js":
            continue
        for match in re.finditer(r"\btf?\(\s*(?![\"'])", source):
            found.append(f"{name}:{source.count(chr(10), 0, match.start()) + 1}")
    assert found == []


def test_every_script_message_has_welsh_with_the_same_placeholders() -> None:
    welsh = {str(m.id): str(m.string) for m in read_catalogue(SCRIPTS_PO) if m.id}
    wanted = {text for text, _, _ in script_messages()}
    assert len(wanted) > 50
    assert wanted <= set(welsh), f"not in scripts.po: {sorted(wanted - set(welsh))}"
    for text in wanted:
        assert welsh[text], f"no Welsh for {text!r}"
        assert welsh[text] != text, f"Welsh is the English for {text!r}"
        placeholders = sorted(re.findall(r"\{(\w+)\}", text))
        assert sorted(re.findall(r"\{(\w+)\}", welsh[text])) == placeholders, text


# --- in the browser ------------------------------------------------------------------------


def _welsh_script_message(text: str) -> str:
    message = read_catalogue(SCRIPTS_PO).get(text)
    assert message is not None and message.string and message.string != text, text
    return str(message.string)


def _welsh(text: str) -> str:
    with use_language("cy"):
        return gettext(text)


async def _click_to(page: Page, name: str) -> None:
    async with page.expect_navigation():
        await page.get_by_role("link", name=name, exact=True).click()


@pytest.mark.browser
async def test_a_welsh_parent_reads_the_writing_pages_script_messages_in_welsh(
    database_url: str, tmp_path: Path, smtp_server: Inbox
) -> None:
    if not CHROMIUM.exists():
        pytest.fail("Debian chromium is required at /usr/bin/chromium (make test-services)")
    saved_at = _welsh_script_message("Saved at {time}.")
    empty = _welsh_script_message("{name} is empty (0 bytes). Please choose it again.")
    async with live_call_app(database_url, tmp_path / "data", smtp_server) as live:
        world = await make_world(live.server.app)
        email = f"parent-{uuid.uuid4().hex[:8]}@example.org"
        async with live.server.app[SESSIONMAKER].begin() as session:
            await session.execute(
                update(User)
                .where(User.id == world.parent.user_id)
                .values(language="cy", email=email)
            )
        async with async_playwright() as playwright:
            expect.set_options(timeout=TIMEOUT_MS)
            context = await new_browser(playwright, tmp_path / "browser")
            try:
                page = context.pages[0] if context.pages else await context.new_page()
                await page.goto(live.url + "/sign-in")
                await page.get_by_label("Email address").fill(email)
                await page.get_by_label("Password").fill(STAFF_PASSWORD)
                async with page.expect_navigation():
                    await page.get_by_role("button", name="Sign in").click()
                await expect(page.locator("html")).to_have_attribute("lang", "cy")
                await _click_to(page, _welsh("Write a letter"))
                await expect(page.locator("#letter-form")).to_be_visible()

                # The draft is saved as the parent types: the status is the script's, in Welsh.
                await page.locator("#letter-text").fill("Annwyl Sam, dyma lythyr.")
                prefix = saved_at.split("{time}")[0]
                status = page.locator("#draft-status")
                await expect(status).to_have_text(
                    re.compile("^" + re.escape(prefix) + r"\d\d:\d\d")
                )
                assert "Saved at" not in (await status.text_content() or "")

                # The upload check refuses an empty file before anything is sent.
                blank = tmp_path / "gwag.png"
                blank.write_bytes(b"")
                await page.locator("#letter-files").set_input_files(str(blank))
                await page.locator("#letter-form button[type=submit]").click()
                await expect(page.locator("#upload-error")).to_have_text(
                    empty.replace("{name}", "gwag.png")
                )
                await expect(page.locator("#upload-error")).to_be_visible()
            finally:
                await context.close()
