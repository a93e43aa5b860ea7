"""The scanner's corpora: letters with planted personal details, and ordinary letters.

Two corpora live here:

- a small hand-written one (``tests/letterbox/corpus/``), kept from before;
- a generated one: ``generated_corpus()`` builds at least 600 letters with one planted personal
  detail each and 300 ordinary letters, both directions (parent to child, child to parent), from a
  seeded random generator, so every run sees the same letters. The details are drawn from public
  formats: phone numbers from the ``phonenumbers`` package's example numbers for many countries and
  Ofcom's drama ranges, domain endings from the public suffix list, the UK postcode format,
  address styles of England, Wales, Scotland and Northern Ireland, Irish Eircodes, BFPO numbers,
  and the way each platform writes a handle. Each is written in many spellings: words for digits,
  look-alike letters, full-width characters, zero-width characters, "at" and "dot", separators
  or none.

Run ``python -m tests.support.scanner_corpus DIR`` to write the generated corpus out as JSON lines
for reading.
"""

from __future__ import annotations

import functools
import json
import random
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

import phonenumbers

from service.letterbox.scanner import Category, Hit


def _split(words: str) -> list[str]:
    """A list of words written as one string, to keep long word lists short on the page."""
    return words.split()


CORPUS = Path(__file__).resolve().parents[1] / "letterbox" / "corpus"
SEED = 17


@dataclass(frozen=True)
class Example:
    text: str
    category: Category
    fragment: str


def personal_data_examples() -> list[Example]:
    lines = (CORPUS / "personal_data.jsonl").read_text(encoding="utf-8").splitlines()
    examples = []
    for line in lines:
        if line.strip():
            record = json.loads(line)
            examples.append(
                Example(record["text"], Category(record["category"]), record["fragment"])
            )
    return examples


def clean_letters() -> list[str]:
    text = (CORPUS / "clean_letters.txt").read_text(encoding="utf-8")
    return [letter.strip() for letter in text.split("\n---\n") if letter.strip()]


# --- the generated corpus -----------------------------------------------------------------------


@dataclass(frozen=True)
class Planted:
    """A letter holding one personal detail: ``value`` is at ``text[start:start+len(value)]``."""

    text: str
    category: Category
    value: str
    start: int
    style: str
    direction: str
    sensitive_terms: tuple[str, ...]
    first_names: tuple[str, ...]

    @property
    def end(self) -> int:
        return self.start + len(self.value)


@dataclass(frozen=True)
class Ordinary:
    text: str
    direction: str
    sensitive_terms: tuple[str, ...]
    first_names: tuple[str, ...]


@dataclass(frozen=True)
class Corpus:
    planted: tuple[Planted, ...]
    ordinary: tuple[Ordinary, ...]


PER_CATEGORY = 90
ORDINARY_LETTERS = 320

CHILDREN = _split(
    "Lily Sam Noah Amelia Oliver Isla Jack Freya Leo Ava Mia Harry Evie Alfie Ruby Zainab "
    "Aaliyah Mohammed Cerys Rhys Eilidh Callum Niamh Oisin Chloe Kacper Amara Tomasz Grace "
    "Dylan Ffion Ellie Archie Poppy"
)
PARENTS = ["Dad", "Mum", "Daddy", "Mummy", "Papa", "Mam", "Mammy", "Da", "Ma"]
PARENT_NAMES = _split("Dan Sarah Gareth Kerry Mark Joanne Tariq Aisling Craig Megan Piotr Shona")

# --- ordinary sentences -------------------------------------------------------------------------

MONTHS = _split(
    "January February March April May June July August September October November December"
)
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
PETS = _split("Biscuit Luna Bella Max Teddy Coco Milo Poppy Alfie Pip Nala Rocky Bramble Mabel")
TEAMS = _split(
    "Leeds Arsenal Spurs Celtic Rangers Wrexham Cardiff Swansea Liverpool Everton Hibs "
    "Linfield Man City Chelsea Villa Newcastle"
)
BOOKS = (
    "Harry Potter and the Chamber of Secrets",
    "The Gruffalo",
    "Diary of a Wimpy Kid",
    "Matilda",
    "Charlie and the Chocolate Factory",
    "The Worst Witch",
    "Tom Gates",
    "The Boy at the Back of the Class",
    "Percy Jackson",
    "Dog Man",
    "The Twits",
    "Wonder",
    "Holes",
    "Goodnight Mister Tom",
)
FILMS = (
    "Toy Story 4",
    "Frozen 2",
    "Inside Out 2",
    "Moana 2",
    "The Lion King",
    "Paddington 2",
    "Wicked",
    "Despicable Me 4",
    "Encanto",
    "Kung Fu Panda 4",
    "Sing 2",
    "Wallace and Gromit",
)
HOLIDAY_PLACES = _split(
    "Tenerife Cornwall Scarborough Blackpool Skegness Spain Portugal Majorca Wales Devon "
    "Center Parcs Butlins Disneyland Turkey the Lake District Tenby Oban Portrush"
)
SUBJECTS = _split("maths English science PE RE art music history geography Welsh French computing")
TOPICS = _split("the Romans volcanoes the Tudors space rainforests the Vikings plants electricity")
FLAVOURS = ["chocolate", "lemon", "strawberry", "carrot", "vanilla", "caterpillar", "unicorn"]
NUMBER_WORDS = _split("two three four five six seven eight nine ten eleven twelve")


