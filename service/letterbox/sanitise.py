"""Turn an uploaded photo or PDF into fresh pixels that carry nothing else.

A GPS tag, a camera serial number or a script in a PDF can tell a parent where a child lives, so
nothing of the original container survives: images are decoded and re-encoded from pixels alone,
and PDF pages are rendered to pictures. What the original carried is described in plain words for
the moderator.

`sanitise` is pure, synchronous and CPU-heavy; it runs in a killable worker process (see
`sanitise_in_pool` and service.letterbox.workers), because decoders parsing hostile bytes must
never block the event loop, and a crash or a runaway in a native decoder then costs that one
file's process rather than the server or anyone else's file.
"""

from __future__ import annotations

import enum
import io
import math
import re
import struct
import unicodedata
import warnings
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import pillow_heif
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import ExifTags, Image, ImageCms, ImageFile, ImageOps, IptcImagePlugin, JpegImagePlugin

from service.errors import LetterboxError
from service.letterbox.backdrop import flatten, has_transparency
from service.letterbox.filetypes import ACCEPTED_TYPES_TEXT, FileType, detect, info
from service.letterbox.pdfstreams import (
    Exceeded,
    StreamLimits,
    TooLarge,
    Unmeasurable,
    Unpacked,
)
from service.letterbox.pdfstreams import unpack as unpack_streams
from service.letterbox.workers import FileWorkers, JobCrashed, JobTimedOut
from service.limits import IntakeLimits

MIB = 1024 * 1024

JPEG_QUALITY = 90
PDF_DPI = 150
# A page bigger than A3 at 150 dpi is rendered smaller rather than refused: a poster-sized page
# must not become a 100-megapixel picture.
PDF_MAX_PAGE_SIDE = 2500
PDF_MAX_PAGE_PIXELS = 5_000_000

# Phones take photos of up to 200 megapixels. A JPEG is decoded at a half, quarter or eighth of
# its size when it is over the stored limit, so even the largest costs little memory; the other
# formats can only be decoded whole before they are scaled down, so their ceiling is lower.
# Anything claiming more is a decompression bomb, or no photo anyone needs to send a child.
MAX_JPEG_MEGAPIXELS = 200
MAX_DECODED_MEGAPIXELS = 100
# The longest side the JPEG format can describe; no camera writes longer.
MAX_PICTURE_SIDE = 65_535

EXTRA_PICTURES_REMOVED = "extra pictures stored inside the photo (only the main picture is kept)"
TRANSPARENCY_REMOVED = "transparency (the picture now sits on white, as you see it)"


class RefusalCode(enum.StrEnum):
    EMPTY_FILE = "empty_file"
    FILE_TOO_LARGE = "file_too_large"
    TOO_MANY_FILES = "too_many_files"
    TEXT_TOO_LONG = "text_too_long"
    UNSUPPORTED_TYPE = "unsupported_type"
    IMAGE_TOO_LARGE = "image_too_large"
    TRUNCATED_FILE = "truncated_file"
    NOT_A_SINGLE_FILE = "not_a_single_file"
    UNREADABLE_FILE = "unreadable_file"
    TOO_MANY_PAGES = "too_many_pages"
    CONTENT_TOO_LARGE = "content_too_large"
    PASSWORD_PROTECTED = "password_protected"  # noqa: S105 - a refusal code, not a secret
    PROCESSING_FAILED = "processing_failed"
    TOOK_TOO_LONG = "took_too_long"


# The HTTP status of each refusal the error middleware answers with (service.http.errors).
_REFUSAL_STATUS = {
    RefusalCode.FILE_TOO_LARGE: 413,
    RefusalCode.TOO_MANY_FILES: 413,
    RefusalCode.TEXT_TOO_LONG: 413,
    RefusalCode.UNSUPPORTED_TYPE: 415,
}


class IntakeRefused(LetterboxError):
    """An upload or letter that intake will not accept, with a message for the sender (it
    names the file, the limit and what to do).

    ``field`` is the uploaded file's (display) name, or the form field ("text", "files") when the
    refusal is not about one file. A domain error: the error middleware answers it with its
    status (413 too large, 415 unsupported type, otherwise 422) and its code.
    """

    def __init__(self, code: RefusalCode, message: str, field: str) -> None:
        super().__init__(message, field=field, code=str(code))
        self.code: RefusalCode = code
        self.field: str = field
        self.status = _REFUSAL_STATUS.get(code, 422)

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[type[IntakeRefused], tuple[RefusalCode, str, str]]:
        # Refusals cross the process-pool boundary by pickling.
        return (IntakeRefused, (self.code, self.message, self.field))


@dataclass(frozen=True)
class SanitisedImage:
    data: bytes
    media_type: Literal["image/jpeg", "image/png"]
    width: int
    height: int


@dataclass(frozen=True)
class SanitisedFile:
    kind: Literal["image", "pdf"]
    pages: tuple[SanitisedImage, ...]
    """One picture for a photo; one per page, in order, for a PDF."""
    detected_type: FileType
    removed: tuple[str, ...]
    """What the original carried that is gone, in words a moderator understands."""


# --- checks the upload views can make before the whole file has arrived ---------------------


