"""Templates in every language without ``{% trans %}`` tags.

One Jinja environment per language. The English one renders templates as written; each
other language's environment compiles the same template files through ``TranslateLiterals``,
which swaps every message (literal text, read-aloud attributes and the prose string literals
of ``{{ }}`` and ``{% set %}``) for its translation at compile time. Rendering costs nothing
extra, and the page a Welsh reader gets is a compiled Welsh template.

``LocalisedEnvironment`` is the English environment the app registers; ``get_template`` hands
out the current language's sibling, and the siblings share its filters and globals.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import jinja2
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream

from service.i18n.catalogues import HTML_LANG, LANGUAGES, SOURCE_LANGUAGE, translations
from service.i18n.context import current_language, translate_shown
from service.i18n.markup import scanner_for

# Prose in an expression: a letter, and a capital first letter or three or more words; never
# a template name, a date format, a CSS class pair or an identifier.
_NOT_PROSE = re.compile(
    r"[%/{}_=<>\"]|\.(html|txt|js|css)$|^[a-z0-9-]+( [a-z0-9-]+)?$|^\S$|^[.-]\S*$|^\S*[.-]$"
)
_COMPARISONS = frozenset({"eq", "ne"})
_TRANSLATED_BLOCKS = frozenset({"set", "call", "macro", "with"})


_DATE_DIRECTIVE = re.compile(r"%-?[a-zA-Z]")


def is_prose_literal(text: str) -> bool:
    """Words for a person. A date format is one when it has words of its own
    ("%-d %B %Y at %H:%M"): the translator keeps the %-directives and moves the words."""
    if _DATE_DIRECTIVE.search(text):
        words = _DATE_DIRECTIVE.sub("", text)
        return bool(re.search(r"[^\W\d_]{2,}", words)) and not re.search(r"[/{}_=<>\"]", words)
    return bool(re.search(r"[^\W\d_]", text)) and not _NOT_PROSE.search(text.strip())


def literal_messages(
    tokens: Iterable[Token], translate: Callable[[str], str], template_name: str | None
) -> Iterator[Token]:
    """The template's tokens with each message passed through ``translate``.

    Used both to compile (``translate`` looks the message up) and to extract (``translate``
    collects it), so the catalogue holds exactly what a page shows.
    """
    scanner = scanner_for(template_name)
    buffered = list(tokens)
    block_keyword = ""
    in_class_block = False
    for index, token in enumerate(buffered):
        if token.type == "data" and in_class_block:
            yield token
            continue
        if token.type == "data":
            parts = [
                translate(text) if kind == "message" else text
                for kind, text in scanner.pieces(token.value)
            ]
            yield Token(token.lineno, "data", "".join(parts))
            continue
        if token.type == "block_begin":
            following = buffered[index + 1] if index + 1 < len(buffered) else None
            block_keyword = following.value if following and following.type == "name" else ""
            if block_keyword == "block" and index + 2 < len(buffered):
                # ``{% block body_class %}``: a class name filling an attribute, never words.
                in_class_block = buffered[index + 2].value.endswith("class")
            elif block_keyword == "endblock":
                in_class_block = False
        elif token.type in ("block_end", "variable_begin"):
            block_keyword = ""
        if token.type == "string" and _translatable_literal(buffered, index, block_keyword):
            yield Token(token.lineno, "string", translate(token.value))
            continue
        yield token


def _translatable_literal(tokens: list[Token], index: int, block_keyword: str) -> bool:
    inside_variable = _inside(tokens, index, "variable_begin", "variable_end")
    if not inside_variable and block_keyword not in _TRANSLATED_BLOCKS:
        return False
    before = tokens[index - 1].type if index else ""
    after = tokens[index + 1].type if index + 1 < len(tokens) else ""
    if before in _COMPARISONS or after in _COMPARISONS:
        return False
    return is_prose_literal(tokens[index].value)


def _inside(tokens: list[Token], index: int, opening: str, closing: str) -> bool:
    for token in reversed(tokens[:index]):
        if token.type == closing:
            return False
        if token.type == opening:
            return True
    return False


class TranslateLiterals(Extension):
    """Compile-time translation into ``environment.letterbox_language``."""

    def filter_stream(self, stream: TokenStream) -> Iterable[Token]:
        table = translations(self.environment.letterbox_language)  # type: ignore[attr-defined]

        def lookup(text: str) -> str:
            return table.get(text, text)

        return literal_messages(stream, lookup, stream.name)


class LocalisedEnvironment(jinja2.Environment):
    """The English environment; ``get_template`` answers in the current language."""

    def __init__(self, **options: Any) -> None:
        options.setdefault("finalize", translate_shown)
        super().__init__(**options)
        self.letterbox_language = SOURCE_LANGUAGE
        # ``<html lang="{{ html_lang() }}">``: right on every page, error pages included.
        self.globals["html_lang"] = lambda: HTML_LANG[current_language()]
        self.siblings: dict[str, jinja2.Environment] = {}
        for language in LANGUAGES:
            if language == SOURCE_LANGUAGE:
                continue
            # The English environment's options, autoescape included.
            sibling = jinja2.Environment(  # noqa: S701
                **options, extensions=[*options.get("extensions", ()), TranslateLiterals]
            )
            sibling.letterbox_language = language  # type: ignore[attr-defined]
            # One set of filters and globals for every language (set up after this).
            sibling.filters = self.filters
            sibling.globals = self.globals
            self.siblings[language] = sibling

    def get_template(self, name: Any, parent: Any = None, globals: Any = None) -> jinja2.Template:
        language = current_language()
        if language != SOURCE_LANGUAGE:
            return self.siblings[language].get_template(name, parent, globals)
        return super().get_template(name, parent, globals)
