"""How hard a served page is to read: the Flesch-Kincaid grade of its visible text, as an age.

Parent and child pages must read at a reading age of nine or below (PRODUCT.md 3.9). This
module measures that for English, with no dictionary and no third-party package, so the test
runs anywhere and says exactly which sentences are hard.

What is read is what a person sees: the text of the page body, not scripts, styles, the
<head> or any attribute value (alt texts, aria labels and hidden inputs are left out; button
and link text is in). Headings, list items, labels, buttons, table cells and the like are
sentences of their own, because a reader meets them one at a time; so is each piece of text
between two "·" separators or <br>s. Inside a paragraph, a sentence ends at ".", "!" or "?".

Words that say nothing about reading difficulty are not counted: numbers, times, dates
(month and day names), e-mail addresses, web addresses, codes written in capitals (PDF,
JPEG) and names the caller lists (the child's and the centre's names; a name of several
words is taken out whole, so "Contact" in "Demo Family Contact Centre" is not counted but
"Contact" in "Contact the centre" is). A sentence left with
no counted word is not a sentence for the measure.

Grade = 0.39 × (words / sentences) + 11.8 × (syllables / words) − 15.59 (Flesch-Kincaid);
the reading age is the grade + 5 (grade 4 is the year a nine-year-old is in, in the US system
the formula was fitted to).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser

# Elements whose text is never shown, or not as part of the page's reading.
_SKIPPED = frozenset({"script", "style", "head", "template", "noscript", "svg", "textarea"})
# Elements that stand on their own: their text is one or more sentences of its own.
_BLOCKS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "button",
        "caption",
        "dd",
        "details",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "label",
        "legend",
        "li",
        "main",
        "nav",
        "ol",
        "option",
        "p",
        "section",
        "summary",
        "td",
        "th",
        "tr",
        "ul",
    }
)
_VOID = frozenset({"br", "hr", "img", "input", "meta", "link", "source", "track", "wbr"})


class _VisibleText(HTMLParser):
    """Collects the page's visible text as a list of blocks (each ends at a block boundary)."""

    def __init__(self, hidden_classes: frozenset[str]) -> None:
        super().__init__(convert_charrefs=True)
        self._hidden_classes = hidden_classes
        self.blocks: list[str] = []
        self._current: list[str] = []
        self._skipping: list[str] = []
        self._open: list[str] = []

    def _break(self) -> None:
        text = " ".join("".join(self._current).split())
        if text:
            self.blocks.append(text)
        self._current = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skipping:
            if tag not in _VOID:
                self._skipping.append(tag)
            return
        classes = (dict(attrs).get("class") or "").split()
        if tag in _SKIPPED or self._hidden_classes.intersection(classes):
            self._skipping.append(tag)
            return
        # A link drawn as a button is a button: a sentence of its own.
        if tag in _BLOCKS or tag == "br" or (tag == "a" and "button" in classes):
            self._break()
        if tag not in _VOID:
            self._open.append(tag if tag != "a" or "button" not in classes else "a.button")

    def handle_endtag(self, tag: str) -> None:
        if self._skipping:
            self._skipping.pop()
            return
        if tag in _VOID:
            return
        # Pop to the matching open tag (HTML lets some end tags be left out).
        while self._open:
            opened = self._open.pop()
            if opened in _BLOCKS or opened == "a.button":
                self._break()
            if opened.split(".")[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self._current.append(data)

    def close(self) -> None:
        super().close()
        self._break()


def visible_blocks(html: str, hidden_classes: Iterable[str] = ()) -> list[str]:
    """The page's visible text, one string per heading, paragraph, button, label, cell…

    Elements with one of ``hidden_classes`` are left out with all they hold: the page's
    stylesheet hides them (the header and footer on the child's view, for instance)."""
    parser = _VisibleText(frozenset(hidden_classes))
    parser.feed(html)
    parser.close()
    return parser.blocks


# A sentence ends at . ! ? (or …) followed by space, or at a "·" separator.
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"”’)]*\s+|\s+·\s+|\s*·\s*$|^\s*·\s*")


def split_sentences(blocks: Iterable[str]) -> list[str]:
    """Each block cut into sentences; empty pieces dropped."""
    sentences: list[str] = []
    for block in blocks:
        sentences.extend(p.strip() for p in _SENTENCE_END.split(block) if p and p.strip())
    return sentences


_MONTHS = (
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec"
)
_DAYS = "monday tuesday wednesday thursday friday saturday sunday mon tue wed thu fri sat sun"
# "May" and "March" are ordinary words too; only counted out when written with a capital.
_DATE_WORDS = frozenset(_MONTHS.split()) | frozenset(_DAYS.split())
_TOKEN = re.compile(r"\S+")
_EMAIL_OR_URL = re.compile(r"@|^(https?:|www\.)|\.(org|com|uk|net|example)\b", re.IGNORECASE)
_WORD_CHARS = re.compile(r"[A-Za-z][A-Za-z'’\-]*[A-Za-z]|[A-Za-z]")


def counted_words(sentence: str, names: Iterable[str] = ()) -> list[str]:
    """The words of ``sentence`` the measure counts (see the module docstring for what is left
    out and why)."""
    names = tuple(names)
    for phrase in (n for n in names if " " in n):  # a name of several words goes whole
        sentence = sentence.replace(phrase, " ")
    skip = {n.lower() for n in names if " " not in n}
    words: list[str] = []
    for token in _TOKEN.findall(sentence):
        if any(c.isdigit() for c in token) or _EMAIL_OR_URL.search(token):
            continue
        for word in _WORD_CHARS.findall(token):
            bare = word.strip("'’-")
            if not bare or re.sub(r"['’]s$", "", bare).lower() in skip:
                continue
            if bare[0].isupper() and bare.lower() in _DATE_WORDS:
                continue
            if len(bare) >= 2 and bare.isupper():  # a code or abbreviation: PDF, JPEG, MB
                continue
            words.append(bare)
    return words


