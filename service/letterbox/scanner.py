"""Find personal data in a letter so a moderator can see it before anyone else does.

The scanner only points: it returns spans into the original text and never changes it. It leans
towards flagging, because a moderator can dismiss a highlight in a second, but a missed postcode can
tell a parent where a child lives.

A sender who wants a detail through will disguise it: full-width letters, Cyrillic look-alikes,
zero-width characters, digits written as words, "at" and "dot". So the text is first normalised
(NFKC, look-alikes folded to Latin, invisible characters dropped), every pattern runs on the
normalised text, and each hit is mapped back to the exact characters of the original. A hit covers
the whole value ("add me on snap: sam_99" covers the handle too), so blacking out every hit leaves
nothing of it.

Every pattern starts at a token boundary and uses bounded repetition, and the Python passes walk
tokens once, so the work per starting position is bounded and a scan is linear in the length of the
text: hostile input cannot make it backtrack catastrophically.
"""

from __future__ import annotations

import bisect
import enum
import functools
import itertools
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources

import phonenumbers


def _split(words: str) -> list[str]:
    """A list of words written as one string, to keep long word lists short on the page."""
    return words.split()


def _words(words: str) -> frozenset[str]:
    return frozenset(words.split())


class Category(enum.StrEnum):
    EMAIL = "email"
    URL = "url"
    PHONE = "phone"
    POSTCODE = "postcode"
    ADDRESS = "address"
    SOCIAL = "social"
    SENSITIVE_TERM = "sensitive_term"
    MEETING = "meeting"


# How each category is named to a moderator.
CATEGORY_LABELS: dict[Category, str] = {
    Category.EMAIL: "e-mail address",
    Category.URL: "web address",
    Category.PHONE: "phone number",
    Category.POSTCODE: "postcode",
    Category.ADDRESS: "address",
    Category.SOCIAL: "social media or messaging app",
    Category.SENSITIVE_TERM: "one of the family's sensitive words",
    Category.MEETING: "possible meeting or location",
}


def category_label(category: str) -> str:
    """The plain-language name of a stored category value; unknown values are shown as stored."""
    try:
        return CATEGORY_LABELS[Category(category)]
    except ValueError:
        return category.replace("_", " ")


@dataclass(frozen=True, slots=True)
class Hit:
    start: int
    end: int
    category: Category
    matched_text: str


# When hits of different categories overlap, the longer one is kept; on equal length, the one
# earlier here. A family's own sensitive terms come first because they are the most specific.
_PRIORITY: tuple[Category, ...] = (
    Category.SENSITIVE_TERM,
    Category.EMAIL,
    Category.PHONE,
    Category.POSTCODE,
    Category.MEETING,
    Category.URL,
    Category.ADDRESS,
    Category.SOCIAL,
)

_Span = tuple[int, int, Category]

# --- normalising -----------------------------------------------------------------------------

# Letters from other scripts that look like Latin ones, and punctuation that looks like ours.
# NFKC already folds full-width, circled and mathematical letters; these it leaves alone.
_CONFUSABLE_PAIRS = (
    "аa еe оo рp сc уy хx іi јj ѕs ԁd һh ԛq ԝw ӏl ьb ɑa ɡg ıi ȷj ѵv "
    "АA ВB ЕE КK МM НH ОO РP СC ТT ХX УY ІI ЈJ ЅS ԌG ԚQ ԜW "
    "αa οo νv ιi κk ρp τt υu χx εe ϲc ϳj "
    "ΑA ΒB ΕE ΖZ ΗH ΙI ΚK ΜM ΝN ΟO ΡP ΤT ΥY ΧX "
    "。. ｡. ․. ·. ‧. ‐- ‑- ‒- –- —- ―- −- ⁃- ’' ‘' ‛' ′' ʼ' `' ´' “\" ”\" „\" ″\""
)
_CONFUSABLES = {pair[0]: pair[1] for pair in _CONFUSABLE_PAIRS.split()}


@functools.lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    """What one non-ASCII character reads as: "" for invisible ones."""
    kind = unicodedata.category(char)
    if kind in ("Cf", "Mn", "Me", "Cc") and char not in "\n\r\t":
        return ""  # zero-width spaces and joiners, soft hyphens, direction marks, accents
    if kind in ("Zl", "Zp"):
        return "\n"
    if kind == "Nd":
        return str(unicodedata.decimal(char))  # "٠٧٧٠٠" and other scripts' digits
    if char in _CONFUSABLES:
        return _CONFUSABLES[char]
    out = []
    for piece in unicodedata.normalize("NFKC", char):
        if piece.isascii():
            out.append(piece)
            continue
        if piece in _CONFUSABLES:
            out.append(_CONFUSABLES[piece])
            continue
        for base in unicodedata.normalize("NFKD", piece):
            if not unicodedata.combining(base):
                out.append(_CONFUSABLES.get(base, base))
    folded = "".join(out)
    return " " if folded.isspace() else folded


@dataclass(frozen=True, slots=True)
class _Normalised:
    """The text the patterns read, and where each of its characters came from."""

    text: str
    starts: list[int] | None  # None: the text is its own normal form
    ends: list[int] | None

    def span(self, start: int, end: int) -> tuple[int, int]:
        if self.starts is None or self.ends is None:
            return start, end
        return self.starts[start], self.ends[end - 1]


def _normalise(text: str) -> _Normalised:
    if text.isascii():
        return _Normalised(text, None, None)
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for index, char in enumerate(text):
        piece = char if char.isascii() else _fold_char(char)
        if not piece:
            # An invisible character belongs to the one before it, so a hit ending there
            # covers it too.
            if ends:
                ends[-1] = index + 1
            continue
        for folded in piece:
            out.append(folded)
            starts.append(index)
            ends.append(index + 1)
    return _Normalised("".join(out), starts, ends)


# --- the public suffix list ----------------------------------------------------------------


@functools.cache
def _top_level_domains() -> frozenset[str]:
    """Every ICANN top-level domain, from the public suffix list shipped in publicsuffixlist."""
    data = (
        resources.files("publicsuffixlist")
        .joinpath("public_suffix_list.dat")
        .read_text(encoding="utf-8")
    )
    icann = data.split("===BEGIN ICANN DOMAINS===", 1)[1].split("===END ICANN DOMAINS===", 1)[0]
    tlds = set()
    for line in icann.splitlines():
        line = line.strip()
        if line and not line.startswith("//"):
            tlds.add(line.lstrip("!*.").rsplit(".", 1)[-1].lower())
    return frozenset(tlds)


# Top-level domains that are also everyday words: after a full stop with no space ("home.so")
# they are a typing slip more often than a web address.
_WORD_TLDS = _words(
    "to in is it at no so be by do go us am an as me my fun love best live xxx lol day win help "
    "run show top one new now wed fit"
)
_COMMON_SUFFIXES = frozenset(
    ["com", "net", "org", "uk", "io", "co", "gov", "edu", "ly", "me", "ie"]
)


def _is_domain_ending(label: str, *, strict: bool) -> bool:
    lowered = label.lower()
    if lowered not in _top_level_domains():
        return False
    # "school.It was" is a missing space; a domain ending is written in one case.
    if not (label.islower() or label.isupper()):
        return False
    return not (strict and lowered in _WORD_TLDS)


# --- email ---------------------------------------------------------------------------------

_LOCAL_START = r"(?<![\w.%+'-])"
# "at" and "dot" as speakers of other languages say them: "arroba" (Spanish, Portuguese), "małpa"
# (Polish: a monkey), "a rond" (Romanian), "malwen" (Welsh: a snail), "arobase", "chiocciola",
# "eta" (Lithuanian), "at" in Arabic and Urdu letters; "punto", "ponto", "kropka", "punct",
# "pwynt", "point", "punkt", "taškas", "نقطة", "دوت", "ڈاٹ".
_AT_WORDS = r"at|arroba|ma[lł]p(?:a|ka|e)|a\s?rond|malwen|arobase|chiocciola|eta|ات|ایٹ"
_DOT_WORDS = r"dot|punto|ponto|kropka|kropke|punct|pwynt|point|punkt|taskas|نقطة|نقطه|دوت|ڈاٹ"
_DOT_WORD_SET = frozenset(_DOT_WORDS.split("|"))
_LOCAL = (
    r"[\w%+'-]{1,64}(?:(?:\.|\s{1,2}(?:"
    + _DOT_WORDS
    + r")\s{1,2}|\s{0,2}[\[(]dot[\])]\s{0,2}|\s\.\s)"
    r"[\w%+'-]{1,64}){0,4}"
)
_AT = (
    r"(?:\s{0,3}[\[(<{]\s{0,2}(?:at|@)\s{0,2}[\])>}]\s{0,3}|\s{0,3}@\s{0,3}|\s{1,3}(?:"
    + _AT_WORDS
    + r")\s{1,3}|\s{0,2}[-_]at[-_]\s{0,2})"
)
_DOT = (
    r"(?:\s{0,3}[\[(<{]\s{0,2}(?:dot|\.)\s{0,2}[\])>}]\s{0,3}|\s{1,3}(?:"
    + _DOT_WORDS
    + r")\s{1,3}|\.|\s{1,3}\.\s{1,3}|\s{0,2}[-_]dot[-_]\s{0,2})"
)
# A look-ahead, so a rejected candidate ("me at kerry") does not swallow the real address after it.
_EMAIL = re.compile(
    _LOCAL_START
    + r"(?=(?P<local>"
    + _LOCAL
    + r")"
    + _AT
    + r"(?P<domain>[\w-]{1,63}(?:"
    + _DOT
    + r"[\w-]{1,63}){0,5}))",
    re.IGNORECASE,
)
# Words that come before "at" in an ordinary sentence ("look at", "see you at").
_NOT_LOCAL_PARTS = frozenset(
    _split(
        "look looking looked me us you him her them it is was were be been are am i we they "
        "he she meet arrive arrived stay stayed staying play played playing live lives "
        "living home school here there out up back see wait waiting nan nans gran grans mum "
        "mums dad dads party one two good bad best great fun day night time tea lunch "
        "dinner"
    )
)
_MAIL_PROVIDERS = frozenset(
    _split(
        "gmail googlemail hotmail outlook yahoo icloud btinternet aol protonmail proton msn "
        "ymail virginmedia talktalk gmx live sky mail me"
    )
)
_LABEL = re.compile(r"[\w-]+")
_INITIAL = re.compile(r"(?<![\w'’])[a-z] $", re.IGNORECASE)
# Words of one letter in the languages the scanner reads ("escríbeme a papa arroba ...", Polish "i",
# "w", "z", Welsh "a", "y"): before a spelled address they are not its initial.
_ONE_LETTER_WORDS = frozenset("aeiouywz")
_EMAIL_LEAD = re.compile(r"(?:[\w.'-]{1,20}\s{1,2}){1,2}$")
_EMAIL_CONTEXT = re.compile(
    r"(?<![\w])(?:e-?\s?mail|email\s{1,3}address|mail)(?:\s{1,3}(?:me|address))?"
    r"(?:\s{1,3}(?:is|at|it'?s|to|on))?\s{0,3}[:=\-]?\s{0,3}$",
    re.IGNORECASE,
)


# "my gmail is jo.smith": the provider named first, the address after it.
_PROVIDER_FIRST = re.compile(
    r"(?<![\w])(?:gmail|googlemail|hotmail|outlook|yahoo|icloud|btinternet|aol|protonmail)"
    r"(?:\s{1,3}(?:address|account|email|e-mail))?\s{0,3}(?:is|=|:|-|–)\s{0,3}"
    r"(?P<local>[\w%+'-]{1,64}(?:\.[\w%+'-]{1,64}){0,4})",
    re.IGNORECASE,
)


