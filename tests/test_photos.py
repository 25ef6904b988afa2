"""Field photo processing: content-based validation, metadata stripping, GPS/time extraction. No database."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from datetime import datetime
from fractions import Fraction

import pytest
from PIL import Image, ImageCms, TiffImagePlugin

from khgeo.services.photos import (
    MAX_PHOTO_BYTES,
    MAX_PIXELS,
    STORED_MAX_SIDE,
    THUMB_MAX_SIDE,
    PhotoRejected,
    ProcessedPhoto,
    clean_name,
    process_photo,
)

LAT, LON = 21.2125, 106.1065  # Bắc Giang
ORIENTATION, GPS_IFD, EXIF_IFD, DATETIME_ORIGINAL = 0x0112, 0x8825, 0x8769, 0x9003


def _rational(value: float) -> TiffImagePlugin.IFDRational:
    fraction = Fraction(value).limit_denominator(10_000)
    return TiffImagePlugin.IFDRational(fraction.numerator, fraction.denominator)


def _dms(value: float) -> tuple[TiffImagePlugin.IFDRational, ...]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round((value - degrees - minutes / 60) * 3600, 4)
    return (_rational(degrees), _rational(minutes), _rational(seconds))


def _exif(lat: float | None = LAT, lon: float | None = LON, orientation: int | None = 6) -> Image.Exif:
    exif = Image.Exif()
    if orientation:
        exif[ORIENTATION] = orientation
    if lat is not None and lon is not None:
        gps = exif.get_ifd(GPS_IFD)
        gps[1], gps[2] = ("N" if lat >= 0 else "S"), _dms(abs(lat))
        gps[3], gps[4] = ("E" if lon >= 0 else "W"), _dms(abs(lon))
    exif.get_ifd(EXIF_IFD)[DATETIME_ORIGINAL] = "2025:03:14 09:26:53"
    return exif


def _two_halves(size: tuple[int, int] = (400, 200)) -> Image.Image:
    """Left half red, right half blue: shows which way a photo was turned."""
    image = Image.new("RGB", size, (220, 0, 0))
    image.paste((0, 0, 220), (size[0] // 2, 0, size[0], size[1]))
    return image


def _save(image: Image.Image, fmt: str = "JPEG", **params) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **params)
    return out.getvalue()


def _bilevel_png(width: int, height: int) -> bytes:
    """A valid all-black 1-bit PNG: a few kB however many pixels it claims (a decompression bomb)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = bytes(1 + (width + 7) // 8) * height  # filter byte 0 + packed bits, per row
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def _assert_clean_jpeg(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    assert not image.getexif()
    assert not {"exif", "icc_profile", "comment", "xmp", "dpi"} & set(image.info)
    for marker in (b"Exif", b"ICC_PROFILE", b"http://ns.adobe.com/xap/", b"secret"):
        assert marker not in data
    return image


@pytest.fixture(scope="module")
def phone_jpeg() -> bytes:
    data = _save(_two_halves(), exif=_exif(), comment=b"secret owner", quality=95)
    exif = Image.open(io.BytesIO(data)).getexif()  # the fixture itself must carry what the tests rely on
    assert exif[ORIENTATION] == 6
    gps = exif.get_ifd(GPS_IFD)
    assert (gps[1], gps[3]) == ("N", "E")
    assert abs(sum(float(v) / 60**i for i, v in enumerate(gps[2])) - LAT) < 1e-6
    assert abs(sum(float(v) / 60**i for i, v in enumerate(gps[4])) - LON) < 1e-6
    return data


def test_phone_jpeg_is_upright_clean_and_keeps_gps(phone_jpeg: bytes) -> None:
    photo = process_photo(phone_jpeg, "IMG_0042.jpg")
    assert isinstance(photo, ProcessedPhoto)
    assert photo.content_type == "image/jpeg"
    assert photo.original_name == "IMG_0042.jpg"
    assert photo.gps_lat == pytest.approx(LAT, abs=1e-6)
    assert photo.gps_lon == pytest.approx(LON, abs=1e-6)
    assert photo.taken_at == datetime(2025, 3, 14, 9, 26, 53)
    stored = _assert_clean_jpeg(photo.content)
    # orientation 6 = turn 90° clockwise: 400×200 becomes 200×400 and the left (red) half ends up on top
    assert stored.size == (photo.width, photo.height) == (200, 400)
    red, _, blue = stored.convert("RGB").getpixel((100, 50))
    assert red > 180 and blue < 60
    red, _, blue = stored.convert("RGB").getpixel((100, 350))
    assert blue > 180 and red < 60
    assert photo.byte_size == len(photo.content)
    assert photo.sha256 == hashlib.sha256(photo.content).hexdigest()
    thumb = _assert_clean_jpeg(photo.thumbnail)
    assert thumb.size == (THUMB_MAX_SIDE // 2, THUMB_MAX_SIDE)


def test_large_photo_is_downscaled_and_thumbnailed() -> None:
    photo = process_photo(_save(_two_halves((3000, 1500)), exif=_exif(orientation=None)), "wide.jpg")
    assert (photo.width, photo.height) == (STORED_MAX_SIDE, STORED_MAX_SIDE // 2)
    assert Image.open(io.BytesIO(photo.content)).size == (STORED_MAX_SIDE, STORED_MAX_SIDE // 2)
    thumb = _assert_clean_jpeg(photo.thumbnail)
    assert max(thumb.size) == THUMB_MAX_SIDE
    assert thumb.size == (THUMB_MAX_SIDE, THUMB_MAX_SIDE // 2)


def test_xmp_and_icc_are_dropped() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://ns.adobe.com/xap/1.0/">secret'
    data = _save(_two_halves(), icc_profile=srgb, xmp=xmp + b"</rdf:RDF></x:xmpmeta>")
    assert b"ICC_PROFILE" in data and b"http://ns.adobe.com/xap/" in data
    _assert_clean_jpeg(process_photo(data, "p.jpg").content)


def test_garbage_icc_profile_is_ignored() -> None:
    photo = process_photo(_save(_two_halves(), icc_profile=b"not a profile" * 20), "p.jpg")
    _assert_clean_jpeg(photo.content)


def test_png_with_alpha_is_flattened_on_white() -> None:
    image = Image.new("RGBA", (200, 100), (0, 0, 0, 0))
    image.paste((0, 160, 0, 255), (100, 0, 200, 100))
    photo = process_photo(_save(image, "PNG"), "screenshot.png")
    stored = _assert_clean_jpeg(photo.content)
    assert stored.mode == "RGB" and stored.size == (200, 100)
    assert all(channel > 240 for channel in stored.getpixel((20, 50)))
    red, green, blue = stored.getpixel((180, 50))
    assert green > 130 and red < 40 and blue < 40
    assert (photo.gps_lat, photo.gps_lon, photo.taken_at) == (None, None, None)


def test_sixteen_bit_grey_png_keeps_its_tones() -> None:
    photo = process_photo(_save(Image.new("I;16", (50, 50), 32768), "PNG"), "scan.png")
    assert Image.open(io.BytesIO(photo.content)).convert("L").getpixel((25, 25)) == pytest.approx(128, abs=3)


def test_multi_picture_jpeg_from_phones_is_accepted() -> None:
    out = io.BytesIO()
    _two_halves().save(out, "MPO", save_all=True, append_images=[Image.new("RGB", (100, 50))])
    assert Image.open(io.BytesIO(out.getvalue())).format == "MPO"
    photo = process_photo(out.getvalue(), "depth.jpg")
    assert (photo.width, photo.height) == (400, 200)


@pytest.mark.parametrize(
    ("lat", "lon"), [(-33.8688, -151.2093), (LAT, -0.5), (-0.25, LON)], ids=["SW", "W", "S"]
)
def test_southern_and_western_coordinates_are_negative(lat: float, lon: float) -> None:
    photo = process_photo(_save(_two_halves(), exif=_exif(lat, lon)), "p.jpg")
    assert (photo.gps_lat, photo.gps_lon) == (pytest.approx(lat, abs=1e-6), pytest.approx(lon, abs=1e-6))


def _with_gps(tags: dict[int, object]) -> bytes:
    exif = _exif(orientation=None)
    exif.get_ifd(GPS_IFD).update(tags)
    return _save(_two_halves(), exif=exif)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(_with_gps({2: _dms(95.0)}), id="latitude-over-90"),
        pytest.param(_with_gps({4: _dms(181.0)}), id="longitude-over-180"),
        pytest.param(_with_gps({1: "X"}), id="bad-reference"),
        pytest.param(_with_gps({2: (TiffImagePlugin.IFDRational(21, 0),) * 3}), id="zero-denominator"),
        pytest.param(_save(_two_halves(), exif=_exif(0.0, 0.0)), id="null-island"),
        pytest.param(
            _save(_two_halves(), exif=b"Exif\x00\x00II*\x00\xff\xff\xff\x7fgarbage"), id="corrupt-exif"
        ),
    ],
)
def test_bad_gps_is_ignored_not_fatal(data: bytes) -> None:
    photo = process_photo(data, "p.jpg")
    assert (photo.gps_lat, photo.gps_lon) == (None, None)
    _assert_clean_jpeg(photo.content)


def _truncated_jpeg() -> bytes:
    data = _save(Image.effect_noise((600, 400), 60).convert("RGB"), quality=95)
    return data[: len(data) // 2]


REJECTED = [
    pytest.param(b"Hello, this is not a photo.\n" * 10, "photo.jpg", "is not a JPEG or PNG photo", id="text"),
    pytest.param(_truncated_jpeg(), "cut.jpg", "is damaged or incomplete", id="truncated-jpeg"),
    pytest.param(
        _save(_two_halves(), "PNG")[:300], "cut.png", "is damaged or incomplete", id="truncated-png"
    ),
    pytest.param(_save(_two_halves(), "GIF"), "anim.jpg", "is not a JPEG or PNG photo", id="gif"),
    pytest.param(_save(_two_halves(), "BMP"), "p.png", "is not a JPEG or PNG photo", id="bmp"),
    pytest.param(
        b'<svg xmlns="http://www.w3.org/2000/svg"/>', "v.svg", "is not a JPEG or PNG photo", id="svg"
    ),
    pytest.param(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "scan.pdf", "is not a JPEG or PNG photo", id="pdf"),
    pytest.param(b"\xff\xd8\xff\xe0", "stub.jpg", "is not a JPEG or PNG photo", id="jpeg-magic-only"),
    pytest.param(b"", "empty.jpg", "is empty", id="empty"),
    pytest.param(
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(MAX_PHOTO_BYTES),
        "huge.jpg",
        "is larger than 10 MB",
        id="oversized",
    ),
    pytest.param(_bilevel_png(9000, 9000), "bomb.png", "megapixels at most", id="bomb-81mp"),
    # above Pillow's own limits: 100 Mpx makes it warn, 190 Mpx makes it raise; both must be rejections
    pytest.param(_bilevel_png(10_000, 10_000), "bomb.png", "megapixels at most", id="bomb-pillow-warning"),
    pytest.param(_bilevel_png(13_800, 13_800), "bomb.png", "megapixels at most", id="bomb-pillow-error"),
]
if "WEBP" in Image.SAVE:
    REJECTED.append(
        pytest.param(_save(_two_halves(), "WEBP"), "p.jpg", "is not a JPEG or PNG photo", id="webp")
    )


@pytest.mark.parametrize(("data", "filename", "expected"), REJECTED)
def test_rejected_uploads_name_the_file(data: bytes, filename: str, expected: str) -> None:
    with pytest.raises(PhotoRejected) as caught:
        process_photo(data, filename)
    message = str(caught.value.message)
    assert filename in message and expected in message
    assert str(caught.value) == message


def test_bomb_fixture_is_really_over_the_limit() -> None:
    image = Image.open(io.BytesIO(_bilevel_png(9000, 9000)))
    assert image.width * image.height > MAX_PIXELS
    assert image.format == "PNG" and image.mode == "1"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("IMG_0042.jpg", "IMG_0042.jpg"),
        ("C:\\Users\\an\\DCIM\\site.jpg", "site.jpg"),
        ("../../etc/passwd", "passwd"),
        ("a\x00b\x1fc\u202egpj.exe", "abcgpj.exe"),
        ("a\u0309nh.jpg", "ảnh.jpg"),  # iOS sends NFD
        ("", "photo"),
        ("dir/", "photo"),
        ("x" * 300 + ".jpeg", "x" * 115 + ".jpeg"),
    ],
)
def test_original_name_is_sanitised(raw: str, expected: str) -> None:
    assert clean_name(raw) == expected
    assert len(clean_name(raw)) <= 120
