"""Sphinx extension: a notebook's figure is never shown so small that its text is unreadable.

The figures are drawn at 100 dpi with text of at least 8 pt (tests/test_figures.py), 11.1
pixels of the image. Shrunk to a phone's column (about 360 px for an 800-px figure) that text
would be 5 px. Each output image gets a minimum width of MIN_SCALE times its own width, so
its smallest text stays at least MIN_TEXT_PX CSS pixels; where the column is narrower, the
figure scrolls sideways in its box (custom.css) and the page does not. On a wide screen the
minimum is below the column's width and changes nothing.
"""
import math
import re
import struct
from pathlib import Path

DPI = 100
SMALLEST_PT = 8
MIN_TEXT_PX = 7
MIN_SCALE = MIN_TEXT_PX / (SMALLEST_PT / 72 * DPI)  # 0.63
# MyST-NB names an output image by the SHA-256 of its bytes
OUTPUT_IMAGE = re.compile(r'<img ([^>]*?)src="([^"]*?/_images/([0-9a-f]{64})\.png)"')


def png_width(path: Path) -> int:
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG file")
    return struct.unpack(">I", head[16:20])[0]


def min_width_px(width: int) -> int:
    return math.ceil(width * MIN_SCALE)


def with_min_widths(body: str, source_of) -> str:
    """`body` with a min-width style on each output image; `source_of(name)` is the file."""
    def add(match):
        attributes, src, digest = match.groups()
        width = png_width(source_of(f"{digest}.png"))
        return (f'<img {attributes}style="min-width: {min_width_px(width)}px" '
                f'src="{src}"')
    return OUTPUT_IMAGE.sub(add, body)


def add_min_widths(app, pagename, templatename, context, doctree):
    if "body" not in context:
        return
    sources = {Path(dest).name: Path(app.srcdir, src)
               for src, dest in app.builder.images.items()}
    context["body"] = with_min_widths(context["body"], sources.__getitem__)


def setup(app):
    app.connect("html-page-context", add_min_widths)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