def _emails(text: str) -> Iterator[_Span]:
    for match in _PROVIDER_FIRST.finditer(text):
        yield match.start(), match.end("local"), Category.EMAIL
    for match in _EMAIL.finditer(text):
        labels = [
            m
            for m in _LABEL.finditer(match.group("domain"))
            if m.group().lower() not in _DOT_WORD_SET
        ]
        if not labels:
            continue
        base = match.start("domain")
        end = None
        spelled = "@" not in text[match.end("local") : base]
        local = match.group("local")
        if spelled and (local.lower() in _NOT_LOCAL_PARTS or labels[0].group().lower() == "www"):
            continue
        if len(labels) > 1:
            for label in reversed(labels[1:]):
                if _is_domain_ending(label.group(), strict=spelled and len(labels) == 2):
                    end = base + label.end()
                    break
        if end is None:
            # "mum is jsmith at hotmail": a well-known provider makes the dot-com unnecessary.
            if labels[0].group().lower() not in _MAIL_PROVIDERS:
                continue
            if spelled and labels[0].group().lower() in {
                "me",
                "live",
                "sky",
                "mail",
            }:
                continue
            end = base + labels[0].end()
        start = match.start("local")
        # "email: j smith @ gmail.com": the words between "email" and the address are its start.
        before = text[max(0, start - 40) : start]
        lead = _EMAIL_LEAD.search(before)
        if lead is not None and _EMAIL_CONTEXT.search(before, 0, lead.start()):
            start -= len(lead.group())
        elif (initial := _INITIAL.search(before)) and not (
            spelled and initial.group()[0].lower() in _ONE_LETTER_WORDS
        ):
            start -= 2  # "j smith@gmail.com": the initial is part of the address
        yield start, end, Category.EMAIL


# --- url -----------------------------------------------------------------------------------

_URL_TAIL = r"[^\s<>\"'`]{0,2048}"
_URL_SCHEME = re.compile(
    r"(?<![\w])(?:https?|hxxps?|ftp)\s{0,2}:\s{0,2}//[^\s<>\"'`]{1,2048}", re.IGNORECASE
)
_URL_WWW = re.compile(r"(?<![\w.])www\s{0,2}\.\s{0,2}[\w-]{1,63}" + _URL_TAIL, re.IGNORECASE)
_URL_BARE = re.compile(
    r"(?<![\w.@/-])(?P<domain>(?:[\w-]{1,63}\.){1,5}[\w-]{2,63})(?P<path>/" + _URL_TAIL + r")?"
)
_URL_SPELLED = re.compile(
    r"(?<![\w.@])(?P<domain>[\w-]{2,63}(?:(?:\s{1,3}dot\s{1,3}|\s{0,2}[\[(](?:dot|\.)[\])]\s{0,2}"
    r"|\s\.\s)[\w-]{2,63}){1,3})(?P<path>\s{0,2}(?:/|\s{1,2}slash\s{1,2})\s{0,2}[\w@.-]{1,64})?",
    re.IGNORECASE,
)
# "fotospapa punto com": the other languages' "dot" is also their word for a point, a full stop
# or a bus stop ("a las tres en punto de la tarde", "o ponto de autocarro", "el punto es que"), so
# after one of them only endings that are no everyday word make a web address.
_URL_SPELLED_ELSEWHERE = re.compile(
    r"(?<![\w.@])(?P<domain>[\w-]{2,63}(?:\s{1,3}(?:"
    + _DOT_WORDS
    + r")\s{1,3}[\w-]{2,63}){1,3})(?![\w-])",
    re.IGNORECASE,
)
_ENDINGS_ELSEWHERE = _words("com net org uk pl ro pt br pk lt eu info cymru wales io")
_TRAILING_PUNCTUATION = ".,;:!?)]}'\"’”"


def _trim_url(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1] in _TRAILING_PUNCTUATION:
        # A closing bracket that belongs to the URL itself (Wikipedia links) stays.
        if text[end - 1] == ")" and text.count("(", start, end) >= text.count(")", start, end):
            break
        end -= 1
    return end


def _urls(text: str) -> Iterator[_Span]:
    for pattern in (_URL_SCHEME, _URL_WWW):
        for match in pattern.finditer(text):
            end = _trim_url(text, match.start(), match.end())
            if end > match.start():
                yield match.start(), end, Category.URL
    for match in _URL_BARE.finditer(text):
        labels = match.group("domain").split(".")
        path = match.group("path")
        if not any(ch.isalpha() for ch in labels[0]):
            continue
        plain = len(labels) == 2 and not path and not re.search(r"[\d_-]", labels[0])
        if _is_domain_ending(labels[-1], strict=plain):
            end = _trim_url(text, match.start(), match.end())
            yield match.start(), end, Category.URL
    for match in _URL_SPELLED.finditer(text):
        labels = [
            label
            for label in re.split(
                r"\s{0,3}[\[(]?dot[\])]?\s{0,3}|\s{0,3}[\[(]\.[\])]\s{0,3}|\s\.\s",
                match.group("domain"),
            )
            if label
        ]
        if len(labels) >= 2 and _is_domain_ending(labels[-1].strip(), strict=True):
            end = _trim_url(text, match.start(), match.end())
            yield match.start(), end, Category.URL
    lowered = text.lower()
    if not any(word in lowered for word in _DOT_WORD_SET if word != "dot"):
        return
    for match in _URL_SPELLED_ELSEWHERE.finditer(text):
        labels = [
            label for label in match.group("domain").split() if label.lower() not in _DOT_WORD_SET
        ]
        if labels[-1].lower() in _ENDINGS_ELSEWHERE:
            yield match.start(), match.end(), Category.URL


# --- phone ---------------------------------------------------------------------------------

_DIGIT_WORDS = {
    "zero": "0",
    "nought": "0",
    "nil": "0",
    "oh": "0",
    "o": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "hundred": "00",
    "double": "D",
    "triple": "T",
    "treble": "T",
}
# Digits as a speaker of another language says them, read on the normalised text (accents gone:
# "dziewięć" is "dziewiec", "آٹھ" is "اٹھ"). Welsh, Polish, Romanian, Spanish, Portuguese,
# Lithuanian, Arabic and Urdu. Words that are also everyday words ("un", "um", "dim", "opt",
# "pump", "meia", "du", "دو") count inside a number but do not start or end one, like "oh".
_DIGITS_ELSEWHERE = {
    digit: _split(words)
    for digit, words in (
        ("0", "dim cero nulis صفر"),
        ("1", "un unu una uno um uma jeden jedna vienas واحد ایک ايک"),
        ("2", "dau dwy dwa dwie doi doua dos dois duas du اثنان اثنين دو"),
        ("3", "tri tair trzy trei tres trys ثلاثة ثلاثه ثلاث تین"),
        ("4", "pedwar pedair cztery patru cuatro quatro keturi اربعة اربعه اربع چار"),
        ("5", "pump pum piec cinci cinco penki خمسة خمسه خمس پانچ"),
        ("6", "chwech chwe szesc sase seis meia sesi ستة سته ست چھ چھے"),
        ("7", "saith siedem sapte siete sete septyni سبعة سبعه سبع سات"),
        ("8", "wyth osiem opt ocho oito astuoni ثمانية ثمانيه ثمان اٹھ"),
        ("9", "naw dziewiec noua nueve nove devyni تسعة تسعه تسع نو"),
    )
}
_UNSURE_ELSEWHERE = frozenset(_split("dim un una uno um uma du opt pump meia noua دو ایک ايک نو"))
_DIGIT_WORDS_ELSEWHERE = {
    word: (digit, word not in _UNSURE_ELSEWHERE)
    for digit, words in _DIGITS_ELSEWHERE.items()
    for word in words
}
# A token is a run of letters and digits, or of Arabic letters; one that reads as digits is part
# of a number.
_PHONE_TOKEN = re.compile(r"[A-Za-z0-9|]{1,40}|[\u0621-\u064a\u0671-\u06d3]{1,40}")
_DIGITS_IN_TOKEN = re.compile(
    r"(?:zero|nought|nil|oh|one|two|three|four|five|six|seven|eight|nine|hundred|double|triple|treble"
    r"|[0-9]|[oil|])+",
    re.IGNORECASE,
)
_DIGIT_PIECE = re.compile(
    r"zero|nought|nil|oh|one|two|three|four|five|six|seven|eight|nine|hundred|double|triple|treble"
    r"|[0-9]|[oil|]",
    re.IGNORECASE,
)
# What may stand between the pieces of one number.
_PHONE_GAP = re.compile(r"[ \t\r\n.()\[\]_*~+-]{0,4}")
_PHONE_CONTEXT = re.compile(
    r"(?:call|ring|phone|number|mobile|tel|text|landline|digits|contact|whatsapp|no\.|num|mob"
    # the same words in Welsh, Polish, Romanian, Spanish, Portuguese, Lithuanian, Arabic, Urdu
    r"|rhif|ffon|tecst|dzwon|komork|suna|llam|movil|celular|liga|skamb|sms"
    r"|رقم|هاتف|اتصل|جوال|موبايل|نمبر|فون|کال|موبائل)"
    r"[^.!?]{0,30}$",
    re.IGNORECASE,
)
_PHONE_PREFIX = re.compile(r"(?:\+|\bplus\s{1,2}|\b00\s?)$", re.IGNORECASE)


def _token_digits(token: str) -> tuple[str, bool] | None:
    """The digits ``token`` stands for and whether it is a sure part of a number."""
    lowered = token.lower()
    if lowered in _DIGIT_WORDS_ELSEWHERE:
        return _DIGIT_WORDS_ELSEWHERE[lowered]
    if _DIGITS_IN_TOKEN.fullmatch(token) is None:
        return None
    if lowered in _DIGIT_WORDS:
        # "one" is surely a digit inside a number; "o" or "oh" alone only next to sure digits.
        return _DIGIT_WORDS[lowered], lowered not in (
            "o",
            "oh",
            "nil",
            "double",
            "triple",
            "treble",
            "hundred",
        )
    has_digit = any(ch.isdigit() for ch in token)
    out = []
    for piece in _DIGIT_PIECE.findall(token):
        lowered_piece = piece.lower()
        if lowered_piece in "il|":
            out.append("1")
        elif lowered_piece == "o":
            out.append("0")
        else:
            out.append(_DIGIT_WORDS.get(lowered_piece, piece))
    sure = has_digit or (len(out) > 1 and any(len(p) > 1 for p in _DIGIT_PIECE.findall(token)))
    return "".join(out), sure


def _expand(digits: str) -> str:
    """Apply "double" and "triple" to the digit after them."""
    out = []
    repeat = 1
    for ch in digits:
        if ch == "D":
            repeat = 2
        elif ch == "T":
            repeat = 3
        else:
            out.append(ch * repeat)
            repeat = 1
    return "".join(out)


def _is_counting(groups: list[str]) -> bool:
    numbers = [int(g) for g in groups if g.isdigit() and len(g) <= 4]
    if len(numbers) < 4 or len(numbers) != len(groups):
        return False
    steps = {b - a for a, b in itertools.pairwise(numbers)}
    return len(steps) == 1 and next(iter(steps)) in (1, 2, 5, 10)


