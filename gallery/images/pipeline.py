"""The Pillow pipeline: untrusted image bytes in, a small metadata-free WebP thumbnail out."""

import functools
import io

from PIL import Image, ImageDraw, ImageOps

# Every decoder on this list joins what we must trust with hostile bytes; Flux serves only PNG and JPEG.
FORMATS = ("PNG", "JPEG", "WEBP")
PIPELINE = "2"  # bump when the output changes, so ETags and cached files change with it


class ThumbnailError(Exception):
    """The bytes are not an image this pipeline will decode; the message says why, for a person."""


def open_image(data: bytes, max_pixels: int) -> Image.Image:
    """Open PNG, JPEG or WebP bytes, refusing anything over `max_pixels` (or Pillow's own limit) before it is
    decoded."""
    # Pillow refuses an image over twice its limit and only warns about one between its limit and twice it. The
    # check below refuses those too, whatever the warning filters say: a filter turning the warning into an error
    # would change the whole process, and warnings.catch_warnings() swaps process-wide state that the other
    # decoding threads share.
    limit = min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):  # the warning, where filters raise it
        raise ThumbnailError("the image is too large to decode") from None
    except Image.UnidentifiedImageError:
        raise ThumbnailError("the file is not a PNG, JPEG or WebP image") from None
    except (OSError, ValueError, SyntaxError) as error:
        raise ThumbnailError(f"the image is damaged ({_reason(error)})") from None
    width, height = image.size
    if width * height > limit:
        raise ThumbnailError(f"the image is too large to decode ({width}×{height} pixels)")
    return image


def inspect(data: bytes, max_pixels: int) -> tuple[str, int, int]:
    """Decode the image fully to prove it is whole; its format, width and height."""
    image = open_image(data, max_pixels)
    try:
        image.load()
    except (OSError, ValueError, SyntaxError) as error:
        raise ThumbnailError(f"the image is damaged ({_reason(error)})") from None
    return image.format or "", image.width, image.height


def make_thumbnail(data: bytes, size: int, max_pixels: int) -> bytes:
    """A WebP no larger than `size`×`size`, aspect kept, EXIF orientation applied, no metadata."""
    return make_thumbnails(data, (size,), max_pixels)[size]


def make_thumbnails(data: bytes, sizes: tuple[int, ...], max_pixels: int) -> dict[int, bytes]:
    """WebP thumbnails of every size in `sizes` from one decode: each smaller one is resampled from the largest."""
    image = open_image(data, max_pixels)
    largest = max(sizes)
    try:
        # JPEG can decode at 1/2, 1/4 or 1/8 scale: far less work for a thumbnail of a large photo.
        image.draft("RGB", (largest * 2, largest * 2))
        image = _displayable(upright(image))
        width, height = image.size
        # Measured (make bench): box-reduce to within 2× of the target, then bicubic, looks as good as
        # Lanczos all the way and takes about half the time.
        image.thumbnail((largest, largest), Image.Resampling.BICUBIC, reducing_gap=2.0)
    except (OSError, ValueError, SyntaxError) as error:
        raise ThumbnailError(f"the image is damaged ({_reason(error)})") from None
    out = {}
    for size in sorted(sizes, reverse=True):
        box = _fit(width, height, size)
        # Smaller sizes come from the largest thumbnail, but their dimensions from the original's aspect.
        out[size] = _webp(image if box == image.size else image.resize(box, Image.Resampling.BICUBIC,
                                                                        reducing_gap=2.0))
    return out


def _fit(width: int, height: int, size: int) -> tuple[int, int]:
    """The size of a `width`×`height` image fitted into a `size`×`size` box, never enlarged."""
    if max(width, height) <= size:
        return width, height
    if width >= height:
        return size, max(1, round(height * size / width))
    return max(1, round(width * size / height)), size


def _webp(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    # A fresh save carries no EXIF, ICC or text chunks unless asked to. Method 2 (measured): files within a
    # few percent of method 4's at well under half the encoding time.
    image.save(buffer, "WEBP", quality=82, method=2)
    return buffer.getvalue()


@functools.lru_cache(maxsize=8)
def placeholder(size: int) -> bytes:
    """A calm grey square with a broken-picture mark, shown where an image could not be loaded."""
    image = Image.new("RGB", (size, size), (226, 228, 233))
    draw = ImageDraw.Draw(image)
    unit = size // 8
    box = (size // 2 - 2 * unit, size // 2 - int(1.5 * unit), size // 2 + 2 * unit, size // 2 + int(1.5 * unit))
    draw.rounded_rectangle(box, radius=unit // 3, outline=(150, 154, 164), width=max(2, size // 96))
    draw.line((box[0], box[3], box[2], box[1]), fill=(150, 154, 164), width=max(2, size // 96))
    out = io.BytesIO()
    image.save(out, "WEBP", quality=80)
    return out.getvalue()


def upright(image: Image.Image) -> Image.Image:
    """The image turned as its EXIF orientation says; a damaged EXIF block leaves it as it is."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception:  # noqa: BLE001 - hostile EXIF must cost us the rotation, not the thumbnail
        return image


def _displayable(image: Image.Image) -> Image.Image:
    """RGB or RGBA, so resampling is smooth (palette and 1-bit images would be resized nearest-neighbour)."""
    if image.mode in ("RGB", "RGBA"):
        return image
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        # 16-bit and float greyscale: scale to 8 bits rather than clipping everything to white.
        image = image.convert("I").point(lambda value: value / 256).convert("L")
    has_alpha = "A" in image.getbands() or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


def _reason(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text[:120]
