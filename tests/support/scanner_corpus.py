"""The scanner's corpora: letters with planted personal details, and ordinary letters."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from service.letterbox.scanner import Category

CORPUS = Path(__file__).resolve().parents[1] / "letterbox" / "corpus"


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