_VOWEL_GROUP = re.compile(r"[aeiouy]+")
# A final "e" said as nothing ("make", not "little", "centre", "free"), "-ed" not after t or d
# ("checked", not "wanted"), "-es" not after a hissing sound ("makes", not "boxes").
_SILENT_ENDING = re.compile(
    r"(?<![^aeiouy][lr])(?<![ey])e$|(?<![td])ed$|(?<!s|x|z|c|g)(?<!ch|sh)es$"
)
# Vowel pairs that are said as two syllables (ri-ot, vi-de-o, cre-ate, flu-id), except in the
# endings where they are one (na-tion, spe-cial, gor-geous, ques-tion).
_TWO_SYLLABLE_PAIRS = re.compile(r"ia|io|iu|eo(?!p)|ea(?=t)|ua|uo|ui(?=d)|[aeiouy]i(?=ng$)")
_ONE_SYLLABLE_ENDINGS = re.compile(r"(tion|sion|cian|cial|tial|cious|tious|geous|ceous)")


def syllables(word: str) -> int:
    """A dictionary-free syllable count for an English word, right for most common words.

    Count groups of vowels (y counts as a vowel); then: a final silent "e" ("make") takes one
    away, but not "-le" or "-re" after a consonant ("lit-tle", "cen-tre"); "-ed" is silent unless after t or d
    ("checked", "want-ed"); "-es" is silent unless after s, x, z, ch, sh, c or g ("makes",
    "box-es"); a few vowel pairs said as two syllables ("vi-de-o") add one ("vi-de-o", "be-ing"); hyphenated words are counted part by part. Compounds with a
    silent "e" inside ("someone") count one too many; that errs on the hard side. Every word has at least one syllable.
    """
    parts = [p for p in re.split(r"[-‐]", word.lower()) if p]
    if len(parts) > 1:
        return sum(syllables(p) for p in parts)
    w = re.sub(r"[^a-z]", "", word.lower())
    if not w:
        return 0
    if len(w) <= 3:
        return 1
    count = len(_VOWEL_GROUP.findall(w)) - (1 if _SILENT_ENDING.search(w) else 0)
    pairs = len(_TWO_SYLLABLE_PAIRS.findall(w)) - len(_ONE_SYLLABLE_ENDINGS.findall(w))
    count += max(pairs, 0)
    return max(count, 1)


@dataclass(frozen=True)
class Sentence:
    text: str
    words: tuple[str, ...]
    syllables: int

    @property
    def grade(self) -> float:
        return _grade(len(self.words), 1, self.syllables)


@dataclass(frozen=True)
class Reading:
    """The measure of one text: its sentences and the Flesch-Kincaid grade and reading age."""

    sentences: tuple[Sentence, ...]

    @property
    def words(self) -> int:
        return sum(len(s.words) for s in self.sentences)

    @property
    def syllables(self) -> int:
        return sum(s.syllables for s in self.sentences)

    @property
    def grade(self) -> float:
        return _grade(self.words, len(self.sentences), self.syllables)

    @property
    def reading_age(self) -> float:
        return self.grade + 5

    def running_text(self, min_words: int = 6) -> Reading:
        """Only the sentences of ``min_words`` words or more: the page's prose, without the
        headings, buttons and labels that make a page's average easier than its paragraphs."""
        return Reading(tuple(s for s in self.sentences if len(s.words) >= min_words))

    def hardest(self, count: int = 10) -> list[Sentence]:
        """The sentences that raise the grade most: long ones and ones with long words."""
        return sorted(self.sentences, key=lambda s: s.grade, reverse=True)[:count]

    def report(self, count: int = 10) -> str:
        lines = [
            f"reading age {self.reading_age:.1f} (grade {self.grade:.1f}): {self.words} words, "
            f"{len(self.sentences)} sentences, {self.syllables} syllables; hardest sentences:"
        ]
        lines += [
            f"  age {s.grade + 5:5.1f} · {len(s.words):2d} words · {s.text}"
            for s in self.hardest(count)
        ]
        return "\n".join(lines)


def _grade(words: int, sentences: int, syllable_count: int) -> float:
    if words == 0 or sentences == 0:
        return 0.0
    return 0.39 * (words / sentences) + 11.8 * (syllable_count / words) - 15.59


def measure_sentences(sentences: Sequence[str], names: Iterable[str] = ()) -> Reading:
    names = tuple(names)
    measured = []
    for text in sentences:
        words = counted_words(text, names)
        if words:
            measured.append(Sentence(text, tuple(words), sum(syllables(w) for w in words)))
    return Reading(tuple(measured))


def measure_text(text: str, names: Iterable[str] = ()) -> Reading:
    """Plain text: each line is a block (as a paragraph is), then cut into sentences."""
    return measure_sentences(split_sentences(text.splitlines()), names)


def measure_html(
    html: str, names: Iterable[str] = (), hidden_classes: Iterable[str] = ()
) -> Reading:
    """A served page, as a person reads it (see ``visible_blocks`` for ``hidden_classes``)."""
    return measure_sentences(split_sentences(visible_blocks(html, hidden_classes)), names)
