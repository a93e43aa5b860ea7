"""Build photos and PDFs that carry every kind of metadata a phone or an editor writes.

Everything is made in code, byte by byte where Pillow cannot write a field (EXIF thumbnails, IPTC,
a colour profile with known primaries), so each test knows exactly what the original carried.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import pillow_heif
from PIL import Image, ImageDraw, ImageFont, PngImagePlugin

GPS_LATITUDE = (53.0, 48.0, 2.5)  # somewhere in Leeds
GPS_LONGITUDE = (1.0, 32.0, 51.0)

XMP_PACKET = (
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" '
    b'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
    b'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" '
    b'exif:GPSLatitude="53,48.04N" exif:GPSLongitude="1,32.85W" '
    b'xmp:CreatorTool="SecretEditor 9" photoshop:City="Leeds">'
    b"<dc:creator><rdf:Seq><rdf:li>Jane Example</rdf:li></rdf:Seq></dc:creator>"
    b"</rdf:Description></rdf:RDF></x:xmpmeta>"
    b'<?xpacket end="w"?>'
)
COMMENT = b"<html><body><script>alert('polyglot')</script></body></html>"
MAKER_NOTE = b"LBXNOTE\x00" + b"\x00\x01secret-maker-note-payload" * 4
CAMERA_MAKE = "LetterboxCam"
CAMERA_MODEL = "Model X9 SerialLeak"
SOFTWARE = "SecretEditor 9"
ARTIST = "Jane Example"

# Markers that must never appear in sanitised output.
LEAK_MARKERS: tuple[bytes, ...] = (
    b"LetterboxCam",
    b"SerialLeak",
    b"secret-maker-note",
    b"SecretEditor",
    b"Jane Example",
    b"Leeds",
    b"script",
    b"xmpmeta",
    b"Photoshop",
    b"Exif\x00\x00",
    b"GPS",
)


# --- EXIF as raw TIFF, written by hand so it can hold GPS, maker notes and a thumbnail ----------

ASCII, SHORT, LONG, RATIONAL, UNDEFINED, BYTE = 2, 3, 4, 5, 7, 1


def _ascii(text: str) -> tuple[int, int, bytes]:
    raw = text.encode() + b"\x00"
    return ASCII, len(raw), raw


def _short(value: int) -> tuple[int, int, bytes]:
    return SHORT, 1, struct.pack("<H", value)


def _long(value: int) -> tuple[int, int, bytes]:
    return LONG, 1, struct.pack("<I", value)


def _rationals(values: Sequence[float]) -> tuple[int, int, bytes]:
    raw = b"".join(struct.pack("<II", round(v * 1000), 1000) for v in values)
    return RATIONAL, len(values), raw


def _ifd(entries: dict[int, tuple[int, int, bytes]], offset: int, next_ifd: int) -> bytes:
    count = len(entries)
    data_offset = offset + 2 + 12 * count + 4
    table = struct.pack("<H", count)
    extra = b""
    for tag in sorted(entries):
        kind, n, payload = entries[tag]
        if len(payload) <= 4:
            table += struct.pack("<HHI", tag, kind, n) + payload.ljust(4, b"\x00")
        else:
            table += struct.pack("<HHII", tag, kind, n, data_offset + len(extra))
            extra += payload + (b"\x00" if len(payload) % 2 else b"")
    return table + struct.pack("<I", next_ifd) + extra


def build_exif(
    *,
    orientation: int = 1,
    gps: bool = True,
    maker_note: bool = True,
    thumbnail: bool = True,
    header: bool = True,
) -> bytes:
    """EXIF with camera, dates, author, GPS, a maker note and an IFD1 thumbnail."""
    thumb = small_jpeg((40, 30), (200, 50, 50)) if thumbnail else b""

    def layout(exif_at: int, gps_at: int, ifd1_at: int, thumb_at: int) -> list[bytes]:
        ifd0: dict[int, tuple[int, int, bytes]] = {
            0x010F: _ascii(CAMERA_MAKE),
            0x0110: _ascii(CAMERA_MODEL),
            0x0112: _short(orientation),
            0x0131: _ascii(SOFTWARE),
            0x0132: _ascii("2024:05:01 10:11:12"),
            0x013B: _ascii(ARTIST),
            0x8298: _ascii("(c) Jane Example"),
            0x8769: _long(exif_at),
        }
        if gps:
            ifd0[0x8825] = _long(gps_at)
        exif_ifd: dict[int, tuple[int, int, bytes]] = {
            0x9003: _ascii("2024:05:01 10:11:12"),
            0x9004: _ascii("2024:05:01 10:11:12"),
            0xA431: _ascii("SN-0042-SerialLeak"),
            0x829A: _rationals([1 / 120]),
        }
        if maker_note:
            exif_ifd[0x927C] = (UNDEFINED, len(MAKER_NOTE), MAKER_NOTE)
        gps_ifd: dict[int, tuple[int, int, bytes]] = {
            0x0000: (BYTE, 4, bytes([2, 3, 0, 0])),
            0x0001: _ascii("N"),
            0x0002: _rationals(GPS_LATITUDE),
            0x0003: _ascii("W"),
            0x0004: _rationals(GPS_LONGITUDE),
        }
        ifd1: dict[int, tuple[int, int, bytes]] = {
            0x0103: _short(6),
            0x0201: _long(thumb_at),
            0x0202: _long(len(thumb)),
        }
        blocks = [_ifd(ifd0, 8, ifd1_at if thumbnail else 0), _ifd(exif_ifd, exif_at, 0)]
        if gps:
            blocks.append(_ifd(gps_ifd, gps_at, 0))
        if thumbnail:
            blocks.append(_ifd(ifd1, ifd1_at, 0))
        return blocks

    # Lay out once with placeholder offsets to learn each block's size, then for real.
    sizes = [len(block) for block in layout(0, 0, 0, 0)]
    offsets = [8]
    for size in sizes:
        offsets.append(offsets[-1] + size + (size % 2))
    exif_at = offsets[1]
    gps_at = offsets[2] if gps else 0
    ifd1_at = offsets[2 + int(gps)] if thumbnail else 0
    thumb_at = offsets[-1]
    blocks = layout(exif_at, gps_at, ifd1_at, thumb_at)
    tiff = b"II*\x00" + struct.pack("<I", 8)
    for block in blocks:
        tiff += block + (b"\x00" if len(block) % 2 else b"")
    tiff += thumb
    return (b"Exif\x00\x00" + tiff) if header else tiff


# --- a colour profile whose red and green primaries are swapped ------------------------------

_D50 = (0.9642, 1.0, 0.8249)
_SRGB_RED = (0.4361, 0.2225, 0.0139)
_SRGB_GREEN = (0.3851, 0.7169, 0.0971)
_SRGB_BLUE = (0.1431, 0.0606, 0.7141)


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz_tag(xyz: tuple[float, float, float]) -> bytes:
    return b"XYZ \x00\x00\x00\x00" + b"".join(_s15(v) for v in xyz)


def swapped_primaries_icc() -> bytes:
    """An ICC v2 RGB profile that says "red" means sRGB green and vice versa.

    A pure-red pixel tagged with it must come out green once converted to sRGB, which proves the
    sanitiser applies the embedded profile rather than just deleting it.
    """
    description = b"Letterbox swapped primaries"
    desc = (
        b"desc\x00\x00\x00\x00"
        + struct.pack(">I", len(description) + 1)
        + description
        + b"\x00"
        + b"\x00" * 8
        + b"\x00\x00\x00"
        + b"\x00" * 67
    )
    gamma = b"curv\x00\x00\x00\x00" + struct.pack(">IH", 1, 0x0233) + b"\x00\x00"
    tags = [
        (b"desc", desc),
        (b"wtpt", _xyz_tag(_D50)),
        (b"rXYZ", _xyz_tag(_SRGB_GREEN)),
        (b"gXYZ", _xyz_tag(_SRGB_RED)),
        (b"bXYZ", _xyz_tag(_SRGB_BLUE)),
        (b"rTRC", gamma),
        (b"gTRC", gamma),
        (b"bTRC", gamma),
        (b"cprt", b"text\x00\x00\x00\x00Public domain test profile\x00"),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table = struct.pack(">I", len(tags))
    body = b""
    for signature, payload in tags:
        padded = payload + b"\x00" * (-len(payload) % 4)
        table += signature + struct.pack(">II", offset + len(body), len(payload))
        body += padded
    size = 128 + len(table) + len(body)
    header = (
        struct.pack(">I", size)
        + b"lcms"
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
        + struct.pack(">6H", 2024, 1, 1, 0, 0, 0)
        + b"acsp"
        + b"APPL"
        + b"\x00" * 4
        + b"\x00" * 8
        + b"\x00" * 8
        + b"\x00" * 4
        + b"".join(_s15(v) for v in _D50)
        + b"lcms"
        + b"\x00" * 44
    )
    assert len(header) == 128
    return header + table + body


# --- IPTC (Photoshop APP13), which Pillow cannot write ----------------------------------------


def iptc_segment() -> bytes:
    def dataset(number: int, value: bytes) -> bytes:
        return b"\x1c\x02" + bytes([number]) + struct.pack(">H", len(value)) + value

    iptc = dataset(90, b"Leeds") + dataset(80, b"Jane Example") + dataset(120, b"At home")
    iptc += b"\x00" * (len(iptc) % 2)
    resource = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(iptc)) + iptc
    body = b"Photoshop 3.0\x00" + resource
    return b"\xff\xed" + struct.pack(">H", len(body) + 2) + body


def insert_jpeg_segment(jpeg: bytes, segment: bytes) -> bytes:
    assert jpeg.startswith(b"\xff\xd8")
    return jpeg[:2] + segment + jpeg[2:]


# --- photos ---------------------------------------------------------------------------------


def photo(size: tuple[int, int] = (320, 240), *, alpha: bool = False) -> Image.Image:
    """A picture with structure (gradients), so encoders behave as they do on real photos."""
    width, height = size
    gradient = Image.linear_gradient("L").resize(size)
    red = gradient
    green = gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    blue = Image.radial_gradient("L").resize(size)
    image = Image.merge("RGB", (red, green, blue))
    if alpha:
        mask = Image.new("L", size, 255)
        mask.paste(0, (0, 0, width // 2, height // 2))
        image.putalpha(mask)
    return image


def small_jpeg(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


@dataclass(frozen=True)
class Sample:
    name: str
    data: bytes
    expected_removed: tuple[str, ...]
    size: tuple[int, int] = (320, 240)
    extras: dict[str, object] = field(default_factory=dict)


def jpeg_with_everything(
    size: tuple[int, int] = (320, 240), *, orientation: int = 1, quality: int = 90
) -> bytes:
    buffer = io.BytesIO()
    photo(size).save(
        buffer,
        "JPEG",
        quality=quality,
        exif=build_exif(orientation=orientation),
        icc_profile=swapped_primaries_icc(),
        comment=COMMENT,
        xmp=XMP_PACKET,
    )
    return insert_jpeg_segment(buffer.getvalue(), iptc_segment())


def png_with_everything(*, alpha: bool = False) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", XMP_PACKET.decode())
    info.add_text("Comment", COMMENT.decode())
    info.add_text("Author", ARTIST)
    info.add_text("Software", SOFTWARE)
    buffer = io.BytesIO()
    photo(alpha=alpha).save(
        buffer,
        "PNG",
        pnginfo=info,
        exif=build_exif(),
        icc_profile=swapped_primaries_icc(),
    )
    return buffer.getvalue()


def webp_with_everything() -> bytes:
    buffer = io.BytesIO()
    photo().save(
        buffer,
        "WEBP",
        quality=85,
        exif=build_exif(),
        xmp=XMP_PACKET,
        icc_profile=swapped_primaries_icc(),
    )
    return buffer.getvalue()


def heic_with_everything() -> bytes:
    pillow_heif.register_heif_opener()
    buffer = io.BytesIO()
    photo().save(
        buffer,
        "HEIF",
        quality=60,
        exif=build_exif(),
        xmp=XMP_PACKET,
        icc_profile=swapped_primaries_icc(),
    )
    return buffer.getvalue()


def solid_jpeg(colour: tuple[int, int, int], *, icc: bytes | None = None) -> bytes:
    buffer = io.BytesIO()
    kwargs: dict[str, object] = {"quality": 95}
    if icc is not None:
        kwargs["icc_profile"] = icc
    Image.new("RGB", (64, 48), colour).save(buffer, "JPEG", **kwargs)
    return buffer.getvalue()


# --- bombs ----------------------------------------------------------------------------------


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def png_bomb(width: int, height: int) -> bytes:
    """A complete, valid greyscale PNG of zeros: tiny on disk, width×height bytes once decoded."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (width + 1)
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", body)
        + _png_chunk(b"IEND", b"")
    )


