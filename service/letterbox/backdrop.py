"""The background pictures are shown on, and laying a picture with transparency over it.

A transparent pixel still carries a colour, which no viewer shows but any program can read: a
message written in fully transparent pixels looks blank to the moderator and reappears as soon
as something drops the alpha channel. So transparency is resolved once, at intake, the way the
moderator's page resolves it (pictures sit on white: ``.staff-picture`` in
web/static/css/letterbox.css), and every copy made afterwards (the moderator's, the redacted one,
the delivered one) is that same opaque picture.
"""

from __future__ import annotations

from PIL import Image

PICTURE_BACKGROUND: tuple[int, int, int] = (255, 255, 255)
"""White, as behind every picture on the moderator's page."""

_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "La", "RGBa"})
_KEYED_MODES = frozenset({"P", "L", "RGB", "1", "I", "I;16"})


def has_transparency(picture: Image.Image) -> bool:
    """Whether the picture has an alpha channel or a transparent colour (PNG tRNS)."""
    return picture.mode in _ALPHA_MODES or (
        "transparency" in picture.info and picture.mode in _KEYED_MODES
    )


def flatten(picture: Image.Image) -> Image.Image:
    """A new opaque RGB picture: the picture laid over the background, where a fully transparent
    pixel is exactly the background and a half-transparent one is blended as a browser does."""
    if not has_transparency(picture):
        return picture.convert("RGB")
    rgba = picture if picture.mode == "RGBA" else picture.convert("RGBA")
    ground = Image.new("RGB", rgba.size, PICTURE_BACKGROUND)
    ground.paste(rgba, (0, 0), rgba)
    return ground
