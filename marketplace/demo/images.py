"""Product pictures for the demo catalog, drawn with Pillow: no photographs ship with the project.

Each picture is a coloured card with a simple drawing of what the product is (a fertiliser sack, a pesticide
bottle, a seed packet, a fruit, a shirt…) and the product's short Chinese name. The colours come from the
SKU, so two products of the same shape still look different. A second, "label" picture lists a few facts
from the product's label (registration number, standard, composition…), the way a merchant would photograph
the back of a bag.

Chinese text needs a CJK font. The usual Noto CJK locations are tried, then ``fc-list``; without one the
cards are drawn without text (the shape and colours still tell products apart).
"""

from __future__ import annotations

import colorsys
import functools
import hashlib
import io
import logging
import math
import shutil
import subprocess
import threading
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

log = logging.getLogger(__name__)

#: Side of the square pictures, in pixels, unless asked otherwise.
SIZE = 800

_FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)


@functools.cache
def cjk_font_path() -> str | None:
    """A font file that can draw Chinese, or None. Looked up once per process."""
    for candidate in _FONT_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    if shutil.which("fc-list"):
        try:
            listed = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=10,
                                    check=False).stdout
        except (OSError, subprocess.SubprocessError):
            listed = ""
        files = sorted(line.split(":", 1)[0].strip() for line in listed.splitlines() if line.strip())
        if files:
            return files[0]
    log.info("no CJK font found: demo product pictures are drawn without text")
    return None


_fonts = threading.local()  # FreeType faces must not be shared between threads: one set per thread


def _font(size: int) -> ImageFont.FreeTypeFont | None:
    path = cjk_font_path()
    if path is None:
        return None
    cache = _fonts.__dict__.setdefault("by_size", {})
    if size not in cache:
        try:
            # Basic layout: Chinese and digits need no shaping, and it is many times faster than raqm.
            cache[size] = ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.BASIC)
        except OSError:
            log.info("the CJK font %s cannot be loaded: demo pictures are drawn without text", path)
            cache[size] = None
    return cache[size]


# -- colours --------------------------------------------------------------------------------------------------