def png_with_garbage_pixels(width: int, height: int) -> bytes:
    """A well-formed PNG container whose header claims a size and whose pixel data is junk."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", b"this is not zlib data at all")
        + _png_chunk(b"IEND", b"")
    )


def jpeg_claiming_size(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header has been edited to claim another size."""
    data = bytearray(small_jpeg((16, 16), (10, 20, 30)))
    sof = data.find(b"\xff\xc0")
    assert sof > 0
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


# --- PDFs -----------------------------------------------------------------------------------


def build_pdf(objects: Sequence[bytes], *, root: int = 1, info: int | None = None) -> bytes:
    """Assemble numbered objects (1-based) into a PDF with a correct cross-reference table."""
    out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref_at = len(out)
    out += f"xref\n0 {len(objects) + 1}\n".encode() + b"0000000000 65535 f \n"
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    trailer = f"<< /Size {len(objects) + 1} /Root {root} 0 R".encode()
    if info is not None:
        trailer += f" /Info {info} 0 R".encode()
    out += b"trailer\n" + trailer + b" >>\nstartxref\n" + str(xref_at).encode() + b"\n%%EOF\n"
    return out


def _stream(content: bytes, extra: bytes = b"") -> bytes:
    return (
        b"<< /Length "
        + str(len(content)).encode()
        + extra
        + b" >>\nstream\n"
        + content
        + b"\nendstream"
    )


