"""Photos of findings: read the GPS position from EXIF, then store them without metadata.

A phone photo's EXIF tells where and when it was taken, with which device, and often
more (owner name, serial number). We read the GPS position once, so the form can
offer it as the finding's place, and then store only the pixels: the photo is decoded,
turned upright (the EXIF orientation), shrunk to at most :data:`MAX_SIDE` pixels and
written as a new JPEG without EXIF, XMP, ICC profile or comments.

Photos are JPEG or PNG up to :data:`MAX_PHOTO_BYTES`; anything else, a file that
does not decode, or one with more than :data:`MAX_PIXELS` pixels (a "decompression
bomb") is refused with a Swedish message.
"""

from __future__ import annotations

import io
import logging
import os
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from layers.core.errors import TrygghetskartanError

LOGGER = logging.getLogger(__name__)

#: Largest photo file accepted.
MAX_PHOTO_BYTES = 10 * 1024 * 1024
#: Largest photo accepted, in pixels (a 48-megapixel phone camera is below).
MAX_PIXELS = 60_000_000
#: The stored photo's longest side, in pixels.
MAX_SIDE = 2560
#: JPEG quality of stored photos.
JPEG_QUALITY = 85
ACCEPTED_FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "MPO": "JPEG"}
#: The file name of a stored photo: a random hex id and ".jpg".
PHOTO_NAME_LENGTH = 32 + 4


class PhotoRejected(TrygghetskartanError):
    """The photo cannot be used (message in Swedish)."""


@dataclass(frozen=True)
class CleanPhoto:
    """A photo ready to store: JPEG bytes without metadata, and where it was taken."""

    jpeg: bytes
    #: (latitude, longitude) in WGS 84 from the original's EXIF, or None.
    gps: tuple[float, float] | None
    width: int
    height: int


def _rational(value: object) -> float:
    if isinstance(value, tuple) and len(value) == 2:  # (numerator, denominator)
        num, den = value
        return float(num) / float(den) if den else float("nan")
    return float(value)  # type: ignore[arg-type]


def _degrees(dms: object, ref: object, negative: str) -> float | None:
    try:
        d, m, s = (_rational(v) for v in dms)  # type: ignore[union-attr]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    value = d + m / 60 + s / 3600
    if str(ref).strip().upper().startswith(negative):
        value = -value
    return value


def gps_of(image: Image.Image) -> tuple[float, float] | None:
    """Return (lat, lon) from an opened image's EXIF GPS tags, or None."""
    try:
        gps = image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    except Exception:  # broken EXIF is common and never a reason to refuse a photo
        LOGGER.info("unreadable EXIF", exc_info=True)
        return None
    lat_dms, lon_dms = gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLongitude)
    if lat_dms is None or lon_dms is None:
        return None
    lat = _degrees(lat_dms, gps.get(ExifTags.GPS.GPSLatitudeRef, "N"), "S")
    lon = _degrees(lon_dms, gps.get(ExifTags.GPS.GPSLongitudeRef, "E"), "W")
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    if lat == 0 and lon == 0:  # cameras without a fix write zeros
        return None
    return (round(lat, 7), round(lon, 7))


def _open(data: bytes) -> Image.Image:
    if not data:
        raise PhotoRejected("Fotot är tomt.")
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoRejected(f"Fotot är för stort ({len(data) / 1e6:.1f} MB); högst "
                            f"{MAX_PHOTO_BYTES / 1024 / 1024:.0f} MB tas emot.")
    try:
        with warnings.catch_warnings():
            # our own pixel limit below decides, with a Swedish message
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise PhotoRejected("Fotot är för stort (för många bildpunkter).") from exc
    except (UnidentifiedImageError, OSError) as exc:
        raise PhotoRejected("Filen är ingen bild som kan läsas. Välj ett foto i "
                            "JPEG- eller PNG-format.") from exc
    if image.format not in ACCEPTED_FORMATS:
        raise PhotoRejected(f"Fotot är i formatet {image.format}; bara JPEG och PNG tas "
                            "emot.")
    width, height = image.size
    # checked before decoding: a small file can claim a huge image
    if width * height > MAX_PIXELS:
        raise PhotoRejected(f"Fotot är för stort ({width}×{height} bildpunkter); högst "
                            f"{MAX_PIXELS // 1_000_000} miljoner bildpunkter tas emot.")
    return image


def read_gps(data: bytes) -> tuple[float, float] | None:
    """Return (lat, lon) from a photo's EXIF without decoding its pixels, or None."""
    try:
        return gps_of(_open(data))
    except PhotoRejected:
        return None


def clean_photo(data: bytes) -> CleanPhoto:
    """Read a photo's GPS position and re-encode it as a JPEG without any metadata.

    Raises :class:`PhotoRejected` for a file that is not a usable JPEG/PNG photo.
    """
    image = _open(data)
    gps = gps_of(image)
    try:
        upright = ImageOps.exif_transpose(image)
        upright.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise PhotoRejected("Fotot är skadat och kan inte läsas.") from exc
    if upright.mode in ("RGBA", "LA", "PA") or (upright.mode == "P"
                                                 and "transparency" in upright.info):
        # transparent parts on white, as a JPEG has no transparency
        rgba = upright.convert("RGBA")
        pixels = Image.new("RGB", rgba.size, "white")
        pixels.paste(rgba, mask=rgba.getchannel("A"))
    else:
        pixels = upright.convert("RGB")
    pixels.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    # a new image holds only pixels: no EXIF, XMP, ICC profile or comment is carried
    bare = Image.new("RGB", pixels.size)
    bare.paste(pixels)
    out = io.BytesIO()
    bare.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return CleanPhoto(out.getvalue(), gps, bare.width, bare.height)


def store_photo(folder: Path, photo: CleanPhoto) -> str:
    """Write a cleaned photo to ``folder`` under a new random name and return the name.

    The file is written under a temporary name and renamed, so a reader never sees
    half a photo.
    """
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{uuid.uuid4().hex}.jpg"
    tmp = folder / f".{name}.part"
    tmp.write_bytes(photo.jpeg)
    os.replace(tmp, folder / name)
    return name


def is_photo_name(name: str) -> bool:
    """Tell whether ``name`` is a name :func:`store_photo` gives (safe as a path)."""
    stem, dot, ext = name.partition(".")
    return (len(name) == PHOTO_NAME_LENGTH and dot == "." and ext == "jpg"
            and all(c in "0123456789abcdef" for c in stem))