def _rgb(hue: float, saturation: float, lightness: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hls_to_rgb(hue % 1.0, lightness, saturation)
    return round(r * 255), round(g * 255), round(b * 255)


class Palette:
    """Background, main colour, a darker shade and an accent, all from one key (the SKU)."""

    def __init__(self, key: str, hue: float | None = None):
        digest = hashlib.sha256(key.encode("utf-8")).digest()
        self.hue = hue if hue is not None else digest[0] / 255
        jitter = (digest[1] / 255 - 0.5) * 0.1  # products of one shop still differ in colour
        self.hue = (self.hue + jitter) % 1.0
        self.background = _rgb(self.hue, 0.45, 0.93)
        self.band = _rgb(self.hue, 0.40, 0.85)
        self.main = _rgb(self.hue, 0.55 + digest[2] / 255 * 0.25, 0.45 + digest[3] / 255 * 0.12)
        self.dark = _rgb(self.hue, 0.55, 0.25)
        self.accent = _rgb(self.hue + 0.45 + digest[4] / 255 * 0.1, 0.65, 0.55)
        self.light = _rgb(self.hue, 0.30, 0.97)
        self.variety = digest[5]  # small per-product changes to the drawing


# -- drawing at any size ---------------------------------------------------------------------------------------

#: The drawings are laid out on an 800 × 800 grid; a Canvas scales them to the size asked for.
GRID = 800


class Canvas:
    """ImageDraw with coordinates, line widths and type sizes on the 800-unit grid, scaled to the image."""

    def __init__(self, image: Image.Image):
        self.draw = ImageDraw.Draw(image)
        self.scale = image.width / GRID

    def _xy(self, coords):
        s = self.scale
        if coords and isinstance(coords[0], tuple | list):
            return [(x * s, y * s) for x, y in coords]
        return [c * s for c in coords]

    def _w(self, width: float) -> int:
        return max(1, round(width * self.scale))

    def polygon(self, points, fill=None, outline=None, width=1):
        self.draw.polygon(self._xy(points), fill=fill, outline=outline, width=self._w(width))

    def rectangle(self, box, fill=None, outline=None, width=1):
        self.draw.rectangle(self._xy(box), fill=fill, outline=outline, width=self._w(width))

    def rounded_rectangle(self, box, radius=0, fill=None, outline=None, width=1):
        self.draw.rounded_rectangle(self._xy(box), radius=radius * self.scale, fill=fill, outline=outline,
                                    width=self._w(width))

    def ellipse(self, box, fill=None, outline=None, width=1):
        self.draw.ellipse(self._xy(box), fill=fill, outline=outline, width=self._w(width))

    def chord(self, box, start, end, fill=None, outline=None, width=1):
        self.draw.chord(self._xy(box), start, end, fill=fill, outline=outline, width=self._w(width))

    def arc(self, box, start, end, fill=None, width=1):
        self.draw.arc(self._xy(box), start, end, fill=fill, width=self._w(width))

    def line(self, points, fill=None, width=1, joint=None):
        self.draw.line(self._xy(points), fill=fill, width=self._w(width), joint=joint)

    def font(self, size: float) -> ImageFont.FreeTypeFont | None:
        return _font(max(6, round(size * self.scale)))

    def textlength(self, text: str, font) -> float:
        return self.draw.textlength(text, font=font) / self.scale

    def text(self, xy, text: str, font, fill, anchor: str | None = None) -> None:
        self.draw.text((xy[0] * self.scale, xy[1] * self.scale), text, font=font, fill=fill, anchor=anchor)


# -- shapes ---------------------------------------------------------------------------------------------------
# Each takes the drawing, the box it may fill (left, top, right, bottom) and the palette.

def _sack(d: Canvas, box, p: Palette, label: str = "") -> None:
    x0, y0, x1, y1 = box
    w = x1 - x0
    body = [(x0 + w * 0.08, y0 + 40), (x1 - w * 0.08, y0 + 40), (x1, y1 - 30), (x1 - 20, y1), (x0 + 20, y1),
            (x0, y1 - 30)]
    d.polygon(body, fill=p.main, outline=p.dark, width=6)
    d.rectangle([x0 + w * 0.08, y0, x1 - w * 0.08, y0 + 44], fill=p.dark)
    for x in range(int(x0 + w * 0.1), int(x1 - w * 0.1), 26):  # stitching across the top
        d.line([(x, y0 + 22), (x + 12, y0 + 22)], fill=p.light, width=4)
    lx0, ly0, lx1, ly1 = x0 + w * 0.18, y0 + (y1 - y0) * 0.32, x1 - w * 0.18, y0 + (y1 - y0) * 0.72
    d.rounded_rectangle([lx0, ly0, lx1, ly1], radius=18, fill=p.light, outline=p.dark, width=4)
    d.ellipse([lx0 + 20, ly0 + 20, lx0 + 70, ly0 + 70], fill=p.accent)
    _text_centre(d, ((lx0 + lx1) / 2, (ly0 + ly1) / 2 + 10), label, 58, p.dark, max_width=lx1 - lx0 - 30)


def _bottle(d, box, p: Palette, label: str = "") -> None:
    x0, y0, x1, y1 = box
    cx, w = (x0 + x1) / 2, (x1 - x0) * 0.62
    d.rectangle([cx - w * 0.18, y0, cx + w * 0.18, y0 + 60], fill=p.dark)
    d.rectangle([cx - w * 0.14, y0 + 60, cx + w * 0.14, y0 + 120], fill=p.main)
    d.rounded_rectangle([cx - w / 2, y0 + 110, cx + w / 2, y1], radius=50, fill=p.main, outline=p.dark, width=6)
    ly0, ly1 = y0 + (y1 - y0) * 0.42, y0 + (y1 - y0) * 0.78
    d.rectangle([cx - w / 2 + 6, ly0, cx + w / 2 - 6, ly1], fill=p.light)
    d.rectangle([cx - w / 2 + 6, ly1 - 26, cx + w / 2 - 6, ly1], fill=p.accent)  # the category colour band
    _text_centre(d, (cx, (ly0 + ly1) / 2 - 12), label, 48, p.dark, max_width=w - 30)


def _packet(d, box, p: Palette, label: str = "") -> None:
    x0, y0, x1, y1 = box
    w = x1 - x0
    px0, px1 = x0 + w * 0.15, x1 - w * 0.15
    teeth = [(px0, y0 + 30)]
    steps = 14
    for i in range(1, steps + 1):
        teeth.append((px0 + (px1 - px0) * i / steps, y0 + (0 if i % 2 else 30)))
    outline = teeth + [(px1, y1), (px0, y1)]
    d.polygon(outline, fill=p.main, outline=p.dark, width=5)
    cx, cy = (px0 + px1) / 2, y0 + (y1 - y0) * 0.42
    r = (px1 - px0) * 0.26
    d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=p.light)
    for i in range(7):  # seeds in the window
        angle = i / 7 * math.tau + p.variety / 40
        sx, sy = cx + math.cos(angle) * r * 0.55, cy + math.sin(angle) * r * 0.55
        d.ellipse([sx - 16, sy - 10, sx + 16, sy + 10], fill=p.accent, outline=p.dark, width=2)
    _text_centre(d, (cx, y0 + (y1 - y0) * 0.8), label, 54, p.light, max_width=px1 - px0 - 30)


