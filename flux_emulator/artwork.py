"""Deterministic, pleasant sample artwork for the emulator: soft landscapes drawn with Pillow from a seed."""

from __future__ import annotations

import colorsys
import io
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageOps

RGB = tuple[int, int, int]

MEGAPIXEL = 1024 * 1024
SIZE_STEP = 32
DEFAULT_SIZE = (1024, 1024)
# Flux accepts sizes up to about 1792 px; anything odd is clamped so a bad request cannot cost a huge drawing.
MIN_SIDE, MAX_SIDE = 64, 2048
# Everything is drawn on a small canvas and upscaled: fast, and the upscale is what makes the shapes soft.
WORK_SIDE = 384


def size_for(size: str | None) -> tuple[int, int]:
    """Return the pixel size Flux produces for a request's `size`: "WxH", an "x:y" ratio (~1 MP), or missing."""
    text = (size or "").strip()
    if match := re.fullmatch(r"(\d+)\s*[xX×*]\s*(\d+)", text):
        width, height = (min(MAX_SIDE, max(MIN_SIDE, int(v))) for v in match.groups())
        return width, height
    if match := re.fullmatch(r"(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)", text):
        across, down = (float(v) for v in match.groups())
        if across > 0 and down > 0:
            # Both sides from the area so each is exact for perfect squares (16:9 → 1344x768 after flooring).
            width = math.sqrt(MEGAPIXEL * across / down) + 1e-6
            height = math.sqrt(MEGAPIXEL * down / across) + 1e-6
            return (
                min(MAX_SIDE, max(SIZE_STEP, int(width) // SIZE_STEP * SIZE_STEP)),
                min(MAX_SIDE, max(SIZE_STEP, int(height) // SIZE_STEP * SIZE_STEP)),
            )
    return DEFAULT_SIZE


@dataclass(frozen=True)
class Palette:
    """Colours for one picture: a three-stop sky, the sun or moon, far and near land, and small accents."""

    sky: tuple[RGB, RGB, RGB]
    sun: RGB
    land: tuple[RGB, RGB]
    accents: tuple[RGB, ...]
    night: bool = False


PALETTES: dict[str, Palette] = {
    "dusk": Palette(((38, 34, 92), (226, 112, 96), (255, 200, 130)), (255, 232, 178),
                    ((128, 74, 112), (48, 28, 62)), ((255, 170, 90), (255, 120, 120), (250, 220, 150))),
    "night": Palette(((8, 10, 36), (52, 30, 96), (190, 70, 140)), (238, 234, 214),
                     ((34, 30, 66), (12, 10, 28)), ((255, 90, 180), (80, 220, 255), (255, 190, 80)), night=True),
    "storm": Palette(((44, 52, 66), (108, 118, 130), (176, 174, 160)), (226, 222, 200),
                     ((70, 80, 92), (26, 30, 40)), ((200, 210, 220), (150, 170, 190))),
    "pastel": Palette(((150, 190, 232), (246, 208, 206), (255, 240, 222)), (255, 250, 236),
                      ((150, 184, 182), (98, 140, 146)), ((255, 200, 210), (200, 220, 255), (255, 236, 180))),
    "meadow": Palette(((84, 146, 210), (196, 224, 236), (250, 240, 206)), (255, 250, 222),
                      ((104, 146, 128), (38, 82, 62)), ((176, 140, 220), (250, 220, 120), (255, 255, 255))),
    "winter": Palette(((52, 70, 132), (168, 186, 222), (236, 224, 240)), (255, 244, 226),
                      ((196, 206, 228), (132, 150, 190)), ((255, 210, 150), (220, 236, 255))),
    "sea": Palette(((36, 86, 158), (148, 198, 224), (252, 228, 196)), (255, 246, 220),
                   ((40, 112, 140), (12, 58, 88)), ((255, 255, 255), (120, 220, 230), (255, 210, 160))),
}

# Keyword → palette, first match wins; a few non-Latin words so the multilingual samples get a fitting mood.
MOOD_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # Style words come first: "a lighthouse at dusk, watercolor" should look like a watercolour, not a sunset.
    ("pastel", ("watercolor", "watercolour", "pastel")),
    ("storm", ("storm", "thunder", "ink", "水墨", "云雾")),
    ("night", ("night", "neon", "moon", "stars", "lantern", "bokeh", "提灯", "夜", "ليل")),
    ("winter", ("snow", "winter", "ice", "frost", "雪")),
    ("dusk", ("dusk", "sunset", "sunrise", "dawn", "golden", "desert", "dune", "autumn", "夕暮れ", "غروب",
              "الصحراء")),
    ("storm", ("fog", "mist")),
    ("pastel", ("cat", "soft", "morning", "dream")),
    ("meadow", ("forest", "moss", "lavender", "field", "meadow", "summer", "greenhouse", "garden", "waterfall")),
    ("sea", ("sea", "ocean", "lake", "pond", "koi", "wave", "beach", "harbor", "harbour")),
)

SCENE_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("mountains", ("mountain", "forest", "waterfall", "pine", "cabin", "snow", "山", "alps")),
    ("water", ("lighthouse", "sea", "ocean", "lake", "pond", "koi", "wave", "beach", "harbor", "boat", "小舟")),
    ("dunes", ("desert", "dune", "highway", "sand", "الكثبان", "الصحراء")),
    ("city", ("city", "street", "neon", "tram", "alley", "路地", "kyoto", "京都")),
)


def _mentions(prompt: str, word: str) -> bool:
    """Whether the prompt mentions a word; Latin words must start a word ("alley" is not in "valley")."""
    if word.isascii():
        return re.search(rf"\b{re.escape(word)}", prompt) is not None
    # CJK has no spaces between words, so a plain substring test is the best cheap guess.
    return word in prompt


def _first_match(table: tuple[tuple[str, tuple[str, ...]], ...], prompt: str) -> str | None:
    """Return the key of the first row whose words appear in the prompt."""
    lowered = prompt.lower()
    return next((key for key, words in table if any(_mentions(lowered, word) for word in words)), None)


def _shift_hue(color: RGB, shift: float, gain: float) -> RGB:
    """Rotate a colour's hue and scale its saturation, so one palette yields many related pictures."""
    hue, sat, val = colorsys.rgb_to_hsv(*(c / 255 for c in color))
    red, green, blue = colorsys.hsv_to_rgb((hue + shift) % 1.0, min(1.0, sat * gain), val)
    return round(red * 255), round(green * 255), round(blue * 255)


def pick_palette(prompt: str, rng: random.Random) -> Palette:
    """Choose a palette loosely themed by the prompt, then vary it slightly with the seed."""
    base = PALETTES[_first_match(MOOD_WORDS, prompt) or rng.choice(sorted(PALETTES))]
    shift, gain = rng.uniform(-0.035, 0.035), rng.uniform(0.85, 1.15)

    def tint(colors: tuple[RGB, ...]) -> tuple[RGB, ...]:
        return tuple(_shift_hue(c, shift, gain) for c in colors)

    sky, land = tint(base.sky), tint(base.land)
    return Palette((sky[0], sky[1], sky[2]), base.sun, (land[0], land[1]), tint(base.accents), base.night)


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    """Linear blend of two colours, t=0 gives a."""
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))


