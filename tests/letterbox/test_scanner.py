"""The personal-data scanner: what it finds, what it leaves alone, and that it cannot be stalled."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.letterbox.scanner import Category, Hit, scan
from tests.support.scanner_corpus import Example, clean_letters, personal_data_examples


def caught(example: Example) -> bool:
    start = example.text.index(example.fragment)
    end = start + len(example.fragment)
    return any(
        hit.category is example.category and hit.start < end and hit.end > start
        for hit in scan(example.text)
    )


def assert_valid_hits(text: str, hits: list[Hit]) -> None:
    previous_end = 0
    for hit in hits:
        assert 0 <= hit.start < hit.end <= len(text)
        assert hit.matched_text == text[hit.start : hit.end]
        assert hit.start >= previous_end, "hits overlap or are out of order"
        assert isinstance(hit.category, Category)
        previous_end = hit.end


# --- the corpora ----------------------------------------------------------------------------------


def test_corpora_are_big_enough_and_cover_every_category() -> None:
    examples = personal_data_examples()
    assert len(examples) >= 60
    generic = {c for c in Category if c is not Category.SENSITIVE_TERM}
    assert {example.category for example in examples} == generic
    for example in examples:
        assert example.fragment in example.text, example
    assert len(clean_letters()) >= 30


def test_scanner_catches_95_percent_of_personal_data_corpus() -> None:
    examples = personal_data_examples()
    missed = [example for example in examples if not caught(example)]
    rate = 1 - len(missed) / len(examples)
    assert rate >= 0.95, f"caught {rate:.0%}; missed: {[(m.category, m.text) for m in missed]}"


@pytest.mark.parametrize("category", [c for c in Category if c is not Category.SENSITIVE_TERM])
def test_scanner_catches_most_examples_of_each_category(category: Category) -> None:
    examples = [example for example in personal_data_examples() if example.category is category]
    missed = [example.text for example in examples if not caught(example)]
    assert len(missed) <= max(1, len(examples) // 10), missed


def test_scanner_flags_at_most_5_percent_of_clean_letters() -> None:
    letters = clean_letters()
    flagged = {letter[:40]: scan(letter) for letter in letters}
    flagged = {start: hits for start, hits in flagged.items() if hits}
    assert len(flagged) <= 0.05 * len(letters), flagged


def test_clean_letters_stay_clean_with_a_family_sensitive_list() -> None:
    terms = ["Oakfield Primary", "Hartley", "Brownies", "Kirkstall", "Jason"]
    flagged = [letter[:40] for letter in clean_letters() if scan(letter, terms)]
    assert len(flagged) <= 0.05 * len(clean_letters()), flagged


# --- specific shapes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "category", "fragment"),
    [
        ("07700 900123", Category.PHONE, "07700 900123"),
        ("+44 (0)20 7946 0000", Category.PHONE, "+44 (0)20 7946 0000"),
        ("SW1A 1AA", Category.POSTCODE, "SW1A 1AA"),
        ("flat 2b, 14 Acacia Avenue", Category.ADDRESS, "flat 2b"),
        ("flat 2b, 14 Acacia Avenue", Category.ADDRESS, "14 Acacia Avenue"),
        ("my insta is @name", Category.SOCIAL, "@name"),
        ("mum's email is name at gmail dot com", Category.EMAIL, "name at gmail dot com"),
        ("name [at] gmail [dot] com", Category.EMAIL, "name [at] gmail [dot] com"),
        ("see example.co.uk today", Category.URL, "example.co.uk"),
        ("we live near LS6 now", Category.POSTCODE, "LS6"),
        ("Rose Cottage", Category.ADDRESS, "Rose Cottage"),
        ("add me on snap", Category.SOCIAL, "add me on snap"),
    ],
)
def test_issue_examples_are_found_with_exact_spans(
    text: str, category: Category, fragment: str
) -> None:
    start = text.index(fragment)
    assert Hit(start, start + len(fragment), category, fragment) in scan(text)


@pytest.mark.parametrize(
    "text",
    [
        "I love you.It was fun at school.Then we went home.",
        "We scored 3 goals in the park and it was a 2 hour drive home.",
        "I am in Year 5 and Y5 is the best class.",
        "The score was 10-2 and I was born in 2015.",
        "We watched Sesame Street and then went to the Tree House.",
        "Meet me at 3:30 by the gate.",
        "I got 100 out of 100! And £5 from Nan.",
        "We drove up the M1 to see the sea.",
        "The ball went flat after 3 kicks.",
        "e.g. this, i.e. that, and so on.",
        "I watched YouTube and played Roblox with my cousin.",
    ],
)
def test_ordinary_sentences_are_not_flagged(text: str) -> None:
    assert scan(text) == []


def test_email_is_one_hit_not_an_email_plus_a_url() -> None:
    hits = scan("write to dad.smith@example.com soon")
    assert [(h.category, h.matched_text) for h in hits] == [
        (Category.EMAIL, "dad.smith@example.com")
    ]


def test_url_trailing_punctuation_is_not_part_of_the_hit() -> None:
    [hit] = scan("Look at https://example.com/page.")
    assert hit.matched_text == "https://example.com/page"


# --- sensitive terms -------------------------------------------------------------------------


def test_sensitive_terms_match_plurals_possessives_and_accents() -> None:
    text = "oakfield's OAKFIELDS Oakfíeld the Oakfields' party Oakfield’s Oakfield"
    hits = scan(text, ["Oakfield"])
    assert [h.matched_text for h in hits] == [
        "oakfield's",
        "OAKFIELDS",
        "Oakfíeld",
        "Oakfields'",
        "Oakfield’s",
        "Oakfield",
    ]
    assert {h.category for h in hits} == {Category.SENSITIVE_TERM}


def test_sensitive_terms_match_whole_words_only() -> None:
    assert scan("Boakfield and oakfieldmore and soakfield", ["Oakfield"]) == []


def test_sensitive_term_with_accent_in_the_list_matches_plain_text() -> None:
    hits = scan("We saw Zoe and Chloe at Renee's", ["Zoë", "Renée"])
    assert [h.matched_text for h in hits] == ["Zoe", "Renee's"]


def test_sensitive_term_spans_point_into_decomposed_original_text() -> None:
    text = "at Oakfie\u0301ld today"  # an accent typed as a combining mark
    [hit] = scan(text, ["Oakfield"])
    assert hit.matched_text == "Oakfie\u0301ld"
    assert text[hit.start : hit.end] == hit.matched_text


def test_sensitive_terms_of_several_words_and_plural_y() -> None:
    text = "She goes to St  Mary’s now and loves the Daisies and Brownies"
    hits = scan(text, ["St Mary's", "Daisy", "Brownie"])
    assert [h.matched_text for h in hits] == ["St  Mary’s", "Daisies", "Brownies"]


def test_sensitive_term_inside_an_address_is_still_highlighted() -> None:
    text = "We live at 14 Acacia Avenue now"
    hits = scan(text, ["Acacia"])
    assert any(h.start <= text.index("Acacia") < h.end for h in hits)


def test_blank_sensitive_terms_are_ignored() -> None:
    assert scan("nothing to see", ["", "   "]) == []


# --- safety and robustness ----------------------------------------------------------------------


def test_scanner_never_changes_text() -> None:
    for letter in clean_letters() + [example.text for example in personal_data_examples()]:
        before = "".join(letter)  # an independent copy
        hits = scan(letter, ["Oakfield", "Acacia"])
        assert letter == before
        assert_valid_hits(letter, hits)


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    text=st.lists(
        st.sampled_from(
            [
                *"aAzZ09 .@-_/:()[]'’\n+#éíß\u0301",
                *(" at ", " dot ", "Flat ", " Road", "07700 ", "LS6 ", "http://", "www.", ".com"),
            ]
        )
        | st.characters(),
        max_size=200,
    ).map("".join),
    terms=st.lists(st.text(max_size=12), max_size=4),
)
def test_scan_never_raises_and_spans_are_valid_for_arbitrary_text(
    text: str, terms: list[str]
) -> None:
    assert_valid_hits(text, scan(text, terms))


ADVERSARIAL = {
    "letters": "a" * 20_000,
    "email-ish": "a." * 10_000,
    "at-signs": "a@" * 10_000,
    "spelled-at": "a at " * 4_000,
    "spelled-dot": "x at y dot " * 2_000,
    "digits": "0" * 20_000,
    "spaced-digits": "0 " * 10_000,
    "house-numbers": "1 A " * 5_000,
    "capitals": "Ab " * 6_667,
    "url": "http://" + "a" * 19_993,
    "domain-labels": "a-" * 10_000,
    "handles": "@a" * 10_000,
    "brackets": "[at]" * 5_000,
    "whitespace": " " * 20_000,
    "postcode-ish": "LS6 " * 5_000,
}


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_adversarial_20000_char_input_is_scanned_in_linear_time(name: str) -> None:
    text = ADVERSARIAL[name]
    terms = ["aaaa", "Ab", "a a"]

    def best_of_three(sample: str) -> float:
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            assert_valid_hits(sample, scan(sample, terms))
            timings.append(time.perf_counter() - started)
        return min(timings)

    small = best_of_three(text[: len(text) // 4])
    full = best_of_three(text)
    # Linear work quadruples with 4× the text; catastrophic backtracking grows by 16× or worse.
    assert full < 8 * small + 0.05, (small, full)
    assert full < 2.0, full