def _fruit(d, box, p: Palette, label: str = "") -> None:
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 + 20
    count = 1 + p.variety % 3
    r = (x1 - x0) * (0.36 if count == 1 else 0.26)
    centres = [(cx, cy)] if count == 1 else [(cx - r * 0.75, cy + r * 0.25), (cx + r * 0.75, cy + r * 0.25)]
    if count == 3:
        centres.append((cx, cy - r * 0.6))
    for fx, fy in centres:
        d.ellipse([fx - r, fy - r, fx + r, fy + r], fill=p.main, outline=p.dark, width=5)
        d.ellipse([fx - r * 0.55, fy - r * 0.6, fx - r * 0.2, fy - r * 0.25], fill=p.light)  # shine
        d.line([(fx, fy - r), (fx + 8, fy - r - 40)], fill=p.dark, width=8)
        d.ellipse([fx + 8, fy - r - 50, fx + 70, fy - r - 20], fill=_rgb(0.3, 0.5, 0.4))


def _bowl(d, box, p: Palette, label: str = "") -> None:
    x0, y0, x1, y1 = box
    cy = y0 + (y1 - y0) * 0.45
    d.chord([x0, cy - (y1 - cy), x1, y1], start=0, end=180, fill=p.main, outline=p.dark, width=6)
    d.ellipse([x0, cy - 40, x1, cy + 40], fill=p.accent, outline=p.dark, width=6)
    for i in range(3):  # steam
        sx = x0 + (x1 - x0) * (0.3 + i * 0.2)
        d.arc([sx - 30, y0, sx + 30, cy - 80], start=200, end=340, fill=p.dark, width=6)
        d.arc([sx - 30, y0 + 60, sx + 30, cy - 50], start=20, end=160, fill=p.dark, width=6)


def _bun(d, box, p: Palette, label: str = "") -> None:
    x0, y0, x1, y1 = box
    d.ellipse([x0, y0 + 80, x1, y1 - 40], fill=p.main, outline=p.dark, width=6)
    d.ellipse([x0 + 30, y0 + 100, x1 - 30, y1 - 80], fill=p.accent)
    for i in range(24):  # sesame
        angle = i * 2.4 + p.variety
        rr = 60 + (i * 37) % 170
        sx, sy = (x0 + x1) / 2 + math.cos(angle) * rr, (y0 + y1) / 2 + math.sin(angle) * rr * 0.55
        d.ellipse([sx - 7, sy - 4, sx + 7, sy + 4], fill=p.light)