def pdf_with_script_and_attachment() -> bytes:
    """Two pages of text, a JavaScript open action, a link, an attachment and hidden text."""
    page_text = (
        b"BT /F1 24 Tf 72 720 Td (Dear Sam, this is page one.) Tj ET\n"
        b"BT 3 Tr /F1 12 Tf 72 600 Td (HIDDEN-TEXT-We-live-at-14-Acacia-Avenue) Tj ET"
    )
    page_two = b"BT /F1 24 Tf 72 720 Td (Page two. Love, Dad) Tj ET"
    attachment = b"secret attachment: ring 07700 900123"
    objects = [
        # 1 catalog: opens by running JavaScript, and names an embedded file.
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction 7 0 R "
        b"/Names << /JavaScript << /Names [(hello) 7 0 R] >> "
        b"/EmbeddedFiles << /Names [(secret.txt) 9 0 R] >> >> >>",
        b"<< /Type /Pages /Kids [3 0 R 10 0 R] /Count 2 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> /Annots [6 0 R] >>",
        _stream(page_text),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /Annot /Subtype /Link /Rect [72 700 400 740] /Border [0 0 0] "
        b"/A << /S /URI /URI (https://example.com/where-we-live) >> >>",
        b"<< /Type /Action /S /JavaScript /JS (app.alert('hello from the PDF');) >>",
        _stream(attachment, b" /Type /EmbeddedFile"),
        b"<< /Type /Filespec /F (secret.txt) /EF << /F 8 0 R >> >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 11 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        _stream(page_two),
        b"<< /Title (Secret title) /Author (Jane Example) /CreationDate (D:20240501101112Z) >>",
    ]
    return build_pdf(objects, info=12)


