"""How much a PDF unpacks to, measured under a cap before pdfium is given it.

A PDF's page contents, fonts and pictures are compressed streams. FlateDecode packs a run of
zeros about a thousand to one, so a 0.8 MB file can hold hundreds of megabytes of page content
that pdfium would inflate and parse for minutes while a sanitiser worker, and every letter behind
it, waits. Here every stream is decoded as pdfium would decode it, a slice at a time, counting
what comes out and stopping at the first byte over a limit, so a bomb costs at most the limit.

Streams are found by their ``stream`` keyword in the raw bytes rather than through the
cross-reference table: a stream's dictionary and keyword are never compressed (object streams
cannot hold streams), so every stream pdfium could reach is seen here, and a damaged table cannot
hide one. Encrypted files are not measured (their streams look like noise until decrypted); the
sanitiser refuses them.
"""

from __future__ import annotations

import base64
import binascii
import enum
import re
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

MIB = 1024 * 1024

Data = bytes | memoryview


@dataclass(frozen=True)
class StreamLimits:
    per_stream: int = 32 * MIB
    """Page content, a font, anything but a picture: a page of dense vector drawing is a few MB."""
    per_picture: int = 128 * MIB
    """One picture's pixels: an A4 page scanned in colour at 600 dpi is about 104 MB."""
    total: int = 256 * MIB
    """Everything in one document together."""
    keep: int = 2 * MIB
    """How much of each decoded stream is kept for the caller to read (its first bytes)..."""
    keep_total: int = 16 * MIB
    """...and of all of them together."""


class Exceeded(enum.Enum):
    STREAM = "stream"
    PICTURE = "picture"
    TOTAL = "total"


class TooLarge(Exception):
    """A stream, a picture or the whole document unpacks to more than its limit."""

    def __init__(self, which: Exceeded, limit: int) -> None:
        super().__init__(which, limit)
        self.which = which
        self.limit = limit


class Unmeasurable(Exception):
    """A stream whose filters cannot be read from its dictionary (named through a reference),
    so what it unpacks to cannot be bounded."""


@dataclass
class Unpacked:
    total: int = 0
    """Bytes all streams unpack to (pictures in DCT, JPX, JBIG2 or CCITT counted as pixels)."""
    heads: list[bytes] = field(default_factory=list)
    """The first ``keep`` bytes of every compressed stream, for reading the names in them."""
    kept: int = 0


# "stream" not preceded by "end"; the data starts after an end of line.
_STREAM = re.compile(rb"(?<!end)stream(\r\n|\r|\n)?")
_OBJ = re.compile(rb"\d+\s+\d+\s+obj\b")
_CHUNK = 1 * MIB
# How far back from "stream" its dictionary is looked for (stream dictionaries are short), and
# how many object headers are tried there at most, to bound the work a hostile file can cause.
_DICT_WINDOWS = (512, 4096, 16 * 1024)
_HEADERS_TRIED = 32
# A 20-page letter has a few hundred streams; tens of thousands are only there to make work.
MAX_STREAMS = 20_000
_WHITESPACE = b" \t\r\n\x0c\x00"
_DELIMITERS = b"()<>[]{}/%"

_FLATE = {b"FlateDecode", b"Fl"}
_LZW = {b"LZWDecode", b"LZW"}
_RUN_LENGTH = {b"RunLengthDecode", b"RL"}
_HEX = {b"ASCIIHexDecode", b"AHx"}
_A85 = {b"ASCII85Decode", b"A85"}
_DCT = {b"DCTDecode", b"DCT"}
_PICTURE_CODECS = {b"JPXDecode", b"JBIG2Decode", b"CCITTFaxDecode", b"CCF"}