def _tin(d, box, p: Palette, label: str = "") -> None:
    x0, y0, x1, y1 = box
    w = (x1 - x0) * 0.6
    cx = (x0 + x1) / 2
    d.rectangle([cx - w / 2, y0 + 50, cx + w / 2, y1 - 40], fill=p.main, outline=p.dark, width=6)
    d.ellipse([cx - w / 2, y1 - 80, cx + w / 2, y1], fill=p.main, outline=p.dark, width=6)
    d.rectangle([cx - w / 2 + 3, y1 - 90, cx + w / 2 - 3, y1 - 40], fill=p.main)
    d.ellipse([cx - w / 2, y0 + 10, cx + w / 2, y0 + 90], fill=p.dark)
    d.rectangle([cx - w / 2 + 6, y0 + 170, cx + w / 2 - 6, y0 + 330], fill=p.light)
    _text_centre(d, (cx, y0 + 250), label, 56, p.dark, max_width=w - 30)


def _cup(d, box, p: Palette, label: str = "") -> None:
    x0, y0, x1, y1 = box
    cx = (x0 + x1) / 2
    d.ellipse([x0, y1 - 80, x1, y1], fill=p.dark)  # saucer
    d.chord([cx - 170, y0 + 40, cx + 170, y1 - 40], start=0, end=180, fill=p.main, outline=p.dark, width=6)
    d.rectangle([cx - 170, y0 + 150, cx + 170, (y0 + y1) / 2 + 40], fill=p.main)
    d.ellipse([cx - 170, y0 + 110, cx + 170, y0 + 190], fill=p.accent, outline=p.dark, width=6)
    d.arc([cx + 130, y0 + 200, cx + 250, y0 + 330], start=270, end=90, fill=p.dark, width=14)


def _shirt(d, box, p: Palette, label: str = "", long: bool = False) -> None:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    cx = (x0 + x1) / 2
    sleeve = 0.5 if long else 0.3
    points = [(cx - w * 0.14, y0), (cx - w * 0.42, y0 + h * 0.1), (cx - w * 0.5, y0 + h * sleeve),
              (cx - w * 0.32, y0 + h * (sleeve + 0.05)), (cx - w * 0.3, y1), (cx + w * 0.3, y1),
              (cx + w * 0.32, y0 + h * (sleeve + 0.05)), (cx + w * 0.5, y0 + h * sleeve),
              (cx + w * 0.42, y0 + h * 0.1), (cx + w * 0.14, y0)]
    d.polygon(points, fill=p.main, outline=p.dark, width=6)
    d.chord([cx - w * 0.14, y0 - h * 0.08, cx + w * 0.14, y0 + h * 0.1], start=0, end=180, fill=p.background,
            outline=p.dark, width=6)
    if long:  # a coat: buttons down the front
        d.line([(cx, y0 + h * 0.1), (cx, y1)], fill=p.dark, width=4)
        for i in range(4):
            by = y0 + h * (0.25 + i * 0.17)
            d.ellipse([cx - 14, by - 14, cx + 14, by + 14], fill=p.accent)
    elif p.variety % 2:  # a stripe across the chest
        d.rectangle([cx - w * 0.3, y0 + h * 0.42, cx + w * 0.3, y0 + h * 0.5], fill=p.accent)


def _coat(d, box, p: Palette, label: str = "") -> None:
    _shirt(d, box, p, label, long=True)