def _ordinary_sentence(rng: random.Random, child: str) -> str:
    n = rng.randint(2, 12)
    choices: list[Callable[[], str]] = [
        lambda: (
            f"It was my birthday on {rng.randint(1, 28)} {rng.choice(MONTHS)} and I am {n} now!"
        ),
        lambda: f"Nan made a {rng.choice(FLAVOURS)} cake for my {n}th birthday.",
        lambda: f"My birthday is on the {rng.randint(1, 28)}th of {rng.choice(MONTHS)}.",
        lambda: f"Our dog {rng.choice(PETS)} chased a squirrel for {n} minutes.",
        lambda: f"My hamster {rng.choice(PETS)} is {rng.choice(NUMBER_WORDS)} months old now.",
        lambda: f"We got a kitten called {rng.choice(PETS)} and she sleeps on my bed.",
        lambda: (
            f"We won {rng.randint(0, 9)}-{rng.randint(0, 9)} against {rng.choice(TEAMS)} on Saturday."
        ),
        lambda: (
            f"{rng.choice(TEAMS)} beat {rng.choice(TEAMS)} {rng.randint(0, 6)} - {rng.randint(0, 6)} last night."
        ),
        lambda: (
            f"I scored {rng.choice(NUMBER_WORDS)} goals at football and the score was {rng.randint(10, 30)} to {rng.randint(0, 9)}."
        ),
        lambda: (
            f"School starts at {rng.randint(8, 9)}:{rng.choice(['00', '15', '30', '45'])} and finishes at {rng.randint(2, 3)}.{rng.choice(['15', '30', '45'])}."
        ),
        lambda: f"I go to bed at half past {rng.choice(NUMBER_WORDS[3:8])} on school nights.",
        lambda: (
            f"The film started at {rng.randint(1, 7)}pm and finished at {rng.randint(8, 9)}.30pm."
        ),
        lambda: f"I saved £{rng.randint(1, 40)}.{rng.randint(0, 9)}0 from my pocket money.",
        lambda: (
            f"The book cost £{rng.randint(3, 12)}.99 and Grandad gave me {rng.choice(NUMBER_WORDS)} pounds."
        ),
        lambda: f"My brother is {n} and my sister is {rng.randint(1, 16)}.",
        lambda: f"I'm {n} and three quarters and I am in Year {rng.randint(1, 11)}.",
        lambda: f"I am reading {rng.choice(BOOKS)} and I am on page {rng.randint(10, 350)}.",
        lambda: f"We watched {rng.choice(FILMS)} twice!",
        lambda: (
            f"My favourite film is {rng.choice(FILMS)} and my favourite book is {rng.choice(BOOKS)}."
        ),
        lambda: (
            f"In the summer holidays we went to {rng.choice(HOLIDAY_PLACES)} for {rng.choice(NUMBER_WORDS)} days."
        ),
        lambda: (
            f"At Easter we went camping in {rng.choice(HOLIDAY_PLACES)} and it rained for {n} days."
        ),
        lambda: (
            f"My favourite subject is {rng.choice(SUBJECTS)} and I got {rng.randint(10, 20)} out of 20 in my spelling test."
        ),
        lambda: f"We are learning about {rng.choice(TOPICS)} in {rng.choice(SUBJECTS)}.",
        lambda: f"I got {rng.randint(50, 100)}% in my {rng.choice(SUBJECTS)} test.",
        lambda: (
            f"We drove {rng.randint(20, 300)} miles to the seaside and it took {rng.choice(NUMBER_WORDS)} hours."
        ),
        lambda: f"I can swim {rng.choice([10, 25, 50, 100, 200])} metres now.",
        lambda: f"I'm on level {rng.randint(2, 99)} on Minecraft.",
        lambda: (
            f"I watched a video on YouTube about {rng.choice(['sharks', 'volcanoes', 'Lego', 'slime'])}."
        ),
        lambda: "I played Roblox with my cousin after tea.",
        lambda: (
            f"I can count to {rng.choice([100, 1000])} in {rng.choice(['French', 'Welsh', 'Spanish'])}: un, deux, trois!"
        ),
        lambda: (
            f"On {rng.randint(1, 28)}/{rng.randint(1, 12)}/{rng.choice([2024, 2025, 2026])} we had sports day."
        ),
        lambda: f"The years on the timeline were 1066, 1485 and {rng.randint(1600, 1999)}.",
        lambda: (
            f"We had {rng.randint(2, 30)} people at my party and {rng.randint(2, 9)} balloons popped."
        ),
        lambda: "I can't wait to see you next time.",
        lambda: "See you at contact on Saturday!",
        lambda: "I can't wait to meet your new puppy.",
        lambda: (
            f"Thank you for the {rng.choice(['card', 'book', 'drawing', 'stickers', 'letter'])}."
        ),
        lambda: (
            f"I have {rng.choice(NUMBER_WORDS)} wobbly teeth and one fell out on {rng.choice(DAYS)}."
        ),
        lambda: f"It was {rng.randint(-3, 31)} degrees today.",
        lambda: f"We went to the park and I went down the big slide {n} times.",
        lambda: f"The train was {rng.randint(5, 45)} minutes late.",
        lambda: f"I've got {rng.randint(100, 900)} Pokemon cards now.",
        lambda: "Did you watch the match?",
        lambda: (
            f"Our teacher Mrs {rng.choice(['Patel', 'Evans', 'Brown', 'Nowak'])} says I'm good at {rng.choice(SUBJECTS)}."
        ),
        lambda: f"I made a model of a volcano out of {rng.choice(['clay', 'paper', 'cardboard'])}.",
        lambda: f"I hope {rng.choice(PETS)} is being good.",
        lambda: "I got a gold star at school today.",
        lambda: f"We had pizza for tea and I ate {rng.choice(NUMBER_WORDS)} slices.",
        lambda: f"The score was {rng.randint(100, 130)} to {rng.randint(60, 99)} in basketball.",
        lambda: f"My reading age is {rng.randint(7, 14)}.{rng.randint(1, 11)} now.",
    ]
    return rng.choice(choices)()


# --- planted details ----------------------------------------------------------------------------