def _sky(size: tuple[int, int], palette: Palette, horizon: float) -> Image.Image:
    """A vertical three-stop gradient, built from Pillow's gradient through per-channel lookup tables."""
    top, middle, bottom = palette.sky

    def stop(v: int) -> RGB:
        t = v / 255
        if t < horizon:
            return _mix(top, middle, (t / horizon) ** 0.85)
        return _mix(middle, bottom, min(1.0, (t - horizon) / max(0.05, 1 - horizon) * 1.6))

    colors = [stop(v) for v in range(256)]
    ramp = Image.linear_gradient("L").resize(size, Image.Resampling.BILINEAR)
    return Image.merge("RGB", [ramp.point([c[i] for c in colors]) for i in range(3)])


def _soft_disc(canvas: Image.Image, center: tuple[float, float], radius: float, color: RGB,
               blur: float, strength: int = 255) -> None:
    """Paint a blurred disc of one colour onto the canvas (sun, moon, glow, cloud)."""
    mask = Image.new("L", canvas.size, 0)
    x, y = center
    ImageDraw.Draw(mask).ellipse((x - radius, y - radius, x + radius, y + radius), fill=strength)
    if blur:
        mask = mask.filter(ImageFilter.GaussianBlur(blur))
    canvas.paste(Image.new("RGB", canvas.size, color), (0, 0), mask)