def _looks_like_years(groups: list[str]) -> bool:
    return all(len(g) == 4 and g[:2] in ("19", "20") for g in groups)


def _looks_like_dates(groups: list[str]) -> bool:
    """Day, month, year, again: "12.05.2016 - 15.05.2016"."""
    if len(groups) % 3 or not all(g.isdigit() for g in groups):
        return False
    return all(
        1 <= int(day) <= 31
        and 1 <= int(month) <= 12
        and len(day) <= 2
        and len(month) <= 2
        and len(year) in (2, 4)
        for day, month, year in zip(groups[::3], groups[1::3], groups[2::3], strict=True)
    )


def _phone_run(text: str, whole: list[tuple[int, int, str, bool]]) -> _Span | None:
    # Unsure tokens ("o", "Oh", "I") do not make a number, but next to one they are part of it.
    first, last = 0, len(whole) - 1
    while first <= last and not whole[first][3]:
        first += 1
    while last >= first and not whole[last][3]:
        last -= 1
    if first > last:
        return None
    run = whole[first : last + 1]
    groups = [_expand(piece) for _, _, piece, _ in run]
    digits = "".join(groups)
    count = len(digits)
    start, end = whole[0][0], whole[-1][1]
    if count < 6 or _is_counting(groups) or _looks_like_years(groups) or _looks_like_dates(groups):
        return None
    before = text[max(0, start - 60) : start]
    prefix = _PHONE_PREFIX.search(before)
    international = prefix is not None or digits.startswith("00")
    if prefix is not None:
        start -= len(prefix.group())
    elif start > 0 and text[start - 1] == "(":
        start -= 1
    if 10 <= count <= 15 or (international and 8 <= count <= 15):
        return start, end, Category.PHONE
    if count > 15 and len(groups) <= 6:
        return start, end, Category.PHONE
    if count <= 9 and _PHONE_CONTEXT.search(before):
        return start, end, Category.PHONE
    if 7 <= count <= 9:
        try:
            number = phonenumbers.parse(digits, "GB")
        except phonenumbers.NumberParseException:
            return None
        if phonenumbers.is_valid_number(number):
            return start, end, Category.PHONE
    return None


def _phones(text: str) -> Iterator[_Span]:
    run: list[tuple[int, int, str, bool]] = []
    previous_end = -1
    for match in _PHONE_TOKEN.finditer(text):
        read = _token_digits(match.group())
        if read is None:
            if run:
                found = _phone_run(text, run)
                if found:
                    yield found
            run = []
            continue
        if run:
            gap = _PHONE_GAP.fullmatch(text, previous_end, match.start())
            if gap is None:
                found = _phone_run(text, run)
                if found:
                    yield found
                run = []
        run.append((match.start(), match.end(), read[0], read[1]))
        previous_end = match.end()
    if run:
        found = _phone_run(text, run)
        if found:
            yield found


# --- postcode ------------------------------------------------------------------------------

# The UK's postcode areas; restricting to them keeps codes like "Y5" (a school year) or "P3" out.
_POSTCODE_AREA_TEXT = (
    "AB AL B BA BB BD BF BH BL BN BR BS BT BX CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL DN "
    "DT DY E EC EH EN EX FK FY G GL GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT KW KY L "
    "LA LD LE LL LN LS LU M ME MK ML N NE NG NN NP NR NW OL OX PA PE PH PL PO PR RG RH RM S SA "
    "SE SG SK SL SM SN SO SP SR SS ST SW SY TA TD TF TN TQ TR TS TW UB W WA WC WD WF WN WR WS "
    "WV YO ZE"
)
_POSTCODE_AREAS = frozenset(_POSTCODE_AREA_TEXT.split())
_AREA = "(?:" + "|".join(sorted(_POSTCODE_AREAS, key=len, reverse=True)) + ")"
_OUTWARD = _AREA + r"[0-9][0-9A-Z]?"
# A look-ahead, so a failed candidate ("ab LS6") does not swallow the start of a real one.
_POSTCODE_CANDIDATE = re.compile(
    r"(?<![A-Za-z0-9|])(?=(?P<out>[A-Za-z0-9|]{2,4})"
    r"(?:[ \t\r\n./_-]{1,3}(?P<in1>[A-Za-z0-9|]{3})|(?P<in2>[A-Za-z0-9|]{3}))(?![A-Za-z0-9|]))"
)
_AS_DIGIT = {"O": "0", "I": "1", "L": "1", "|": "1"}
_AS_LETTER = {"0": "O", "1": "I"}
_INWARD_LETTERS = frozenset("ABDEFGHJLNPQRSTUWXYZ")
# Shapes of an outward code: L for a letter, 9 for a digit.
_OUTWARD_SHAPES = ("L9", "L99", "LL9", "LL99", "L9L", "LL9L")
# Outward codes alone ("near LS6") are common letter-and-digit strings, so they count only in
# capitals and next to a word that introduces a place.
_POSTCODE_PARTIAL_BEFORE = re.compile(
    r"(?i:(?<![\w])(?:near|nr\.?|around|in|from|postcode|post\s?code|area|district|"
    r"moved\s{1,3}to|round|live\s{1,3}in|lives\s{1,3}in)\s{1,3})"
    r"(?P<code>" + _OUTWARD + r"(?:\s{1,2}[0-9])?)(?![A-Za-z0-9])"
)
# The same words in Welsh, Polish, Romanian, Spanish, Portuguese, Lithuanian, Arabic and Urdu. Many
# are short ("w", "en", "yn"), so the code, in capitals, is found first and the word looked for
# before it.
_OUTWARD_IN_CAPITALS = re.compile(
    r"(?<![A-Za-z0-9])(?P<code>" + _OUTWARD + r"(?:\s{1,2}[0-9])?)(?![A-Za-z0-9])"
)
_PLACE_WORD_ELSEWHERE = re.compile(
    r"(?i:(?<![\w])(?:yn|ger|cod\s{1,3}post|ardal|w|kolo|niedaleko|okolicach|kod\s{1,3}pocztowy|"
    r"langa|zona|cod\s{1,3}postal|en|cerca\s{1,3}de|codigo\s{1,3}postal|em|perto\s{1,3}de|"
    r"netoli|pasto\s{1,3}kodas|في|قرب|منطقة|الرمز\s{1,3}البريدي|پوسٹ\s{1,3}کوڈ|علاقہ)"
    r"\s{1,3})$"
)
# In lower case only after words that can only introduce a place: "we moved to ls6".
_POSTCODE_PARTIAL_LOWER = re.compile(
    r"(?i:(?<![\w])(?:postcode|post\s?code|moved\s{1,3}to|live\s{1,3}in|lives\s{1,3}in|"
    r"living\s{1,3}in|postcode\s{1,3}is)\s{1,3})(?P<code>(?i:" + _OUTWARD + r"))(?![A-Za-z0-9])"
)
_POSTCODE_PARTIAL_AFTER = re.compile(
    r"(?<![A-Za-z0-9])(?P<code>"
    + _OUTWARD
    + r")(?=\s{1,3}(?i:area|district|postcode|way|side|rajone|میں|کے)\b)"
)
_BFPO = re.compile(r"(?<![A-Za-z0-9])BFPO[\s.:-]{0,3}\d{1,4}(?![\d])", re.IGNORECASE)
_EIRCODE = re.compile(
    r"(?<![A-Za-z0-9])(?:[AC-FHKNPRTV-Y]\d{2}|D6W)[ \t.-]{0,3}(?P<id>[0-9AC-FHKNPRTV-Y]{4})"
    r"(?![A-Za-z0-9])",
    re.IGNORECASE,
)


def _read_as(chars: str, shape: str) -> str | None:
    out = []
    for char, kind in zip(chars.upper(), shape, strict=True):
        if kind == "9":
            char = _AS_DIGIT.get(char, char)
            if not char.isdigit():
                return None
        else:
            char = _AS_LETTER.get(char, char)
            if not char.isalpha():
                return None
        out.append(char)
    return "".join(out)


def _is_postcode(outward: str, inward: str, *, capitals: bool = False) -> bool:
    # Letters for every digit ("TSO OAB") only in capitals: in lower case they are words.
    if not capitals and not any(ch.isdigit() for ch in outward + inward):
        return False
    inward_read = _read_as(inward, "9LL")
    if inward_read is None or not set(inward_read[1:]) <= _INWARD_LETTERS:
        return False
    for shape in _OUTWARD_SHAPES:
        if len(shape) != len(outward):
            continue
        read = _read_as(outward, shape)
        if read is None:
            continue
        area = read[:2] if shape.startswith("LL") else read[:1]
        if area in _POSTCODE_AREAS:
            return True
    return False


def _postcodes(text: str) -> Iterator[_Span]:
    for match in _POSTCODE_CANDIDATE.finditer(text):
        inward = match.group("in1") or match.group("in2")
        outward = match.group("out")
        capitals = bool(match.group("in1")) and (outward + inward).isupper()
        if _is_postcode(outward, inward, capitals=capitals):
            yield (
                match.start(),
                match.end("in1" if match.group("in1") else "in2"),
                Category.POSTCODE,
            )
    for pattern in (_POSTCODE_PARTIAL_BEFORE, _POSTCODE_PARTIAL_LOWER, _POSTCODE_PARTIAL_AFTER):
        for match in pattern.finditer(text):
            yield match.start("code"), match.end("code"), Category.POSTCODE
    for match in _OUTWARD_IN_CAPITALS.finditer(text):
        if _PLACE_WORD_ELSEWHERE.search(text, max(0, match.start() - 30), match.start()):
            yield match.start("code"), match.end("code"), Category.POSTCODE
    for match in _BFPO.finditer(text):
        yield match.start(), match.end(), Category.POSTCODE
    for match in _EIRCODE.finditer(text):
        unique = match.group("id")
        if any(c.isdigit() for c in unique) and any(c.isalpha() for c in unique):
            yield match.start(), match.end(), Category.POSTCODE


# --- address -------------------------------------------------------------------------------

