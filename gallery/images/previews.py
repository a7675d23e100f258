"""Link-preview images for chat apps: a 1200×630 contact sheet of a gallery, or one image fitted to 1200×630."""

import io
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

from gallery.flux.models import Status
from gallery.images.pipeline import ThumbnailError, open_image, upright

WIDTH, HEIGHT = 1200, 630  # the Open Graph size chat apps show without cropping
GAP = 6
MAX_TILES = 9
VERSION = "1"  # bump when the drawing changes, so cached previews and link-preview caches refresh

# Tile colours (background, ink) for tasks without an image: the same calm tones the gallery's status cards use.
TILE_COLOURS = {
    "pending": ((255, 244, 220), (138, 90, 0)),
    "failed": ((253, 236, 238), (180, 35, 44)),
    "unknown": ((238, 240, 244), (91, 99, 113)),
    "unavailable": ((238, 240, 244), (91, 99, 113)),
    "broken": ((238, 240, 244), (91, 99, 113)),
}
BROKEN = "Image unavailable"  # a done task's image that could not be loaded; every other tile names a status


@dataclass(frozen=True)
class Tile:
    """One cell of a contact sheet: image bytes for a done image, or a status drawn as a labelled tile."""

    kind: str  # "image", "broken", or a Status
    data: bytes | None = None


def grid_for(count: int) -> tuple[int, int]:
    """Columns and rows for `count` tiles on a 1200×630 sheet, keeping tiles close to square."""
    return {1: (1, 1), 2: (2, 1), 3: (3, 1), 4: (2, 2), 5: (3, 2), 6: (3, 2), 7: (4, 2), 8: (4, 2)}.get(
        count, (3, 3))


def contact_sheet(tiles: list[Tile], max_pixels: int) -> bytes:
    """A JPEG contact sheet of up to nine tiles, each image cropped to fill its cell."""
    tiles = tiles[:MAX_TILES] or [Tile("unknown")]
    columns, rows = grid_for(len(tiles))
    sheet = Image.new("RGB", (WIDTH, HEIGHT), (24, 27, 34))
    cell_w = (WIDTH - GAP * (columns + 1)) // columns
    cell_h = (HEIGHT - GAP * (rows + 1)) // rows
    for n, tile in enumerate(tiles):
        x = GAP + (n % columns) * (cell_w + GAP)
        y = GAP + (n // columns) * (cell_h + GAP)
        sheet.paste(_cell(tile, (cell_w, cell_h), max_pixels), (x, y))
    return _jpeg(sheet)


def fitted(data: bytes, max_pixels: int) -> bytes:
    """One image, whole, centred on a blurred copy of itself at 1200×630."""
    image = _rgb(data, max_pixels)
    backdrop = ImageOps.fit(image, (WIDTH // 8, HEIGHT // 8)).filter(ImageFilter.GaussianBlur(3))
    backdrop = backdrop.resize((WIDTH, HEIGHT), Image.Resampling.BICUBIC)
    backdrop = Image.blend(backdrop, Image.new("RGB", backdrop.size, (0, 0, 0)), 0.35)
    front = ImageOps.contain(image, (WIDTH, HEIGHT), Image.Resampling.LANCZOS)
    backdrop.paste(front, ((WIDTH - front.width) // 2, (HEIGHT - front.height) // 2))
    return _jpeg(backdrop)


def _cell(tile: Tile, size: tuple[int, int], max_pixels: int) -> Image.Image:
    """One tile's picture: the image cropped to fill, or a status card."""
    if tile.kind == "image" and tile.data:
        try:
            return ImageOps.fit(_rgb(tile.data, max_pixels), size, Image.Resampling.LANCZOS)
        except ThumbnailError:
            tile = Tile("broken")
    kind = tile.kind if tile.kind in TILE_COLOURS else Status.UNKNOWN
    background, ink = TILE_COLOURS[kind]
    label = BROKEN if kind == "broken" else Status(kind).label
    cell = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(cell)
    font = ImageFont.load_default(size=max(16, min(size) // 9))
    box = draw.textbbox((0, 0), label, font=font)
    draw.text(((size[0] - (box[2] - box[0])) // 2, (size[1] - (box[3] - box[1])) // 2), label, font=font, fill=ink)
    return cell


def _rgb(data: bytes, max_pixels: int) -> Image.Image:
    """Decoded, upright RGB pixels of untrusted image bytes."""
    image = open_image(data, max_pixels)
    try:
        image.draft("RGB", (WIDTH, HEIGHT))
        return upright(image).convert("RGB")
    except (OSError, ValueError, SyntaxError) as error:
        raise ThumbnailError(f"the image is damaged ({error})") from None


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, optimize=True, progressive=True)
    return out.getvalue()
