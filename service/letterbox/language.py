"""Which language a letter seems to be written in, so that a moderator who does not read it
knows before deciding (the product flags letters in other languages for a translator).

The detector is ``langdetect``, the Python port of Google's language-detection: a naive Bayes
classifier over character n-grams whose profiles of 55 languages (Welsh, Urdu, Lithuanian,
Romanian and Arabic among them) ship inside the installed package, so nothing is downloaded at
run time and nothing leaves the machine. It was chosen over the alternatives because:

- profiles of our own, built from a few pages of text we would write, would be thin beside
  profiles built from Wikipedia, and a thin profile guesses wrong on a short letter;
- fastText's and CLD3's models are downloaded or compiled; lingua's wheels are much larger;
- it is pure Python with one small dependency (``six``), so it installs everywhere we run.

It is made deterministic here, because a moderator must see the same note for the same letter
every time: langdetect samples n-grams at random, and its module-level factory is state shared
by everything in the process. A ``LanguageDetector`` owns a factory of its own with a fixed
seed, loads the profiles in sorted order (not in the order the file system lists them), and
gives every text a fresh detector, which seeds its sampling again before it starts.

No guess rather than a wrong one: langdetect always names some language, very sure of itself
even on "ha ha ha ha…" (Somali) or a name said twelve times (Indonesian). So a text gives
``None``, and the page says nothing, when it has too little to go on: fewer than
``MIN_LETTERS`` letters, or fewer than ``MIN_TRIGRAMS`` different three-letter runs (counted
within words, so it works for scripts without spaces too), or a best language less likely
than ``CONFIDENCE``.
Detection is CPU work of a few milliseconds a letter (the first one also loads the profiles,
about a third of a second), so intake runs it in a thread, never on the event loop.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from importlib import resources

from langdetect.detector_factory import DetectorFactory
from langdetect.lang_detect_exception import LangDetectException

# Languages the whole service is offered in: a letter in one of them gets no note.
SERVICE_LANGUAGES = frozenset({"en", "cy"})
# Fewer letters than this (a greeting, a signature, "Love you Sam") is too little to tell
# languages apart reliably: three words of Polish can read as Slovak or Croatian.
MIN_LETTERS = 40
# How sure the detector must be of its best language to say it.
# Different three-letter runs: a repeated word or laugh is long but says nothing. Each
# letter of a real sentence brings about one new run; a 40-letter sentence has about 40.
MIN_TRIGRAMS = 40
CONFIDENCE = 0.90
SEED = 0

# Every language langdetect has a profile of, by its code, named in English.
LANGUAGE_NAMES = {
    "af": "Afrikaans",
    "ar": "Arabic",
    "bg": "Bulgarian",
    "bn": "Bengali",
    "ca": "Catalan",
    "cs": "Czech",
    "cy": "Welsh",
    "da": "Danish",
    "de": "German",
    "el": "Greek",
    "en": "English",
    "es": "Spanish",
    "et": "Estonian",
    "fa": "Persian",
    "fi": "Finnish",
    "fr": "French",
    "gu": "Gujarati",
    "he": "Hebrew",
    "hi": "Hindi",
    "hr": "Croatian",
    "hu": "Hungarian",
    "id": "Indonesian",
    "it": "Italian",
    "ja": "Japanese",
    "kn": "Kannada",
    "ko": "Korean",
    "lt": "Lithuanian",
    "lv": "Latvian",
    "mk": "Macedonian",
    "ml": "Malayalam",
    "mr": "Marathi",
    "ne": "Nepali",
    "nl": "Dutch",
    "no": "Norwegian",
    "pa": "Punjabi",
    "pl": "Polish",
    "pt": "Portuguese",
    "ro": "Romanian",
    "ru": "Russian",
    "sk": "Slovak",
    "sl": "Slovenian",
    "so": "Somali",
    "sq": "Albanian",
    "sv": "Swedish",
    "sw": "Swahili",
    "ta": "Tamil",
    "te": "Telugu",
    "th": "Thai",
    "tl": "Tagalog",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "ur": "Urdu",
    "vi": "Vietnamese",
    "zh-cn": "Chinese (simplified)",
    "zh-tw": "Chinese (traditional)",
}


@dataclass(frozen=True)
class Language:
    code: str  # langdetect's code: "pl", "zh-cn"
    name: str  # in English: "Polish"

    @property
    def served(self) -> bool:
        """The service is offered in it (English, Welsh): moderators need no note."""
        return self.code in SERVICE_LANGUAGES


def language_of_code(code: str) -> Language | None:
    """The language a stored code stands for; None for a code this version does not know."""
    name = LANGUAGE_NAMES.get(code)
    return Language(code, name) if name is not None else None


_WORD = re.compile(r"[^\W\d_]+")


def letter_count(text: str) -> int:
    return sum(1 for character in text if character.isalpha())


def trigram_count(text: str) -> int:
    """How many different three-letter runs ``text`` has, each word padded with a space at
    both ends (as the detector reads it), so a word's start and end count too."""
    runs: set[str] = set()
    for word in _WORD.findall(text.lower()):
        padded = f" {word} "
        runs.update(padded[at : at + 3] for at in range(len(padded) - 2))
    return len(runs)


def too_little_to_tell(text: str, min_letters: int, min_trigrams: int) -> bool:
    return letter_count(text) < min_letters or trigram_count(text) < min_trigrams


class LanguageDetector:
    """Tells which language a text is in, the same answer every time, or None when unsure.

    Cheap to make: the profiles are loaded at the first ``detect`` (tests make an app per test
    and most never detect anything). Safe to call from several threads at once."""

    def __init__(
        self,
        *,
        min_letters: int = MIN_LETTERS,
        min_trigrams: int = MIN_TRIGRAMS,
        confidence: float = CONFIDENCE,
    ) -> None:
        self.min_letters = min_letters
        self.min_trigrams = min_trigrams
        self.confidence = confidence
        self._factory: DetectorFactory | None = None
        self._loading = threading.Lock()

    def detect(self, text: str) -> Language | None:
        """The language ``text`` seems to be in; None when it is too short or unsure. Blocking."""
        if too_little_to_tell(text, self.min_letters, self.min_trigrams):
            return None
        detector = self._loaded().create()
        detector.append(text)
        try:
            ranked = detector.get_probabilities()
        except LangDetectException:  # no letters it knows (emoji, symbols)
            return None
        if not ranked or ranked[0].prob < self.confidence:
            return None
        return language_of_code(str(ranked[0].lang))

    def _loaded(self) -> DetectorFactory:
        with self._loading:
            if self._factory is None:
                self._factory = _factory_with_profiles()
            return self._factory


def _factory_with_profiles() -> DetectorFactory:
    """A factory of our own (not langdetect's shared one), seeded, with every profile the
    package ships loaded in sorted order."""
    profiles = resources.files("langdetect") / "profiles"
    names = sorted(entry.name for entry in profiles.iterdir() if entry.name in LANGUAGE_NAMES)
    factory = DetectorFactory()
    factory.load_json_profile([(profiles / name).read_text("utf-8") for name in names])
    factory.set_seed(SEED)
    return factory