def plain_pdf(pages: int) -> bytes:
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(pages))
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
    ]
    font_number = 3 + 2 * pages
    for i in range(pages):
        content_number = 4 + 2 * i
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {content_number} 0 R "
            f"/Resources << /Font << /F1 {font_number} 0 R >> >> >>".encode()
        )
        objects.append(_stream(f"BT /F1 18 Tf 72 760 Td (Page {i + 1}) Tj ET".encode()))
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    return build_pdf(objects)


# A photo of a handwritten-style note with personal details in it (read by tesseract).
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
SCHOOL = "Oakfield Primary"
POSTCODE = "SW1A 1AA"


def picture_with_words(*lines: str) -> bytes:
    """A photo-sized PNG with dark words on a light page, as a phone photo of a note."""
    image = Image.new("RGB", (1200, 120 + 100 * len(lines)), (250, 248, 240))
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 48)
    for number, line in enumerate(lines):
        draw.text((50, 60 + 100 * number), line, fill=(20, 20, 30), font=font)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


NOTE = picture_with_words("We moved to 14 Elm Road,", f"London {POSTCODE}", f"{SCHOOL} is great")


# --- pictures hiding a message in their transparent pixels -----------------------------------

HIDDEN_MESSAGE = "RING 07700 900123"
VISIBLE_SQUARE = (10, 10, 70, 70)  # left, top, right, bottom: the only thing anyone can see
VISIBLE_COLOUR = (20, 60, 200)
MESSAGE_COLOUR = (200, 0, 0)