def display_name(filename: str) -> str:
    """The sender's file name made safe to show: no path, no control characters, not too long."""
    base = re.split(r"[\\/]", filename)[-1]
    cleaned = "".join(ch for ch in base if not unicodedata.category(ch).startswith("C"))
    cleaned = " ".join(cleaned.split())
    if not cleaned:
        return "The file"
    return cleaned if len(cleaned) <= 80 else cleaned[:79] + "…"


def check_file_count(count: int, limits: IntakeLimits) -> None:
    if count > limits.max_files:
        raise IntakeRefused(
            RefusalCode.TOO_MANY_FILES,
            f"You added {count} files. You can send up to {limits.max_files} in one letter. "
            "Please take some out, or send them in another letter.",
            "files",
        )


def check_text_length(text: str, limits: IntakeLimits) -> None:
    if len(text) > limits.max_text_chars:
        raise IntakeRefused(
            RefusalCode.TEXT_TOO_LONG,
            f"Your letter is {len(text):,} characters long. The most you can send is "
            f"{limits.max_text_chars:,}. Please make it shorter, or split it into two letters.",
            "text",
        )


def check_file_size(filename: str, size: int, limits: IntakeLimits, head: bytes = b"") -> None:
    """Refuse as soon as a streamed upload passes the size limit.

    ``head`` is the first bytes received, if any, so the advice can fit the kind of file.
    """
    if size > limits.max_file_bytes:
        name = display_name(filename)
        file_type = detect(head) if head else None
        advice = {
            None: "Please send a smaller file.",
            FileType.PDF: "Please send a shorter document, or split it into parts.",
        }.get(file_type, "Please send a smaller photo.")
        raise IntakeRefused(
            RefusalCode.FILE_TOO_LARGE,
            f"{name} is {_megabytes(size)} MB. The most you can send is "
            f"{_megabytes(limits.max_file_bytes)} MB per file. {advice}",
            name,
        )


def _megabytes(size: int) -> str:
    text = f"{size / MIB:.1f}"
    return text.removesuffix(".0")


# --- the sanitiser ------------------------------------------------------------------------


def sanitise(data: bytes, filename: str, limits: IntakeLimits) -> SanitisedFile:
    """Rebuild an upload from its pixels, or raise IntakeRefused saying why it cannot be."""
    name = display_name(filename)
    if not data:
        raise IntakeRefused(
            RefusalCode.EMPTY_FILE,
            f"{name} is empty (0 bytes). Please choose the file again and send it.",
            name,
        )
    check_file_size(filename, len(data), limits, head=data[:64])
    file_type = detect(data)
    if file_type is None:
        raise IntakeRefused(
            RefusalCode.UNSUPPORTED_TYPE,
            f"{name} is not a kind of file we can accept. We accept {ACCEPTED_TYPES_TEXT}. "
            "Please save it as one of these and send it again.",
            name,
        )
    if file_type is FileType.PDF:
        return _sanitise_pdf(data, name, limits)
    return _sanitise_image(data, file_type, name, limits)


async def sanitise_in_pool(
    workers: FileWorkers,
    data: bytes,
    filename: str,
    limits: IntakeLimits,
    *,
    sender: Hashable,
    seconds: float,
) -> SanitisedFile:
    """Run `sanitise` in a worker process of its own, in ``sender``'s turn.

    A file that runs past ``seconds`` has its process killed and is refused, as is one whose
    decoder crashed its process; no other file is touched.
    """
    name = display_name(filename)
    try:
        return await workers.run(sender, seconds, sanitise, data, filename, limits)
    except JobTimedOut:
        raise IntakeRefused(
            RefusalCode.TOOK_TOO_LONG,
            f"{name} took longer than {seconds:g} seconds to check, so we stopped and did not "
            "take it. Please save it as a JPEG photo, or a PDF with fewer or simpler pages. "
            "Then send it again.",
            name,
        ) from None
    except JobCrashed as exc:
        raise IntakeRefused(
            RefusalCode.PROCESSING_FAILED,
            f"We could not check {name} safely. Please save it as a JPEG photo or a PDF. "
            "Then send it again.",
            name,
        ) from exc


class _Removed:
    """An ordered set of plain-language notes."""

    def __init__(self) -> None:
        self._items: list[str] = []

    def add(self, item: str) -> None:
        if item not in self._items:
            self._items.append(item)

    def extend(self, items: Iterable[str]) -> None:
        for item in items:
            self.add(item)

    def as_tuple(self) -> tuple[str, ...]:
        # What most often gives a location away is listed first, for the moderator's eye.
        def rank(item: str) -> int:
            return _REMOVED_ORDER.index(item) if item in _REMOVED_ORDER else len(_REMOVED_ORDER)

        return tuple(sorted(self._items, key=rank))


_REMOVED_ORDER: tuple[str, ...] = (
    "GPS position",
    "place names",
    "PDF scripts",
    "PDF attachments",
    "PDF links",
    "PDF automatic actions",
    "PDF form fields",
    "PDF embedded media",
    "date taken",
    "camera make and model",
    "camera serial number",
    "camera owner's name",
    "author/copyright",
    "maker notes",
    "embedded thumbnail",
)


