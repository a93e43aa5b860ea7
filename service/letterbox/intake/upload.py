"""Reading the upload: the multipart form part by part, refused at the first byte past a limit.

Never ``request.post()``: an oversized or surplus file is refused as soon as its bytes pass the
limit. Each file is buffered up to the per-file limit because the sanitiser needs the whole file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from service.errors import Invalid, TooLarge
from service.i18n import _
from service.letterbox import sanitise as sanitiser
from service.letterbox.sanitise import IntakeRefused, RefusalCode
from service.limits import MIB, IntakeLimits
from service.settings import Settings

READ_CHUNK = 64 * 1024
# Small form fields (kind, child id) beside the text and the files.
MAX_FIELD_BYTES = 1000


def sanitiser_limits(settings: Settings) -> IntakeLimits:
    """The intake limits: one definition (service.limits), read from the settings."""
    return settings.intake


@dataclass(frozen=True)
class Upload:
    filename: str
    """The sender's file name, made safe to show (sanitise.display_name)."""
    data: bytes


@dataclass
class Submission:
    text: str = ""
    files: list[Upload] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for name in sorted(self.fields):
            digest.update(f"field:{name}={self.fields[name]}\x00".encode())
        digest.update(b"text:" + self.text.encode("utf-8") + b"\x00")
        for upload in self.files:
            digest.update(f"file:{upload.filename}:".encode())
            digest.update(hashlib.sha256(upload.data).digest())
        return digest.hexdigest()


async def read_submission(
    request: web.Request,
    limits: IntakeLimits,
    *,
    text_field: str = "text",
    file_field: str = "files",
    fields: frozenset[str] = frozenset(),
) -> Submission:
    """Read a multipart upload part by part, refusing at the first byte past a limit."""
    if request.content_type != "multipart/form-data":
        raise Invalid("Please send the letter as a form upload (multipart/form-data).")
    # A body bigger than every allowed file and the text together cannot be accepted; say so
    # before reading any of it.
    ceiling = limits.max_files * (limits.max_file_bytes + 64 * 1024) + 4 * limits.max_text_chars
    if request.content_length is not None and request.content_length > ceiling + 1024 * 1024:
        raise TooLarge(
            _(
                "The upload is {size} MB; a letter may carry at most {files} files of {limit} MB "
                "each. Please send fewer or smaller files."
            ).format(
                size=f"{request.content_length / MIB:.0f}",
                files=limits.max_files,
                limit=limits.max_file_bytes // MIB,
            ),
            field=file_field,
        )
    submission = Submission()
    # Files, the text and the named fields, with room for a browser's extras; thousands of
    # tiny parts are a way to burn server time, not a letter.
    max_parts = limits.max_files + len(fields) + 8
    try:
        reader = await request.multipart()
        count = 0
        while True:
            part = await reader.next()
            if part is None:
                break
            count += 1
            if count > max_parts:
                raise Invalid(
                    _(
                        "The form has too many parts (more than {parts}). Please send at most "
                        "{files} files with your letter."
                    ).format(parts=max_parts, files=limits.max_files),
                    field=file_field,
                )
            if not isinstance(part, BodyPartReader):
                raise Invalid("Nested multipart uploads are not accepted.")
            if part.name == file_field and part.filename is not None:
                upload = await _read_file(part, len(submission.files), limits)
                if upload is not None:
                    submission.files.append(upload)
            elif part.name == text_field:
                raw = await _read_limited(part, 4 * limits.max_text_chars + 4, text_field, limits)
                text = _decode(raw, text_field).replace("\r\n", "\n")
                sanitiser.check_text_length(text, limits)
                submission.text = text
            elif part.name in fields:
                raw = await _read_limited(part, MAX_FIELD_BYTES, part.name, limits)
                submission.fields[part.name] = _decode(raw, part.name).strip()
            else:
                # Unknown parts are drained, never kept.
                await _read_limited(part, MAX_FIELD_BYTES, part.name or "form", limits)
    except (ValueError, HttpProcessingError):
        # aiohttp's multipart reader raises these for a body that is not a well-formed form
        # (no or wrong boundary, cut short, a part header that is too long or invalid).
        raise Invalid(
            "The upload could not be read (it is not a complete form). Nothing was sent; "
            "please send the letter again from the letter page."
        ) from None
    return submission


def _decode(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid("The text could not be read (it is not UTF-8).", field=name) from None


async def _read_limited(part: BodyPartReader, limit: int, name: str, limits: IntakeLimits) -> bytes:
    data = bytearray()
    while chunk := await part.read_chunk(READ_CHUNK):
        data += chunk
        if len(data) > limit:
            if name == "text":
                sanitiser.check_text_length(data.decode("utf-8", "replace"), limits)
            # The name is shown quoted and escaped as sent: an unknown part's name is anyone's.
            raise Invalid(_("The field {name} is too long.").format(name=repr(name)), field=name)
    return bytes(data)


async def _read_file(part: BodyPartReader, already: int, limits: IntakeLimits) -> Upload | None:
    name = sanitiser.display_name(part.filename or "")
    data = bytearray()
    counted = False
    while chunk := await part.read_chunk(READ_CHUNK):
        if not counted:
            # Counted once the part has bytes: a browser sends an empty part for an empty
            # file input, which is not a file.
            sanitiser.check_file_count(already + 1, limits)
            counted = True
        data += chunk
        sanitiser.check_file_size(name, len(data), limits, head=bytes(data[:64]))
    if not data:
        if part.filename:
            raise IntakeRefused(
                RefusalCode.EMPTY_FILE,
                f"{name} is empty (0 bytes). Please choose the file again and re-send it.",
                name,
            )
        return None
    return Upload(name, bytes(data))