_STREET_WORDS = (
    r"Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Close|Drive|Dr|Way|Crescent|Cres|Court|Ct|Gardens|"
    r"Gdns|Place|Pl|Terrace|Grove|Park|Hill|Walk|Square|Sq|Row|Mews|Rise|View|Green|Parade|"
    r"Vale|Boulevard|Wharf|Yard|Meadows?|Fields|Chase|Gate|Mount|Croft|Hollow|Brow|Bank|"
    r"Approach|Circus|Embankment|Esplanade|Quay|Wynd|Loan|Loaning|Brae|Vennel|Gait|Pend|Neuk|"
    r"Causeway|Heights|Glen|Dale|Lea|Orchard|Paddock|Demesne|Link|Ride|Crossway|Circle|Path|"
    r"Wood|Side|End|Manor|Grange|Estate|Flats|Buildings|Villas|Tce|Av|Cl|Pk|Gr|Gro"
)
# Lower-case street words only where they are unmistakable: "a 3 hour drive" is not an address.
_STREET_WORDS_LOWER = (
    r"street|road|avenue|crescent|terrace|gardens|grove|mews|boulevard|wynd|vennel|lane|place|"
    r"court|square|view|rise|parade|rd|ave|tce|gdns|cres|drive|close|way|walk"
)
_HOUSE_NUMBER = r"(?<![\w£$€.,/:-])\d{1,4}[A-Za-z]?,?\s{1,3}"
_CAP_WORD = r"[A-Z][A-Za-z'’-]{0,24}"
_ADDRESS_NUMBERED = re.compile(
    _HOUSE_NUMBER + r"(?:" + _CAP_WORD + r"\s{1,3}){1,3}(?i:" + _STREET_WORDS + r")\b\.?"
)
_LOWER_STOP = (
    r"the|a|an|my|our|your|his|her|their|its|and|or|but|to|of|in|on|at|for|with|from|by|up|down|"
    r"big|small|little|very|new|old|long|short|this|that|these|those|some|any|more|most|lots|"
    r"hour|hours|minute|minutes|mile|miles|day|days|week|weeks|year|years|times|goals|points|laps|"
    r"min|mins|secs|km|metres|meters|metre|feet|foot|yards|steps|less|other|kids|people|children|"
    r"friends|girls|boys|cats|dogs|pounds|quid|cards|stickers|books|more"
)
_ADDRESS_NUMBERED_LOWER = re.compile(
    _HOUSE_NUMBER
    + r"(?:(?!(?:"
    + _LOWER_STOP
    + r")\b)[a-z][a-z'’-]{1,24}\s{1,3}){1,2}(?:"
    + _STREET_WORDS_LOWER
    + r")\b",
    re.IGNORECASE,
)
_ADDRESS_UNNUMBERED = re.compile(
    r"(?<![\w'’])(?:"
    + _CAP_WORD
    + r"\s{1,3}){1,2}(?:Street|Road|Avenue|Lane|Close|Drive|Crescent|Terrace|Gardens|Grove|Mews|"
    r"Wynd|Vennel|Brae|Loan)\b"
)
# Welsh street words come before the name ("Heol y Felin", "12 Ffordd Las", "Lôn Goed"). The
# patterns read the normalised text, where "Lôn", "Sgwâr" and "Tŷ" have lost their circumflex, so
# one spelling covers both. These words name a street and little else, so with a capitalised name
# after them they count with no house number...
_WELSH_STREETS = r"Heol|Ffordd|Stryd|Lon|Rhodfa|Cilgant|Clos|Teras|Sgwar|Cwrt"
# ...and these are everyday words and names too ("y maes parcio", "i'r parc", Bryn the friend, "Tŷ
# Nain"), so they count only after a house number or in a sentence that says someone lives there.
_WELSH_PLACES = r"Maes|Bryn|Parc|Cae|Llwyn|Plas|Rhes|Llwybr|Gerddi|Ael[\s-]{1,3}y|Ty"
# After "yn", "i" or "ar" a Welsh word changes its first letter: "ym Mharc", "yng Nghae", "i Faes".
_WELSH_MUTATED = (
    r"Barc|Mharc|Pharc|Gae|Nghae|Chae|Faes|Fryn|Mryn|Lwyn|Blas|Mhlas|Phlas|Res|Lwybr|Dy|Nhy|Thy|"
    r"Gilgant|Nghilgant|Chilgant|Glos|Nghlos|Chlos|Deras|Nheras|Theras|Gwrt|Nghwrt|Chwrt|Rodfa"
)
# The name after the street word: capitalised ("Heol Fawr"), after the article ("Heol y Felin",
# "Rhodfa'r Môr", "Heol-y-Felin"), or in lower case after a hyphenated article ("Maes-y-coed").
_WELSH_NAME = (
    r"(?:['’]r[\s-]{1,3}[A-Z]|[\s-]{1,3}(?:(?:y|yr)[\s-]{1,3})?[A-Z]|-(?:y|yr)-[a-z])[a-z'’-]{1,24}"
    r"(?:[\s-]{1,3}(?:(?:y|yr)[\s-]{1,3})?[A-Z][a-z'’-]{1,24})?"
)
# After a house number the name may be in lower case after the article: "12 heol y parc".
_WELSH_NAME_NUMBERED = (
    r"(?:" + _WELSH_NAME + r"|(?:['’]r|[\s-]{1,3}(?:y|yr))[\s-]{1,3}[a-z][a-z'’-]{1,24})"
)
_WELSH_NUMBERED = re.compile(
    r"(?<![\w£$€.,/:-])(?:(?i:rhif)\s{1,3})?\d{1,4}[A-Za-z]?,?\s{1,3}(?:Y\s{1,3})?(?:"
    + _WELSH_STREETS
    + "|"
    + _WELSH_PLACES
    + r"|(?i:heol|stryd|rhodfa|cilgant|teras|sgwar))"
    + _WELSH_NAME_NUMBERED
    # "ffordd" is also "a way": "2 ffordd y gallwn ni fynd" (two ways we could go).
    + r"|(?<![\w£$€.,/:-])\d{1,4}[A-Za-z]?,?\s{1,3}ffordd"
    + _WELSH_NAME
)
_WELSH_UNNUMBERED = re.compile(r"(?<![\w'’])(?:Y\s{1,3})?(?:" + _WELSH_STREETS + r")" + _WELSH_NAME)
# "Rydyn ni'n byw ym Mharc y Dderwen", "Symudon ni i Faes y Coed", "We live at Maes y Coed".
_WELSH_IN_CONTEXT = re.compile(
    r"(?i:(?<![\w])(?:(?:byw|fyw|aros)(?:\s{1,3}(?:yn|ym|yng|ar|gyda\s{1,3}\w{1,12}\s{1,3}yn))?|"
    r"symud\w{0,4}(?:\s{1,3}(?:ni|i|e|hi|nhw|fi))?\s{1,3}(?:i|at)|cyfeiriad(?:\s{1,3}newydd)?"
    r"(?:\s{1,3}(?:yw|ydy|ydi)|\s{0,2}:)?|(?:live[sd]?|living|stay|staying)\s{1,3}(?:at|on|in)|"
    r"mov(?:e|ed|ing)\s{1,3}(?:to|into)|address\s{1,3}is|address\s{0,2}:)\s{1,3})"
    r"(?P<addr>(?:Y\s{1,3})?(?:"
    + _WELSH_STREETS
    + "|"
    + _WELSH_PLACES
    + "|"
    + _WELSH_MUTATED
    + r")"
    + _WELSH_NAME
    + r")"
)
_WELSH_CONTEXT_TRIGGERS = _split("byw fyw aros symud cyfeiriad liv stay mov address")
# "Y Stryd Fawr" is the high street every town has.
_WELSH_HIGH_STREETS = frozenset({"stryd fawr", "y stryd fawr"})
# What makes "Tŷ X" a kind of place or someone's family rather than a house's name.
_WELSH_HOUSE_WORDS = _words(
    "nain taid mam-gu mamgu tad-cu tadcu mam dad mami dadi bach gwydr hafan bwyta coffi chwarae "
    "doli dol haf bwyd crwn opera cwrdd"
)
# "Rhif 8" (number 8) where the sentence says it is where someone lives, and "rhif y tŷ yw 8".
_WELSH_HOUSE_NUMBER = re.compile(
    r"(?<![\w])(?:(?:byw|fyw|aros)\s{1,3}(?:yn|ym)\s{1,3}rhif|rhif\s{1,3}(?:y|ein|fy|ei)\s{1,3}"
    r"(?:ty|fflat)(?:\s{1,3}(?:yw|ydy|ydi|:))?)\s{0,3}\d{1,4}[A-Za-z]?(?![\w])",
    re.IGNORECASE,
)
# "Mae'r tŷ o'r enw Bryn Awel", "Enw'r tŷ yw Tŷ Gwyn": a house called by its name.
_WELSH_CALLED_HOUSE = re.compile(
    r"(?i:(?<![\w])(?:(?:ty|bwthyn|fferm|fflat|cartref)(?:\s{1,3}newydd)?\s{1,3}o['’]r\s{1,3}enw|"
    r"enw['’]r\s{1,3}(?:ty|bwthyn|fferm|cartref)(?:\s{1,3}newydd)?\s{1,3}(?:yw|ydy|ydi))\s{1,3})"
    r"(?P<name>[A-Z][\w'’-]{1,24}(?:\s{1,3}[A-Z][\w'’-]{1,24}){0,2})"
)
# A house's name alone, "Tŷ Gwyn", only with the circumflex: "Ty Jones" is a boy called Ty.
_WELSH_HOUSE = re.compile(r"(?<![\w'’])Ty\s{1,3}(?P<name>[A-Z][a-z'’-]{1,24})")
# Well-known fictional and public places that children and parents mention without giving away
# where anyone lives.
_FAMOUS_STREETS = frozenset(
    {
        "sesame street",
        "coronation street",
        "downing street",
        "abbey road",
        "penny lane",
        "baker street",
        "oxford street",
        "privet drive",
        "high street",
        "main street",
        "the high street",
        "wisteria lane",
    }
)
_FLAT = re.compile(
    r"(?<![\w])(?:(?:ground|first|second|third|top|basement)[\s-]{1,3}floor\s{1,3})?"
    r"(?:flat|fflat|apartment|apt\.?|maisonette|unit)\s{0,2}(?:no\.?\s{0,2}|(?:number|rhif)\s{1,2})?"
    r"\d{1,4}[A-Za-z]?(?:/\d{1,2})?(?![\w])",
    re.IGNORECASE,
)
# A Glasgow tenement flat before the house number: "2/1, 45 Byres Road".
_TENEMENT = re.compile(r"(?<![\w/])\d{1,2}/\d{1,2}(?=,?\s{1,3}\d{1,4}[A-Za-z]?\s{1,3}[A-Z])")
_FLOOR_FLAT = re.compile(
    r"(?<![\w])(?:ground|first|second|third|top|basement)[\s-]{1,3}(?:floor\s{1,3})?flat\b",
    re.IGNORECASE,
)
_HOUSE_NUMBER_PHRASE = re.compile(
    r"(?<![\w])(?:(?:live|lives|living|stay|staying)\s{1,3}at\s{1,3}(?:number|no\.?)|"
    r"house\s{1,3}(?:number|no\.?))\s{0,2}\d{1,4}[A-Za-z]?(?![\w])",
    re.IGNORECASE,
)
# A house number and a name with no street word, where the sentence says it is where someone is.
_ADDRESS_IN_CONTEXT = re.compile(
    r"(?i:(?<![\w])(?:live|lives|living|moved|move|moving|stay|staying|address|house|home|"
    r"we'?re|we\s{1,3}are|i'?m|i\s{1,3}am|come\s{1,3}to|send\s{1,3}it\s{1,3}to|post\s{1,3}it"
    r"\s{1,3}to|write\s{1,3}to|visit|round)\b)[^.!?\n\d]{0,20}?(?P<addr>(?:(?i:number|no\.?)\s{0,2})?"
    r"\d{1,4}[A-Za-z]?,?\s{1,3}"
    r"[A-Z][A-Za-z'’-]{1,24}(?:\s{1,3}[A-Z][A-Za-z'’-]{1,24}){0,2})"
)
_NOT_A_PLACE = frozenset(
    _split(
        "years year months month weeks week days day hours hours minutes o'clock oclock "
        "pounds goals points times am pm miles degrees pm kg am and or but the i it we my "
        "your january february march april may june july august september october november "
        "december monday tuesday wednesday thursday friday saturday sunday christmas easter "
        "today tomorrow tonight now next last soon"
    )
)
_HOUSE_SUFFIXES = (
    r"Cottages?|House|Farm|Farmhouse|Lodge|Barn|Manor|Villa|Bungalow|Grange|Mill|Rectory|"
    r"Vicarage|Mansions|Steading|Bothy|Croft"
)
_NAMED_HOUSE = re.compile(
    r"(?<![\w'’])(?P<words>(?:[A-Z][a-z]{1,20}[ \t]{1,2}){1,2})(?P<suffix>"
    + _HOUSE_SUFFIXES
    + r")\b"
)
_CALLED_HOUSE = re.compile(
    r"(?i:(?<![\w])(?:house|home|cottage|bungalow|farm|place|flat)\s{1,3}(?:is\s{1,3})?"
    r"(?:called|named)\s{1,3})[\"']?(?P<name>[A-Z][\w'’-]{1,24}(?:\s{1,3}[A-Z][\w'’-]{1,24}){0,2})"
)
_PO_BOX = re.compile(
    r"(?<![\w])(?:P\.?\s{0,2}O\.?\s{0,2}|Post\s{1,3}Office\s{1,3})Box\s{0,3}(?:No\.?\s{0,2})?"
    r"\d{1,6}(?![\w])",
    re.IGNORECASE,
)
# Words that make "X House" a kind of place rather than someone's home.
_GENERIC_HOUSE_WORD_TEXT = """the a my our your his her their this that town village city church sports dance community
    wendy tree play doll dolls haunted pizza pancake bouncy fun soft white opera music concert big
    pet bird dog cat lego gingerbread summer winter holiday light glass beach bounce ice toy animal
    petting pig city open public full whole new next same other nana nanny grandma grandad
    granny gran grandpa auntie aunty uncle mum mummy mom dad daddy ski farm guinea fairy story
    sleepover party steak coffee tea cake chip chippy burger noodle curry kebab warehouse school
    windmill water old mouse funhouse greenhouse"""