def _dress(d, box, p: Palette, label: str = "") -> None:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    cx = (x0 + x1) / 2
    points = [(cx - w * 0.12, y0), (cx - w * 0.2, y0 + h * 0.05), (cx - w * 0.18, y0 + h * 0.38),
              (cx - w * 0.46, y1), (cx + w * 0.46, y1), (cx + w * 0.18, y0 + h * 0.38), (cx + w * 0.2, y0 + h * 0.05),
              (cx + w * 0.12, y0)]
    d.polygon(points, fill=p.main, outline=p.dark, width=6)
    d.rectangle([cx - w * 0.18, y0 + h * 0.34, cx + w * 0.18, y0 + h * 0.4], fill=p.accent)  # waistband
    for i in range(5):  # a dotted print
        dx = cx + (i - 2) * w * 0.14
        d.ellipse([dx - 12, y0 + h * 0.7 - 12, dx + 12, y0 + h * 0.7 + 12], fill=p.light)


def _trousers(d, box, p: Palette, label: str = "") -> None:
    x0, y0, x1, y1 = box
    w = x1 - x0
    cx = (x0 + x1) / 2
    points = [(cx - w * 0.3, y0), (cx + w * 0.3, y0), (cx + w * 0.36, y1), (cx + w * 0.06, y1), (cx, y0 + 160),
              (cx - w * 0.06, y1), (cx - w * 0.36, y1)]
    d.polygon(points, fill=p.main, outline=p.dark, width=6)
    d.rectangle([cx - w * 0.3, y0, cx + w * 0.3, y0 + 40], fill=p.dark)


def _shoe(d, box, p: Palette, label: str = "") -> None:
    x0, y0, x1, y1 = box
    h = y1 - y0
    top = y0 + h * 0.3
    points = [(x0 + 40, top), (x0 + 220, top), (x0 + 300, y0 + h * 0.55), (x1, y0 + h * 0.62), (x1, y1 - 60),
              (x0, y1 - 60), (x0, top + 40)]
    d.polygon(points, fill=p.main, outline=p.dark, width=6)
    d.rectangle([x0 - 4, y1 - 70, x1 + 4, y1 - 20], fill=p.light, outline=p.dark, width=5)  # sole
    for i in range(4):  # laces
        lx = x0 + 220 + i * 30
        d.line([(lx, y0 + h * 0.42 + i * 12), (lx + 40, y0 + h * 0.38 + i * 12)], fill=p.accent, width=8)


def _scarf(d, box, p: Palette, label: str = "") -> None:
    x0, y0, x1, y1 = box
    for stripe in range(4):
        points = []
        for i in range(21):
            x = x0 + (x1 - x0) * i / 20
            points.append((x, y0 + 140 + stripe * 70 + math.sin(i / 3 + p.variety) * 40))
        colour = p.main if stripe % 2 == 0 else p.accent
        d.line(points, fill=colour, width=64, joint="curve")
    for i in range(8):  # fringe
        fx = x1 - 30
        d.line([(fx, y0 + 120 + i * 36), (fx + 30, y0 + 130 + i * 36)], fill=p.dark, width=5)


def _hat(d, box, p: Palette, label: str = "") -> None:
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2, y0 + (y1 - y0) * 0.65
    d.ellipse([x0, cy - 60, x1, cy + 60], fill=p.dark)
    d.chord([cx - 190, y0 + 60, cx + 190, cy + 160], start=180, end=360, fill=p.main, outline=p.dark, width=6)
    d.rectangle([cx - 188, cy - 40, cx + 188, cy], fill=p.accent)


def _handbag(d, box, p: Palette, label: str = "") -> None:
    x0, y0, x1, y1 = box
    cx, top = (x0 + x1) / 2, y0 + 200
    d.arc([cx - 150, y0 + 40, cx + 150, top + 150], start=180, end=360, fill=p.dark, width=22)
    d.polygon([(x0 + 60, top), (x1 - 60, top), (x1, y1), (x0, y1)], fill=p.main, outline=p.dark, width=6)
    d.rectangle([cx - 40, top + 40, cx + 40, top + 90], fill=p.accent)


