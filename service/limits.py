"""Intake limits: one definition, read from settings and enforced by the sanitiser."""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class IntakeLimits:
    max_file_bytes: int = 25 * MIB
    max_files: int = 10
    max_megapixels: float = 40
    max_pdf_pages: int = 20
    max_text_chars: int = 20_000

    def __post_init__(self) -> None:
        for name in ("max_file_bytes", "max_files", "max_megapixels", "max_pdf_pages"):
            if getattr(self, name) <= 0:
                raise ValueError(f"IntakeLimits.{name} must be positive")
        if self.max_text_chars < 0:
            raise ValueError("IntakeLimits.max_text_chars must not be negative")

    @property
    def max_pixels(self) -> int:
        return int(self.max_megapixels * 1_000_000)