_GENERIC_HOUSE_WORDS = frozenset(_GENERIC_HOUSE_WORD_TEXT.split())


def _is_welsh_family_house(address: str) -> bool:
    """Whether ``address`` is "Tŷ Nain" or "Nhŷ Dad": a relative's house, not a house's name."""
    words = address.replace("-", " ").split()
    return (
        len(words) > 1
        and words[0].lower() in ("ty", "dy", "nhy", "thy")
        and words[1].lower() in _WELSH_HOUSE_WORDS | _GENERIC_HOUSE_WORDS
    )


def _welsh_addresses(text: str) -> Iterator[_Span]:
    lowered = text.lower()
    for match in _WELSH_NUMBERED.finditer(text):
        yield match.start(), match.end(), Category.ADDRESS
    for match in _WELSH_UNNUMBERED.finditer(text):
        if match.group().lower() not in _WELSH_HIGH_STREETS:
            yield match.start(), match.end(), Category.ADDRESS
    # The rest need a word most letters lack: a quick test skips them.
    if "rhif" in lowered:
        for match in _WELSH_HOUSE_NUMBER.finditer(text):
            yield match.start(), match.end(), Category.ADDRESS
    if any(word in lowered for word in _WELSH_CONTEXT_TRIGGERS):
        for match in _WELSH_IN_CONTEXT.finditer(text):
            if not _is_welsh_family_house(match.group("addr")):
                yield match.start("addr"), match.end("addr"), Category.ADDRESS
    if "enw" in lowered:
        for match in _WELSH_CALLED_HOUSE.finditer(text):
            yield match.start("name"), match.end("name"), Category.ADDRESS


def _welsh_houses(normal: _Normalised, original: str) -> Iterator[_Span]:
    """A house's name alone ("Tŷ Gwyn"), kept only where the original text has the "ŷ"."""
    if "Ty" not in normal.text:
        return
    for match in _WELSH_HOUSE.finditer(normal.text):
        start, end = normal.span(match.start(), match.start() + 2)
        if "ŷ" in unicodedata.normalize("NFC", original[start:end]) and not (
            _is_welsh_family_house(match.group())
        ):
            yield match.start(), match.end(), Category.ADDRESS


def _addresses(text: str) -> Iterator[_Span]:
    for pattern in (
        _ADDRESS_NUMBERED,
        _ADDRESS_NUMBERED_LOWER,
        _FLAT,
        _FLOOR_FLAT,
        _TENEMENT,
        _HOUSE_NUMBER_PHRASE,
        _PO_BOX,
    ):
        for match in pattern.finditer(text):
            yield match.start(), match.end(), Category.ADDRESS
    yield from _welsh_addresses(text)
    for match in _ADDRESS_IN_CONTEXT.finditer(text):
        words = match.group("addr").split()
        named = [w for w in words if w[:1].isalpha() and w.lower() not in ("number", "no", "no.")]
        if named and named[0].lower().strip(",.") not in _NOT_A_PLACE:
            yield match.start("addr"), match.end("addr"), Category.ADDRESS
    for match in _CALLED_HOUSE.finditer(text):
        yield match.start("name"), match.end("name"), Category.ADDRESS
    for match in _ADDRESS_UNNUMBERED.finditer(text):
        start = match.start()
        words = match.group().split()
        # Drop a leading "The"/"On"/"Our" and famous streets the regex cannot tell apart.
        while len(words) > 2 and words[0].lower() in _GENERIC_HOUSE_WORDS | {"on", "in", "at"}:
            start = text.index(words[1], start + len(words[0]))
            words = words[1:]
        if " ".join(words).lower() not in _FAMOUS_STREETS:
            yield start, match.end(), Category.ADDRESS
    for match in _NAMED_HOUSE.finditer(text):
        first, *rest = match.group("words").split()
        if first.lower() not in _GENERIC_HOUSE_WORDS:
            yield match.start(), match.end(), Category.ADDRESS
        elif rest and rest[0].lower() not in _GENERIC_HOUSE_WORDS:
            # "The Ivy House" is still Ivy House; "Big Tree House" is a toy.
            start = text.index(rest[0], match.start() + len(first))
            yield start, match.end(), Category.ADDRESS


# --- social media --------------------------------------------------------------------------


def _spaced(word: str) -> str:
    """``word`` with one optional separator between its letters: "s.n.a.p", "s n a p"."""
    return r"[\s.*_-]?".join(re.escape(ch) for ch in word)


# Platforms that are a way to talk privately: naming one is an invitation to leave the service.
_MESSAGING_APPS = _split(
    "instagram insta snapchat whatsapp whatsap telegram kik discord wechat viber wickr "
    "threema omegle yubo bereal onlyfans facebook twitter imessage hangouts houseparty"
)
# Platforms where "my X is ..." names an account.
_HANDLE_PLATFORMS = (
    _split(
        "snap sc ig gram tiktok tik tok yt youtube twitch fb tg wa reddit pinterest tumblr "
        "skype psn xbl threads"
    )
    + _MESSAGING_APPS
)
# Platforms whose names are ordinary words or common in innocent letters ("I played on the
# Xbox"): they count only before words such as "username" or "gamertag".
_GAME_PLATFORMS = _split(
    "roblox xbox playstation ps4 ps5 fortnite epic minecraft steam switch nintendo x line "
    "signal teams zoom facetime messenger"
)
# Digits and symbols that stand for letters in platform names: "1nst4", "sn@p", "d!sc0rd".
_LEET = str.maketrans("013457@$!|", "oieastasil")
_MESSAGING_APP = re.compile(
    r"(?<![a-z])(?:"
    + "|".join(_spaced(name) for name in sorted(_MESSAGING_APPS, key=len, reverse=True))
    + r"|signal\s{1,3}app|session\s{1,3}app|line\s{1,3}app|google\s{1,3}chat)"
    r"(?![a-z])",
    re.IGNORECASE,
)


def _platforms(names: list[str]) -> str:
    return "(?:" + "|".join(_spaced(name) for name in sorted(names, key=len, reverse=True)) + ")"


_PLATFORM = _platforms(_HANDLE_PLATFORMS)
_ANY_PLATFORM = _platforms(_HANDLE_PLATFORMS + _GAME_PLATFORMS)
# Short names ("sc", "ig") only where nothing else reads the same.
_NAMED_PLATFORM = _platforms([n for n in _HANDLE_PLATFORMS if len(n) > 2] + ["sc", "ig", "yt"])
_ACCOUNT_WORD = (
    r"(?:name|user\s?name|handle|account|id|tag|gamer\s?tag|friend\s{1,3}code|channel|code|@)"
)
_HANDLE = re.compile(r"(?<![\w@.])@[A-Za-z0-9_](?:[A-Za-z0-9_.]{0,29}[A-Za-z0-9_])?")
# The ghost is Snapchat's own sign; other emoji only before something shaped like a handle.
_SOCIAL_EMOJI = "📸📷🎵🐦💬📱🎮🎥▶"
_SOCIAL_CUES: tuple[re.Pattern[str], ...] = (
    # "add me on snap", "follow me on insta: sam"
    re.compile(
        r"(?<![a-z])(?:add|follow|find|message|msg|dm|pm|text|call|ring|contact|friend|inbox|"
        r"snap|whatsapp|chat\s{1,3}to|talk\s{1,3}to|facetime)\s{1,3}me(?:\s{1,3}(?:on|at|via|in|@)"
        r"\s{0,3}" + _ANY_PLATFORM + r"|\s{1,3}(?:on|at|via|in)(?=\s{0,3}[:@]))(?![a-z])",
        re.IGNORECASE,
    ),
    re.compile(
        r"(?<![a-z])(?:snap|dm|pm|inbox|insta|discord|whatsapp|follow)\s{1,3}me(?![a-z])",
        re.IGNORECASE,
    ),
    # "my snap is", "my insta name:", "my roblox username is"
    re.compile(
        r"(?<![a-z])my\s{1,3}(?:"
        + _PLATFORM
        + r"\s{0,3}"
        + _ACCOUNT_WORD
        + r"?|"
        + _ANY_PLATFORM
        + r"\s{0,3}"
        + _ACCOUNT_WORD
        + r")\s{0,3}(?:is|=|:|-|>|@)",
        re.IGNORECASE,
    ),
    # "snap: sam_99", "ig @sam", "sc - sam"
    re.compile(
        r"(?<![a-z])" + _NAMED_PLATFORM + r"\s{0,2}(?:[:=>@]|-{1,2}(?=\s{0,2}@?[a-z0-9_])|–)",
        re.IGNORECASE,
    ),
    # "on snap I'm sam_99", "I'm on insta"
    re.compile(
        r"(?<![a-z])(?:on|via)\s{1,3}(?:snap|snapchat|sc|ig|insta|instagram|whatsapp|discord|kik|"
        r"telegram|wechat|viber)(?:\s{1,3}(?:i'?m|i\s{1,3}am|as|it'?s))?(?![a-z])",
        re.IGNORECASE,
    ),
    re.compile(
        r"(?<![a-z])(?:user\s?name|gamer\s?tag|friend\s{1,3}code|handle|profile\s{1,3}name|"
        r"my\s{1,3}@|my\s{1,3}at)\s{0,3}(?:is|=|:|-)",
        re.IGNORECASE,
    ),
    re.compile(r"👻\ufe0f?\s{0,2}[:\-]?(?=\s{0,2}@?\w)"),
    # "add me: sam_99"
    re.compile(r"(?<![a-z])(?:add|follow|find)\s{1,3}me\s{0,2}[:=\-–]", re.IGNORECASE),
    # "snapchat name sam_99", "insta handle: sam"
    re.compile(
        r"(?<![a-z])" + _PLATFORM + r"\s{0,3}(?:user\s?name|name|handle|id|tag|account|@)"
        r"(?:\s{0,3}(?:is|=|:|-))?(?![a-z])",
        re.IGNORECASE,
    ),
    # "I'm sam_99 on snap": the handle before the platform
    re.compile(
        r"(?<![a-z])(?:i'?m|i\s{1,3}am|it'?s|add|follow|find)\s{1,3}@?[\w.]{2,30}\s{1,3}"
        r"(?:on|in)\s{1,3}" + _PLATFORM + r"(?![a-z])",
        re.IGNORECASE,
    ),
    # "download whatsapp", "get telegram", "are you on signal"
    re.compile(
        r"(?<![a-z])(?:download|get|install|join|use|have|got|on)\s{1,3}(?:the\s{1,3})?"
        r"(?:signal|session|line|threads|telegram|messenger)(?:\s{1,3}app)?(?![a-z])",
        re.IGNORECASE,
    ),
)
_HANDLE_AFTER = re.compile(
    r"(?:[\s:=>\-–,]|(?i:it'?s|its|is|name|username|user|handle|as|called|me)(?![\w])){0,6}"
    r"(?P<handle>@?[\w][\w.#-]{0,30})"
)
_NUMBERISH = re.compile(r"[\d.()+-]{6,}")
_NOT_HANDLES = frozenset(
    _split(
        "the a an and when if pls please later soon tonight now x xx xxx ok okay then to so "
        "i you too or but at on in with for my your me it we they he she is are was be can "
        "could will would should love thanks thank bye see yeah yes no not because cos if "
        "after before this that sometime some time tomorrow today weekend saturday sunday "
        "monday tuesday wednesday thursday friday"
    )
)


