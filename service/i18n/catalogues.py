"""The translations, read from the gettext catalogues shipped in the package.

Catalogues live as ``locales/<language>/*.po`` (one file per area, so several translators
can work at once). They are read with Babel when first needed; there is no compile step and
no ``.mo`` file to forget. A message without a translation (empty or marked fuzzy) shows in
English: a page is never blank for want of a word, and the completeness test
(tests/i18n/test_catalogues.py) fails the build before that can ship.
"""

from __future__ import annotations

import enum
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).parent / "locales"
SOURCE_LANGUAGE = "en"
# The languages a person can choose, with their own names (shown as they are, never translated).
LANGUAGES: dict[str, str] = {"en": "English", "cy": "Cymraeg"}


class Language(enum.StrEnum):
    """A language a person or a child's screens can be set to (the keys of LANGUAGES)."""

    ENGLISH = "en"
    WELSH = "cy"


# What each language is called in the ``lang`` attribute of a page.
HTML_LANG: dict[str, str] = {"en": "en-GB", "cy": "cy"}


def catalogue_files(language: str) -> list[Path]:
    return sorted((LOCALES_DIR / language).glob("*.po"))


def read_catalogue(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle)


@cache
def translations(language: str) -> dict[str, str]:
    """msgid → translation for one language; empty for the source language."""
    if language == SOURCE_LANGUAGE:
        return {}
    found: dict[str, str] = {}
    for path in catalogue_files(language):
        for message in read_catalogue(path):
            if message.id and isinstance(message.id, str) and message.string and not message.fuzzy:
                found[message.id] = str(message.string)
    return found


@cache
def script_translations(language: str) -> dict[str, str]:
    """The translations the browser's scripts need (the ``scripts`` catalogue)."""
    if language == SOURCE_LANGUAGE:
        return {}
    path = LOCALES_DIR / language / "scripts.po"
    if not path.exists():
        return {}
    table = translations(language)
    return {str(m.id): table[str(m.id)] for m in read_catalogue(path) if str(m.id) in table}