@dataclass(frozen=True)
class HiddenMessage:
    """A picture whose only visible part is a blue square, with a message written in the colour
    of pixels that are fully transparent."""

    data: bytes
    message_pixels: frozenset[tuple[int, int]]
    size: tuple[int, int]
    visible_colour: tuple[int, int, int] = VISIBLE_COLOUR

    def as_seen_on_white(self) -> Image.Image:
        """What a moderator sees: the square on white, and nothing else."""
        seen = Image.new("RGB", self.size, (255, 255, 255))
        seen.paste(self.visible_colour, VISIBLE_SQUARE)
        return seen


def _message_layer(size: tuple[int, int]) -> Image.Image:
    """White-on-black mask of the message, away from the visible square."""
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).text((90, 40), HIDDEN_MESSAGE, fill=255, font=ImageFont.truetype(FONT, 28))
    return mask


def png_with_hidden_message(
    kind: str = "rgba", size: tuple[int, int] = (420, 120)
) -> HiddenMessage:
    """``kind``: "rgba" (an alpha channel), "palette" (a PNG palette whose transparent entries
    carry colours), "colour-key" (an RGB PNG whose tRNS makes the message colour transparent),
    "grey-alpha" (LA), "animated" (the first frame of an APNG), "webp" (lossless WebP that
    keeps the colour of transparent pixels) or "heic" (a lossless HEIC with an alpha plane)."""
    mask = _message_layer(size)
    message_pixels = frozenset(
        (x, y) for y in range(size[1]) for x in range(size[0]) if mask.getpixel((x, y))
    )
    rgba = Image.new("RGBA", size, (0, 0, 0, 0))
    rgba.paste((*MESSAGE_COLOUR, 0), (0, 0, *size), mask)
    rgba.paste((*VISIBLE_COLOUR, 255), VISIBLE_SQUARE)
    out = io.BytesIO()
    if kind == "rgba":
        rgba.save(out, "PNG")
    elif kind == "webp":
        rgba.save(out, "WEBP", lossless=True, exact=True)
    elif kind == "heic":
        pillow_heif.register_heif_opener()
        rgba.save(out, "HEIF", quality=-1)  # lossless, so the hidden colours are kept
    elif kind == "animated":
        second = Image.new("RGBA", size, (0, 0, 0, 0))
        rgba.save(out, "PNG", save_all=True, append_images=[second], duration=500, loop=0)
    elif kind == "palette":
        # Index 0: transparent black; 1: the message, transparent red; 2: the visible blue.
        paletted = Image.new("P", size, 0)
        paletted.putpalette([0, 0, 0, *MESSAGE_COLOUR, *VISIBLE_COLOUR] + [0] * 759)
        paletted.paste(1, (0, 0, *size), mask)
        paletted.paste(2, VISIBLE_SQUARE)
        paletted.save(out, "PNG", transparency=bytes([0, 0, 255]))
    elif kind == "colour-key":
        keyed = Image.new("RGB", size, MESSAGE_COLOUR)
        keyed.paste(VISIBLE_COLOUR, VISIBLE_SQUARE)
        # Everything but the square is the transparent colour; the message is the same colour, so
        # it is drawn as the colour-keyed background around it would be: that is the point.
        keyed.save(out, "PNG", transparency=MESSAGE_COLOUR)
    elif kind == "grey-alpha":
        grey = Image.new("LA", size, (0, 0))
        grey.paste((255, 0), (0, 0, *size), mask)
        grey.paste((60, 255), VISIBLE_SQUARE)
        grey.save(out, "PNG")
        return HiddenMessage(out.getvalue(), message_pixels, size, (60, 60, 60))
    else:
        raise ValueError(kind)
    return HiddenMessage(out.getvalue(), message_pixels, size)