def _fabric(d, box, p: Palette, label: str = "") -> None:
    x0, y0, x1, y1 = box
    cy = (y0 + y1) / 2 - 40
    d.rectangle([x0 + 60, cy + 60, x1 - 20, y1 - 10], fill=p.main, outline=p.dark, width=5)  # unrolled length
    for i in range(6):
        y = cy + 90 + i * 40
        d.line([(x0 + 200, y), (x1 - 40, y)], fill=p.accent, width=8)
    d.ellipse([x0, cy - 120, x0 + 240, cy + 180], fill=p.main, outline=p.dark, width=6)  # the bolt's end
    for r in (40, 80, 110):
        d.ellipse([x0 + 120 - r, cy + 30 - r, x0 + 120 + r, cy + 30 + r], outline=p.dark, width=4)


def _book(d, box, p: Palette, label: str = "") -> None:
    x0, y0, x1, y1 = box
    w = x1 - x0
    bx0, bx1 = x0 + w * 0.18, x1 - w * 0.18
    d.rectangle([bx0 + 24, y0 + 24, bx1 + 24, y1], fill=p.dark)  # pages behind
    d.rectangle([bx0, y0, bx1, y1 - 24], fill=p.main, outline=p.dark, width=6)
    d.rectangle([bx0, y0, bx0 + 40, y1 - 24], fill=p.dark)
    d.rectangle([bx0 + 70, y0 + 80, bx1 - 30, y0 + 260], fill=p.light)
    _text_centre(d, ((bx0 + bx1) / 2 + 20, y0 + 170), label, 52, p.dark, max_width=bx1 - bx0 - 120)


def _pen(d, box, p: Palette, label: str = "") -> None:
    x0, y0, x1, y1 = box
    for i in range(3):
        dx = i * 110 - 110
        cx = (x0 + x1) / 2 + dx
        colour = (p.main, p.accent, p.dark)[i]
        d.polygon([(cx - 30, y0 + 40), (cx + 30, y0 + 40), (cx + 30, y1 - 120), (cx, y1), (cx - 30, y1 - 120)],
                  fill=colour, outline=p.dark, width=4)
        d.rectangle([cx - 34, y0 + 20, cx + 34, y0 + 90], fill=p.dark)


def _pillbox(d, box, p: Palette, label: str = "") -> None:
    x0, y0, x1, y1 = box
    d.rectangle([x0 + 40, y0 + 90, x1 - 40, y1 - 20], fill=p.light, outline=p.dark, width=6)
    d.polygon([(x0 + 40, y0 + 90), (x0 + 100, y0 + 30), (x1 + 20, y0 + 30), (x1 - 40, y0 + 90)], fill=p.band,
              outline=p.dark, width=6)
    cx, cy = (x0 + x1) / 2 - 20, y0 + 200
    d.rectangle([cx - 20, cy - 60, cx + 20, cy + 60], fill=p.main)
    d.rectangle([cx - 60, cy - 20, cx + 60, cy + 20], fill=p.main)
    d.rectangle([x0 + 40, y1 - 130, x1 - 40, y1 - 90], fill=p.accent)
    _text_centre(d, (cx + 20, y0 + 300), label, 40, p.dark, max_width=x1 - x0 - 120, max_lines=1)


def _phone(d, box, p: Palette, label: str = "") -> None:
    x0, y0, x1, y1 = box
    cx = (x0 + x1) / 2
    d.rounded_rectangle([cx - 150, y0, cx + 150, y1], radius=40, fill=p.dark)
    d.rounded_rectangle([cx - 132, y0 + 40, cx + 132, y1 - 40], radius=18, fill=p.main)
    d.ellipse([cx - 10, y0 + 14, cx + 10, y0 + 30], fill=p.light)
    d.line([(cx + 40, y0 + 120), (cx + 120, y0 + 40)], fill=p.light, width=10)  # a glint on the glass
    d.ellipse([cx - 60, (y0 + y1) / 2 - 60, cx + 60, (y0 + y1) / 2 + 60], fill=p.accent)


