"""Find personal data in a letter so a moderator can see it before anyone else does.

The scanner only points: it returns spans into the original text and never changes it. It leans
towards flagging, because a moderator can dismiss a highlight in a second, but a missed postcode can
tell a parent where a child lives.

Every pattern starts at a token boundary (a negative look-behind) and uses bounded repetition, so
the work per starting position is bounded and a scan is linear in the length of the text: hostile
input cannot make it backtrack catastrophically.
"""

from __future__ import annotations

import bisect
import enum
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import phonenumbers


class Category(enum.StrEnum):
    EMAIL = "email"
    URL = "url"
    PHONE = "phone"
    POSTCODE = "postcode"
    ADDRESS = "address"
    SOCIAL = "social"
    SENSITIVE_TERM = "sensitive_term"


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
    Category.URL,
    Category.ADDRESS,
    Category.SOCIAL,
)

# --- email ---------------------------------------------------------------------------------

_LOCAL = r"[\w.%+'-]{1,64}"
_LOCAL_START = r"(?<![\w.%+'-])"
_EMAIL_PLAIN = re.compile(
    _LOCAL_START
    + _LOCAL
    + r"@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,6}\.[A-Za-z]{2,24}(?![A-Za-z0-9-])"
)
_AT = r"(?:\s{0,3}[\[(<{]\s{0,2}at\s{0,2}[\])>}]\s{0,3}|\s{1,3}at\s{1,3}|\s{0,3}@\s{0,3})"
_DOT = r"(?:\s{0,3}[\[(<{]\s{0,2}dot\s{0,2}[\])>}]\s{0,3}|\s{1,3}dot\s{1,3}|\s{0,3}\.\s{0,3})"
_EMAIL_TLDS = (
    r"com|co|uk|org|net|me|io|info|biz|edu|gov|ac|sch|nhs|ie|us|ca|au|de|fr|es|it|nl|pl|ro|pt|"
    r"eu|tv|app|dev|email|online"
)
# "name at gmail dot com", "name [at] gmail [dot] co [dot] uk", "name @ gmail . com".
_EMAIL_SPELLED = re.compile(
    _LOCAL_START
    + _LOCAL
    + _AT
    + r"(?!www\.)[a-z0-9-]{1,63}(?:"
    + _DOT
    + r"[a-z0-9-]{1,63}){0,3}"
    + _DOT
    + r"(?:"
    + _EMAIL_TLDS
    + r")(?![\w-])",
    re.IGNORECASE,
)
# "mum is jsmith at hotmail": a well-known mail provider makes the dot-com unnecessary.
_EMAIL_PROVIDER = re.compile(
    _LOCAL_START
    + _LOCAL
    + _AT
    + r"(?:gmail|googlemail|hotmail|outlook|yahoo|icloud|btinternet|aol|protonmail|proton|"
    r"msn|ymail|virginmedia|talktalk|gmx)(?![\w-])",
    re.IGNORECASE,
)

# --- url -----------------------------------------------------------------------------------

_URL_TAIL = r"[^\s<>\"'`]{0,2048}"
_URL_SCHEME = re.compile(r"(?<![\w])(?:https?|ftp)://[^\s<>\"'`]{1,2048}", re.IGNORECASE)
_URL_WWW = re.compile(r"(?<![\w.])www\.[A-Za-z0-9-]{1,63}" + _URL_TAIL, re.IGNORECASE)
# Bare domains only with a common top-level domain written in one case, so a missing space after
# a full stop ("school.It was fun") is not mistaken for a web address.
_BARE_TLDS = (
    r"com|uk|org|net|io|me|tv|info|biz|ly|gg|app|dev|xyz|online|site|shop|store|blog|ie|eu|"
    r"us|ca|au|de|fr|nl|es|edu|gov|link|page|live|co\.uk|org\.uk"
)
_URL_BARE = re.compile(
    r"(?<![\w.@/-])(?:[A-Za-z0-9][A-Za-z0-9-]{0,62}\.){1,5}"
    r"(?:" + _BARE_TLDS + "|" + _BARE_TLDS.upper() + r")"
    r"(?![\w-]|\.[A-Za-z0-9])(?:/" + _URL_TAIL + ")?"
)
_TRAILING_PUNCTUATION = ".,;:!?)]}'\"’”"

# --- phone ---------------------------------------------------------------------------------

# Runs of digits long enough to be a whole UK number are flagged even when phonenumbers calls
# them invalid: Ofcom's drama ranges (07700 900xxx) and numbers typed with a digit too many are
# still numbers a moderator must see. Shorter runs (years, scores) must be valid numbers.
_PHONE_MIN_DIGITS_UNVALIDATED = 10

# --- postcode ------------------------------------------------------------------------------

