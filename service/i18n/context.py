"""The language of the work in hand, and gettext for Python's own strings.

A request (or an e-mail being rendered, or a PDF being made) sets the language once; every
``gettext`` below it follows. Strings defined at import time (status words, labels) are
marked with ``N_`` and stay ``Message`` objects, which templates translate when they show
them: the translation is chosen by the reader's language, never by whoever imported first.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from service.i18n.catalogues import LANGUAGES, SOURCE_LANGUAGE, translations

_LANGUAGE: ContextVar[str] = ContextVar("letterbox_language", default=SOURCE_LANGUAGE)


class Message(str):
    """A string from the code that a person reads: translated where it is shown."""

    __slots__ = ()


def N_(text: str) -> Message:
    return Message(text)


def current_language() -> str:
    return _LANGUAGE.get()


def set_language(language: str) -> None:
    """For the rest of this request (task): unknown languages mean the source language."""
    _LANGUAGE.set(language if language in LANGUAGES else SOURCE_LANGUAGE)


@contextmanager
def use_language(language: str) -> Iterator[None]:
    token = _LANGUAGE.set(language if language in LANGUAGES else SOURCE_LANGUAGE)
    try:
        yield
    finally:
        _LANGUAGE.reset(token)


def gettext(text: str) -> str:
    """``text`` in the current language (itself when there is no translation)."""
    return translations(_LANGUAGE.get()).get(text, text)


_ = gettext


def translate_shown(value: object) -> object:
    """Jinja's ``finalize``: a ``Message`` shown in a page is translated; anything else (names,
    a parent's own words) is shown as it is."""
    if isinstance(value, Message):
        return gettext(value)
    return value