PHONE_REGIONS = _split(
    "GB IE US FR DE ES PL RO IN PK NG AU IT PT NL TR BD ZA JM LT CA NZ SE NO DK GH KE PH CN "
    "BR MX AE SA EG MA LV SK CZ HU GR UA"
)
# Ofcom keeps these ranges for drama: they are shaped like real UK numbers and ring nobody.
UK_DRAMA = (
    "07700 900{:03d}",
    "01632 960{:03d}",
    "020 7946 0{:03d}",
    "0113 496 0{:03d}",
    "0161 496 0{:03d}",
    "0131 496 0{:03d}",
    "029 2018 0{:03d}",
    "028 9649 6{:03d}",
    "0117 496 0{:03d}",
    "0191 498 0{:03d}",
)
DIGIT_NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def _example_number(rng: random.Random) -> tuple[str, str]:
    region = rng.choice(PHONE_REGIONS)
    kind = rng.choice(
        [phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]
    )
    number = phonenumbers.example_number_for_type(region, kind)
    if number is None:
        number = phonenumbers.example_number(region)
    assert number is not None
    national = str(number.national_number)
    # A different number of the same shape: the example's leading digits, new trailing ones.
    keep = max(3, len(national) - 4)
    number.national_number = int(
        national[:keep] + "".join(rng.choice("0123456789") for _ in national[keep:])
    )
    fmt = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if region in ("GB", "IE", "US", "CA") and rng.random() < 0.5
        else rng.choice(
            [
                phonenumbers.PhoneNumberFormat.INTERNATIONAL,
                phonenumbers.PhoneNumberFormat.E164,
                phonenumbers.PhoneNumberFormat.RFC3966,
            ]
        )
    )
    text = phonenumbers.format_number(number, fmt)
    return text.removeprefix("tel:"), region


def _as_words(digits: str, rng: random.Random, share: float) -> str:
    out: list[str] = []
    index = 0
    while index < len(digits):
        ch = digits[index]
        if not ch.isdigit():
            out.append(ch)
            index += 1
            continue
        if rng.random() < share:
            if index + 1 < len(digits) and digits[index + 1] == ch and rng.random() < 0.5:
                word = rng.choice(["double", "Double"]) + " " + _digit_word(ch, rng)
                index += 2
            else:
                word = _digit_word(ch, rng)
                index += 1
            out.append(" " + word + " ")
        else:
            out.append(ch)
            index += 1
    return " ".join("".join(out).split())


def _digit_word(ch: str, rng: random.Random) -> str:
    if ch == "0":
        return rng.choice(["zero", "oh", "nought", "o", "Oh"])
    word = DIGIT_NAMES[int(ch)]
    return word.upper() if rng.random() < 0.1 else word


def _phone(rng: random.Random) -> tuple[str, str]:
    if rng.random() < 0.45:
        value = rng.choice(UK_DRAMA).format(rng.randint(0, 999))
        if rng.random() < 0.3:
            value = "+44 " + value[1:]
            if rng.random() < 0.3:
                value = value.replace("+44 ", "+44 (0)")
        region = "GB-drama"
    else:
        value, region = _example_number(rng)
    style = rng.choice(
        _split(
            "as-is as-is spaced dots dashes no-spaces words mixed-words letters-for-digits "
            "line-break brackets plus-words"
        )
    )
    digits = [c for c in value if c.isdigit()]
    if style == "spaced":
        value = ("+" if value.startswith("+") else "") + " ".join(digits)
    elif style == "dots":
        value = value.replace(" ", ".").replace("-", ".")
    elif style == "dashes":
        value = value.replace(" ", "-")
    elif style == "no-spaces":
        value = "".join(c for c in value if c.isdigit() or c == "+")
    elif style == "words":
        value = _as_words(value.replace("+", "plus "), rng, 1.0)
    elif style == "mixed-words":
        value = _as_words(value, rng, 0.4)
    elif style == "letters-for-digits":
        value = "".join(
            rng.choice(["O", "o"])
            if c == "0" and rng.random() < 0.7
            else rng.choice(["I", "l"])
            if c == "1" and rng.random() < 0.7
            else c
            for c in value
        )
    elif style == "line-break":
        parts = value.split(" ")
        if len(parts) > 1:
            cut = rng.randint(1, len(parts) - 1)
            value = " ".join(parts[:cut]) + "\n" + " ".join(parts[cut:])
    elif style == "brackets" and value.startswith("0") and " " in value:
        head, tail = value.split(" ", 1)
        value = f"({head}) {tail}"
    elif style == "plus-words" and value.startswith("+"):
        value = "plus " + value[1:]
    return value, f"{region}:{style}"


PHONE_TEMPLATES = (
    "My new number is {v}.",
    "Text me on {v} whenever you want.",
    "Ring {p} on {v} if you are sad.",
    "{v} is my mobile, save it.",
    "Call me {v} xx",
    "my phone: {v}",
    "Here is my number\n{v}\nring me",
    "If you get a phone put in {v} ok",
    "Nan's landline is {v} now.",
    "WhatsApp me {v}",
)

FIRST = _split("sam lily dan jo mike sarah tom ellie gaz kerry noah amy jay tariq aisling craig")
LAST = _split("smith jones evans williams brown taylor oconnor macleod patel kowalski murphy")
PROVIDERS = _split(
    "gmail.com hotmail.co.uk outlook.com yahoo.co.uk icloud.com btinternet.com live.co.uk "
    "aol.com protonmail.com sky.com virginmedia.com talktalk.net googlemail.com"
)


@functools.cache
def public_suffixes() -> tuple[str, ...]:
    """ASCII ICANN domain endings from the public suffix list (one or two labels)."""
    data = (
        resources.files("publicsuffixlist")
        .joinpath("public_suffix_list.dat")
        .read_text(encoding="utf-8")
    )
    icann = data.split("===BEGIN ICANN DOMAINS===", 1)[1].split("===END ICANN DOMAINS===", 1)[0]
    out = []
    for line in icann.splitlines():
        line = line.strip()
        if (
            line
            and not line.startswith(("//", "!"))
            and line.isascii()
            and "*" not in line
            and line.count(".") <= 1
        ):
            out.append(line)
    return tuple(sorted(out))