# The UK's postcode areas; restricting to them keeps codes like "Y5" (a school year) or "P3" out.
_POSTCODE_AREA_TEXT = (
    "AB AL B BA BB BD BF BH BL BN BR BS BT BX CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL DN "
    "DT DY E EC EH EN EX FK FY G GL GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT KW KY L "
    "LA LD LE LL LN LS LU M ME MK ML N NE NG NN NP NR NW OL OX PA PE PH PL PO PR RG RH RM S SA "
    "SE SG SK SL SM SN SO SP SR SS ST SW SY TA TD TF TN TQ TR TS TW UB W WA WC WD WF WN WR WS "
    "WV YO ZE"
)
_POSTCODE_AREAS = _POSTCODE_AREA_TEXT.split()
_AREA = "(?:" + "|".join(sorted(_POSTCODE_AREAS, key=len, reverse=True)) + ")"
_OUTWARD = _AREA + r"[0-9][0-9A-Z]?"
_INWARD = r"[0-9][ABD-HJLNP-UW-Z]{2}"
_POSTCODE_FULL = re.compile(
    r"(?<![A-Za-z0-9])(?:GIR\s?0AA|" + _OUTWARD + r"\s{0,2}" + _INWARD + r")(?![A-Za-z0-9])",
    re.IGNORECASE,
)
# Outward codes alone ("near LS6") are common letter-and-digit strings, so they count only in
# capitals and next to a word that introduces a place.
_POSTCODE_PARTIAL_BEFORE = re.compile(
    r"(?i:(?<![\w])(?:near|nr\.?|around|in|from|postcode|post\s?code|area|district|"
    r"moved\s{1,3}to|round)\s{1,3})"
    r"(?P<code>" + _OUTWARD + r"(?:\s{1,2}[0-9])?)(?![A-Za-z0-9])"
)
_POSTCODE_PARTIAL_AFTER = re.compile(
    r"(?<![A-Za-z0-9])(?P<code>" + _OUTWARD + r")(?=\s{1,3}(?i:area|district|postcode|way|side)\b)"
)

# --- address -------------------------------------------------------------------------------

_STREET_WORDS = (
    r"Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Close|Drive|Dr|Way|Crescent|Cres|Court|Ct|Gardens|"
    r"Gdns|Place|Pl|Terrace|Grove|Park|Hill|Walk|Square|Sq|Row|Mews|Rise|View|Green|Parade|"
    r"Vale|Boulevard|Wharf|Yard|Meadows?|Fields|Chase|Gate|Mount|Croft|Hollow|Brow|Bank|"
    r"Approach|Circus|Embankment|Esplanade|Quay|Wynd|Loan|Brae"
)
# Lower-case street words only where they are unmistakable: "a 3 hour drive" is not an address.
_STREET_WORDS_LOWER = r"street|road|avenue|crescent|terrace|gardens|grove|mews|boulevard"
_HOUSE_NUMBER = r"(?<![\w£$€.,/:-])\d{1,4}[A-Za-z]?,?\s{1,3}"
_CAP_WORD = r"[A-Z][A-Za-z'’-]{0,24}"
_ADDRESS_NUMBERED = re.compile(
    _HOUSE_NUMBER + r"(?:" + _CAP_WORD + r"\s{1,3}){1,3}(?i:" + _STREET_WORDS + r")\b\.?"
)
_LOWER_STOP = (
    r"the|a|an|my|our|your|his|her|their|its|and|or|but|to|of|in|on|at|for|with|from|by|up|down|"
    r"big|small|little|very|new|old|long|short|this|that|these|those|some|any|more|most|lots|"
    r"hour|hours|minute|minutes|mile|miles|day|days|week|weeks|year|years|times|goals|points|laps"
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
    + r"\s{1,3}){1,2}(?:Street|Road|Avenue|Lane|Close|Drive|Crescent|Terrace|Gardens|Grove|Mews)\b"
)
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
    r"(?<![\w])(?:flat|apartment|apt\.?|maisonette)\s{0,2}(?:no\.?\s{0,2})?\d{1,4}[A-Za-z]?(?![\w])",
    re.IGNORECASE,
)
_HOUSE_NUMBER_PHRASE = re.compile(
    r"(?<![\w])(?:(?:live|lives|living|stay|staying)\s{1,3}at\s{1,3}(?:number|no\.?)|"
    r"house\s{1,3}(?:number|no\.?))\s{0,2}\d{1,4}[A-Za-z]?(?![\w])",
    re.IGNORECASE,
)
_HOUSE_SUFFIXES = (
    r"Cottages?|House|Farm|Farmhouse|Lodge|Barn|Manor|Villa|Bungalow|Grange|Mill|Rectory|"
    r"Vicarage|Mansions"
)
_NAMED_HOUSE = re.compile(
    r"(?<![\w'’])(?P<words>(?:[A-Z][a-z]{1,20}[ \t]{1,2}){1,2})(?P<suffix>"
    + _HOUSE_SUFFIXES
    + r")\b"
)
# Words that make "X House" a kind of place rather than someone's home.
_GENERIC_HOUSE_WORD_TEXT = """the a my our your his her their this that town village city church sports dance community
    wendy tree play doll dolls haunted pizza pancake bouncy fun soft white opera music concert big
    pet bird dog cat lego gingerbread summer winter holiday light glass beach bounce ice toy animal
    petting pig city open public full whole new next same other nana nanny grandma grandad
    granny gran grandpa auntie aunty uncle mum mummy mom dad daddy ski farm guinea fairy story
    sleepover party steak coffee tea cake chip chippy burger noodle curry kebab warehouse"""