# --- phone photos of many megapixels -----------------------------------------------------------


def big_phone_photo(width: int, height: int) -> bytes:
    """A colour JPEG of ``width`` × ``height`` carrying a phone's EXIF, GPS included.

    Drawn with flat shapes, so it is quick to encode; it still costs ``3 × width × height``
    bytes of memory while it is made."""
    image = Image.new("RGB", (width, height), (90, 140, 200))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, height * 2 // 3, width, height), fill=(60, 130, 50))
    draw.ellipse((width // 10, height // 10, width // 4, height // 4), fill=(250, 220, 60))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80, exif=build_exif())
    return out.getvalue()


def _jpeg_segment(marker: int, body: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body


def grey_jpeg_of_any_size(width: int, height: int) -> bytes:
    """A valid baseline greyscale JPEG of any size whose every 8×8 block is mid-grey, written
    by hand: two bits per block, so even 200 megapixels is under a megabyte on disk."""
    quant = _jpeg_segment(0xDB, b"\x00" + b"\x01" * 64)
    frame = _jpeg_segment(0xC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
    # One code of length 1 ("0") in each table: DC difference 0, and AC end-of-block.
    one_code = bytes([1] + [0] * 15) + b"\x00"
    tables = _jpeg_segment(0xC4, b"\x00" + one_code) + _jpeg_segment(0xC4, b"\x10" + one_code)
    scan = _jpeg_segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    blocks = ((width + 7) // 8) * ((height + 7) // 8)
    entropy = b"\x00" * ((2 * blocks + 7) // 8)
    return b"\xff\xd8" + quant + frame + tables + scan + entropy + b"\xff\xd9"


# --- metadata segments Pillow cannot write ---------------------------------------------------


def jfxx_thumbnail_segment() -> bytes:
    """A JFIF extension APP0 segment holding a JPEG thumbnail."""
    return _jpeg_segment(0xE0, b"JFXX\x00\x10" + small_jpeg((16, 12), (10, 200, 10)))


def jfif_with_thumbnail_segment() -> bytes:
    """A JFIF APP0 header carrying a 2×2 RGB thumbnail in its own body."""
    return _jpeg_segment(0xE0, b"JFIF\x00\x01\x02\x00\x00\x01\x00\x01\x02\x02" + b"\x80" * 12)


def mpf_segment() -> bytes:
    """The APP2 "MPF" header a phone writes when it stores more pictures after the first."""
    return _jpeg_segment(0xE2, b"MPF\x00II*\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00")


def private_app_segment() -> bytes:
    """A camera maker's private APP segment (APP4 here)."""
    return _jpeg_segment(0xE4, b"QTI\x00camera-private-data")


def plain_jpeg(size: tuple[int, int] = (320, 240)) -> bytes:
    out = io.BytesIO()
    photo(size).save(out, "JPEG", quality=90)
    return out.getvalue()


# --- PDFs that unpack to far more than they weigh ----------------------------------------------


def pdf_bomb(streams: int, megabytes_each: int) -> bytes:
    """A one-page PDF whose page has ``streams`` content streams, each ``megabytes_each`` MiB of
    zeros (whitespace to a PDF reader) squeezed by FlateDecode to about a thousandth of that."""
    squeezed = zlib.compress(b"\x00" * (megabytes_each * 1024 * 1024), 9)
    first_stream = 4
    contents = " ".join(f"{first_stream + i} 0 R" for i in range(streams))
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents [{contents}] >>".encode(),
    ]
    objects += [_stream(squeezed, b" /Filter /FlateDecode")] * streams
    return build_pdf(objects)


def pdf_with_compressed_pages(pages: int) -> bytes:
    """An ordinary PDF whose pages' text and a small picture are FlateDecode-compressed, as
    every word processor writes them."""
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(pages))
    picture_number = 3 + 2 * pages + 1
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
    ]
    for i in range(pages):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {4 + 2 * i} 0 R "
            f"/Resources << /Font << /F1 {3 + 2 * pages} 0 R >> "
            f"/XObject << /Im1 {picture_number} 0 R >> >> >>".encode()
        )
        text = f"BT /F1 18 Tf 72 760 Td (Page {i + 1} of a letter) Tj ET q 200 0 0 150 72 500 cm /Im1 Do Q"
        objects.append(_stream(zlib.compress(text.encode()), b" /Filter /FlateDecode"))
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    pixels = photo((200, 150)).tobytes()
    objects.append(
        _stream(
            zlib.compress(pixels),
            b" /Type /XObject /Subtype /Image /Width 200 /Height 150 /ColorSpace /DeviceRGB"
            b" /BitsPerComponent 8 /Filter /FlateDecode",
        )
    )
    return build_pdf(objects)


def with_png_chunk(png: bytes, kind: bytes, payload: bytes) -> bytes:
    """The PNG with one more chunk placed straight after its header chunk."""
    after_ihdr = 8 + 25
    return png[:after_ihdr] + _png_chunk(kind, payload) + png[after_ihdr:]


def pdf_with_one_stream(dictionary: bytes, data: bytes, *, picture: bool = False) -> bytes:
    """A one-page PDF around one stream given raw: its dictionary entries and its bytes. As a
    picture it is the page's image, drawn full page; otherwise it is the page's contents."""
    body = b"<< " + dictionary + b" /Length " + str(len(data)).encode() + b" >>\nstream\n"
    body += data + b"\nendstream"
    if picture:
        objects = [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
            b"/Resources << /XObject << /Im1 5 0 R >> >> >>",
            _stream(b"q 595 0 0 842 0 0 cm /Im1 Do Q"),
            body,
        ]
    else:
        objects = [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
            body,
        ]
    return build_pdf(objects)


def run_length_zeros(count: int) -> bytes:
    """RunLengthDecode data for ``count`` zero bytes: two bytes for every 128."""
    runs, rest = divmod(count, 128)
    data = b"\x81\x00" * runs
    if rest:
        data += bytes([257 - rest, 0]) if rest > 1 else b"\x00\x00"
    return data + b"\x80"


def encrypted(pdf: bytes) -> bytes:
    """The PDF with an /Encrypt entry in its trailer, as a file protected against copying has."""
    return pdf.replace(b"trailer\n<< /Size", b"trailer\n<< /Encrypt << /Filter /Standard >> /Size")


def lzw_zeros(count: int) -> bytes:
    """LZWDecode data (EarlyChange 1, as PDF writes it) for at least ``count`` zero bytes.

    Written as the codes an encoder would emit for a run of zeros: each new code stands for one
    zero more than the last, up to code 4000 (3,744 zeros), which is then repeated."""
    codes = [256, 0]
    produced = 1
    longest = 258
    while produced < count and longest <= 4000:
        codes.append(longest)
        produced += longest - 256
        longest += 1
    top = longest - 1
    while produced < count:
        codes.append(top)
        produced += top - 256
    codes.append(257)
    out = bytearray()
    buffer = bits = 0
    table, width = 258, 9
    for position, code in enumerate(codes):
        buffer = (buffer << width) | code
        bits += width
        while bits >= 8:
            bits -= 8
            out.append((buffer >> bits) & 0xFF)
        buffer &= (1 << bits) - 1
        if code == 256:
            table, width = 258, 9
            continue
        if position > 1 and table < 4096:
            table += 1
        if table + 1 >= (1 << width) and width < 12:
            width += 1
    if bits:
        out.append((buffer << (8 - bits)) & 0xFF)
    return bytes(out)