def _local(rng: random.Random) -> str:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return rng.choice(
        [
            f"{first}.{last}",
            f"{first}{last}{rng.randint(1, 99)}",
            f"{first[0]}{last}",
            f"{first}_{last}",
            f"{first}-{last}{rng.randint(70, 99)}",
            f"{last}.family",
            f"{first}{rng.randint(1, 2020)}",
        ]
    )


FULL_WIDTH = {chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)}
LOOK_ALIKES = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "i": "і", "s": "ѕ", "x": "х"}
ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad")


def _look_alike(value: str, rng: random.Random) -> str:
    return "".join(LOOK_ALIKES[c] if c in LOOK_ALIKES and rng.random() < 0.5 else c for c in value)


def _zero_width(value: str, rng: random.Random) -> str:
    out = []
    for index, char in enumerate(value):
        out.append(char)
        if 0 < index < len(value) - 1 and rng.random() < 0.3:
            out.append(rng.choice(ZERO_WIDTH))
    return "".join(out)


def _email(rng: random.Random) -> tuple[str, str]:
    local = _local(rng)
    if rng.random() < 0.6:
        domain = rng.choice(PROVIDERS)
    else:
        domain = (
            rng.choice(["our", "the", "my", ""])
            + rng.choice(LAST)
            + "."
            + rng.choice(public_suffixes())
        )
    style = rng.choice(
        _split(
            "plain plain at-dot brackets parens spaced full-width look-alike zero-width "
            "caps-words provider-only spaced-local"
        )
    )
    value = f"{local}@{domain}"
    if style == "at-dot":
        value = f"{local} at {domain.replace('.', ' dot ')}"
    elif style == "brackets":
        value = f"{local} [at] {domain.replace('.', ' [dot] ')}"
    elif style == "parens":
        value = f"{local}(at){domain.replace('.', '(dot)')}"
    elif style == "spaced":
        value = f"{local} @ {domain.replace('.', ' . ')}"
    elif style == "full-width":
        value = "".join(FULL_WIDTH.get(c, c) for c in value)
    elif style == "look-alike":
        value = _look_alike(value, rng)
    elif style == "zero-width":
        value = _zero_width(value, rng)
    elif style == "caps-words":
        value = f"{local} AT {domain.replace('.', ' DOT ')}"
    elif style == "provider-only":
        provider = rng.choice(["gmail", "hotmail", "outlook", "yahoo", "icloud", "btinternet"])
        value = f"{local} at {provider}"
    elif style == "spaced-local":
        value = f"{local.replace('.', ' . ')} @ {domain}"
    return value, style


EMAIL_TEMPLATES = (
    "My email is {v} if you want to write.",
    "email me at {v}",
    "Mum's new email: {v}",
    "You can write to {v} instead.",
    "{v} is my email now x",
    "Send the photos to {v} please.",
)

SHORTENERS = _split(
    "bit.ly tinyurl.com t.co youtu.be linktr.ee discord.gg goo.gl shorturl.at is.gd"
)


def _handle(rng: random.Random) -> str:
    first = rng.choice(FIRST + [c.lower() for c in CHILDREN])
    return rng.choice(
        [
            f"{first}_{rng.randint(1, 99)}",
            f"{first}.{rng.choice(LAST)}",
            f"xX_{first}_Xx",
            f"{first}{rng.randint(2008, 2019)}",
            f"the_real_{first}",
            f"{first}.{rng.choice(['x', 'xo', 'official', 'gaming'])}",
            f"{first.capitalize()}TheGreat{rng.randint(1, 9)}",
        ]
    )


def _url(rng: random.Random) -> tuple[str, str]:
    name = rng.choice(LAST + FIRST) + rng.choice(["", "family", "photos", str(rng.randint(1, 99))])
    suffix = rng.choice(public_suffixes())
    style = rng.choice(
        _split(
            "https http-path www bare bare-path short short platform-path spelled caps "
            "full-width query"
        )
    )
    if style == "https":
        value = f"https://{name}.{suffix}"
    elif style == "http-path":
        value = f"http://www.{name}.{suffix}/our-news/{rng.randint(1, 99)}"
    elif style == "www":
        value = f"www.{name}.{suffix}"
    elif style == "bare":
        value = f"{name}.{suffix}"
    elif style == "bare-path":
        value = f"{name}.{suffix}/{_handle(rng)}"
    elif style == "short":
        code = "".join(rng.choice("abcdefghjkmnpqrstuvwxyzABCDEFGH23456789") for _ in range(7))
        value = f"{rng.choice(SHORTENERS)}/{code}"
    elif style == "platform-path":
        handle = _handle(rng)
        value = rng.choice(
            [
                f"tiktok.com/@{handle}",
                f"instagram.com/{handle}",
                f"youtube.com/@{handle}",
                f"www.facebook.com/{handle}",
                f"https://x.com/{handle}",
                f"snapchat.com/add/{handle}",
                f"twitch.tv/{handle}",
                f"reddit.com/u/{handle}",
            ]
        )
    elif style == "spelled":
        value = f"{name} dot {suffix.replace('.', ' dot ')}"
    elif style == "caps":
        value = f"WWW.{name.upper()}.{suffix.upper()}"
    elif style == "full-width":
        value = "".join(FULL_WIDTH.get(c, c) for c in f"www.{name}.{suffix}")
    else:
        value = f"https://{name}.{suffix}/page?id={rng.randint(1, 999)}&from=letter"
    return value, style


URL_TEMPLATES = (
    "Look at {v} for the pictures.",
    "My page is {v}",
    "Go on {v} and you can see my videos",
    "I made a website! {v}",
    "this link {v} has the photos x",
    "Have you seen {v} yet?",
)

INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
POSTCODE_AREAS = _split(
    "AB AL B BA BB BD BH BL BN BR BS BT CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL DN "
    "DT DY E EC EH EN EX FK FY G GL GU HA HD HG HP HR HS HU HX IG IP IV KA KT KW KY L LA LD "
    "LE LL LN LS LU M ME MK ML N NE NG NN NP NR NW OL OX PA PE PH PL PO PR RG RH RM S SA SE "
    "SG SK SL SM SN SO SP SR SS ST SW SY TA TD TF TN TQ TR TS TW UB W WA WC WD WF WN WR WS "
    "WV YO ZE"
)
EIRCODE_LETTERS = "ACDEFHKNPRTVWXY"


def _postcode_parts(rng: random.Random) -> tuple[str, str]:
    area = rng.choice(POSTCODE_AREAS)
    district = str(rng.randint(1, 29 if len(area) == 2 else 99))
    if rng.random() < 0.1 and area in ("EC", "WC", "SW", "W", "E", "N", "NW", "SE"):
        district = str(rng.randint(1, 9)) + rng.choice("ABCDEFGHJKMNPRSTUVWXY")
    inward = str(rng.randint(0, 9)) + rng.choice(INWARD_LETTERS) + rng.choice(INWARD_LETTERS)
    return area + district, inward


def _postcode(rng: random.Random) -> tuple[str, str, bool]:
    """A postcode, its style, and whether it is an outward code alone (needs a place word)."""
    style = rng.choice(
        _split(
            "space space none lower dash dot two-spaces o-for-0 i-for-1 line-break outward- "
            "alone bfpo eircode eircode-none"
        )
    )
    outward, inward = _postcode_parts(rng)
    if style == "none":
        return outward + inward, style, False
    if style == "lower":
        return f"{outward} {inward}".lower(), style, False
    if style == "dash":
        return f"{outward}-{inward}", style, False
    if style == "dot":
        return f"{outward}.{inward}", style, False
    if style == "two-spaces":
        return f"{outward}  {inward}", style, False
    if style == "line-break":
        return f"{outward}\n{inward}", style, False
    if style == "o-for-0":
        inward = "0" + inward[1:]
        if rng.random() < 0.5:
            outward = outward[:-1] + "0" if outward[-1].isdigit() and len(outward) > 2 else outward
        return f"{outward} {inward}".replace("0", "O"), style, False
    if style == "i-for-1":
        inward = "1" + inward[1:]
        return f"{outward} {inward}".replace("1", rng.choice(["I", "l"])), style, False
    if style == "outward-alone":
        return outward, style, True
    if style == "bfpo":
        return rng.choice(["BFPO ", "BFPO", "bfpo "]) + str(rng.randint(1, 999)), style, False
    if style.startswith("eircode"):
        routing = (
            rng.choice(["D", "A", "T", "Y", "H", "K", "N", "V", "W"]) + f"{rng.randint(1, 99):02d}"
        )
        unique = (
            rng.choice(EIRCODE_LETTERS)
            + str(rng.randint(0, 9))
            + "".join(rng.choice(EIRCODE_LETTERS + "0123456789") for _ in range(2))
        )
        return routing + ("" if style == "eircode-none" else " ") + unique, style, False
    return f"{outward} {inward}", style, False


POSTCODE_TEMPLATES = (
    "Our new postcode is {v} so you can send a card.",
    "it's {v} for the sat nav",
    "The address ends {v}.",
    "Send it to the house, postcode {v}",
    "{v} is where we are now.",
)
OUTWARD_TEMPLATES = (
    "We moved to {v} last week.",
    "We live near {v} now.",
    "It's in the {v} area.",
    "Our new house is in {v}, by the big Tesco.",
)

STREET_NAMES = _split(
    "Acacia Oak Elm Beech Mill Church Station Victoria Albert Queens Kings Chapel Park "
    "Meadow Orchard Willow Hawthorn Rowan Heather Cedar Windsor Clarence Newton Grange "
    "Fairfield Ashgrove Hollybank Ferndale Brookside"
)
ENGLISH_STREET_WORDS = _split(
    "Street Road Avenue Lane Close Drive Way Crescent Court Gardens Place Terrace Grove "
    "Mews Rise View Green Parade Walk Square Row St Rd Ave"
)
WELSH_STREETS = (
    "Heol y Felin",
    "Heol Fawr",
    "Ffordd Las",
    "Ffordd yr Orsaf",
    "Stryd Fawr",
    "Stryd y Bont",
    "Lôn Goed",
    "Lôn Glan Môr",
    "Rhodfa Marina",
    "Rhodfa'r Môr",
    "Cilgant Penrhyn",
    "Cilgant y Dderwen",
    "Clos Cae Ffynnon",
    "Maes y Coed",
    "Teras Heol Dŵr",
)
SCOTS_STREETS = (
    "Kirk Wynd",
    "Castle Wynd",
    "Bank Brae",
    "Mill Brae",
    "The Vennel",
    "Kirk Vennel",
    "Sauchie Loan",
    "Burgh Loan",
    "Tolbooth Close",
    "Market Gait",
    "Overgate Pend",
    "Causewayside",
)
NI_STREETS = (
    "Glenview Park",
    "Cregagh Road",
    "Lisburn Road",
    "Rathmore Gardens",
    "Ballysillan Drive",
    "Knockbreda Park",
    "Shankill Road",
    "Falls Road",
    "Antrim Road",
    "Belmont Avenue",
    "Dunmurry Lane",
)
HOUSE_NAMES = (
    "Rose Cottage",
    "Ivy House",
    "Willow Farm",
    "Meadow Lodge",
    "Hillside Barn",
    "Orchard House",
    "Holly Cottages",
    "Glebe Farm",
    "Oak Lodge",
    "Fern Bungalow",
)
CALLED_NAMES = (
    "Bryn Awel",
    "Tŷ Gwyn",
    "Hafod",
    "Willowdene",
    "Cartref",
    "Seaview",
    "Journey's End",
    "The Nook",
    "Brambles",
    "Craigmore",
)


def _house_number(rng: random.Random) -> str:
    return str(rng.randint(1, 250)) + (rng.choice("abc") if rng.random() < 0.15 else "")