def unpack(data: bytes, limits: StreamLimits) -> Unpacked:
    """Decode every stream of the PDF under ``limits``, or raise TooLarge or Unmeasurable."""
    result = Unpacked()
    view = memoryview(data)
    streams = 0
    end_of_last = 0
    for match in _STREAM.finditer(data):
        if not _follows_dictionary(data, match.start()):
            continue  # the word "stream" in some text or data: a stream follows a dictionary
        if match.start() < end_of_last:
            # Streams never overlap in a sound file; a stream keyword in the middle of another
            # stream's data is an attempt to make this reading and pdfium's differ.
            raise Unmeasurable("a stream inside another stream")
        streams += 1
        if streams > MAX_STREAMS:
            raise Unmeasurable("too many parts")
        dictionary = _dictionary_before(data, match.start())
        filters = _filters(dictionary)
        picture = dictionary.get(b"Subtype") == _Name(b"Image")
        limit = limits.per_picture if picture else limits.per_stream
        cap = min(limit, limits.total - result.total)
        end = data.find(b"endstream", match.end())
        end_of_last = end if end >= 0 else len(data)
        raw = view[match.end() : end_of_last]
        size, head = _measure(raw, filters, dictionary, cap, limits.keep)
        if picture:
            # pdfium sizes a picture's pixels from its declared width and height, however little
            # data follows, so a huge declared size counts even over a short stream.
            size = max(size, _declared_bytes(dictionary))
        if size > cap:
            if cap < limit:
                raise TooLarge(Exceeded.TOTAL, limits.total)
            raise TooLarge(Exceeded.PICTURE if picture else Exceeded.STREAM, limit)
        result.total += size
        if head and result.kept < limits.keep_total:
            result.heads.append(head[: limits.keep_total - result.kept])
            result.kept += len(result.heads[-1])
    return result


def _follows_dictionary(data: bytes, at: int) -> bool:
    before = at - 1
    while before >= 0 and data[before] in _WHITESPACE:
        before -= 1
    return before >= 1 and data[before - 1 : before + 1] == b">>"


def _measure(
    raw: memoryview,
    filters: list[bytes],
    dictionary: dict[bytes, object],
    cap: int,
    keep: int,
) -> tuple[int, bytes]:
    """What the stream unpacks to (stopping just past ``cap``), and its first ``keep`` bytes.

    Whatever its dictionary says, data that inflates is also measured as FlateDecode: that is
    the cheap, common bomb, and it costs nothing to be sure of it."""
    size, head = _decode_chain(raw, filters, dictionary, cap, keep)
    if size <= cap and not (filters and filters[-1] in _FLATE):
        start = 0
        while start < len(raw) and raw[start] in _WHITESPACE:
            start += 1
        guessed, guessed_head = _inflate_counting(raw[start:], cap, keep)
        if guessed > size:
            return guessed, head or guessed_head
    return size, head


# --- reading the stream's dictionary -----------------------------------------------------------


class _Name(bytes):
    """A PDF name (/Like/This), as opposed to a string."""


@dataclass(frozen=True)
class _Ref:
    number: int


class _Malformed(Exception):
    pass


def _dictionary_before(data: bytes, at: int) -> dict[bytes, object]:
    """The dictionary of the stream whose keyword starts at ``at``: read forward from the
    nearest object header whose dictionary ends right before the keyword. (A header written
    inside a string of the dictionary does not parse to the keyword, so cannot stand in for the
    real one.) Looked for close by first, as almost every dictionary is short."""
    tried: set[int] = set()
    for window in _DICT_WINDOWS:
        start = max(0, at - window)
        for header in reversed(list(_OBJ.finditer(data, start, at))):
            if header.end() in tried:
                continue
            if len(tried) >= _HEADERS_TRIED:
                raise Unmeasurable("no readable dictionary before a stream")
            tried.add(header.end())
            reader = _Reader(data, header.end(), at)
            try:
                value = reader.value(0)
            except _Malformed:
                continue
            reader.skip_space()
            if isinstance(value, dict) and reader.pos == at:
                return value
        if start == 0:
            break
    raise Unmeasurable("no readable dictionary before a stream")


def _filters(dictionary: dict[bytes, object]) -> list[bytes]:
    value = dictionary.get(b"Filter")
    if value is None:
        return []
    if isinstance(value, _Name):
        return [bytes(value)]
    if isinstance(value, list) and all(isinstance(item, _Name) for item in value):
        return [bytes(item) for item in value]
    # Named through a reference, or not a name at all: what pdfium makes of it is unknown.
    raise Unmeasurable("filters that are not plain names")


