"""What an uploaded file really is: decoded with Pillow, whatever its name or label says.

Pure functions over bytes (no storage, no Django models): ``image_inspect`` decodes and
describes a photo or raises ``NotAnImage``; ``image_without_location`` rewrites one without
its GPS metadata, keeping the capture time.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from datetime import datetime

from PIL import Image, UnidentifiedImageError

try:  # HEIC/HEIF (iPhones) where the pillow-heif wheel is installed
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_SUPPORTED = True
except ImportError:  # pragma: no cover - the wheel is a dependency; kept for other platforms
    HEIF_SUPPORTED = False

#: Pillow format name -> the one Content-Type a grant may carry for it.
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
if HEIF_SUPPORTED:
    FORMATS["HEIF"] = "image/heic"
#: Content-Types a person's browser may announce, mapped onto the ones above.
ACCEPTED_TYPES = {
    "image/jpeg": "image/jpeg",
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "image/png": "image/png",
    "image/webp": "image/webp",
    **({"image/heic": "image/heic", "image/heif": "image/heic"} if HEIF_SUPPORTED else {}),
}
MAX_PIXELS = 80_000_000  # a 25 MB file cannot hold more real pixels; beyond is a bomb
_GPS_IFD = 0x8825
_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 0x9003
_DATETIME = 0x0132


class NotAnImage(ValueError):
    """The bytes do not decode as a JPEG, PNG, WebP (or HEIC) photo."""


@dataclass(frozen=True)
class ImageFacts:
    content_type: str
    width: int
    height: int
    taken_at: datetime | None
    has_location: bool


def _open(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in FORMATS:
                raise NotAnImage(f"{image.format} files are not accepted.")
            if image.width * image.height > MAX_PIXELS:
                raise NotAnImage("The image is too large.")
            image.load()  # decodes every pixel: a truncated or forged file fails here
            return image
    except NotAnImage:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Warning) as exc:
        raise NotAnImage(str(exc) or type(exc).__name__) from exc


def image_sniff(head: bytes) -> str:
    """The Content-Type the first bytes of a file announce (no full decode), or NotAnImage."""
    try:
        image = Image.open(io.BytesIO(head))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise NotAnImage(str(exc) or type(exc).__name__) from exc
    if image.format not in FORMATS:
        raise NotAnImage(f"{image.format} files are not accepted.")
    return FORMATS[image.format]


def _taken_at(exif: Image.Exif) -> datetime | None:
    raw = exif.get_ifd(_EXIF_IFD).get(_DATETIME_ORIGINAL) or exif.get(_DATETIME)
    try:
        return datetime.strptime(str(raw).strip("\x00 "), "%Y:%m:%d %H:%M:%S") if raw else None
    except ValueError:
        return None


def image_inspect(data: bytes) -> ImageFacts:
    """Decode ``data`` fully and describe it; raises ``NotAnImage`` for anything else."""
    image = _open(data)
    exif = image.getexif()
    return ImageFacts(
        content_type=FORMATS[image.format],
        width=image.width,
        height=image.height,
        taken_at=_taken_at(exif),
        has_location=bool(exif.get_ifd(_GPS_IFD)) or b"GPSLatitude" in data,
    )


def image_without_location(data: bytes) -> bytes:
    """``data`` re-saved without GPS (EXIF GPS IFD and XMP), keeping the capture time.

    JPEGs keep their quantisation tables (``quality="keep"``), so the loss is minimal;
    WebP and HEIC are re-encoded at high quality, PNG losslessly. Idempotent.
    """
    image = _open(data)
    fmt = image.format
    exif = image.getexif()
    if _GPS_IFD in exif:
        del exif[_GPS_IFD]
    image.info.pop("xmp", None)
    image.info.pop("XML:com.adobe.xmp", None)
    out = io.BytesIO()
    options: dict = {"exif": exif.tobytes()}
    if fmt == "JPEG":
        options.update(quality="keep")
    elif fmt in {"WEBP", "HEIF"}:
        options.update(quality=95)
    if "icc_profile" in image.info:
        options["icc_profile"] = image.info["icc_profile"]
    image.save(out, format=fmt, **options)
    return out.getvalue()