def _address(rng: random.Random) -> tuple[str, str, str]:
    """An address, its style, and the sentence it goes in."""
    style = rng.choice(
        _split(
            "england england wales scotland northern-ireland no-street-word flat glasgow- "
            "flat named-house called po-box floor-flat"
        )
    )
    number = _house_number(rng)
    if style == "england":
        value = f"{number} {rng.choice(STREET_NAMES)} {rng.choice(ENGLISH_STREET_WORDS)}"
        if rng.random() < 0.2:
            value = value.lower()
    elif style == "wales":
        value = (
            f"{number} {rng.choice(WELSH_STREETS)}"
            if rng.random() < 0.7
            else rng.choice(WELSH_STREETS)
        )
    elif style == "scotland":
        value = f"{number} {rng.choice(SCOTS_STREETS)}"
    elif style == "northern-ireland":
        value = f"{number} {rng.choice(NI_STREETS)}"
    elif style == "no-street-word":
        value = f"{number} {rng.choice(['Maple', 'Beechwood', 'Oakhill', 'Sunnybank', 'Larkfield', 'Thornbury'])}"
        template = rng.choice(
            [
                "We live at {v} now.",
                "We're at number {v} now, the one with the red door.",
                "We moved to {v} last month.",
                "Come to {v} if you're ever near.",
                "Our house is {v}, next to the shop.",
            ]
        )
        return value, style, template
    elif style == "flat":
        value = f"{rng.choice(['Flat', 'flat', 'Apartment', 'Apt', 'Unit'])} {number}"
    elif style == "glasgow-flat":
        value = f"Flat {rng.randint(0, 3)}/{rng.randint(1, 2)}"
    elif style == "floor-flat":
        value = rng.choice(
            ["top floor flat", "Ground floor flat", "basement flat", "first-floor flat"]
        )
    elif style == "named-house":
        value = rng.choice(HOUSE_NAMES)
    elif style == "called":
        value = rng.choice(CALLED_NAMES)
        template = rng.choice(
            [
                "Our new house is called {v} and it has a big garden.",
                "The cottage is called {v}.",
                "Nan's house is named {v}.",
            ]
        )
        return value, style, template
    else:
        value = rng.choice(["PO Box ", "P.O. Box ", "po box ", "Post Office Box "]) + str(
            rng.randint(1, 9999)
        )
    template = rng.choice(
        [
            "Our new address is {v}.",
            "We live at {v} now.",
            "Write to me at {v}, I'll get it.",
            "We moved into {v} on Tuesday.",
            "{v} is our new house.",
            "Send the parcel to {v} please.",
        ]
    )
    return value, style, template


def _social(rng: random.Random) -> tuple[str, str, str]:
    """A handle (or app name), its style and the sentence it goes in."""
    handle = _handle(rng)
    style = rng.choice(
        _split(
            "add-me my-platform colon emoji at-handle leet look-alike game-tag follow "
            "invite spaced-platform dash"
        )
    )
    if style == "invite":
        app = rng.choice(
            [
                "WhatsApp",
                "Telegram",
                "Signal app",
                "Kik",
                "Discord",
                "Snapchat",
                "Wickr",
                "Viber",
                "WeChat",
                "Threema",
            ]
        )
        template = rng.choice(
            [
                "Download {v} so we can talk properly.",
                "Get {v} and message me.",
                "Are you on {v}?",
                "I'm on {v} now, get it.",
            ]
        )
        return app, style, template
    if style == "add-me":
        platform = rng.choice(
            ["snap", "Snapchat", "insta", "Instagram", "TikTok", "discord", "kik"]
        )
        sep = rng.choice([": ", " ", " - ", " its ", " it's "])
        return handle, style, f"add me on {platform}{sep}{{v}}"
    if style == "my-platform":
        platform = rng.choice(["snap", "insta", "ig", "sc", "tiktok", "whatsapp", "discord", "YT"])
        return handle, style, f"my {platform} is {{v}} x"
    if style == "colon":
        platform = rng.choice(["Snap", "SC", "IG", "Insta", "TikTok", "Discord", "Kik"])
        return handle, style, f"{platform}: {{v}}"
    if style == "dash":
        platform = rng.choice(["snap", "sc", "ig", "insta", "tiktok"])
        return handle, style, f"{platform} - {{v}}"
    if style == "emoji":
        emoji = rng.choice(["👻", "📸", "🎵", "👻 ", "📸 "])
        return handle, style, f"{emoji}{{v}}"
    if style == "at-handle":
        return "@" + handle, style, rng.choice(["follow {v}", "I'm {v} on there", "{v} is me"])
    if style == "leet":
        platform = rng.choice(["5nap", "sn@p", "1nsta", "!nsta", "t1kt0k", "d1sc0rd", "wh@ts@pp"])
        return handle, style, f"my {platform} is {{v}}"
    if style == "look-alike":
        platform = _look_alike(rng.choice(["snapchat", "instagram", "snap", "insta"]), rng)
        return handle, style, f"add me on {platform} {{v}}"
    if style == "game-tag":
        platform = rng.choice(["roblox", "xbox", "fortnite", "minecraft", "PSN"])
        word = rng.choice(["username", "gamertag", "name", "user name"])
        return handle, style, f"my {platform} {word} is {{v}}"
    if style == "spaced-platform":
        platform = rng.choice(["s n a p", "i.n.s.t.a", "s-n-a-p-c-h-a-t", "t i k t o k"])
        return handle, style, f"add me on {platform} {{v}}"
    platform = rng.choice(["insta", "tiktok", "snap", "twitch"])
    return handle, style, f"follow me on {platform} {{v}}"


PLACES = (
    "the Co-op",
    "Tesco",
    "the park gates",
    "the library",
    "McDonald's",
    "the bus station",
    "the chip shop",
    "the leisure centre",
    "the big Asda",
    "the swings",
)
W3W_WORDS = _split(
    "filled count soap index home raft table chair lamp river apple grape stone cloud daily "
    "bright tiger magic fancy crisp spoon melt"
)