class _Reader:
    """Just enough of the PDF object syntax to read one dictionary, bounded in depth."""

    def __init__(self, data: bytes, pos: int, limit: int) -> None:
        self.data = data
        self.pos = pos
        self.limit = limit

    def skip_space(self) -> None:
        data = self.data
        while self.pos < self.limit:
            if data[self.pos] in _WHITESPACE:
                self.pos += 1
            elif data[self.pos] == 0x25:  # % comment, to the end of the line
                while self.pos < self.limit and data[self.pos] not in b"\r\n":
                    self.pos += 1
            else:
                return

    def value(self, depth: int) -> object:
        if depth > 32:
            raise _Malformed("nested too deep")
        self.skip_space()
        if self.pos >= self.limit:
            raise _Malformed("ran out")
        data = self.data
        if data.startswith(b"<<", self.pos):
            self.pos += 2
            entries: dict[bytes, object] = {}
            while True:
                self.skip_space()
                if data.startswith(b">>", self.pos):
                    self.pos += 2
                    return entries
                key = self.value(depth + 1)
                if not isinstance(key, _Name):
                    raise _Malformed("a dictionary key that is not a name")
                entries[bytes(key)] = self.value(depth + 1)
        char = data[self.pos]
        if char == 0x5B:  # [
            self.pos += 1
            items: list[object] = []
            while True:
                self.skip_space()
                if self.pos < self.limit and data[self.pos] == 0x5D:  # ]
                    self.pos += 1
                    return items
                items.append(self.value(depth + 1))
        if char == 0x28:  # (
            return self._string()
        if char == 0x3C:  # <
            end = data.find(b">", self.pos, self.limit)
            if end < 0:
                raise _Malformed("unterminated hex string")
            self.pos = end + 1
            return b""
        if char == 0x2F:  # /
            self.pos += 1
            token = self._token()
            return _Name(
                re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), token)
            )
        token = self._token()
        if not token:
            raise _Malformed("unexpected delimiter")
        if re.fullmatch(rb"[+-]?\d+", token):
            number = int(token)
            # "12 0 R": a reference, read here so a dictionary value is one thing.
            saved = self.pos
            self.skip_space()
            generation = self._token()
            self.skip_space()
            if re.fullmatch(rb"\d+", generation) and self._token() == b"R":
                return _Ref(number)
            self.pos = saved
            return number
        return token

    def _token(self) -> bytes:
        start = self.pos
        data = self.data
        while (
            self.pos < self.limit
            and data[self.pos] not in _WHITESPACE
            and data[self.pos] not in _DELIMITERS
        ):
            self.pos += 1
        return data[start : self.pos]

    def _string(self) -> bytes:
        data = self.data
        depth = 0
        start = self.pos
        while self.pos < self.limit:
            char = data[self.pos]
            if char == 0x5C:  # backslash escapes the next byte
                self.pos += 2
                continue
            if char == 0x28:
                depth += 1
            elif char == 0x29:
                depth -= 1
                if depth == 0:
                    self.pos += 1
                    return data[start + 1 : self.pos - 1]
            self.pos += 1
        raise _Malformed("unterminated string")


# --- decoding under a cap -------------------------------------------------------------------


def _decode_chain(
    raw: Data, filters: list[bytes], dictionary: dict[bytes, object], cap: int, keep: int
) -> tuple[int, bytes]:
    if not filters:
        return len(raw), b""  # its words are in the file as it is
    current: Data = raw
    for position, name in enumerate(filters):
        last = position == len(filters) - 1
        if name in _DCT:
            return _jpeg_pixels(current), b""
        if name in _PICTURE_CODECS:
            return _declared_pixels(dictionary, name), b""
        if name in _FLATE and last:
            return _inflate_counting(current, cap, keep)
        decoder = _DECODERS.get(name)
        if decoder is None:
            # A filter pdfium does not know either (or Crypt, in an encrypted file refused
            # before this): it will not decode, so nothing more comes out of it.
            return len(current), b""
        try:
            current = decoder(current, cap)
        except _Over:
            return cap + 1, b""
        except (zlib.error, ValueError, binascii.Error):
            return 0, b""
    return len(current), bytes(current[:keep])


class _Over(Exception):
    pass


def _inflate_counting(raw: Data, cap: int, keep: int) -> tuple[int, bytes]:
    """Inflate a slice at a time, keeping only the first ``keep`` bytes, up to ``cap`` + 1."""
    inflater = zlib.decompressobj()
    total = 0
    head = bytearray()
    pending: Data = raw
    try:
        while True:
            out = inflater.decompress(pending, _CHUNK)
            total += len(out)
            if len(head) < keep:
                head += out[: keep - len(head)]
            if total > cap:
                return total, bytes(head)
            pending = inflater.unconsumed_tail
            if inflater.eof or (not out and not pending):
                break
    except zlib.error:
        pass  # pdfium renders what decoded before the damage; so count that
    return total, bytes(head)