# Words without which each cue above cannot match: a quick test that skips most patterns for
# most letters (empty: always run).
_SOCIAL_TRIGGERS: tuple[tuple[str, ...], ...] = (
    ("me",),
    ("me",),
    ("my",),
    (),
    ("on", "via"),
    ("name", "tag", "code", "handle", "my"),
    ("👻",),
    ("me",),
    (),
    ("on", "in"),
    ("signal", "session", "line", "threads", "telegram", "messenger"),
)
# Read on the text itself, not its letters-for-digits reading: the handle's digits count.
_EMOJI_CUE = re.compile(
    "[" + _SOCIAL_EMOJI + r"]\ufe0f?\s{0,2}[:\-]?"
    r"(?=\s{0,2}(?:@\w|[A-Za-z][A-Za-z0-9]{0,30}[_.\d]))"
)
# A Discord tag: "sam#1234".
_DISCORD_TAG = re.compile(r"(?<![\w#])[A-Za-z][\w.]{1,31}#\d{4}(?![\w])")


# The same apps and cues in other languages.
# A case ending after an app's name: "na WhatsAppie", "Instagramul", "instagrame", "Telegrama".
_CASE_ENDING = r"(?:-?(?:ului|ul|iem|ie|zie|ze|cie|em|om|u|a|e))"
_ARABIC_LETTER = r"[\u0621-\u064a\u0671-\u06d3]"
# Apps written in Arabic or Urdu letters, after a clitic "al-", "bi-", "wa-" if any ("الواتساب").
_ARABIC_APPS = _split(
    "واتساب واتس_اب واتس وتساب سنابشات سناب_شات انستغرام انستقرام انستجرام انستا تلغرام تيليجرام "
    "تليجرام تلجرام فيسبوك فيس_بوك ديسكورد فايبر واٹس_ایپ واٹس_اپ واٹس سنیپ_چیٹ "
    "انسٹاگرام انسٹا ٹیلیگرام ٹیلی_گرام فیس_بک"
)
_ARABIC_PLATFORMS = [*_ARABIC_APPS, *_split("سناب سنیپ تيك_توك تيكتوك ٹک_ٹاک يوتيوب یوٹیوب")]


def _arabic_names(names: list[str]) -> str:
    spelled = sorted((name.replace("_", r"\s{0,3}") for name in names), key=len, reverse=True)
    return (
        r"(?<!" + _ARABIC_LETTER + r")(?:[وفبلك]?ال|ع|ب)?(?:" + "|".join(spelled) + r")"
        r"(?!" + _ARABIC_LETTER + r")"
    )


_MESSAGING_APP_ELSEWHERE = re.compile(
    r"(?<![a-z])(?:(?:"
    + "|".join(sorted((n for n in _MESSAGING_APPS if len(n) >= 6), key=len, reverse=True))
    + r")"
    + _CASE_ENDING
    # Polish "na Snapchacie"; Spanish "guasap"; Brazilian "no zap", "pelo whats"
    + r"|snapcha[ct]ie|snapcza[ct]ie|gu?as+ap+|wasap+|(?:no|pelo|pela)\s{1,3}(?:zap|whats)"
    r"|zap\s?zap)(?![a-z])|" + _arabic_names(_ARABIC_APPS),
    re.IGNORECASE,
)
_PLATFORM_ELSEWHERE = (
    r"(?:"
    + _NAMED_PLATFORM
    + _CASE_ENDING
    + r"?|snapcha[ct]ie|snapcza[ct]ie|fejs(?:ie|a)?|"
    + _arabic_names(_ARABIC_PLATFORMS)
    + r")"
)
_SOCIAL_CUES_ELSEWHERE: tuple[re.Pattern[str], ...] = (
    # "dodaj mnie na snapie", "agrégame en insta", "me adiciona no insta", "adaugă-mă pe insta",
    # "ychwanega fi ar Snapchat", "pridėk mane instagrame", "أضفني على سناب"
    re.compile(
        r"(?<![a-z])(?:(?:dodaj|obserwuj|napisz\s{1,3}do|zapros)\s{1,3}mnie\s{1,3}(?:na|do|w)|"
        r"(?:agregame|anademe|sigueme|escribeme|hablame)\s{1,3}(?:en|por|al|a)(?:\s{1,3}el)?|"
        r"me\s{1,3}(?:adiciona|add|segue|chama)\s{1,3}(?:no|na|pelo|pela|em)|"
        r"(?:adiciona|segue|chama)-me\s{1,3}(?:no|na|pelo|pela|em)|"
        r"(?:adauga|urmareste)-ma\s{1,3}pe|scrie-mi\s{1,3}pe|"
        r"(?:ychwanega|ychwanegwch|dilyna|dilynwch|tecstia|negesa)\s{1,3}fi\s{1,3}ar|"
        r"(?:pridek|sek)\s{1,3}mane|"
        r"(?:اضفني|ضيفني|تابعني|كلمني|راسلني)\s{1,3}(?:على|في|ع))\s{1,3}"
        + _PLATFORM_ELSEWHERE
        + r"(?![a-z])",
        re.IGNORECASE,
    ),
    # "mi insta es", "meu insta é", "mój snap to", "fy snap i yw"
    re.compile(
        r"(?<![a-z])(?:mi|meu|minha|moj|moje|fy|mano)\s{1,3}"
        + _PLATFORM_ELSEWHERE
        + r"(?:\s{1,3}(?:nick|name|enw|usuario|utilizador|id|konto|cont|i))?\s{0,3}"
        r"(?:es|e|to|jest|yw|ydy|ydi|yra|este|:|=|-)(?![a-z])",
        re.IGNORECASE,
    ),
    # "instagramul meu e"
    re.compile(
        r"(?<![a-z])" + _PLATFORM_ELSEWHERE + r"\s{1,3}(?:meu|mea)\s{0,3}(?:e|este|:|-)(?![a-z])",
        re.IGNORECASE,
    ),
    # "میرا سنیپ", "حسابي على انستا"
    re.compile(
        r"(?:میرا|میری|حسابي)\s{1,3}(?:(?:على|في)\s{1,3})?" + _PLATFORM_ELSEWHERE,
        re.IGNORECASE,
    ),
)
# Words without which each cue above cannot match, as for the English cues.
_SOCIAL_TRIGGERS_ELSEWHERE: tuple[tuple[str, ...], ...] = (
    (
        *_split("mnie agregame anademe sigueme escribeme hablame adiciona segue chama mane"),
        *("me add", "-ma ", "-mi ", " fi ar", "ني"),
    ),
    ("mi ", "meu", "minha", "moj", "fy ", "mano "),
    ("meu", "mea"),
    ("میر", "حساب"),
)
# Words without which the apps' other names cannot be there.
_APP_TRIGGERS_ELSEWHERE = (
    *(name for name in _MESSAGING_APPS if len(name) >= 6),
    *_split("snapc snapcz gasap guasap wasap zap whats"),
    *_split("واتس وتساب سناب انست انسٹا تلغرام تيليجرام تليجرام تلجرام فيس فیس ديسكورد فايبر"),
    *_split("واٹس سنیپ ٹیلی"),
)


def _social(text: str) -> Iterator[_Span]:
    for match in _DISCORD_TAG.finditer(text):
        yield match.start(), match.end(), Category.SOCIAL
    for match in _HANDLE.finditer(text):
        end = _trim_url(text, match.start(), match.end())
        if end - match.start() > 2:
            yield match.start(), end, Category.SOCIAL
    leet = text.translate(_LEET)
    lowered = leet.lower()
    for match in _MESSAGING_APP.finditer(leet):
        yield match.start(), match.end(), Category.SOCIAL
    if any(word in lowered for word in _APP_TRIGGERS_ELSEWHERE):
        for match in _MESSAGING_APP_ELSEWHERE.finditer(leet):
            yield match.start(), match.end(), Category.SOCIAL
    cues = [
        match
        for pattern, triggers in zip(_SOCIAL_CUES, _SOCIAL_TRIGGERS, strict=True)
        if not triggers or any(word in lowered for word in triggers)
        for match in pattern.finditer(leet)
    ]
    cues.extend(
        match
        for pattern, triggers in zip(
            _SOCIAL_CUES_ELSEWHERE, _SOCIAL_TRIGGERS_ELSEWHERE, strict=True
        )
        if any(word in lowered for word in triggers)
        for match in pattern.finditer(leet)
    )
    cues.extend(_EMOJI_CUE.finditer(text))
    for match in cues:
        end = match.end()
        after = _HANDLE_AFTER.match(text, end, min(len(text), end + 80))
        if after is not None:
            handle = after.group("handle").rstrip(".-#")
            # A number after "text me" is the phone pattern's to flag.
            # Handles are written in Latin letters: the Arabic word after "كلمني على الواتساب" is not.
            if (
                handle
                and handle.isascii()
                and handle.lower() not in _NOT_HANDLES
                and not _NUMBERISH.fullmatch(handle)
            ):
                end = after.start("handle") + len(handle)
        yield match.start(), end, Category.SOCIAL


# --- meetings and places -------------------------------------------------------------------

