"""What the extraction and the compile-time translation treat as a message in a template."""

from __future__ import annotations

import jinja2

from service.i18n.markup import MarkupScanner, PlainTextScanner
from service.i18n.templates import is_prose_literal, literal_messages


def _messages(source: str, name: str = "page.html") -> list[str]:
    found: list[str] = []

    def collect(text: str) -> str:
        found.append(text)
        return text

    list(
        literal_messages(jinja2.Environment(autoescape=True)._tokenize(source, name), collect, name)
    )
    return found


def test_text_between_tags_and_read_aloud_attributes_are_messages() -> None:
    source = (
        '<p class="lead">Write to   your child\n today</p>'
        '<img src="/a.png" alt="A drawing"><input placeholder="Your name" value="yes">'
        '<button aria-label="Close the menu">×</button>'
    )
    assert _messages(source) == [
        "Write to your child today",
        "A drawing",
        "Your name",
        "Close the menu",
    ]


def test_scripts_styles_comments_and_classes_are_never_messages() -> None:
    source = (
        '<script type="application/json">{"Hello": "there"}</script><style>p{content:"Hi"}</style>'
        '<!-- Note for developers --><p class="status warn" data-x="Word">Waiting</p>'
    )
    assert _messages(source) == ["Waiting"]


def test_an_expression_splits_a_sentence_into_fragments_and_an_attribute_keeps_its_state() -> None:
    source = '<a href="/x" aria-label="Open {{ name }} now">Letters for {{ child }}</a>'
    assert _messages(source) == ["Open", "now", "Letters for"]


def test_prose_literals_in_expressions_are_messages_but_names_formats_and_comparisons_are_not() -> (
    None
):
    source = (
        '{% extends "base.html" %}{% set label = "Stop sending" %}'
        '{{ "Change your letter" if kind == "Letter" else "write again to the child" }}'
        '{{ when|local("%d %B") }}{{ "status ok" }}{% include "centre/nav.html" %}'
    )
    assert _messages(source) == ["Stop sending", "Change your letter", "write again to the child"]
    assert not is_prose_literal("item_approved") and is_prose_literal("Yes")


def test_text_templates_translate_paragraph_by_paragraph() -> None:
    pieces = list(PlainTextScanner().pieces("First line\nsame paragraph.\n\nSecond one.\n"))
    assert [text for kind, text in pieces if kind == "message"] == [
        "First line same paragraph.",
        "Second one.",
    ]
    assert "".join(text for _, text in pieces).count("\n\n") == 1


def test_the_scanner_joins_back_into_the_same_markup() -> None:
    html = '<p title="A b">One <em>two</em> three</p>\n<script>if (a < b) {}</script> four'
    scanner = MarkupScanner()
    assert "".join(text for _, text in scanner.pieces(html)) == html