def _meeting(rng: random.Random) -> tuple[str, str, str]:
    """A meeting proposal or place, its style and the sentence it goes in."""
    style = rng.choice(
        _split(
            "meet-me meet-me be-at-your wait-outside lets-meet come-round pick-up "
            "what3words w3w-bare coordinates dms ask-where"
        )
    )
    day = rng.choice([*DAYS, "tomorrow", "after school", "at the weekend"])
    if style == "meet-me":
        value = (
            f"meet me {rng.choice(['outside', 'at', 'by', 'behind'])} {rng.choice(PLACES)} {day}"
        )
        return value, style, rng.choice(["Can you {v}?", "{v} ok", "Please {v}."])
    if style == "be-at-your":
        place = rng.choice(["school", "football", "swimming", "house", "dance class", "nan's"])
        value = f"I'll be at your {place} on {rng.choice(DAYS)}"
        return value, style, "{v}."
    if style == "wait-outside":
        value = f"I'll wait outside your {rng.choice(['school', 'house', 'club'])} {day}"
        return value, style, "{v}, don't tell anyone."
    if style == "lets-meet":
        value = f"let's meet at {rng.choice(PLACES)}"
        return value, style, "Next time {v}."
    if style == "come-round":
        value = f"come round to my {rng.choice(['house', 'flat'])} {day}"
        return value, style, "You can {v}."
    if style == "pick-up":
        value = f"pick you up from school on {rng.choice(DAYS)}"
        return value, style, "I will {v}."
    if style == "what3words":
        words = ".".join(rng.sample(W3W_WORDS, 3))
        value = rng.choice(["///", "what3words ", "w3w: "]) + words
        return value, style, "I'm here {v}"
    if style == "w3w-bare":
        value = ".".join(rng.sample(W3W_WORDS, 3))
        return value, style, "find me at {v}"
    if style == "coordinates":
        lat = f"{rng.uniform(50, 58):.{rng.randint(4, 6)}f}"
        lon = f"{rng.uniform(-6, 1.5):.{rng.randint(4, 6)}f}"
        return f"{lat}, {lon}", style, "We are at {v}"
    if style == "dms":
        value = f"{rng.randint(50, 58)}°{rng.randint(0, 59)}′{rng.randint(0, 59)}″N {rng.randint(0, 5)}°{rng.randint(0, 59)}′{rng.randint(0, 59)}″W"
        return value, style, "The spot is {v}."
    value = rng.choice(
        [
            "where do you live now",
            "what school do you go to",
            "send me your address",
            "share your location",
        ]
    )
    return value, style, "{v}?"


FAMILY_TERMS = (
    ("St Mary's CE Primary", "Hartley", "Brownies"),
    ("Oakfield Primary School", "Kowalski", "Kirkstall"),
    ("Ysgol Gymraeg Bro Morgannwg", "Pritchard", "Penarth Dolphins"),
    ("Our Lady of Lourdes", "McAllister", "Holywood"),
    ("Craigmount High School", "Drummond", "Corstorphine"),
    ("Saint Aidan's Academy", "Whitfield", "Gosforth Juniors"),
)


def _term_variant(term: str, rng: random.Random, first_names: tuple[str, ...]) -> tuple[str, str]:
    """A way a letter might write a family's term, and what the way is called."""
    words = term.split()
    style = rng.choice(
        _split(
            "exact lower caps no-apostrophe saint plural distinctive-word typo accent look- "
            "alike zero-width possessive"
        )
    )
    distinctive = [
        w
        for w in words
        if w.lower().removesuffix("'s")
        not in {
            "st",
            "saint",
            "primary",
            "school",
            "ce",
            "high",
            "academy",
            "juniors",
            "our",
            "lady",
            "of",
            "ysgol",
            "gymraeg",
            "bro",
            "junior",
        }
        and w not in first_names
    ]
    target = rng.choice(distinctive or words)
    if style == "exact":
        return term, style
    if style == "lower":
        return term.lower(), style
    if style == "caps":
        return term.upper(), style
    if style == "no-apostrophe":
        return term.replace("'", ""), style
    if style == "saint":
        if term.startswith("St "):
            return "Saint " + term[3:], style
        if term.startswith("Saint "):
            return "St. " + term[6:], style
        return target, style
    if style == "plural":
        if target.endswith("s"):
            return target, style
        return target + "s", style
    if style == "possessive":
        return target.removesuffix("'s") + rng.choice(["'s", "’s", "s'"]), style
    if style == "distinctive-word":
        return target, style
    if style == "typo":
        word = target.removesuffix("'s")
        if len(word) < 6:
            return word, style
        at = rng.randint(1, len(word) - 2)
        slip = rng.choice(["swap", "drop", "double", "change"])
        if slip == "swap":
            word = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
        elif slip == "drop":
            word = word[:at] + word[at + 1 :]
        elif slip == "double":
            word = word[:at] + word[at] + word[at:]
        else:
            word = word[:at] + rng.choice("aeiou") + word[at + 1 :]
        return word, style
    if style == "accent":
        return target.replace("e", "é", 1).replace("a", "á", 1), style
    if style == "look-alike":
        return _look_alike(target, rng), style
    return _zero_width(target, rng), style


TERM_TEMPLATES = (
    "I saw your friend from {v} in town.",
    "Are you still going to {v}?",
    "{v} was on the news.",
    "Say hello to everyone at {v}.",
    "We drove past {v} yesterday.",
)

# --- letters ------------------------------------------------------------------------------------


def _family(rng: random.Random) -> tuple[str, str, tuple[str, ...], tuple[str, ...]]:
    child = rng.choice(CHILDREN)
    parent = rng.choice(PARENTS)
    parent_name = rng.choice(PARENT_NAMES)
    terms = rng.choice(FAMILY_TERMS)
    if rng.random() < 0.3:
        # A term with the child's own first name in it: the name alone must not match.
        terms = (*terms, f"{child} {terms[1]}")
    return child, parent, terms, (child, parent_name)