def _ridge(width: int, height: int, base: float, amplitude: float, waves: int,
           rng: random.Random) -> list[tuple[float, float]]:
    """A closed polygon whose top edge is a sum of sines: hills, dunes or mountains by amplitude and waves."""
    terms = [(rng.uniform(0.6, 1.4) * (k + 1), rng.uniform(0, math.tau), amplitude / (k + 1) ** 1.1)
             for k in range(waves)]
    points = [(x, base + sum(a * math.sin(f * x / width * math.pi + p) for f, p, a in terms))
              for x in range(0, width + 4, 4)]
    return [(0, height), *points, (width, height)]


def _layers(canvas: Image.Image, palette: Palette, rng: random.Random, horizon_y: float,
            amplitude: float, waves: int, count: int) -> list[tuple[float, float]]:
    """Draw land layers from far (hazy, close to the sky colour) to near (dark), returning the nearest ridge."""
    width, height = canvas.size
    draw = ImageDraw.Draw(canvas)
    far, near = palette.land
    ridge: list[tuple[float, float]] = []
    for layer in range(count):
        depth = layer / max(1, count - 1)
        base = horizon_y + (height - horizon_y) * (0.05 + 0.45 * depth)
        ridge = _ridge(width, height, base, amplitude * (1.0 - 0.35 * depth), waves, rng)
        color = _mix(_mix(palette.sky[1], far, 0.55), near, depth)
        draw.polygon(ridge, fill=color)
    return ridge


def _hills(canvas: Image.Image, palette: Palette, rng: random.Random, horizon_y: float) -> None:
    """Rolling hills."""
    _layers(canvas, palette, rng, horizon_y, canvas.height * 0.06, 3, 3)


def _dunes(canvas: Image.Image, palette: Palette, rng: random.Random, horizon_y: float) -> None:
    """Long low dunes with a lit crest on the nearest one."""
    ridge = _layers(canvas, palette, rng, horizon_y, canvas.height * 0.05, 2, 4)
    ImageDraw.Draw(canvas).line(ridge[1:-1], fill=_mix(palette.sun, palette.land[1], 0.45), width=1)


def _mountains(canvas: Image.Image, palette: Palette, rng: random.Random, horizon_y: float) -> None:
    """Jagged ranges with a row of small pines on the nearest slope."""
    ridge = _layers(canvas, palette, rng, horizon_y - canvas.height * 0.12, canvas.height * 0.14, 6, 3)
    draw = ImageDraw.Draw(canvas)
    tree = _mix(palette.land[1], (0, 0, 0), 0.35)
    scale = canvas.height / WORK_SIDE
    for x, y in ridge[1:-1:3]:
        if rng.random() < 0.55:
            tall = rng.uniform(8, 18) * scale
            draw.polygon([(x - tall * 0.28, y + 2), (x, y - tall), (x + tall * 0.28, y + 2)], fill=tree)