def _unreadable(name: str, what: str) -> IntakeRefused:
    return IntakeRefused(
        RefusalCode.UNREADABLE_FILE,
        f"We could not open {name} as a {what}. It may be broken. "
        "Please open it on your phone or computer, save a new copy and send that.",
        name,
    )


def _truncated(name: str) -> IntakeRefused:
    return IntakeRefused(
        RefusalCode.TRUNCATED_FILE,
        f"{name} is incomplete: the end of the file is missing, perhaps because the upload or "
        "copy was cut short. Please send it again.",
        name,
    )


def _not_single(name: str, what: str) -> IntakeRefused:
    return IntakeRefused(
        RefusalCode.NOT_A_SINGLE_FILE,
        f"{name} has something else hidden after the {what}, so we cannot take it. "
        "Please open it on your phone or computer, save a new copy and send that.",
        name,
    )


def _too_many_pixels(
    name: str, width: int | None, height: int | None, ceiling: float, what: str
) -> IntakeRefused:
    if width is not None and height is not None:
        size = f"{width} × {height} pixels ({width * height / 1_000_000:.1f} megapixels)"
    else:
        size = "far larger than we can take"
    return IntakeRefused(
        RefusalCode.IMAGE_TOO_LARGE,
        f"{name} is {size}; the largest {what} we can take is {ceiling:g} megapixels. "
        "Please send a smaller copy of the picture.",
        name,
    )


# --- container structure: one complete image, nothing else --------------------------------

# A marker inside entropy-coded JPEG data: 0xFF followed by neither stuffing (0x00), a restart
# marker (RST0-7) nor fill (0xFF).
_JPEG_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_PADDING = b"\x00\xff \t\r\n"
_ISOBMFF_TOP_LEVEL = frozenset(
    {b"ftyp", b"meta", b"mdat", b"moov", b"free", b"skip", b"uuid", b"idat", b"pdin", b"wide"}
)


def _only_padding(tail: bytes) -> bool:
    return not tail.strip(_PADDING)


def _check_jpeg(data: bytes, name: str, removed: _Removed) -> None:
    size = len(data)
    pos = 2
    while True:
        if pos + 2 > size:
            raise _truncated(name)
        if data[pos] != 0xFF:
            raise _unreadable(name, "JPEG photo")
        while pos + 1 < size and data[pos + 1] == 0xFF:
            pos += 1
        marker = data[pos + 1]
        pos += 2
        if marker == 0xD9:
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            continue
        if pos + 2 > size:
            raise _truncated(name)
        (length,) = struct.unpack_from(">H", data, pos)
        if length < 2:
            raise _unreadable(name, "JPEG photo")
        pos += length
        if pos > size:
            raise _truncated(name)
        if marker == 0xDA:
            found = _JPEG_MARKER.search(data, pos)
            if found is None:
                raise _truncated(name)
            pos = found.start()
    tail = data[pos:]
    # Zeros or 0xFF fill after the end carry nothing; some cameras pad their files with them.
    if not tail.strip(b"\x00\xff"):
        return
    body = tail.lstrip(b"\x00")
    # Phones append more than one picture to a JPEG: depth and HDR gain maps (MPF), and the short
    # video of a "motion photo" (Google: an MP4 after the image; Samsung: a trailer ending SEFT).
    # Anything else after the end (a stray byte from a camera, or something hidden there) is
    # dropped with the rest of the container, and the moderator is told how much there was.
    if body.startswith(b"\xff\xd8\xff"):
        removed.add(EXTRA_PICTURES_REMOVED)
    elif tail[4:8] == b"ftyp" or data.endswith(b"SEFT"):
        removed.add("motion-photo video (only the still picture is kept)")
    else:
        removed.add(_bytes_after_end(len(tail)))


def _bytes_after_end(count: int) -> str:
    return f"{count:,} {'byte' if count == 1 else 'bytes'} after the end of the picture"


def _check_png(data: bytes, name: str) -> set[bytes]:
    size = len(data)
    pos = 8
    seen: set[bytes] = set()
    while True:
        if pos + 12 > size:
            raise _truncated(name)
        length, chunk_type = struct.unpack_from(">I4s", data, pos)
        if not chunk_type.isalpha() or length > 0x7FFFFFFF or (pos == 8 and chunk_type != b"IHDR"):
            raise _unreadable(name, "PNG image")
        pos += 12 + length
        if pos > size:
            raise _truncated(name)
        seen.add(chunk_type)
        if chunk_type == b"IEND":
            break
    if not _only_padding(data[pos:]):
        raise _not_single(name, "picture")
    return seen


def _check_webp(data: bytes, name: str) -> None:
    (riff_size,) = struct.unpack_from("<I", data, 4)
    end = 8 + riff_size + (riff_size & 1)
    if riff_size < 12 or end - (riff_size & 1) > len(data):
        raise _truncated(name)
    if not _only_padding(data[end:]):
        raise _not_single(name, "picture")


