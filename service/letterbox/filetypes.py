"""Decide what an uploaded file is from its bytes alone.

The name and the declared content type come from the sender and prove nothing, so they are never
consulted here. Only the formats the sanitiser can rebuild from scratch are recognised.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


class FileType(enum.StrEnum):
    JPEG = "jpeg"
    PNG = "png"
    WEBP = "webp"
    HEIF = "heif"
    PDF = "pdf"


@dataclass(frozen=True)
class FileTypeInfo:
    file_type: FileType
    media_type: str
    description: str
    pillow_format: str | None
    """The only Pillow plugin allowed to open this type, so Pillow never sniffs a different one."""

    @property
    def is_image(self) -> bool:
        return self.pillow_format is not None


_INFO: Mapping[FileType, FileTypeInfo] = MappingProxyType(
    {
        FileType.JPEG: FileTypeInfo(FileType.JPEG, "image/jpeg", "JPEG photo", "JPEG"),
        FileType.PNG: FileTypeInfo(FileType.PNG, "image/png", "PNG image", "PNG"),
        FileType.WEBP: FileTypeInfo(FileType.WEBP, "image/webp", "WebP image", "WEBP"),
        FileType.HEIF: FileTypeInfo(FileType.HEIF, "image/heic", "HEIC/HEIF photo", "HEIF"),
        FileType.PDF: FileTypeInfo(FileType.PDF, "application/pdf", "PDF document", None),
    }
)

# Brands written by iPhones (heic, heix, hevc, hevx) and by other HEIF encoders (mif1, msf1,
# heim, heis). AVIF (avif/avis) shares the container but is not accepted.
HEIF_BRANDS = frozenset({b"heic", b"heix", b"mif1", b"msf1", b"heim", b"heis", b"hevc", b"hevx"})

_HEVC_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis"})
_AV1_BRANDS = frozenset({b"avif", b"avis", b"avio"})

ACCEPTED_TYPES_TEXT = "JPEG, PNG, WebP or HEIC photos, or PDF documents"

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def info(file_type: FileType) -> FileTypeInfo:
    return _INFO[file_type]


def detect(data: bytes) -> FileType | None:
    """Return the type the leading bytes announce, or None for anything not accepted.

    This only reads the signature; whether the rest of the file is a well-formed single image
    is checked by the sanitiser.
    """
    if data.startswith(b"\xff\xd8\xff"):
        return FileType.JPEG
    if data.startswith(_PNG_SIGNATURE):
        return FileType.PNG
    if len(data) >= 12 and data[0:4] == b"RIFF" and data[8:12] == b"WEBP":
        return FileType.WEBP
    if _is_heif(data):
        return FileType.HEIF
    # Readers tolerate junk before the header, but a genuine upload starts with it; being
    # strict here keeps files that are something else first out of the PDF path.
    if data.startswith(b"%PDF-"):
        return FileType.PDF
    return None


def _is_heif(data: bytes) -> bool:
    if len(data) < 16 or data[4:8] != b"ftyp":
        return False
    (box_size,) = struct.unpack(">I", data[0:4])
    if box_size < 16 or box_size > len(data) or box_size % 4:
        return False
    # Compatible brands follow the major brand and the 4-byte minor version.
    compatible = data[16:box_size]
    brands = {data[8:12]} | {compatible[i : i + 4] for i in range(0, len(compatible), 4)}
    if brands & _HEVC_BRANDS:
        return True
    # mif1/msf1 only say "an image in a HEIF container"; AVIF files carry them too, and AV1 is
    # not a codec we accept.
    return bool(brands & HEIF_BRANDS) and not brands & _AV1_BRANDS