def _inflate(raw: Data, cap: int) -> bytes:
    inflater = zlib.decompressobj()
    out = inflater.decompress(raw, cap + 1)
    if len(out) > cap:
        raise _Over
    return out


def _lzw(raw: Data, cap: int) -> bytes:
    """LZW as PDF writes it (most significant bit first, EarlyChange 1), stopping past ``cap``."""
    out = bytearray()
    table: list[bytes] = [bytes([i]) for i in range(256)] + [b"", b""]
    width = 9
    buffer = 0
    bits = 0
    previous: bytes | None = None
    for byte in raw:
        buffer = (buffer << 8) | byte
        bits += 8
        while bits >= width:
            bits -= width
            code = (buffer >> bits) & ((1 << width) - 1)
            buffer &= (1 << bits) - 1
            if code == 256:
                del table[258:]
                width = 9
                previous = None
                continue
            if code == 257:
                return bytes(out)
            if code < len(table) and code != 256:
                entry = table[code]
                if previous is not None and len(table) < 4096:
                    table.append(previous + entry[:1])
            elif code == len(table) and previous is not None:
                entry = previous + previous[:1]
                if len(table) < 4096:
                    table.append(entry)
            else:
                return bytes(out)  # a broken stream: pdfium stops here too
            out += entry
            if len(out) > cap:
                raise _Over
            previous = entry
            if len(table) + 1 >= (1 << width) and width < 12:
                width += 1
    return bytes(out)


def _run_length(raw: Data, cap: int) -> bytes:
    out = bytearray()
    at = 0
    while at < len(raw):
        length = raw[at]
        if length == 128:
            break
        if length < 128:
            out += raw[at + 1 : at + 2 + length]
            at += 2 + length
        else:
            if at + 1 >= len(raw):
                break
            out += bytes([raw[at + 1]]) * (257 - length)
            at += 2
        if len(out) > cap:
            raise _Over
    return bytes(out)


def _ascii_hex(raw: Data, cap: int) -> bytes:
    digits = bytes(raw).split(b">", 1)[0].translate(None, _WHITESPACE)
    if len(digits) % 2:
        digits += b"0"
    return binascii.unhexlify(digits)  # never longer than its input


def _ascii85(raw: Data, cap: int) -> bytes:
    body = bytes(raw).split(b"~>", 1)[0].strip()
    body = body.removeprefix(b"<~")
    return base64.a85decode(body, adobe=False, ignorechars=b" \t\r\n\x0c\x00")


_DECODERS: dict[bytes, Callable[[Data, int], bytes]] = {
    **dict.fromkeys(_FLATE, _inflate),
    **dict.fromkeys(_LZW, _lzw),
    **dict.fromkeys(_RUN_LENGTH, _run_length),
    **dict.fromkeys(_HEX, _ascii_hex),
    **dict.fromkeys(_A85, _ascii85),
}


def _jpeg_pixels(data: Data) -> int:
    """Bytes a JPEG decodes to, from its frame header: width × height × components."""
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return 0
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        (length,) = struct.unpack_from(">H", data, pos + 2)
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            if pos + 10 > len(data):
                return 0
            height, width, components = struct.unpack_from(">HHB", data, pos + 5)
            return int(height) * int(width) * int(components)
        if marker == 0xDA:
            return 0
        pos += 2 + length
    return 0


def _declared_bytes(dictionary: dict[bytes, object]) -> int:
    """The least a picture's declared size decodes to: width × height × bits a sample."""
    width = dictionary.get(b"Width")
    height = dictionary.get(b"Height")
    bits = dictionary.get(b"BitsPerComponent")
    if not isinstance(width, int) or not isinstance(height, int):
        return 0
    depth = bits if isinstance(bits, int) and 0 < bits <= 16 else 1
    return max(0, width) * max(0, height) * depth // 8


def _declared_pixels(dictionary: dict[bytes, object], codec: bytes) -> int:
    width = dictionary.get(b"Width")
    height = dictionary.get(b"Height")
    if not isinstance(width, int) or not isinstance(height, int):
        return 0
    pixels = max(0, width) * max(0, height)
    # JBIG2 and CCITT pictures are one bit a pixel; JPEG 2000 up to four bytes.
    return pixels // 8 if codec != b"JPXDecode" else pixels * 4