def _city(canvas: Image.Image, palette: Palette, rng: random.Random, horizon_y: float) -> None:
    """A skyline of blocks with scattered lit windows."""
    width, height = canvas.size
    draw = ImageDraw.Draw(canvas)
    x = -rng.uniform(0, 8)
    while x < width:
        block = rng.uniform(0.05, 0.11) * width
        top = horizon_y - rng.uniform(0.05, 0.35) * height
        draw.rectangle((x, top, x + block, height), fill=_mix(palette.land[0], palette.land[1], rng.random()))
        for _ in range(int(block * (height - top) / 90)):
            wx, wy = rng.uniform(x + 1, x + block - 2), rng.uniform(top + 2, height - 2)
            draw.rectangle((wx, wy, wx + 1, wy + 1), fill=rng.choice(palette.accents))
        x += block + rng.uniform(0, 3)
    draw.rectangle((0, horizon_y + height * 0.12, width, height), fill=palette.land[1])


def _water(canvas: Image.Image, palette: Palette, rng: random.Random, horizon_y: float) -> None:
    """A darkened mirror of the sky with light streaks, like a calm sea at the horizon."""
    width, height = canvas.size
    top = int(horizon_y)
    if top >= height:
        return
    mirror = canvas.crop((0, max(0, 2 * top - height), width, top)).transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    mirror = Image.blend(mirror, Image.new("RGB", mirror.size, palette.land[1]), 0.45)
    canvas.paste(mirror.resize((width, height - top)), (0, top))
    draw = ImageDraw.Draw(canvas)
    for _ in range(int(height * 0.5)):
        y = rng.uniform(top + 1, height)
        x = rng.uniform(-10, width)
        span = rng.uniform(4, 22) * (y - top) / (height - top + 1) + 2
        draw.line((x, y, x + span, y), fill=_mix(palette.sky[2], palette.land[0], rng.uniform(0.2, 0.7)))


SCENES: dict[str, Callable[[Image.Image, Palette, random.Random, float], None]] = {
    "hills": _hills,
    "dunes": _dunes,
    "mountains": _mountains,
    "city": _city,
    "water": _water,
}


def _lighthouse(canvas: Image.Image, palette: Palette, rng: random.Random, horizon_y: float) -> None:
    """A white tower on a dark headland to the right, its lamp lit and throwing a soft beam."""
    width, height = canvas.size
    cx, ground = width * rng.uniform(0.66, 0.78), horizon_y - height * 0.02
    tall, foot = height * 0.22, width * 0.022
    lamp_y = ground - tall - foot * 0.7
    beam = Image.new("L", canvas.size, 0)
    ImageDraw.Draw(beam).polygon([(cx, lamp_y), (0, lamp_y - height * rng.uniform(0.1, 0.25)),
                                  (0, lamp_y + height * 0.08)], fill=60)
    canvas.paste(Image.new("RGB", canvas.size, palette.sun), (0, 0), beam.filter(ImageFilter.GaussianBlur(3)))
    draw = ImageDraw.Draw(canvas)
    draw.polygon([(cx - width * 0.3, height), (cx - width * 0.16, ground + height * 0.06),
                  (cx - width * 0.07, ground + height * 0.005), (cx + width * 0.08, ground),
                  (cx + width * 0.16, ground + height * 0.025), (width, ground + height * 0.05), (width, height)],
                 fill=palette.land[1])
    draw.polygon([(cx - foot, ground + 1), (cx - foot * 0.65, ground - tall), (cx + foot * 0.65, ground - tall),
                  (cx + foot, ground + 1)], fill=(236, 232, 226))
    band = ground - tall * 0.5
    draw.polygon([(cx - foot * 0.84, band), (cx - foot * 0.8, band - tall * 0.14),
                  (cx + foot * 0.8, band - tall * 0.14), (cx + foot * 0.84, band)], fill=(178, 48, 52))
    _soft_disc(canvas, (cx, lamp_y), foot * 0.8, (255, 236, 170), 0.8)
    draw.polygon([(cx - foot * 0.85, lamp_y - foot * 0.6), (cx, lamp_y - foot * 1.6),
                  (cx + foot * 0.85, lamp_y - foot * 0.6)], fill=(60, 40, 44))


