"""Field photos: accept an uploaded JPEG/PNG by its content, keep its GPS and time, store a clean JPEG.

Flask-free on purpose (only the lazy messages come from flask_babel) so the web form, the CLI and tests can
share it. The stored JPEG carries no metadata at all: phone EXIF holds the device, the owner's name and
sometimes where else the phone has been, and none of that should reach the map.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import threading
import unicodedata
import warnings
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from PIL import Image, ImageCms, ImageOps

MAX_PHOTO_BYTES = 10 * 1024 * 1024  # per file, before processing
MAX_PHOTOS_PER_UPDATE = 6
MAX_PIXELS = 40_000_000  # decompression-bomb guard (a JPEG is decoded at 1/2..1/8 scale: see _decode)
# A PNG cannot be decoded at a reduced scale: all its pixels are in memory at once (4 bytes each with alpha).
# 16 Mpx is 64 MB decoded; a 6300x6300 RGBA PNG (154 KB on disk, under MAX_PIXELS) used to cost ~740 MB.
MAX_PNG_PIXELS = 16_000_000
# One photo decoded at a time per worker process: six 40 Mpx photos in parallel requests must not add up.
_DECODE_SLOT = threading.BoundedSemaphore(1)
STORED_MAX_SIDE = 2048  # longer side after re-encoding
THUMB_MAX_SIDE = 320

MAX_NAME_LENGTH = 120
# MPO is what Pillow calls a JPEG with extra frames (depth maps, previews): many phones write those
_ACCEPTED_FORMATS = ("JPEG", "MPO", "PNG")
_GPS_IFD, _EXIF_IFD, _DATETIME_ORIGINAL = 0x8825, 0x8769, 0x9003
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@dataclass(frozen=True)
class ProcessedPhoto:
    content: bytes  # re-encoded JPEG without any metadata
    thumbnail: bytes  # JPEG, longer side THUMB_MAX_SIDE at most
    content_type: str
    width: int  # of content
    height: int
    byte_size: int  # len(content)
    sha256: str  # hex of content
    original_name: str  # for display only: never use it as a path
    gps_lat: float | None  # WGS84 decimal degrees, from the original's EXIF
    gps_lon: float | None
    taken_at: datetime | None  # EXIF DateTimeOriginal, naive: phones write local time without a zone


class PhotoRejected(ValueError):
    """The upload is not an acceptable photo; ``message`` is for the user (a lazy translation: str() it)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def process_photo(data: bytes, filename: str) -> ProcessedPhoto:
    name = clean_name(filename)
    if not data:
        raise PhotoRejected(_l("%(name)s is empty", name=name))
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoRejected(_l("%(name)s is larger than %(mb)d MB", name=name, mb=MAX_PHOTO_BYTES // 2**20))
    # Pillow reports corrupt metadata through warnings (noise: the pixels are what matter) and huge images
    # through DecompressionBombWarning, made an error here so that it is rejected like the rest. Warning
    # filters are process-wide (as is Image.MAX_IMAGE_PIXELS, which is left alone), but only for this block.
    with _DECODE_SLOT, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        original = _decode(data, name)
        gps_lat, gps_lon = _gps(original)
        taken_at = _taken_at(original)
        image = _normalise(original)
        del original  # the full-size pixels go before the next photo is decoded
        content = _jpeg(image)
        width, height = image.size
        image.thumbnail((THUMB_MAX_SIDE, THUMB_MAX_SIDE), Image.Resampling.LANCZOS)
    return ProcessedPhoto(
        content=content,
        thumbnail=_jpeg(image),
        content_type="image/jpeg",
        width=width,
        height=height,
        byte_size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        original_name=name,
        gps_lat=gps_lat,
        gps_lon=gps_lon,
        taken_at=taken_at,
    )


def clean_name(filename: str) -> str:
    """The client's file name, fit to show: basename, NFC (iOS sends decomposed Vietnamese), no control or
    bidi-override characters (they can disguise an extension), at most MAX_NAME_LENGTH characters."""
    name = re.split(r"[\\/]", unicodedata.normalize("NFC", filename or ""))[-1]  # some browsers send a path
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    if len(name) > MAX_NAME_LENGTH:
        stem, dot, ext = name.rpartition(".")
        keep = dot + ext if dot and len(ext) <= 10 else ""
        name = name[: MAX_NAME_LENGTH - len(keep)] + keep
    return name or "photo"


def _decode(data: bytes, name: str) -> Image.Image:
    too_big = _l(
        "%(name)s is too large an image (%(mp)d megapixels at most)", name=name, mp=MAX_PIXELS // 10**6
    )
    try:
        # formats= makes Pillow try only these decoders: the content decides, never the name or declared type
        image = Image.open(io.BytesIO(data), formats=["JPEG", "PNG"])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoRejected(too_big) from None
    except Exception:  # UnidentifiedImageError, or a plugin choking on a broken header
        raise PhotoRejected(_l("%(name)s is not a JPEG or PNG photo", name=name)) from None
    if image.format not in _ACCEPTED_FORMATS:
        raise PhotoRejected(_l("%(name)s is not a JPEG or PNG photo", name=name))
    if image.width * image.height > MAX_PIXELS:  # the header is read, no pixel decoded yet
        raise PhotoRejected(too_big)
    if image.format == "PNG" and image.width * image.height > MAX_PNG_PIXELS:
        raise PhotoRejected(
            _l(
                "%(name)s is too large a PNG (%(mp)d megapixels at most, as a PNG is decoded at full size): "
                "send the photo as a JPEG, or a smaller image",
                name=name,
                mp=MAX_PNG_PIXELS // 10**6,
            )
        )
    try:
        if image.format != "PNG":
            # decode big JPEGs at 1/2..1/8 scale (still ≥ STORED_MAX_SIDE): less memory and CPU
            image.draft("RGB", (STORED_MAX_SIDE, STORED_MAX_SIDE))
        image.load()  # raises on truncated data: ImageFile.LOAD_TRUNCATED_IMAGES stays False
    except Exception:  # decoders raise OSError, SyntaxError, ValueError, struct.error… on broken data
        raise PhotoRejected(_l("%(name)s is damaged or incomplete", name=name)) from None
    return image


def _gps(image: Image.Image) -> tuple[float | None, float | None]:
    try:
        gps = image.getexif().get_ifd(_GPS_IFD)
        lat = _degrees(gps.get(2), gps.get(1), "N", "S", 90)
        lon = _degrees(gps.get(4), gps.get(3), "E", "W", 180)
    except Exception:  # corrupt EXIF must never cost an otherwise good photo
        return None, None
    if lat is None or lon is None or (lat == 0 and lon == 0):  # 0,0 is what some cameras write with no fix
        return None, None
    return lat, lon


def _degrees(dms: Any, ref: Any, positive: str, negative: str, limit: float) -> float | None:
    """EXIF degrees/minutes/seconds rationals (some writers give fewer parts) to signed decimal degrees."""
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "replace")
    ref = str(ref or "").strip("\x00 ").upper()
    parts = [float(v) for v in (dms if isinstance(dms, tuple) else (dms,))] if dms is not None else []
    if ref not in (positive, negative) or not 1 <= len(parts) <= 3 or min(parts) < 0:
        return None
    value = sum(part / 60**i for i, part in enumerate(parts))  # a 0 denominator gives nan: caught below
    if not math.isfinite(value) or value > limit:
        return None
    return -value if ref == negative else value


def _taken_at(image: Image.Image) -> datetime | None:
    try:
        raw = image.getexif().get_ifd(_EXIF_IFD).get(_DATETIME_ORIGINAL)
        if isinstance(raw, bytes):
            raw = raw.decode("ascii", "replace")
        # "2025:03:14 09:26:53", sometimes with dashes, a NUL or sub-second digits; "0000:00:00…" fails here
        return datetime.strptime(str(raw).strip("\x00 ")[:19].replace("-", ":"), "%Y:%m:%d %H:%M:%S")
    except Exception:
        return None


def _normalise(image: Image.Image) -> Image.Image:
    """Upright, sRGB, opaque RGB, at most STORED_MAX_SIDE, with no info left to leak into the JPEG."""
    icc = image.info.get("icc_profile")
    if image.mode in ("I", "I;16", "I;16B", "I;16L"):  # 16-bit grey PNG: a plain convert clips it to white
        image = image.convert("I").point(lambda v: v / 256).convert("L")
    elif image.mode not in (
        "RGB",
        "RGBA",
        "L",
        "LA",
        "CMYK",
    ):  # palette or bilevel: resize needs real colours
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    # Scale down first, while only one full-size copy exists: every later step works on ≤ STORED_MAX_SIDE
    # (thumbnail() works in place and keeps the EXIF for the orientation below).
    if max(image.size) > STORED_MAX_SIDE:
        image.thumbnail((STORED_MAX_SIDE, STORED_MAX_SIDE), Image.Resampling.LANCZOS)
    try:
        image = ImageOps.exif_transpose(image)  # before the EXIF goes, or portrait photos end up sideways
    except Exception:
        image = image.copy()  # a corrupt orientation tag: keep the photo as it was stored
    if image.has_transparency_data:  # RGBA, LA, PA, or a tRNS colour: transparent parts become white
        image = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image.convert("RGBA"))
    if image.mode not in ("RGB", "CMYK"):
        image = image.convert("RGB")
    if icc:
        try:  # e.g. Display P3 from iPhones: convert so that colours stay right once the profile is gone
            converted = ImageCms.profileToProfile(
                image, ImageCms.ImageCmsProfile(io.BytesIO(icc)), _SRGB, outputMode="RGB"
            )
            image = converted or image  # None only when converting in place, which this does not ask for
        except Exception:  # unusable or mismatched profile: take the pixels as sRGB
            pass
    if image.mode != "RGB":
        image = image.convert("RGB")
    image.info = {}  # JPEG save copies some of im.info (the comment) by itself
    return image


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=82, optimize=True, progressive=True)
    return out.getvalue()