def _check_heif(data: bytes, name: str) -> None:
    size = len(data)
    pos = 0
    while pos < size:
        if pos + 8 > size:
            raise _truncated(name)
        box_size, box_type = struct.unpack_from(">I4s", data, pos)
        if box_type not in _ISOBMFF_TOP_LEVEL:
            if pos and _only_padding(data[pos:]):
                return
            raise _not_single(name, "picture") if pos else _unreadable(name, "HEIC photo")
        if box_size == 1:
            if pos + 16 > size:
                raise _truncated(name)
            (box_size,) = struct.unpack_from(">Q", data, pos + 8)
        elif box_size == 0:
            box_size = size - pos
        if box_size < 8:
            raise _unreadable(name, "HEIC photo")
        if pos + box_size > size:
            raise _truncated(name)
        pos += box_size


# --- what the original carried -------------------------------------------------------------

_EXIF_LABELS: dict[int, str] = {
    0x010F: "camera make and model",
    0x0110: "camera make and model",
    0xA433: "camera make and model",
    0xA434: "camera make and model",
    0x0131: "software",
    0x0132: "date taken",
    0x9003: "date taken",
    0x9004: "date taken",
    0x9010: "date taken",
    0x9011: "date taken",
    0x9012: "date taken",
    0x013B: "author/copyright",
    0x8298: "author/copyright",
    0x9C9D: "author/copyright",
    0x010E: "comment",
    0x9286: "comment",
    0x9C9B: "comment",
    0x9C9C: "comment",
    0x9C9E: "comment",
    0x9C9F: "comment",
    0x927C: "maker notes",
    0xA430: "camera owner's name",
    0xA431: "camera serial number",
    0xA435: "camera serial number",
    0xA420: "unique photo ID",
}
# Structural tags that say nothing about the photo beyond how to read the EXIF block itself.
_EXIF_STRUCTURAL = frozenset({0x8769, 0x8825, 0xA005, 0x0112, 0x011A, 0x011B, 0x0128, 0x0213})

_XMP_LABELS: tuple[tuple[re.Pattern[bytes], str], ...] = (
    (re.compile(rb"GPS(?:Latitude|Longitude|Altitude)"), "GPS position"),
    (re.compile(rb"(?:CreateDate|DateCreated|DateTimeOriginal|ModifyDate)"), "date taken"),
    (re.compile(rb"tiff:(?:Make|Model)|aux:Lens|exifEX:Lens"), "camera make and model"),
    (re.compile(rb"dc:creator|dc:rights|xmpRights:|photoshop:AuthorsPosition"), "author/copyright"),
    (re.compile(rb"CreatorTool|photoshop:History"), "software"),
    (
        re.compile(rb"photoshop:(?:City|State|Country)|Iptc4xmpCore:Location|LocationCreated"),
        "place names",
    ),
    (re.compile(rb"aux:SerialNumber|exifEX:BodySerialNumber"), "camera serial number"),
    (re.compile(rb"MotionPhoto|MicroVideo"), "motion-photo video (only the still picture is kept)"),
)

_IPTC_LABELS: dict[tuple[int, int], str] = {
    (2, 90): "place names",
    (2, 92): "place names",
    (2, 95): "place names",
    (2, 100): "place names",
    (2, 101): "place names",
    (2, 80): "author/copyright",
    (2, 116): "author/copyright",
    (2, 55): "date taken",
    (2, 60): "date taken",
    (2, 120): "comment",
}

_PNG_TEXT_LABELS: dict[str, str] = {
    "author": "author/copyright",
    "copyright": "author/copyright",
    "artist": "author/copyright",
    "software": "software",
    "creation time": "date taken",
    "date:create": "date taken",
    "date:modify": "date taken",
    "xml:com.adobe.xmp": "XMP metadata",
    "raw profile type iptc": "IPTC metadata",
    "raw profile type 8bim": "IPTC metadata",
    "raw profile type exif": "EXIF data",
    "raw profile type app1": "EXIF data",
}


# PNG chunks that hold pixels, say how to show them, or are described from what Pillow read
# (text, EXIF, colour profile); any other chunk is some program's private data.
_PNG_DESCRIBED_CHUNKS = frozenset(
    {
        *(b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"sBIT"),
        *(b"pHYs", b"bKGD", b"hIST", b"sPLT", b"iCCP", b"tEXt", b"zTXt", b"iTXt", b"tIME"),
        *(b"eXIf", b"acTL", b"fcTL", b"fdAT", b"cICP", b"mDCv", b"cLLi", b"caBX"),
    }
)


def _describe_exif(image: Image.Image, removed: _Removed) -> None:
    try:
        exif = image.getexif()
        ifds: list[tuple[str, dict[int, Any]]] = [("ifd0", dict(exif))]
        for ifd in (ExifTags.IFD.Exif, ExifTags.IFD.GPSInfo, ExifTags.IFD.IFD1):
            ifds.append((ifd.name, dict(exif.get_ifd(ifd))))
    except Exception:  # a mangled EXIF block is dropped like any other
        removed.add("EXIF data (damaged)")
        return
    if not any(tags for _, tags in ifds):
        return
    other = False
    for ifd_name, tags in ifds:
        if ifd_name == "GPSInfo":
            if tags:
                removed.add("GPS position")
            continue
        if ifd_name == "IFD1":
            if tags:
                removed.add("embedded thumbnail")
            continue
        for tag in tags:
            label = _EXIF_LABELS.get(tag)
            if label is not None:
                removed.add(label)
            elif tag not in _EXIF_STRUCTURAL:
                other = True
    if other:
        removed.add("camera settings")


