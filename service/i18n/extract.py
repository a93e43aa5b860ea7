"""Building the catalogues: every message a person can read, found in the source.

- templates (``web/templates``): the literal text and prose literals the template extension
  translates (``service.i18n.templates.literal_messages``, the same code);
- Python (``service``, ``storage``): the first argument of ``_``, ``gettext`` and ``N_``;
- JavaScript (``web/static/js``): the first argument of ``t("…")`` and ``tf("…", {…})``.

``python scripts/i18n.py update`` writes ``locales/messages.pot`` and adds each new message
to the Welsh catalogue of its area (``locales/cy/<area>.po``) for a translator; messages no
longer in the source leave the catalogues. ``check`` is what the completeness test asserts.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from service.i18n.catalogues import LOCALES_DIR, catalogue_files, read_catalogue
from service.i18n.templates import literal_messages

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "web" / "templates"
SCRIPTS = ROOT / "web" / "static" / "js"
PYTHON_PACKAGES = (ROOT / "service", ROOT / "storage")
_GETTEXT_NAMES = frozenset({"_", "gettext", "N_"})
# Errors carry words for a person as their first argument (service.errors); the error
# middleware and the pages translate them where they are shown.
_ERROR_CLASSES = frozenset(
    {
        "LetterboxError",
        "Invalid",
        "InvalidInput",
        "TooLarge",
        "Unsupported",
        "NotSignedIn",
        "Forbidden",
        "NotFound",
        "Conflict",
        "Throttled",
        "Unavailable",
        "IntakeRefused",
        "NotesNotAllowed",
    }
)
# ``t("…")`` and ``tf("…", values)`` (web/static/js/i18n.js) with a plain string literal first.
_JS_CALL = re.compile(r"""\btf?\(\s*(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)')""")


@dataclass
class Found:
    """One message and where it is used (``path:line``), in source order."""

    locations: list[tuple[str, int]] = field(default_factory=list)

    @property
    def area(self) -> str:
        """Where it is first used; but a message a script uses belongs to ``scripts`` even if
        a page or the server uses it too: only that catalogue travels to the browser."""
        areas = [area_of(path) for path, _ in self.locations]
        return "scripts" if "scripts" in areas else areas[0]


def area_of(path: str) -> str:
    """The catalogue file a message belongs to: the template folder or Python package."""
    parts = Path(path).parts
    if parts[:2] == ("web", "templates"):
        return parts[2] if len(parts) > 3 else "pages"
    if parts[:3] == ("web", "static", "js"):
        return "scripts"
    if parts[0] in ("service", "storage") and len(parts) > 2:
        return parts[1]
    return "common"


class _Collector:
    """The ``translate`` of extraction: notes each message with the line it is near."""

    def __init__(self) -> None:
        self.found: list[tuple[str, int]] = []
        self.line = 1

    def __call__(self, text: str) -> str:
        self.found.append((text, self.line))
        return text


def template_messages() -> Iterable[tuple[str, str, int]]:
    env = jinja2.Environment(autoescape=True)
    for path in sorted(TEMPLATES.rglob("*")):
        if path.suffix not in (".html", ".txt"):
            continue
        name = path.relative_to(TEMPLATES).as_posix()
        collector = _Collector()
        for token in literal_messages(env._tokenize(path.read_text(), name), collector, name):
            collector.line = token.lineno
        for text, lineno in collector.found:
            yield text, f"web/templates/{name}", lineno


def _message_calls() -> Iterable[tuple[str, ast.expr, int]]:
    """(path, first argument, line) of every ``_()``, ``gettext()``, ``N_()`` and error
    constructor in the Python packages: one parse per file for both readers below."""
    for package in PYTHON_PACKAGES:
        for path in sorted(package.rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id in _GETTEXT_NAMES | _ERROR_CLASSES
                    and node.args
                ):
                    yield relative, node.args[0], node.lineno


def python_messages() -> Iterable[tuple[str, str, int]]:
    for path, argument, line in _message_calls():
        if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
            yield argument.value, path, line


def untranslatable_python_messages() -> list[str]:
    """``path:line`` of each error or ``_()`` whose words are built at run time (an f-string
    or a join): no catalogue can hold them. Write ``_("… {limit} …").format(limit=…)``."""
    return [
        f"{path}:{line}"
        for path, argument, line in _message_calls()
        if isinstance(argument, (ast.JoinedStr, ast.BinOp))
    ]


def script_messages() -> Iterable[tuple[str, str, int]]:
    for path in sorted(SCRIPTS.rglob("*.js")):
        source = path.read_text()
        for match in _JS_CALL.finditer(source):
            text = match.group(1) if match.group(1) is not None else match.group(2)
            text = text.encode().decode("unicode_escape") if "\\" in text else text
            yield text, path.relative_to(ROOT).as_posix(), source.count("\n", 0, match.start()) + 1


def extract() -> dict[str, Found]:
    messages: dict[str, Found] = defaultdict(Found)
    for source in (template_messages(), python_messages(), script_messages()):
        for text, path, line in source:
            messages[text].locations.append((path, line))
    return dict(messages)


def write_template(messages: dict[str, Found]) -> Path:
    catalog = Catalog(project="Letterbox", charset="utf-8")
    for text, found in sorted(messages.items()):
        catalog.add(text, locations=found.locations)
    target = LOCALES_DIR / "messages.pot"
    with target.open("wb") as handle:
        write_po(handle, catalog, width=100, omit_header=True)
    return target


def update_language(language: str, messages: dict[str, Found]) -> dict[str, int]:
    """Each area's catalogue holds exactly its messages; translations already made stay."""
    known: dict[str, str] = {}
    for path in catalogue_files(language):
        for message in read_catalogue(path):
            if message.id and message.string:
                known[str(message.id)] = str(message.string)
    by_area: dict[str, Catalog] = {}
    for text, found in sorted(messages.items()):
        catalog = by_area.setdefault(found.area, Catalog(locale=language, charset="utf-8"))
        catalog.add(text, known.get(text, ""), locations=found.locations)
    folder = LOCALES_DIR / language
    folder.mkdir(parents=True, exist_ok=True)
    for path in catalogue_files(language):
        if path.stem not in by_area:
            path.unlink()
    counts = {}
    for area, catalog in by_area.items():
        with (folder / f"{area}.po").open("wb") as handle:
            write_po(handle, catalog, width=100, omit_header=True, sort_output=True)
        counts[area] = sum(1 for message in catalog if message.id and not message.string)
    return counts
