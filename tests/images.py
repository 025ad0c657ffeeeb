"""Real photos for upload tests, made with Pillow: every confirmation decodes what it stores."""

from __future__ import annotations

import io
import os

from PIL import Image

CAPTURED = "2026:06:01 09:59:00"


def photo_bytes(
    fmt: str = "JPEG", *, gps: bool = False, size: tuple[int, int] = (64, 48), noise: bool = False
) -> bytes:
    """A small photo in ``fmt`` with a capture time in its EXIF, and GPS when asked.

    ``noise`` fills it with random pixels, so its file size grows with ``size``.
    """
    if noise:
        image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    else:
        image = Image.new("RGB", size, (30, 90, 160))
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = CAPTURED  # DateTimeOriginal
    if gps:
        where = exif.get_ifd(0x8825)
        where.update({1: "N", 2: (32.0, 42.0, 30.0), 3: "W", 4: (117.0, 10.0, 5.0)})
    out = io.BytesIO()
    image.save(out, format=fmt, exif=exif.tobytes())
    return out.getvalue()


JPEG = photo_bytes("JPEG")
PNG = photo_bytes("PNG")