_CLAUSE_REST = r"[^.!?\n]{0,100}"
_DAY_OR_TIME = re.compile(
    r"(?i:monday|tuesday|wednesday|thursday|friday|saturday|sunday|tomorrow|tonight|weekend|"
    r"after\s{1,3}school|before\s{1,3}school|o'?clock|\d\s{0,2}(?:am|pm)|\d[:.]\d\d|morning|"
    r"afternoon|evening|lunchtime|home\s{1,3}time)"
)
_YOUR_PLACE = (
    r"(?:your|ur|yr)\s{1,3}(?:new\s{1,3})?(?:school|house|home|flat|nan'?s|nana'?s|gran'?s|"
    r"granny'?s|grandma'?s|club|practice|training|swimming|football|dance|class|work|street|road|"
    r"gate|gates|bus\s{1,3}stop|lessons|match|game|party|classroom|playground|park|church|"
    r"brownies|cubs|scouts|guides|nursery|college|estate|village|town|door|window|stop)"
)
_MEETING_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(
        r"(?<![a-z])(?:meet\s{1,3}(?:me|you|up|us|there|at|outside|by|behind|near|in|after|round|"
        r"halfway)|meeting\s{1,3}(?:me|you|up)|meetup)\b" + _CLAUSE_REST,
        re.IGNORECASE,
    ),
    re.compile(
        r"(?<![a-z])(?:let'?s|we\s{1,3}(?:could|can|should|will|must)|we'?ll|shall\s{1,3}we|"
        r"why\s{1,3}don'?t\s{1,3}we|can\s{1,3}we|could\s{1,3}we)\s{1,3}meet\b" + _CLAUSE_REST,
        re.IGNORECASE,
    ),
    # "I'll be at your school on Tuesday", "I'll wait outside your house"
    re.compile(
        r"(?<![a-z])(?:I'?ll|I\s{1,3}will|I'?m\s{1,3}going\s{1,3}to|I\s{1,3}am\s{1,3}going\s{1,3}"
        r"to|I\s{1,3}can|I\s{1,3}could|I'?d|I\s{1,3}might|we'?ll|we\s{1,3}will|we\s{1,3}can|"
        r"I'?m\s{1,3}(?:coming|going)|I'?ll\s{1,3}come)[^.!?\n]{0,40}?(?:at|outside|by|near|"
        r"behind|round|to|from|past|after|in|into)\s{1,3}" + _YOUR_PLACE + _CLAUSE_REST,
        re.IGNORECASE,
    ),
    # "outside your school", "at your house": the other parent knowing the child's places
    re.compile(
        r"(?<![a-z])(?:outside|behind|near|by|at\s{1,3}the\s{1,3}end\s{1,3}of)\s{1,3}"
        + _YOUR_PLACE
        + _CLAUSE_REST,
        re.IGNORECASE,
    ),
    re.compile(
        r"(?<![a-z])(?:I'?ll|I\s{1,3}will|we'?ll)\s{1,3}be\s{1,3}(?:waiting\s{1,3})?"
        r"(?:outside|behind|near|by)\s{1,3}" + _CLAUSE_REST,
        re.IGNORECASE,
    ),
    re.compile(
        r"(?<![a-z])(?:come|pop|drop)\s{1,3}(?:round|over|by)\s{1,3}(?:to\s{1,3})?"
        r"(?:my|mine|our)\b" + _CLAUSE_REST + r"|(?<![a-z])come\s{1,3}(?:to|and\s{1,3}see\s{1,3}me"
        r"\s{1,3}at)\s{1,3}(?:my|our)\s{1,3}(?:house|flat|home|place|work)" + _CLAUSE_REST,
        re.IGNORECASE,
    ),
    re.compile(
        r"(?<![a-z])(?:wait|waiting)\s{1,3}for\s{1,3}(?:me|you)\s{1,3}(?:at|outside|by|near|behind|"
        r"after|round)\b" + _CLAUSE_REST,
        re.IGNORECASE,
    ),
    re.compile(
        r"(?<![a-z])(?:pick|picking|collect|collecting)\s{1,3}you\s{1,3}up\s{1,3}"
        r"(?:from|at|outside|after)\b" + _CLAUSE_REST,
        re.IGNORECASE,
    ),
    re.compile(
        r"(?<![a-z])(?:where\s{1,3}do\s{1,3}you\s{1,3}(?:live|go\s{1,3}to\s{1,3}school)|"
        r"what'?s\s{1,3}your\s{1,3}(?:address|postcode|school\s{1,3}called)|"
        r"what\s{1,3}(?:is\s{1,3})?your\s{1,3}(?:address|postcode)|"
        r"what\s{1,3}school\s{1,3}(?:do|are)\s{1,3}you|which\s{1,3}school\s{1,3}(?:do|are)\s{1,3}"
        r"you|where'?s\s{1,3}your\s{1,3}(?:school|house)|where\s{1,3}is\s{1,3}your\s{1,3}"
        r"(?:school|house)|send\s{1,3}(?:me\s{1,3})?(?:your|ur)\s{1,3}(?:address|location|"
        r"postcode|pin)|share\s{1,3}(?:your\s{1,3}|ur\s{1,3})?(?:live\s{1,3})?location|"
        r"(?:my|your|ur)\s{1,3}live\s{1,3}location|"
        r"i\s{1,3}know\s{1,3}where\s{1,3}you\s{1,3}(?:live|are|go)|"
        r"see\s{1,3}you\s{1,3}(?:outside|behind|near|by)\b|"
        r"(?:my|our)\s{1,3}(?:new\s{1,3})?(?:school|nursery|club|college)\s{1,3}"
        r"is\s{1,3}(?:called|named|on|near|next\s{1,3}to|opposite|behind|round\s{1,3}the\s{1,3}"
        r"corner)\b|"
        r"(?:we|i)\s{1,3}(?:now\s{1,3})?live\s{1,3}(?:on|near|next\s{1,3}to|opposite|"
        r"behind|round\s{1,3}the\s{1,3}corner\s{1,3}from|right\s{1,3}by|by)\b)" + _CLAUSE_REST,
        re.IGNORECASE,
    ),
    # what3words: "///filled.count.soap", "w3w: filled.count.soap"
    re.compile(
        r"(?:///|(?<![\w])(?:w3w|what\s?3\s?words|what\s{1,3}three\s{1,3}words)\s{0,3}[:\-]?"
        r"\s{0,3}(?:///)?)\s{0,2}[^\W\d_]{1,24}\s{0,2}\.\s{0,2}[^\W\d_]{1,24}\s{0,2}\.\s{0,2}"
        r"[^\W\d_]{1,24}",
        re.IGNORECASE,
    ),
    # coordinates: "51.5014, -0.1419", "51°30′26″N 0°7′39″W"
    re.compile(
        r"(?<![\w.])[-+]?\d{1,2}\.\d{3,8}\s{0,2}°?\s{0,2}[NSns]?\s{0,2}[,;/]?\s{0,3}"
        r"[-+]?\d{1,3}\.\d{3,8}\s{0,2}°?\s{0,2}[EWew]?(?![\w])"
    ),
    re.compile(
        r"(?<![\w.])\d{1,3}\s{0,2}°\s{0,2}(?:\d{1,2}(?:\.\d{1,4})?\s{0,2}['′]\s{0,2})?"
        r"(?:\d{1,2}(?:\.\d{1,4})?\s{0,2}(?:[\"″]|['′]{2})\s{0,2})?[NSns]\b"
        r"(?:\s{0,2}[,;]?\s{0,3}\d{1,3}\s{0,2}°\s{0,2}(?:\d{1,2}(?:\.\d{1,4})?\s{0,2}['′]\s{0,2})?"
        r"(?:\d{1,2}(?:\.\d{1,4})?\s{0,2}(?:[\"″]|['′]{2})\s{0,2})?[EWew]\b)?"
    ),
    # The same in Welsh, read without circumflexes: "cwrdd â fi", "gawn ni gwrdd"...
    re.compile(
        r"(?<![a-z])(?:(?:[cg]wrdd|cyfarfod|gyfarfod)\s{1,3}(?:a|ag)\s{1,3}(?:fi|ni|ti|chi|mi)|"
        r"(?:gawn|gallwn|allwn|dewch|dere|beth\s{1,3}am|awn)\s{1,3}(?:ni\s{1,3})?(?:i\s{1,3})?"
        r"[cg]wrdd)\b" + _CLAUSE_REST,
        re.IGNORECASE,
    ),
    # ..."wela i di tu allan i'r Co-op"...
    re.compile(
        r"(?<![a-z])wela\s{1,3}i\s{1,3}(?:di|ti|chi)\s{1,3}(?:(?:y\s{1,3})?tu\s{1,3}(?:allan|ol)|"
        r"wrth|ger)\b" + _CLAUSE_REST,
        re.IGNORECASE,
    ),
    # ..."ble wyt ti'n byw", "beth yw dy gyfeiriad", "pa ysgol wyt ti'n mynd iddi"...
    re.compile(
        r"(?<![a-z])(?:ble\s{1,3}(?:wyt|rwyt|ydych|dych|rydych)\s{1,3}(?:ti|chi)['’]?n\s{1,3}byw|"
        r"beth\s{1,3}(?:yw|ydy|ydi)\s{1,3}(?:dy|eich)\s{1,3}(?:gyfeiriad|cyfeiriad|god\s{1,3}post|"
        r"cod\s{1,3}post)|pa\s{1,3}ysgol\s{1,3}(?:wyt|ydych|dych)|(?:anfon|anfona|rhanna|rhannu)"
        r"\s{1,3}(?:dy|eich)\s{1,3}(?:gyfeiriad|cyfeiriad|god\s{1,3}post|leoliad|lleoliad))\b"
        + _CLAUSE_REST,
        re.IGNORECASE,
    ),
    # ..."tu allan i dy ysgol", "bydda i wrth dy dŷ ddydd Llun": the other parent at the child's
    # places ("dy" softens the word after it: "dy dŷ", "dy glwb", "dy gartref").
    re.compile(
        r"(?<![a-z])(?:(?:y\s{1,3})?tu\s{1,3}(?:allan|ol)\s{1,3}i|ger|(?:bydda|fydda|dof|ddof)"
        r"\s{1,3}i[^.!?\n]{0,40}?(?:yn|wrth|i))\s{1,3}(?:dy|eich)\s{1,3}(?:ysgol|dy|ty|gartref|"
        r"cartref|glwb|clwb|barc|parc|stryd|heol|feithrinfa|meithrinfa|goleg|coleg|bentref|"
        r"pentref|nosbarth|dosbarth|ymarfer)\b" + _CLAUSE_REST,
        re.IGNORECASE,
    ),
)
# Words without which each pattern above cannot match (empty: always run).
_MEETING_TRIGGERS: tuple[tuple[str, ...], ...] = (
    ("meet",),
    ("meet",),
    ("your", "ur", "yr"),
    ("your", "ur", "yr"),
    ("be",),
    ("come", "pop", "drop"),
    ("wait",),
    ("pick", "collect"),
    (),
    ("///", "w3w", "what"),
    (".",),
    ("°",),
    ("wrdd", "cyfarfod"),
    ("wela",),
    ("byw", "gyfeiriad", "cyfeiriad", "post", "ysgol", "leoliad"),
    ("dy", "eich"),
)
# "I'll be at the park on Saturday": a place with a day or time is a proposal to meet.
_BE_AT_THE = re.compile(
    r"(?<![a-z])(?:(?:I'?ll|I\s{1,3}will|I'?m\s{1,3}going\s{1,3}to|we'?ll|we\s{1,3}will)\s{1,3}"
    r"(?:be|go|come|wait)|see\s{1,3}you)\s{1,3}(?:at|to|in|outside|by|near)\s{1,3}"
    r"(?:the\s{1,3})?(?P<place>[A-Za-z][\w'’-]{0,30})" + _CLAUSE_REST,
    re.IGNORECASE,
)
# "See you at the weekend": the "place" is a time.
_NOT_PLACES = _words(
    "weekend morning afternoon evening night christmas easter half end next contact centre "
    "center visit visits holidays holiday moment summer winter spring autumn birthday start "
    "same usual time"
)
_W3W_BARE = re.compile(
    r"(?<![\w.@/])(?P<a>[a-z]{3,20})\.(?P<b>[a-z]{3,20})\.(?P<c>[a-z]{3,20})(?![\w.]|\.\w)"
)
_FRIENDLY_MEETING = re.compile(
    r"(?:(?:wait|nice|lovely|good|great|happy|excited|love|like)\s{1,3}to|"
    r"(?:methu\s{1,3}aros|edrych\s{1,3}ymlaen|braf|hyfryd|neis)\s{1,3}(?:i|at))\s{1,3}$",
    re.IGNORECASE,
)
_CONTACT_CENTRE = re.compile(r"\b(?:contact|centre|center|visit)\b", re.IGNORECASE)