_GENERIC_HOUSE_WORDS = frozenset(_GENERIC_HOUSE_WORD_TEXT.split())

# --- social media --------------------------------------------------------------------------

_HANDLE = re.compile(r"(?<![\w@.])@[A-Za-z0-9_](?:[A-Za-z0-9_.]{0,29}[A-Za-z0-9_])?")
_ALWAYS_PLATFORMS = (
    r"insta(?:gram)?|snap\s?chat|tik\s?tok|whats\s?app|kik|telegram|discord|facebook|twitter|"
    r"bereal|wechat|onlyfans|threads\s{1,3}app"
)
_HINTED_PLATFORMS = (
    r"snap|sc|ig|insta|yt|youtube|roblox|xbox|psn|playstation|fortnite|minecraft|steam|twitch|"
    r"messenger|fb|signal|switch|ps4|ps5|x|tiktok|whatsapp|discord|facetime|skype|teams|zoom"
)
_SOCIAL_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"(?<![\w])(?:" + _ALWAYS_PLATFORMS + r")(?![\w])", re.IGNORECASE),
    re.compile(
        r"(?<![\w])(?:add|follow|find|message|msg|dm|text|call|ring|contact|friend|facetime|"
        r"inbox|snap|whatsapp)\s{1,3}me\s{1,3}(?:on|at|via|in)(?:\s{1,3}(?:"
        + _HINTED_PLATFORMS
        + r"|the\s{1,3}\w{1,20}))?(?![\w])",
        re.IGNORECASE,
    ),
    re.compile(
        r"(?<![\w])my\s{1,3}(?:"
        + _HINTED_PLATFORMS
        + r")\s{0,3}(?:name|user\s?name|handle|account|id|tag|gamer\s?tag|friend\s{1,3}code|"
        r"channel|number|code)?\s{0,3}(?:is|=|:)(?![\w])",
        re.IGNORECASE,
    ),
    re.compile(
        r"(?<![\w])(?:user\s?name|gamer\s?tag|friend\s{1,3}code|handle|profile\s{1,3}name)"
        r"\s{0,3}(?:is|=|:)(?![\w])",
        re.IGNORECASE,
    ),
    re.compile(
        r"(?<![\w])(?:snap|whatsapp|dm|pm|facetime|inbox|insta|discord)\s{1,3}me(?![\w])",
        re.IGNORECASE,
    ),
    re.compile(
        r"(?<![\w])(?:on|via)\s{1,3}(?:snap|sc|ig|insta|whatsapp|discord|kik|telegram)(?![\w])",
        re.IGNORECASE,
    ),
)


# --- scanning ------------------------------------------------------------------------------


def scan(text: str, sensitive_terms: Sequence[str] = ()) -> list[Hit]:
    """Return the personal data found in ``text``, in order, with no two hits overlapping.

    ``sensitive_terms`` are the family's own words (school, new surname, street, clubs); they match
    whole words regardless of case and accents, with simple plurals and possessives.
    """
    spans: list[tuple[int, int, Category]] = []
    spans.extend(_emails(text))
    spans.extend(_urls(text))
    spans.extend(_phones(text))
    spans.extend(_postcodes(text))
    spans.extend(_addresses(text))
    spans.extend(_social(text))
    if sensitive_terms:
        spans.extend(_sensitive(text, sensitive_terms))
    return [Hit(start, end, category, text[start:end]) for start, end, category in _resolve(spans)]


def _emails(text: str) -> Iterator[tuple[int, int, Category]]:
    for pattern in (_EMAIL_PLAIN, _EMAIL_SPELLED, _EMAIL_PROVIDER):
        for match in pattern.finditer(text):
            yield match.start(), match.end(), Category.EMAIL


def _trim_url(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1] in _TRAILING_PUNCTUATION:
        # A closing bracket that belongs to the URL itself (Wikipedia links) stays.
        if text[end - 1] == ")" and text.count("(", start, end) >= text.count(")", start, end):
            break
        end -= 1
    return end