def _sprayer(d, box, p: Palette, label: str = "") -> None:
    x0, y0, x1, y1 = box
    d.rounded_rectangle([x0 + 40, y0 + 80, x0 + 300, y1], radius=40, fill=p.main, outline=p.dark, width=6)
    d.rectangle([x0 + 120, y0 + 40, x0 + 220, y0 + 90], fill=p.dark)
    d.line([(x0 + 280, y1 - 80), (x1 - 120, y1 - 40), (x1, y0 + 80)], fill=p.dark, width=14, joint="curve")
    d.polygon([(x1 - 10, y0 + 60), (x1 + 30, y0 + 50), (x1 + 10, y0 + 110)], fill=p.accent)


def _hoe(d, box, p: Palette, label: str = "") -> None:
    x0, y0, x1, y1 = box
    d.line([(x0 + 80, y1), (x1 - 120, y0 + 80)], fill=_rgb(0.08, 0.45, 0.35), width=26)
    d.polygon([(x1 - 170, y0 + 40), (x1, y0 + 20), (x1 + 10, y0 + 160), (x1 - 120, y0 + 130)], fill=p.main,
              outline=p.dark, width=6)


def _wrench(d, box, p: Palette, label: str = "") -> None:
    """Repairs and services: a phone with a spanner across it."""
    _phone(d, box, p, label)
    x0, y0, x1, y1 = box
    d.line([(x0 + 40, y1 - 60), (x1 - 60, y0 + 80)], fill=p.light, width=34)
    d.ellipse([x1 - 120, y0 + 20, x1 - 10, y0 + 130], fill=p.light)
    d.ellipse([x1 - 85, y0 + 55, x1 - 45, y0 + 95], fill=p.background)


SHAPES = {
    "sack": _sack, "bottle": _bottle, "packet": _packet, "fruit": _fruit, "bowl": _bowl, "bun": _bun, "tin": _tin,
    "cup": _cup, "shirt": _shirt, "coat": _coat, "dress": _dress, "trousers": _trousers, "shoe": _shoe,
    "scarf": _scarf, "hat": _hat, "handbag": _handbag, "fabric": _fabric, "book": _book, "pen": _pen,
    "pillbox": _pillbox, "phone": _phone, "sprayer": _sprayer, "hoe": _hoe, "repair": _wrench,
}


# -- text -----------------------------------------------------------------------------------------------------

def _wrap(d: Canvas, text: str, font, max_width: float) -> list[str]:
    """Break ``text`` into lines no wider than ``max_width``, between any two characters (Chinese has no spaces).

    Widths are summed per character, which is close enough for CJK text and far cheaper than measuring
    every prefix.
    """
    lines, line, width = [], "", 0.0
    for char in text:
        advance = d.textlength(char, font)
        if line and width + advance > max_width:
            lines.append(line.rstrip())
            line, width = ("", 0.0) if char == " " else (char, advance)
        else:
            line, width = line + char, width + advance
    if line:
        lines.append(line)
    return lines


def _text_centre(d: Canvas, centre, text: str, size: int, fill, *, max_width: float, max_lines: int = 2) -> None:
    """Draw ``text`` centred on ``centre``, smaller when it would not fit in ``max_lines`` lines. No font: nothing."""
    if not text:
        return
    text = _plain(text)
    font = d.font(size)
    if font is None:
        return
    length = d.textlength(text, font)
    if length > max_width * max_lines:
        size = max(20, int(size * max_width * max_lines * 0.9 / length))
        font = d.font(size)
    lines = _wrap(d, text, font, max_width)[:max_lines]
    height = size * 1.25
    top = centre[1] - height * len(lines) / 2
    for i, line in enumerate(lines):
        d.text((centre[0], top + height * (i + 0.5)), line, font, fill, anchor="mm")


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