def _meetings(text: str) -> Iterator[_Span]:
    lowered = text.lower()
    for pattern, triggers in zip(_MEETING_PATTERNS, _MEETING_TRIGGERS, strict=True):
        if triggers and not any(word in lowered for word in triggers):
            continue
        for match in pattern.finditer(text):
            start = match.start()
            if _FRIENDLY_MEETING.search(text, max(0, start - 24), start):
                continue
            end = _trim_url(text, start, match.end())
            yield start, end, Category.MEETING
    for match in _BE_AT_THE.finditer(text):
        clause = match.group()
        place = match.group("place").lower()
        if (
            place not in _NOT_PLACES
            and _DAY_OR_TIME.search(clause)
            and not _CONTACT_CENTRE.search(clause)
        ):
            yield match.start(), _trim_url(text, match.start(), match.end()), Category.MEETING
    for match in _W3W_BARE.finditer(text):
        if match.group("a") != "www" and match.group("c") not in _COMMON_SUFFIXES:
            yield match.start(), match.end(), Category.MEETING


# --- sensitive terms -----------------------------------------------------------------------

# Words of a multi-word term that say nothing on their own: "Oakfield Primary" is identified by
# "Oakfield", not by "Primary".
_COMMON_TERM_WORDS = frozenset(
    _split(
        "primary school academy college junior juniors infant infants nursery high "
        "secondary church road street lane avenue close drive way the of and st saint club "
        "football fc united city town park centre center house new old north south east "
        "west upper lower great little ce rc c e community village green hill court gardens "
        "place team group free catholic christian methodist baptist our lady holy trinity "
        "sports leisure swimming pool library surgery hospital shop station first middle "
        "grammar prep preparatory boys girls a an at in on for to de la le"
    )
)
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*['’]?|&")
_WORD_GAP = re.compile(r"[\s.,'’&()/-]{1,4}")


def _key(word: str) -> str:
    """A word without case, apostrophes, a possessive or a plural ending."""
    word = word.lower().replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    word = word.replace("'", "")
    return word


def _forms(word: str) -> set[str]:
    forms = {word, word + "s", word + "es"}
    if word.endswith("y") and len(word) > 2:
        forms.add(word[:-1] + "ies")
    return forms


def _singulars(word: str) -> set[str]:
    out = {word}
    if word.endswith("ies") and len(word) > 4:
        out.add(word[:-3] + "y")
    if word.endswith("es") and len(word) > 4:
        out.add(word[:-2])
    if word.endswith("s") and len(word) > 3:
        out.add(word[:-1])
    return out


def _one_edit(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` differ by at most one letter changed, added, dropped or swapped."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la > lb:
        a, b, la, lb = b, a, lb, la
    i = 0
    while i < la and a[i] == b[i]:
        i += 1
    if la == lb:
        if a[i + 1 :] == b[i + 1 :]:
            return True
        return i + 1 < la and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]
    return a[i:] == b[i + 1 :]


# Abbreviations a text may use for a word of a term.
_ABBREVIATIONS = {
    "saint": ("st",),
    "st": ("saint",),
    "street": ("st",),
    "road": ("rd",),
    "avenue": ("ave",),
    "lane": ("ln",),
    "drive": ("dr",),
    "and": ("&",),
}


def _near(form: str, term_word: str) -> bool:
    # One slip in a word of six letters or more leaves its first two or its last two letters
    # alone: a cheap test before the letter-by-letter one.
    return (
        abs(len(form) - len(term_word)) <= 1
        and (form[:2] == term_word[:2] or form[-2:] == term_word[-2:])
        and _one_edit(form, term_word)
    )


@dataclass(frozen=True, slots=True)
class _Term:
    words: tuple[str, ...]
    distinctive: frozenset[str]
    # The text words each term word matches exactly, and the long words that also match with
    # one typing slip.
    exact: dict[str, frozenset[str]]
    slips: tuple[str, ...]

    def matches(self, word: str) -> frozenset[str]:
        found = self.exact.get(word, frozenset())
        if len(word) < 5 or not self.slips:
            return found
        slipped = _slipped(self.slips, word)
        return found | slipped if slipped else found


@functools.lru_cache(maxsize=65536)
def _slipped(slips: tuple[str, ...], word: str) -> frozenset[str]:
    """The long term words ``word`` is one typing slip away from; kept, as letters share words."""
    return frozenset(
        term_word
        for term_word in slips
        if -1 <= len(word) - len(term_word) <= 3
        and any(_near(form, term_word) for form in _singulars(word))
    )


@functools.lru_cache(maxsize=256)
def _terms(terms: tuple[str, ...], first_names: tuple[str, ...]) -> tuple[_Term, ...]:
    """The family's terms, ready to match; kept, because a family's letters share them."""
    names = {_key(_normalise(name).text.strip()) for name in first_names}
    out = []
    for term in terms:
        words = tuple(_key(m.group()) for m in _WORD.finditer(_normalise(term).text))
        words = tuple(word for word in words if word)
        if not words:
            continue
        if len(words) == 1:
            distinctive = frozenset(words)
        else:
            distinctive = frozenset(
                word
                for word in words
                if word not in _COMMON_TERM_WORDS and word not in names and len(word) >= 3
            )
        exact: dict[str, set[str]] = {}
        for word in words:
            for form in _forms(word) | set(_ABBREVIATIONS.get(word, ())) | _singulars(word):
                exact.setdefault(form, set()).add(word)
        out.append(
            _Term(
                words,
                distinctive,
                {form: frozenset(found) for form, found in exact.items()},
                tuple(word for word in set(words) if len(word) >= 6),
            )
        )
    return tuple(out)


def _sensitive(text: str, terms: Sequence[_Term]) -> Iterator[_Span]:
    tokens = [(m.start(), m.end(), _key(m.group())) for m in _WORD.finditer(text)]
    count = len(tokens)
    # Whether each word and the next are neighbours within one name ("St. Mary's", "Oak-field"),
    # and the long words made by joining two ("Oak field"), worked out once for every term.
    linked = [
        _WORD_GAP.fullmatch(text, tokens[at][1], tokens[at + 1][0]) is not None
        for at in range(count - 1)
    ]
    joined: list[tuple[int, str]] = []
    for at in range(count - 1):
        if text[tokens[at][1] : tokens[at + 1][0]] in (" ", "-"):
            word = tokens[at][2] + tokens[at + 1][2]
            if len(word) >= 6:
                joined.append((at, word))
    for term in terms:
        seen: dict[str, frozenset[str]] = {}
        matches = []
        for _, _, word in tokens:
            found = seen.get(word)
            if found is None:
                found = seen[word] = term.matches(word)
            matches.append(found)
        single = len(term.words) == 1
        index = 0
        while index < count:
            # The longest run of neighbouring words that are all words of the term and hold
            # either the whole term or one of its distinctive words.
            if not matches[index]:
                index += 1
                continue
            matched = set(matches[index])
            run_end = index + 1
            while not single and run_end < count and matches[run_end] and linked[run_end - 1]:
                matched |= matches[run_end]
                run_end += 1
            if single or matched & term.distinctive or set(term.words) <= matched:
                yield tokens[index][0], tokens[run_end - 1][1], Category.SENSITIVE_TERM
            # No part of a run that did not match holds more of the term than the whole run, so
            # the next run starts after it: each word is looked at once.
            index = run_end
        # A long word split in two: "Oak field", "Oak-field".
        for at, word in joined:
            if matches[at] or matches[at + 1]:
                continue
            found = seen.get(word)
            if found is None:
                found = seen[word] = term.matches(word)
            if found & term.distinctive:
                yield tokens[at][0], tokens[at + 1][1], Category.SENSITIVE_TERM


# --- scanning ------------------------------------------------------------------------------


def scan(
    text: str, sensitive_terms: Sequence[str] = (), *, first_names: Sequence[str] = ()
) -> list[Hit]:
    """Return the personal data found in ``text``, in order, with no two hits overlapping.

    ``sensitive_terms`` are the family's own words (school, new surname, street, clubs); they match
    regardless of case, accents, punctuation, "St"/"Saint", plurals and one typing slip, and each
    distinctive word of a longer term matches alone. ``first_names`` are the family's own first
    names, which appear in every letter: they never match as part of a longer term.
    """
    normal = _normalise(text)
    norm = normal.text
    spans: list[_Span] = []
    spans.extend(_emails(norm))
    spans.extend(_urls(norm))
    spans.extend(_phones(norm))
    spans.extend(_postcodes(norm))
    spans.extend(_addresses(norm))
    spans.extend(_welsh_houses(normal, text))
    spans.extend(_social(norm))
    spans.extend(_meetings(norm))
    terms = _terms(tuple(sensitive_terms), tuple(first_names))
    if terms:
        spans.extend(_sensitive(norm, terms))
    hits = []
    for start, end, category in _resolve(norm, spans):
        original_start, original_end = normal.span(start, end)
        hits.append(Hit(original_start, original_end, category, text[original_start:original_end]))
    return hits


# --- overlaps ------------------------------------------------------------------------------


def _resolve(text: str, spans: list[_Span]) -> list[_Span]:
    """Merge overlapping hits of one category, then keep the longest of competing categories.

    A shorter hit that overlaps a kept one is not dropped outright: what sticks out beyond the
    kept hit is kept too, so every character any pattern flagged stays flagged.
    """
    merged: list[_Span] = []
    for category in Category:
        current: tuple[int, int] | None = None
        for start, end, _ in sorted(s for s in spans if s[2] is category and s[1] > s[0]):
            if current is not None and start < current[1]:
                current = (current[0], max(current[1], end))
                continue
            if current is not None:
                merged.append((current[0], current[1], category))
            current = (start, end)
        if current is not None:
            merged.append((current[0], current[1], category))

    rank = {category: index for index, category in enumerate(_PRIORITY)}
    # A meeting is a whole clause: the details inside it (a postcode, a phone number) keep their
    # own category, and the meeting keeps the rest of the clause.
    merged.sort(key=lambda s: (s[2] is Category.MEETING, -(s[1] - s[0]), rank[s[2]], s[0]))
    # Kept spans never overlap, so sorted starts and ends let each check look at two neighbours.
    starts: list[int] = []
    ends: list[int] = []
    categories: list[Category] = []
    pending = list(reversed(merged))
    while pending:
        start, end, category = pending.pop()
        if not any(ch.isalnum() for ch in text[start:end]):
            continue  # a leftover space or bracket beside a kept hit
        at = bisect.bisect_right(starts, start)
        if at > 0 and ends[at - 1] > start:
            # Keep the part that sticks out on the right, if any.
            if end > ends[at - 1]:
                pending.append((ends[at - 1], end, category))
            continue
        if at < len(starts) and starts[at] < end:
            if start < starts[at]:
                pending.append((start, starts[at], category))
            if end > ends[at]:
                pending.append((ends[at], end, category))
            continue
        starts.insert(at, start)
        ends.insert(at, end)
        categories.insert(at, category)
    return list(zip(starts, ends, categories, strict=True))
