"""The gallery grid's geometry as static/style.css lays it out, turned into the card images' `sizes` attribute.

A browser picks a thumbnail from `srcset` before it lays the page out, so `sizes` must tell it how wide a card's
image will be at every viewport width. The grid's columns are `repeat(auto-fill, minmax(…))` between clamped
paddings and gaps, so their width is a step function of the viewport; this module works it out from the same
numbers as the stylesheet (tests/browser checks it against the real layout in Chromium).
"""

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Clamp:
    """A CSS clamp(low px, vw vw, high px)."""

    low: float
    vw: float
    high: float

    def at(self, viewport: float) -> tuple[float, float]:
        """At `viewport` px wide, the value as (share of the viewport, px): exactly one of them is not 0."""
        fluid = self.vw / 100 * viewport
        if fluid <= self.low:
            return 0.0, self.low
        if fluid >= self.high:
            return 0.0, self.high
        return self.vw / 100, 0.0


@dataclass(frozen=True)
class Columns:
    """`.grid`'s columns at viewports up to `up_to` px: minmax(min(100%, `least` px), 1fr), `gap` apart."""

    up_to: float
    least: float
    gap: Clamp


# The numbers in static/style.css: `main`'s side padding and `.page-gallery main`'s max-width, `.grid`'s
# columns and gaps (the phone rule under @media (max-width: 520px)), and `.card`'s border.
PADDING = Clamp(14, 3, 40)
MAX_WIDTH = 2560
COLUMNS = (Columns(520, 150, Clamp(10, 0, 10)), Columns(math.inf, 236, Clamp(12, 1.4, 20)))
BORDER = 1


def image_width(viewport: float) -> tuple[float, float]:
    """A card image's width at a viewport `viewport` px wide, as (share of the viewport, px)."""
    columns = next(columns for columns in COLUMNS if viewport <= columns.up_to)
    outer = (0.0, float(MAX_WIDTH)) if viewport >= MAX_WIDTH else (1.0, 0.0)
    pad, gap = PADDING.at(viewport), columns.gap.at(viewport)
    content = [outer[i] - 2 * pad[i] for i in (0, 1)]
    inside = content[0] * viewport + content[1]
    gap_px = gap[0] * viewport + gap[1]
    count = max(1, math.floor((inside + gap_px) / (columns.least + gap_px)))
    share, px = ((content[i] - (count - 1) * gap[i]) / count for i in (0, 1))
    return share, px - 2 * BORDER


def grid_sizes(widest: int = MAX_WIDTH) -> str:
    """The `sizes` attribute for a card image: one (max-width) condition per stretch of viewport widths over
    which the width follows one formula, then the width past the grid's max-width."""
    entries: list[str] = []
    last = image_width(1)
    for viewport in range(2, widest + 1):
        width = image_width(viewport)
        if width != last:
            entries.append(f"(max-width: {viewport - 1}px) {_length(*last)}")
            last = width
    entries.append(_length(*last))
    return ", ".join(entries)


def _length(share: float, px: float) -> str:
    """A CSS length of `share` of the viewport plus `px`: "176px", "50vw", "calc(47vw - 7px)"."""
    vw, px = round(share * 100, 3), round(px, 2)
    if not vw:
        return f"{px:g}px"
    if not px:
        return f"{vw:g}vw"
    return f"calc({vw:g}vw {'-' if px < 0 else '+'} {abs(px):g}px)"


# Every card image of every gallery has this `sizes`; "auto" first lets browsers that can (card images are
# lazy-loaded, which it needs) use the laid-out width itself, and the others read the list after it.
GRID_SIZES = "auto, " + grid_sizes()


# ---- The image-first grid (`.grid--images`): justified rows ------------------------------------------------
#
# Each tile's flex-grow and flex-basis are its aspect ratio (basis = ratio × the row height), so every line of
# the flex-wrapped grid stretches its tiles by one common factor and they keep their shape and one height. The
# page's CSP allows no style attribute, and CSS cannot read a number from a data- attribute in every browser, so
# the ratio comes from a class: one per bucket, 1% apart (a tile is at most 0.5% off its image's shape), each
# setting `--ar`. style.css holds the rules `ratio_css()` writes (tests/web/test_layout.py keeps them in step).

RATIO_STEP = 1.01
RATIO_STEPS = 139  # RATIO_STEP ** 139 ≈ 4: from 1:4 to 4:1; anything narrower or wider gets the end bucket
# Every ratio a tile may take, to three decimals (what `--ar` holds and the script reads back from the class).
RATIOS = tuple(round(RATIO_STEP ** step, 3) for step in range(-RATIO_STEPS, RATIO_STEPS + 1))
# `.grid--images`' row height in static/style.css: a phone has rows of two or three, a laptop of five or six.
ROW_HEIGHT = "clamp(96px, 10vw + 60px, 240px)"


def ratio_bucket(width: float, height: float) -> float:
    """The bucket of RATIOS nearest to width / height (in proportion, not in difference)."""
    step = round(math.log(width / height) / math.log(RATIO_STEP))
    return RATIOS[min(max(step, -RATIO_STEPS), RATIO_STEPS) + RATIO_STEPS]


def ratio_class(width: float, height: float) -> str:
    """The class that gives a tile the shape width × height: "ar1778" sets `--ar: 1.778`."""
    return f"ar{round(ratio_bucket(width, height) * 1000)}"


def ratio_css() -> str:
    """The rules of every ratio class, one line each, as style.css holds them."""
    return "\n".join(f".ar{round(ratio * 1000)} {{ --ar: {ratio:g}; }}" for ratio in RATIOS)


def tile_sizes(ratio: float) -> str:
    """The `sizes` of an image-first tile of shape `ratio`: the laid-out width where the browser can use it
    ("auto", lazy images), else its basis (ratio × row height), never wider than the viewport. A full line
    stretches its tiles by up to about a third more; with thumbnails of 384 and 768 px, the basis picks the
    smaller wherever it is about sharp enough, and the first screenful loads sooner for it."""
    return f"auto, min(100vw, calc({ratio:g} * {ROW_HEIGHT}))"
