"""The Welsh catalogue is complete: every message a person can read has a Welsh translation
that keeps the message's placeholders, date directives, entities and edge spaces."""

from __future__ import annotations

import re

from service.i18n.catalogues import catalogue_files, read_catalogue, translations
from service.i18n.extract import extract

# Messages whose Welsh is the English, and why: names, codes and formats, never sentences.
SAME_IN_WELSH = {
    "Letterbox": "the product's name",
    "English": "a language's own name, shown as it is",
    "Cymraeg": "a language's own name, shown as it is",
    "Staff": "the same word in Welsh (GOV.UK Welsh style)",
    "staff": "the same word in Welsh",
    "(PDF)": "a file format",
    "PDF": "a file format",
    "TOTP": "a standard's name",
    "/.well-known/letterbox-record-key": "an address",
    "OK": "the same word in Welsh",
}
_PLACEHOLDER = re.compile(r"\{\w*\}|%\(\w+\)s|%-?[a-zA-Z]|&[#\w]+;")
# A date directive may change form in the translation (a full month name where the short
# one would be ambiguous, no leading zero), never what it stands for.
_SAME_FIELD = str.maketrans({"A": "a", "B": "b", "-": None})


def _placeholders(text: str) -> set[str]:
    """What a translation must keep: each placeholder, entity and date field (once or more)."""
    return {
        p.translate(_SAME_FIELD) if p.startswith("%") else p for p in _PLACEHOLDER.findall(text)
    }


def test_every_message_has_a_welsh_translation() -> None:
    welsh = translations("cy")
    missing = sorted(text for text in extract() if text not in welsh)
    assert not missing, f"{len(missing)} messages have no Welsh: {missing[:30]}"


def test_no_welsh_translation_is_just_the_english() -> None:
    welsh = translations("cy")
    same = sorted(
        text
        for text in extract()
        if welsh.get(text) == text
        and text not in SAME_IN_WELSH
        and re.search(r"[a-z]{2}", _PLACEHOLDER.sub("", text))
    )
    assert not same, f"Welsh identical to the English: {same}"


def test_translations_keep_placeholders_directives_entities_and_edge_spaces() -> None:
    welsh = translations("cy")
    broken = []
    for text in extract():
        translated = welsh.get(text)
        if translated is None:
            continue
        if _placeholders(text) != _placeholders(translated):
            broken.append((text, translated, "placeholders"))
        if text[:1].isspace() != translated[:1].isspace() or (
            text[-1:].isspace() != translated[-1:].isspace()
        ):
            broken.append((text, translated, "edge spaces"))
    assert not broken, broken[:20]


def test_the_catalogues_hold_no_message_the_source_no_longer_has() -> None:
    current = set(extract())
    stale = [
        str(message.id)
        for path in catalogue_files("cy")
        for message in read_catalogue(path)
        if message.id and str(message.id) not in current
    ]
    assert not stale, f"run scripts/i18n.py update: {stale[:20]}"