def _urls(text: str) -> Iterator[tuple[int, int, Category]]:
    for pattern in (_URL_SCHEME, _URL_WWW, _URL_BARE):
        for match in pattern.finditer(text):
            end = _trim_url(text, match.start(), match.end())
            if end > match.start():
                yield match.start(), end, Category.URL


def _phones(text: str) -> Iterator[tuple[int, int, Category]]:
    matcher = phonenumbers.PhoneNumberMatcher(
        text, "GB", leniency=phonenumbers.Leniency.POSSIBLE, max_tries=10_000
    )
    for match in matcher:
        digits = sum(ch.isdigit() for ch in match.raw_string)
        if digits >= _PHONE_MIN_DIGITS_UNVALIDATED or phonenumbers.is_valid_number(match.number):
            yield match.start, match.end, Category.PHONE


def _postcodes(text: str) -> Iterator[tuple[int, int, Category]]:
    for match in _POSTCODE_FULL.finditer(text):
        yield match.start(), match.end(), Category.POSTCODE
    for pattern in (_POSTCODE_PARTIAL_BEFORE, _POSTCODE_PARTIAL_AFTER):
        for match in pattern.finditer(text):
            yield match.start("code"), match.end("code"), Category.POSTCODE


def _addresses(text: str) -> Iterator[tuple[int, int, Category]]:
    for pattern in (_ADDRESS_NUMBERED, _ADDRESS_NUMBERED_LOWER, _FLAT, _HOUSE_NUMBER_PHRASE):
        for match in pattern.finditer(text):
            yield match.start(), match.end(), Category.ADDRESS
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


def _social(text: str) -> Iterator[tuple[int, int, Category]]:
    for match in _HANDLE.finditer(text):
        end = _trim_url(text, match.start(), match.end())
        if end - match.start() > 2:
            yield match.start(), end, Category.SOCIAL
    for pattern in _SOCIAL_PATTERNS:
        for match in pattern.finditer(text):
            yield match.start(), match.end(), Category.SOCIAL


# --- sensitive terms -----------------------------------------------------------------------

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "ʼ": "'"})


def _fold(text: str) -> tuple[str, list[int]]:
    """Case- and accent-fold ``text``, with the original index of every folded character."""
    folded: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        if char.isascii():
            piece = char.lower()
        else:
            decomposed = unicodedata.normalize("NFKD", char.translate(_APOSTROPHES))
            base = "".join(c for c in decomposed if not unicodedata.combining(c))
            piece = base.casefold()
        folded.append(piece)
        origin.extend([index] * len(piece))
    return "".join(folded), origin


def _term_pattern(terms: Sequence[str]) -> re.Pattern[str] | None:
    alternatives: list[str] = []
    for term in terms:
        folded, _ = _fold(term.strip())
        words = folded.split()
        if not words:
            continue
        body = r"\s{1,3}".join(re.escape(word) for word in words)
        if folded.endswith("y") and len(folded) > 2:
            # "Daisy" also matches "Daisies".
            body = "(?:" + body + "|" + body[:-1] + "ies)"
        alternatives.append(body)
    if not alternatives:
        return None
    alternatives.sort(key=len, reverse=True)
    return re.compile(r"(?<![\w])(?:" + "|".join(alternatives) + r")(?:e?s'|'s|'|e?s)?(?![\w])")


def _sensitive(text: str, terms: Sequence[str]) -> Iterator[tuple[int, int, Category]]:
    pattern = _term_pattern(terms)
    if pattern is None:
        return
    folded, origin = _fold(text)
    for match in pattern.finditer(folded):
        if match.end() == match.start():
            continue
        start = origin[match.start()]
        end = origin[match.end() - 1] + 1
        # A combining accent typed after the last letter belongs to the word.
        while end < len(text) and unicodedata.combining(text[end]):
            end += 1
        yield start, end, Category.SENSITIVE_TERM


# --- overlaps ------------------------------------------------------------------------------


def _resolve(spans: list[tuple[int, int, Category]]) -> list[tuple[int, int, Category]]:
    """Merge overlapping hits of one category, then keep the longest of competing categories."""
    merged: list[tuple[int, int, Category]] = []
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
    merged.sort(key=lambda s: (-(s[1] - s[0]), rank[s[2]], s[0]))
    # Kept spans never overlap, so sorted starts and ends let each check look at two neighbours.
    starts: list[int] = []
    ends: list[int] = []
    categories: list[Category] = []
    for start, end, category in merged:
        at = bisect.bisect_right(starts, start)
        if at > 0 and ends[at - 1] > start:
            continue
        if at < len(starts) and starts[at] < end:
            continue
        starts.insert(at, start)
        ends.insert(at, end)
        categories.insert(at, category)
    return list(zip(starts, ends, categories, strict=True))