# -- the two pictures -----------------------------------------------------------------------------------------

def product_card(key: str, shape: str, name: str, *, caption: str = "", badge: str = "", hue: float | None = None,
                 size: int = SIZE) -> bytes:
    """The main picture, ``size`` pixels square: the drawing for ``shape`` with ``name`` under it, as JPEG.

    ``key`` (the SKU) picks the colours; ``caption`` is a smaller line under the name (a spec, a price
    unit), ``badge`` a short word in a corner (the shop). ``hue`` (0–1) keeps a shop's products in one
    family of colours.
    """
    palette = Palette(key, hue)
    image = Image.new("RGB", (size, size), palette.background)
    d = Canvas(image)
    d.rectangle([0, 560, GRID, GRID], fill=palette.band)
    offset = (palette.variety * 7) % 80
    for i in range(0, GRID, 80):  # a faint pattern, shifted for each product
        d.line([(i + offset, 0), (i + offset - 120, 120)], fill=palette.light, width=6)
    SHAPES.get(shape, _sack)(d, (180, 90, 620, 540), palette, _short_label(caption))
    _text_centre(d, (GRID / 2, 640), name, 84, palette.dark, max_width=GRID - 100, max_lines=1)
    _text_centre(d, (GRID / 2, 730), caption, 44, palette.dark, max_width=GRID - 120, max_lines=1)
    font = d.font(34) if badge else None
    if font is not None:
        width = d.textlength(badge, font)
        d.rounded_rectangle([30, 30, 30 + width + 40, 90], radius=28, fill=palette.accent)
        d.text((50 + width / 2, 60), badge, font, (255, 255, 255), anchor="mm")
    return _jpeg(image)


def label_card(key: str, shape: str, name: str, facts, *, hue: float | None = None, size: int = SIZE) -> bytes:
    """The second picture: the product's label, ``name`` over a few (label, value) lines, as JPEG.

    Without a CJK font it is the drawing alone, larger and on darker colours, so it still differs from the
    main picture.
    """
    palette = Palette(key + "/label", hue)
    image = Image.new("RGB", (size, size), palette.dark)
    d = Canvas(image)
    font = d.font(30)
    if font is None:
        d.rectangle([60, 60, GRID - 60, GRID - 60], fill=palette.band)
        SHAPES.get(shape, _sack)(d, (160, 120, 640, 680), palette, "")
        return _jpeg(image)
    d.rounded_rectangle([40, 40, GRID - 40, GRID - 40], radius=24, fill=palette.light)
    d.rectangle([40, 40, GRID - 40, 150], fill=palette.main)
    _text_centre(d, (GRID / 2, 95), name, 56, palette.light, max_width=GRID - 140, max_lines=1)
    y = 180
    for label, value in facts:
        head = f"{_plain(label)}："
        indent = 80 + d.textlength(head, font)
        lines = _wrap(d, _plain(value), font, GRID - 80 - indent)[:2]
        if y + 42 * len(lines) > GRID - 90:
            break
        d.text((80, y), head, font, palette.dark)
        for line in lines:
            d.text((indent, y), line, font, (40, 40, 40))
            y += 42
        d.line([(80, y + 2), (GRID - 80, y + 2)], fill=palette.band, width=2)
        y += 12
    d.rectangle([40, GRID - 80, GRID - 40, GRID - 40], fill=palette.accent)
    return _jpeg(image)


#: Subscript digits (P₂O₅) are missing from common CJK fonts: drawn as plain digits.
_SUBSCRIPTS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")


def _plain(text: str) -> str:
    return text.translate(_SUBSCRIPTS)


def _short_label(caption: str) -> str:
    """What fits on the drawn bag or bottle: the caption's first word (a formula like 15-15-15, "40kg")."""
    return caption.split()[0] if caption else ""