def _describe_xmp(xmp: bytes, removed: _Removed) -> None:
    removed.add("XMP metadata")
    for pattern, label in _XMP_LABELS:
        if pattern.search(xmp):
            removed.add(label)


def _as_bytes(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "replace")
    return b""


def _describe_jpeg_segments(image: ImageFile.ImageFile, removed: _Removed) -> None:
    applist: list[tuple[str, bytes]] = getattr(image, "applist", [])
    for marker, body in applist:
        if marker == "COM":
            removed.add("comment")
        elif marker == "APP13":
            if b"8BIM\x04\x04" in body:
                removed.add("IPTC metadata")
                _describe_iptc(image, removed)
            else:
                removed.add("Photoshop data")
        elif marker == "APP1" and body.startswith(b"http://ns.adobe.com/xmp/extension/"):
            removed.add("XMP metadata")
        elif (marker == "APP0" and _jfif_thumbnail(body)) or (
            marker == "APP2" and body.startswith(b"FPXR")
        ):
            removed.add("embedded thumbnail")
        elif marker == "APP2" and body.startswith(b"MPF\x00"):
            removed.add(EXTRA_PICTURES_REMOVED)
        elif marker == "APP1" and not body.startswith((b"Exif", b"http://ns.adobe.com/xap/")):
            removed.add("other embedded data")
        elif marker in ("APP0", "APP1", "APP2", "APP14"):
            # JFIF, EXIF, XMP, ICC and Adobe colour segments: described from what Pillow read.
            continue
        else:
            removed.add("other embedded data")


def _jfif_thumbnail(body: bytes) -> bool:
    """Whether a JFIF APP0 segment carries a thumbnail: a JFXX extension segment, or a JFIF
    header whose thumbnail width and height are not zero."""
    if body.startswith(b"JFXX\x00"):
        return True
    return body.startswith(b"JFIF\x00") and len(body) >= 14 and body[12] > 0 and body[13] > 0


def _describe_iptc(image: ImageFile.ImageFile, removed: _Removed) -> None:
    try:
        iptc = IptcImagePlugin.getiptcinfo(image) or {}
    except Exception:  # a mangled IPTC block is dropped like any other
        return
    for key in iptc:
        label = _IPTC_LABELS.get(key)
        if label is not None:
            removed.add(label)


def _describe_png_text(image: Image.Image, png_chunks: set[bytes], removed: _Removed) -> None:
    text: dict[str, Any] = getattr(image, "text", {}) or {}
    for key, value in text.items():
        label = _PNG_TEXT_LABELS.get(key.lower(), "comment")
        if label == "XMP metadata":
            _describe_xmp(_as_bytes(value), removed)
        else:
            removed.add(label)
    if b"tIME" in png_chunks:
        removed.add("date saved")
    if b"caBX" in png_chunks:
        removed.add("content credentials")
    if png_chunks - _PNG_DESCRIBED_CHUNKS:
        removed.add("other embedded data")


def _describe_metadata(
    image: ImageFile.ImageFile, png_chunks: set[bytes], removed: _Removed
) -> None:
    _describe_exif(image, removed)
    meta = image.info
    xmp = meta.get("xmp")
    if xmp:
        _describe_xmp(_as_bytes(xmp), removed)
    if image.format in ("JPEG", "MPO"):
        _describe_jpeg_segments(image, removed)
    if image.format == "PNG":
        _describe_png_text(image, png_chunks, removed)
    if meta.get("thumbnails"):
        removed.add("embedded thumbnail")
    if meta.get("depth_images") or meta.get("aux"):
        removed.add(EXTRA_PICTURES_REMOVED)
    if image.format == "HEIF":
        for item in meta.get("metadata") or []:
            kind = item.get("type") if isinstance(item, dict) else None
            removed.add("IPTC metadata" if kind == "iptc" else "other embedded data")
    if getattr(image, "n_frames", 1) > 1 and image.format != "MPO":
        removed.add("animation or extra frames (only the first picture is kept)")


# --- decoding and re-encoding --------------------------------------------------------------


def _sanitise_image(
    data: bytes, file_type: FileType, name: str, limits: IntakeLimits
) -> SanitisedFile:
    what = info(file_type).description
    removed = _Removed()
    png_chunks: set[bytes] = set()
    if file_type is FileType.JPEG:
        _check_jpeg(data, name, removed)
    elif file_type is FileType.PNG:
        png_chunks = _check_png(data, name)
    elif file_type is FileType.WEBP:
        _check_webp(data, name)
    elif file_type is FileType.HEIF:
        _check_heif(data, name)
        # Registering is idempotent; doing it here keeps importing this module side-effect free.
        pillow_heif.register_heif_opener()

    image = _open_image(data, file_type, name, limits)
    try:
        try:
            if file_type is FileType.JPEG:
                _decode_smaller(image, limits.max_pixels)
            image.load()
            _describe_metadata(image, png_chunks, removed)
            ImageOps.exif_transpose(image, in_place=True)
            picture = _fit(_to_srgb(image, removed), limits.max_pixels)
            see_through = picture.mode == "RGBA"
            if see_through:
                picture = flatten(picture)
                removed.add(TRANSPARENCY_REMOVED)
        except MemoryError:
            raise
        except Exception as exc:
            if "truncated" in str(exc):
                raise _truncated(name) from exc
            raise _unreadable(name, what) from exc
        # A picture that had transparency is usually a drawing or a cut-out: PNG keeps its
        # edges (and the background it now sits on) exact.
        encoded = _encode(picture, graphics_as_png=see_through)
    finally:
        image.close()
    return SanitisedFile(
        kind="image",
        pages=(encoded,),
        detected_type=file_type,
        removed=removed.as_tuple(),
    )


