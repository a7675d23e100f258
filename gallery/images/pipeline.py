"""The Pillow pipeline: untrusted image bytes in, a small metadata-free WebP thumbnail out."""

import functools
import io
from collections.abc import Iterator

from PIL import Image, ImageDraw, ImageOps

# Every decoder on this list joins what we must trust with hostile bytes; Flux serves only PNG and JPEG.
FORMATS = ("PNG", "JPEG", "WEBP")
PIPELINE = "3"  # bump when the output changes, so ETags and cached files change with it


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
    return dict(make_thumbnails(data, (size,), max_pixels))[size]


def make_thumbnails(data: bytes, sizes: tuple[int, ...], max_pixels: int) -> Iterator[tuple[int, bytes]]:
    """(size, WebP) for each of `sizes` in the order given, all from one decode, each made only when asked for."""
    # Lazy, so a caller can send the first size on its way and make the rest later from the same decode. The
    # first size sets how far a JPEG is reduced while decoding; a later size that needs more pixels decodes again.
    image, full = _decode(data, sizes[0], max_pixels)
    for size in sizes:
        box = _fit(*full, size)
        if image.width < box[0] or image.height < box[1]:
            image, full = _decode(data, size, max_pixels)
        yield size, _webp(shrink(image, box))


def shrink(image: Image.Image, box: tuple[int, int]) -> Image.Image:
    """`image` resized to `box`: a box filter to within 2× of it, then Lanczos the rest of the way."""
    if image.size == box:
        return image
    # Measured (make bench, against Lanczos all the way): the box filter costs little and leaves Lanczos a short
    # way to go, faster than bicubic all the way and as close to the reference once encoded as WebP.
    return image.resize(box, Image.Resampling.LANCZOS, reducing_gap=1.0)


def decode(data: bytes, size: int, max_pixels: int) -> Image.Image:
    """The image upright in RGB or RGBA, decoded at no more than a `size`×`size` thumbnail needs."""
    return _decode(data, size, max_pixels)[0]


def _decode(data: bytes, size: int, max_pixels: int) -> tuple[Image.Image, tuple[int, int]]:
    """The decoded image (see decode) and its upright size at full scale, which thumbnail sizes are fitted to."""
    image = open_image(data, max_pixels)
    full = image.size
    try:
        # JPEG can decode at 1/2, 1/4 or 1/8 scale (never below the size asked for): a 1024-px photo becomes a
        # 512-px one for a 384-px thumbnail at a fraction of the work. PNG and WebP decode at full size.
        image.draft("RGB", _fit(*full, size))
        drafted = image.size
        image = upright(image)
        image.load()  # a truncated or damaged file fails here, as a ThumbnailError
        image = _displayable(image)
    except (OSError, ValueError, SyntaxError) as error:
        raise ThumbnailError(f"the image is damaged ({_reason(error)})") from None
    if image.size != drafted:  # turned a quarter by its EXIF orientation
        full = full[::-1]
    return image, full


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
    """The image turned as its EXIF orientation says, in place; a damaged EXIF block leaves it as it is."""
    try:
        # In place: otherwise an image that needs no turning is copied whole (a few ms for a photo).
        ImageOps.exif_transpose(image, in_place=True)
    except Exception:  # noqa: BLE001 - hostile EXIF must cost us the rotation, not the thumbnail
        pass
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