def _letter(
    rng: random.Random, child: str, parent: str, direction: str, middle: str | None
) -> tuple[str, int]:
    """A letter with ``middle`` among ordinary sentences; the offset where ``middle`` starts."""
    if direction == "to_child":
        greeting = rng.choice(
            [f"Dear {child},", f"Hi {child}!", f"Hello {child.lower()}", f"To my {child}"]
        )
        sign_off = rng.choice([f"Love from {parent} xx", f"Lots of love, {parent}", f"{parent} x"])
    else:
        greeting = rng.choice(
            [f"Dear {parent},", f"Hi {parent}!", f"hiya {parent.lower()}", f"To {parent}"]
        )
        sign_off = rng.choice(
            [f"Love {child} xxx", f"From {child}", f"love you, {child.lower()} x"]
        )
    before = [_ordinary_sentence(rng, child) for _ in range(rng.randint(1, 3))]
    after = [_ordinary_sentence(rng, child) for _ in range(rng.randint(0, 2))]
    head = greeting + "\n\n" + " ".join(before)
    if middle is None:
        body = head + (" " + " ".join(after) if after else "")
        return body + "\n\n" + sign_off, -1
    offset = len(head) + 1
    text = head + " " + middle + (" " + " ".join(after) if after else "") + "\n\n" + sign_off
    return text, offset


def _plant(
    rng: random.Random, category: Category, maker: Callable[[], tuple[str, str, str]]
) -> Planted:
    child, parent, terms, first_names = _family(rng)
    direction = rng.choice(["to_child", "to_parent"])
    value, style, template = maker()
    before, after = template.split("{v}")
    before = before.replace("{p}", parent)
    after = after.replace("{p}", parent)
    text, offset = _letter(rng, child, parent, direction, before + value + after)
    start = offset + len(before)
    assert text[start : start + len(value)] == value
    return Planted(text, category, value, start, style, direction, terms, first_names)


def generated_corpus(seed: int = SEED) -> Corpus:
    rng = random.Random(seed)
    planted: list[Planted] = []

    def phone() -> tuple[str, str, str]:
        value, style = _phone(rng)
        return value, style, rng.choice(PHONE_TEMPLATES)

    def email() -> tuple[str, str, str]:
        value, style = _email(rng)
        return value, style, rng.choice(EMAIL_TEMPLATES)

    def url() -> tuple[str, str, str]:
        value, style = _url(rng)
        return value, style, rng.choice(URL_TEMPLATES)

    def postcode() -> tuple[str, str, str]:
        value, style, alone = _postcode(rng)
        return value, style, rng.choice(OUTWARD_TEMPLATES if alone else POSTCODE_TEMPLATES)

    makers: dict[Category, Callable[[], tuple[str, str, str]]] = {
        Category.PHONE: phone,
        Category.EMAIL: email,
        Category.URL: url,
        Category.POSTCODE: postcode,
        Category.ADDRESS: lambda: _address(rng),
        Category.SOCIAL: lambda: _social(rng),
        Category.MEETING: lambda: _meeting(rng),
    }
    for category, maker in makers.items():
        for _ in range(PER_CATEGORY):
            planted.append(_plant(rng, category, maker))
    for _ in range(PER_CATEGORY):
        child, parent, terms, first_names = _family(rng)
        direction = rng.choice(["to_child", "to_parent"])
        value, style = _term_variant(rng.choice(terms[:3]), rng, first_names)
        template = rng.choice(TERM_TEMPLATES)
        before, after = template.split("{v}")
        text, offset = _letter(rng, child, parent, direction, before + value + after)
        start = offset + len(before)
        planted.append(
            Planted(
                text,
                Category.SENSITIVE_TERM,
                value,
                start,
                style,
                direction,
                terms,
                first_names,
            )
        )
    ordinary = []
    for _ in range(ORDINARY_LETTERS):
        child, parent, terms, first_names = _family(rng)
        direction = rng.choice(["to_child", "to_parent"])
        text, _ = _letter(rng, child, parent, direction, None)
        ordinary.append(Ordinary(text, direction, terms, first_names))
    return Corpus(tuple(planted), tuple(ordinary))


def main(argv: list[str]) -> None:
    out = Path(argv[0] if argv else "scanner-corpus")
    out.mkdir(parents=True, exist_ok=True)
    corpus = generated_corpus()
    with (out / "planted.jsonl").open("w", encoding="utf-8") as f:
        for item in corpus.planted:
            f.write(json.dumps(asdict(item), ensure_ascii=False) + "\n")
    with (out / "ordinary.jsonl").open("w", encoding="utf-8") as f:
        for letter in corpus.ordinary:
            f.write(json.dumps(asdict(letter), ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])


# --- judging the scanner ------------------------------------------------------------------------


def uncovered(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> str:
    """The letters and digits of ``text[start:end]`` that no span covers."""
    covered = [False] * (end - start)
    for span_start, span_end in spans:
        for index in range(max(start, span_start), min(end, span_end)):
            covered[index - start] = True
    return "".join(
        ch for ch, done in zip(text[start:end], covered, strict=True) if not done and ch.isalnum()
    )


def caught(item: Planted, hits: list[Hit]) -> bool:
    """A hit of the planted detail's category touches it, and hits cover all of it."""
    of_category = any(
        hit.category is item.category and hit.start < item.end and hit.end > item.start
        for hit in hits
    )
    spans = [(hit.start, hit.end) for hit in hits]
    return of_category and not uncovered(item.text, item.start, item.end, spans)


def redacted(text: str, hits: list[Hit]) -> str:
    """``text`` with every hit blacked out, as a moderator who covers every highlight would."""
    chars = list(text)
    for hit in hits:
        for index in range(hit.start, hit.end):
            chars[index] = "█"
    return "".join(chars)