def _open_image(
    data: bytes, file_type: FileType, name: str, limits: IntakeLimits
) -> ImageFile.ImageFile:
    """Read the header only, and refuse a picture too big to decode before any pixel is."""
    type_info = info(file_type)
    ceiling = _decode_ceiling(file_type, limits)
    with warnings.catch_warnings():
        # Pillow's own guard warns past 89 megapixels and refuses past 179; the ceilings here are
        # ours, checked below from the header.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            if file_type is FileType.JPEG:
                # Opened directly rather than through Image.open, whose guard would refuse a
                # 200-megapixel photo that is about to be decoded at a quarter or an eighth of
                # its size. This is the plugin Image.open would choose, minus the MPO wrapper
                # that reads the extra pictures phones append (which are dropped anyway).
                image: ImageFile.ImageFile = JpegImagePlugin.JpegImageFile(io.BytesIO(data))
            else:
                image = Image.open(io.BytesIO(data), formats=[type_info.pillow_format or ""])
        except Image.DecompressionBombError as exc:
            raise _too_many_pixels(name, None, None, ceiling, type_info.description) from exc
        except MemoryError:
            raise
        except Exception as exc:
            # Decoders parsing hostile bytes fail in many ways; every one of them is a refusal.
            raise _unreadable(name, type_info.description) from exc
    width, height = image.size
    try:
        if width <= 0 or height <= 0:
            raise _unreadable(name, type_info.description)
        if max(width, height) > MAX_PICTURE_SIDE:
            raise IntakeRefused(
                RefusalCode.IMAGE_TOO_LARGE,
                f"{name} is {width} × {height} pixels; no side of a picture may be longer than "
                f"{MAX_PICTURE_SIDE:,} pixels. Please send a smaller copy of the picture.",
                name,
            )
        if width * height > ceiling * 1_000_000:
            raise _too_many_pixels(name, width, height, ceiling, type_info.description)
    except IntakeRefused:
        image.close()
        raise
    return image


def _decode_ceiling(file_type: FileType, limits: IntakeLimits) -> float:
    """The most megapixels a picture of this type may claim and still be decoded."""
    ceiling = MAX_JPEG_MEGAPIXELS if file_type is FileType.JPEG else MAX_DECODED_MEGAPIXELS
    return max(ceiling, limits.max_megapixels)


