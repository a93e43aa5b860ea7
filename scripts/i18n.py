"""The catalogues: ``update`` re-extracts the messages; ``missing`` lists untranslated ones.

.venv/bin/python scripts/i18n.py update     # after changing any page, e-mail or message
.venv/bin/python scripts/i18n.py missing    # what a translator still has to do
"""

from __future__ import annotations

import sys

from service.i18n.catalogues import LANGUAGES, SOURCE_LANGUAGE
from service.i18n.extract import extract, update_language, write_template


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else ""
    if command not in ("update", "missing"):
        print(__doc__)
        return 2
    messages = extract()
    if command == "update":
        write_template(messages)
    for language in LANGUAGES:
        if language == SOURCE_LANGUAGE:
            continue
        if command == "update":
            counts = update_language(language, messages)
        else:
            from service.i18n.catalogues import translations

            table = translations(language)
            counts = {}
            for text, found in messages.items():
                if text not in table:
                    counts[found.area] = counts.get(found.area, 0) + 1
        total = sum(counts.values())
        print(f"{language}: {len(messages)} messages, {total} without a translation")
        for area, count in sorted(counts.items()):
            if count:
                print(f"  {area}: {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