def _bokeh(canvas: Image.Image, palette: Palette, rng: random.Random) -> Image.Image:
    """Translucent out-of-focus circles in the accent colours."""
    width, height = canvas.size
    overlay = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for _ in range(rng.randint(12, 26)):
        x, y, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(3, 14) * height / WORK_SIDE
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(*rng.choice(palette.accents), rng.randint(40, 110)))
    overlay = overlay.filter(ImageFilter.GaussianBlur(1.5))
    return Image.alpha_composite(canvas.convert("RGBA"), overlay).convert("RGB")


def _vignette(canvas: Image.Image) -> Image.Image:
    """Darken the corners a little, the way a lens does."""
    falloff = Image.radial_gradient("L").resize(canvas.size, Image.Resampling.BILINEAR)
    shade = falloff.point(lambda v: 255 - max(0, v - 120) * 60 // 135)
    return ImageChops.multiply(canvas, Image.merge("RGB", (shade, shade, shade)))


def paint(seed: int, width: int, height: int, prompt: str = "") -> Image.Image:
    """Draw the picture for a seed at the given size; the prompt only picks mood, scene and motifs."""
    rng = random.Random(seed)
    palette = pick_palette(prompt, rng)
    scene = _first_match(SCENE_WORDS, prompt) or rng.choice(("hills", "dunes", "mountains", "water"))
    scale = WORK_SIDE / max(width, height)
    small = (max(16, round(width * scale)), max(16, round(height * scale)))
    horizon = rng.uniform(0.55, 0.7)
    canvas = _sky(small, palette, horizon)
    sw, sh = small
    horizon_y = sh * horizon

    lighthouse = "lighthouse" in prompt.lower()
    # Keep the sun clear of the lighthouse, which stands on the right.
    sun = (sw * rng.uniform(0.15, 0.45 if lighthouse else 0.85), horizon_y - sh * rng.uniform(0.1, 0.35))
    radius = min(sw, sh) * rng.uniform(0.05, 0.09)
    _soft_disc(canvas, sun, radius * 3.5, palette.sky[2], radius * 2.2, 150)
    if palette.night:
        draw = ImageDraw.Draw(canvas)
        for _ in range(int(sw * sh / 400)):
            x, y = rng.uniform(0, sw), rng.uniform(0, horizon_y * 0.8)
            draw.point((x, y), fill=_mix(palette.sky[0], (255, 255, 255), rng.uniform(0.3, 0.9)))
    _soft_disc(canvas, sun, radius, palette.sun, 0.8)
    for _ in range(rng.randint(1, 4)):
        cloud = (rng.uniform(0, sw), rng.uniform(0, horizon_y * 0.7))
        _soft_disc(canvas, cloud, sw * rng.uniform(0.08, 0.18), _mix(palette.sky[1], palette.sky[2], 0.5),
                   sw * 0.05, rng.randint(50, 110))

    SCENES[scene](canvas, palette, rng, horizon_y)
    if lighthouse:
        _lighthouse(canvas, palette, rng, horizon_y)
    if palette.night or scene == "city" or rng.random() < 0.2:
        canvas = _bokeh(canvas, palette, rng)
    canvas = _vignette(canvas).filter(ImageFilter.GaussianBlur(0.8))
    return canvas.resize((width, height), Image.Resampling.BICUBIC)


@lru_cache(maxsize=96)
def render(seed: int, width: int, height: int, prompt: str = "", fmt: str = "PNG") -> bytes:
    """Encoded bytes of `paint(...)` as PNG or JPEG; cached, since the same arguments give the same bytes."""
    image = paint(seed, width, height, prompt)
    out = io.BytesIO()
    if fmt.upper() in ("JPEG", "JPG"):
        image.save(out, "JPEG", quality=90)
    else:
        # Level 3 keeps encoding of a 1 MP image well under 0.1 s; smooth pictures stay small anyway.
        image.save(out, "PNG", compress_level=3)
    return out.getvalue()


# --- photographic detail, for the thumbnail benchmark ----------------------------------------------------------
# The landscapes above are smooth, which flatters any decoder and resizer: real photographs have detail at every
# scale, hard edges, soft focus and grain. These pictures have all four, and weigh what a photo does on the wire
# (about 2 MB as a 1024×1024 PNG, 350 KB as a JPEG at quality 90).

PHOTOGRAPHS = 8  # distinct pictures; seeds beyond repeat them, so a benchmark of any length draws only these


def _fractal(rng: random.Random, size: tuple[int, int], cells: tuple[int, ...], falloff: float) -> Image.Image:
    """Greyscale noise with detail at every scale: random grids of `cells` squares upscaled, finer ones fainter."""
    out, weight = None, 0.0
    for octave, count in enumerate(cells):
        layer = Image.frombytes("L", (count, count), rng.randbytes(count * count)).resize(size,
                                                                                         Image.Resampling.BICUBIC)
        share = falloff**octave
        out = layer if out is None else Image.blend(out, layer, share / (weight + share))
        weight += share
    return ImageOps.autocontrast(out, cutoff=0.5)


def photograph(seed: int, width: int, height: int) -> Image.Image:
    """A picture with a photograph's detail: textured light and colour, sharp and blurred objects, sensor grain."""
    rng = random.Random(seed % PHOTOGRAPHS)
    size = (width, height)
    light = _fractal(rng, size, (3, 6, 12, 24, 48, 96, 192, 384, 768, 1024), 0.8)
    colour = Image.merge("RGB", [_fractal(rng, size, (2, 4, 8, 16), 0.6) for _ in range(3)])
    image = ImageOps.autocontrast(ImageChops.multiply(colour, Image.merge("RGB", (light,) * 3)), cutoff=0.5)
    textures = [Image.merge("RGB", (_fractal(rng, size, (8, 32, 128, 512), 1.0),) * 3) for _ in range(3)]
    side = min(size)
    for _ in range(24):
        extent = rng.randrange(side // 10, side // 2)
        blur = rng.choice((0, 0, 0, 1, 3, 8))  # most in focus, some soft, a few far out of focus
        margin = 3 * blur
        left, top = rng.randrange(-extent // 2, width), rng.randrange(-extent // 2, height)
        box = (max(0, left - margin), max(0, top - margin), min(width, left + extent + margin),
               min(height, top + extent + margin))
        if box[2] <= box[0] or box[3] <= box[1]:
            continue
        mask = Image.new("L", (box[2] - box[0], box[3] - box[1]), 0)
        draw = ImageDraw.Draw(mask)
        x, y = left - box[0], top - box[1]
        if rng.random() < 0.5:
            draw.ellipse((x, y, x + extent, y + rng.randrange(extent // 3, extent)), fill=255)
        else:
            corners = rng.randrange(3, 7)
            draw.polygon([(x + rng.randrange(extent), y + rng.randrange(extent)) for _ in range(corners)], fill=255)
        if blur:
            mask = mask.filter(ImageFilter.GaussianBlur(blur))
        tint = Image.new("RGB", mask.size, tuple(rng.randrange(256) for _ in range(3)))
        image.paste(ImageChops.overlay(tint, rng.choice(textures).crop(box)), box[:2], mask)
    grain = Image.merge("RGB", [Image.frombytes("L", size, rng.randbytes(width * height)) for _ in range(3)])
    return Image.blend(image, grain, 0.03)


def render_photograph(seed: int, width: int, height: int, fmt: str = "PNG") -> bytes:
    """Encoded bytes of `photograph(...)`: a PNG as Pillow saves it by default, or a JPEG at quality 90."""
    return _render_photograph(seed % PHOTOGRAPHS, width, height, fmt.upper())


@lru_cache(maxsize=4 * PHOTOGRAPHS)  # cached by picture, not by seed: a seed beyond the eight draws nothing new
def _render_photograph(seed: int, width: int, height: int, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt.upper() in ("JPEG", "JPG"):
        photograph(seed, width, height).save(out, "JPEG", quality=90)
    else:
        photograph(seed, width, height).save(out, "PNG")
    return out.getvalue()