def _decode_smaller(image: ImageFile.ImageFile, max_pixels: int) -> None:
    """Ask the JPEG decoder for a half, quarter or eighth size picture when the full one would
    be over the stored limit: it then skips the fine detail instead of decoding it to throw it
    away, so a 200-megapixel photo costs the memory of a 3- to 12-megapixel one."""
    width, height = image.size
    for scale in (1, 2, 4, 8):
        if math.ceil(width / scale) * math.ceil(height / scale) <= max_pixels:
            break
    if scale > 1:
        image.draft(None, (max(1, width // scale), max(1, height // scale)))


def _fit(picture: Image.Image, max_pixels: int) -> Image.Image:
    """The picture scaled down, keeping its shape, to at most ``max_pixels``."""
    width, height = picture.size
    if width * height <= max_pixels:
        return picture
    scale = math.sqrt(max_pixels / (width * height))
    new_height = max(1, int(height * scale))
    new_width = max(1, min(int(width * scale), max_pixels // new_height))
    # Pillow resizes RGBA premultiplied, so a transparent pixel's hidden colour does not bleed
    # into its neighbours.
    return picture.resize((new_width, new_height), Image.Resampling.LANCZOS, reducing_gap=3.0)


def _to_srgb(image: Image.Image, removed: _Removed) -> Image.Image:
    """Return an RGB or RGBA picture in sRGB with no ancillary data attached."""
    alpha = has_transparency(image)
    target = "RGBA" if alpha else "RGB"
    icc = image.info.get("icc_profile")
    picture: Image.Image | None = None
    if icc:
        picture = _apply_icc(image, icc, target)
        removed.add(
            "colour profile (converted to sRGB)" if picture is not None else "colour profile"
        )
    if picture is None:
        picture = image if image.mode == target else image.convert(target)
    if alpha and picture.getchannel("A").getextrema()[0] == 255:
        picture = picture.convert("RGB")
    # Encoders copy some of these (ICC profile, EXIF, transparency) into the output by default.
    picture.info = {}
    return picture


def _apply_icc(image: Image.Image, icc: bytes, target: str) -> Image.Image | None:
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        space = source.profile.xcolor_space.strip()
        srgb = ImageCms.createProfile("sRGB")
        result: Image.Image | None
        if space == "RGB" and _is_srgb(source):
            # Many cameras embed sRGB itself; transforming 12 MP through it changes nothing.
            return image if image.mode == target else image.convert(target)
        if space == "RGB":
            rgb = image if image.mode == target else image.convert(target)
            # The decoded picture is ours alone, so convert it in place and spare a copy.
            ImageCms.profileToProfile(rgb, source, srgb, outputMode=target, inPlace=True)
            result = rgb
        elif space == "CMYK" and image.mode == "CMYK":
            result = ImageCms.profileToProfile(image, source, srgb, outputMode="RGB")
        elif space == "GRAY" and image.mode in ("L", "LA"):
            grey = image.getchannel("L")
            result = ImageCms.profileToProfile(grey, source, srgb, outputMode="RGB")
            if result is not None and target == "RGBA":
                result.putalpha(image.getchannel("A"))
        else:
            return None
    except (ImageCms.PyCMSError, OSError, ValueError):
        return None
    return result


# sRGB's primaries adapted to D50, as every ICC profile stores them.
_SRGB_COLORANTS = ((0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141))


def _is_srgb(profile: ImageCms.ImageCmsProfile) -> bool:
    core = profile.profile
    colorants = (core.red_colorant, core.green_colorant, core.blue_colorant)
    if any(colorant is None for colorant in colorants):
        return False
    description = (core.profile_description or "").lower()
    return "srgb" in description and all(
        abs(measured - expected) < 0.003
        for colorant, reference in zip(colorants, _SRGB_COLORANTS, strict=True)
        for measured, expected in zip(colorant[0], reference, strict=True)  # type: ignore[index]
    )


def _encode(picture: Image.Image, *, graphics_as_png: bool) -> SanitisedImage:
    """JPEG for photos; PNG, lossless, for pictures of few colours (text, drawings) when
    ``graphics_as_png``, as those compress better and stay sharper that way."""
    buffer = io.BytesIO()
    media_type: Literal["image/jpeg", "image/png"]
    if graphics_as_png and picture.getcolors(maxcolors=4096) is not None:
        picture.save(buffer, "PNG", compress_level=6)
        media_type = "image/png"
    else:
        picture.save(buffer, "JPEG", quality=JPEG_QUALITY)
        media_type = "image/jpeg"
    return SanitisedImage(
        data=buffer.getvalue(),
        media_type=media_type,
        width=picture.width,
        height=picture.height,
    )


# --- PDF -----------------------------------------------------------------------------------

_PDF_NAME = re.compile(rb"/([^\s/<>\[\]()%{}]{1,127})")
_PDF_HEX_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_PDF_ACTIVE_NAMES: dict[bytes, str] = {
    b"JavaScript": "PDF scripts",
    b"JS": "PDF scripts",
    b"EmbeddedFile": "PDF attachments",
    b"EmbeddedFiles": "PDF attachments",
    b"FileAttachment": "PDF attachments",
    b"URI": "PDF links",
    b"GoToR": "PDF links",
    b"GoToE": "PDF links",
    b"Launch": "PDF automatic actions",
    b"OpenAction": "PDF automatic actions",
    b"AA": "PDF automatic actions",
    b"SubmitForm": "PDF form fields",
    b"AcroForm": "PDF form fields",
    b"XFA": "PDF form fields",
    b"RichMedia": "PDF embedded media",
}


def _pdf_names(data: bytes) -> set[bytes]:
    names = set()
    for match in _PDF_NAME.finditer(data):
        raw = match.group(1)
        if b"#" in raw:
            raw = _PDF_HEX_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw)
        names.add(raw)
    return names


def _describe_pdf_bytes(in_file: set[bytes], unpacked: Unpacked, removed: _Removed) -> None:
    # Scripts often hide inside compressed object streams, so their first bytes are read too.
    names = set(in_file)
    for stream in unpacked.heads:
        names |= _pdf_names(stream)
    for name, label in _PDF_ACTIVE_NAMES.items():
        if name in names:
            removed.add(label)
    if b"Metadata" in names:
        removed.add("XMP metadata")


def _check_pdf_unpacks_within_limits(data: bytes, names: set[bytes], name: str) -> Unpacked:
    """Refuse, before pdfium reads a byte, a PDF that would unpack to more than it may."""
    if b"Encrypt" in names:
        # Its streams cannot be measured without decrypting them; nor could its scripts be seen.
        raise IntakeRefused(
            RefusalCode.PASSWORD_PROTECTED,
            f"{name} is encrypted (protected against copying or changes), so what it holds "
            "cannot be checked before it is opened. Please save or print a copy without "
            "protection and send that.",
            name,
        )
    limits = StreamLimits()
    try:
        return unpack_streams(data, limits)
    except Unmeasurable as exc:
        raise IntakeRefused(
            RefusalCode.UNREADABLE_FILE,
            f"{name} is built in a way we cannot check safely. Please open it, print or "
            "export it again as a new PDF, and send that.",
            name,
        ) from exc
    except TooLarge as exc:
        limit = f"{exc.limit // MIB} MB"
        what = {
            Exceeded.STREAM: (
                f"holds a part (page contents, a font or the like) that unpacks to more than "
                f"{limit}; the limit is {limit} for one part of a document"
            ),
            Exceeded.PICTURE: (
                f"holds a picture that unpacks to more than {limit}; the limit is {limit} for "
                "one picture in a document"
            ),
            Exceeded.TOTAL: (
                f"unpacks to more than {limit} of page contents and pictures; the limit is "
                f"{limit} for one document"
            ),
        }[exc.which]
        raise IntakeRefused(
            RefusalCode.CONTENT_TOO_LARGE,
            f"{name} {what}, so it cannot be checked safely. Please send fewer pages, or "
            "export or print it again as a new PDF with smaller pictures, and send that.",
            name,
        ) from exc


def _describe_pdf_document(pdf: pdfium.PdfDocument, removed: _Removed) -> None:
    if pdfium_c.FPDFDoc_GetJavaScriptActionCount(pdf) > 0:
        removed.add("PDF scripts")
    if pdf.count_attachments() > 0:
        removed.add("PDF attachments")
    if pdf.get_metadata_dict(skip_empty=True):
        removed.add("document details (author, title, dates)")


_ANNOT_LABELS: dict[int, str] = {
    pdfium_c.FPDF_ANNOT_LINK: "PDF links",
    pdfium_c.FPDF_ANNOT_FILEATTACHMENT: "PDF attachments",
    pdfium_c.FPDF_ANNOT_WIDGET: "PDF form fields",
    pdfium_c.FPDF_ANNOT_SCREEN: "PDF embedded media",
    pdfium_c.FPDF_ANNOT_RICHMEDIA: "PDF embedded media",
}


def _describe_pdf_page(page: pdfium.PdfPage, removed: _Removed) -> None:
    for index in range(pdfium_c.FPDFPage_GetAnnotCount(page)):
        annot = pdfium_c.FPDFPage_GetAnnot(page, index)
        if not annot:
            continue
        try:
            label = _ANNOT_LABELS.get(pdfium_c.FPDFAnnot_GetSubtype(annot))
        finally:
            pdfium_c.FPDFPage_CloseAnnot(annot)
        if label is not None:
            removed.add(label)
    textpage = page.get_textpage()
    try:
        if textpage.count_chars() > 0:
            removed.add("selectable and hidden text (each page is now a picture)")
    finally:
        textpage.close()


def _sanitise_pdf(data: bytes, name: str, limits: IntakeLimits) -> SanitisedFile:
    # A complete PDF ends with %%EOF; readers look for it within the last kilobyte.
    if b"%%EOF" not in data[-1024:]:
        raise _truncated(name)
    removed = _Removed()
    names = _pdf_names(data)
    unpacked = _check_pdf_unpacks_within_limits(data, names, name)
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if getattr(exc, "err_code", None) == pdfium_c.FPDF_ERR_PASSWORD:
            raise IntakeRefused(
                RefusalCode.PASSWORD_PROTECTED,
                f"{name} is protected with a password, so it cannot be checked. "
                "Please save a copy without a password and send that.",
                name,
            ) from exc
        raise _unreadable(name, "PDF document") from exc
    try:
        page_count = len(pdf)
        if page_count == 0:
            raise _unreadable(name, "PDF document")
        if page_count > limits.max_pdf_pages:
            raise IntakeRefused(
                RefusalCode.TOO_MANY_PAGES,
                f"{name} has {page_count} pages; the limit is {limits.max_pdf_pages} pages per "
                "document. Please send only the pages that matter, or split it into parts.",
                name,
            )
        _describe_pdf_bytes(names, unpacked, removed)
        _describe_pdf_document(pdf, removed)
        pages = tuple(_render_page(pdf, index, removed) for index in range(page_count))
    except pdfium.PdfiumError as exc:
        raise _unreadable(name, "PDF document") from exc
    finally:
        pdf.close()
    return SanitisedFile(
        kind="pdf", pages=pages, detected_type=FileType.PDF, removed=removed.as_tuple()
    )


def _render_page(pdf: pdfium.PdfDocument, index: int, removed: _Removed) -> SanitisedImage:
    page = pdf[index]
    try:
        _describe_pdf_page(page, removed)
        width_pt, height_pt = page.get_size()
        if width_pt <= 0 or height_pt <= 0:
            raise pdfium.PdfiumError("page has no area")
        # pdfium rounds pixel sizes up, so aim a little under the caps.
        scale = min(
            PDF_DPI / 72,
            0.995 * PDF_MAX_PAGE_SIDE / max(width_pt, height_pt),
            0.995 * math.sqrt(PDF_MAX_PAGE_PIXELS / (width_pt * height_pt)),
        )
        bitmap = page.render(scale=scale, may_draw_forms=False)
        try:
            picture = bitmap.to_pil().convert("RGB")
        finally:
            bitmap.close()
    finally:
        page.close()
    # Pages of text compress far better, and stay sharper, as PNG; scanned photos as JPEG.
    return _encode(picture, graphics_as_png=True)
