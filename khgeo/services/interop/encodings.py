"""Text encodings of import files: DBF/CSV that are not UTF-8 need their encoding named, and names written in the
legacy Vietnamese font encodings (TCVN3/ABC, VNI) or UTF-8 read as Windows-1252 are recognised (text_problem).
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from pathlib import Path

from flask_babel import lazy_gettext as _l

from khgeo.services.interop.source import COPY_CHUNK, EncodingNeeded


# -- text encodings ---------------------------------------------------------------------------------------------
def _utf8_ok(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a UTF-8 character cut by a fixed-width DBF field is not a wrong encoding
        return exc.reason == "unexpected end of data" and exc.start >= len(raw) - 3
    return True


def dbf_text_is_utf8(dbf: Path) -> bool:
    """Whether every text field of a dBASE file decodes as UTF-8 (pure ASCII does)."""
    with open(dbf, "rb") as handle:
        header = handle.read(32)
        if len(header) < 32:
            return True
        records = int.from_bytes(header[4:8], "little")
        header_length = int.from_bytes(header[8:10], "little")
        record_length = int.from_bytes(header[10:12], "little")
        text_fields = []
        offset = 1  # the deletion flag
        while handle.tell() + 32 <= header_length:
            descriptor = handle.read(32)
            if len(descriptor) < 32 or descriptor[0] == 0x0D:
                break
            width = descriptor[16]
            if chr(descriptor[11]) == "C":
                text_fields.append((offset, width))
            offset += width
        if not text_fields or record_length <= 0:
            return True
        handle.seek(header_length)
        for _ in range(records):
            record = handle.read(record_length)
            if len(record) < record_length:
                break
            for start, width in text_fields:
                if not _utf8_ok(record[start : start + width].rstrip(b" \x00")):
                    return False
    return True


def sibling_file(path: Path, suffix: str) -> Path | None:
    for candidate in path.parent.iterdir():
        if candidate.stem == path.stem and candidate.suffix.lower() == suffix:
            return candidate
    return None


def shapefile_encoding(shp: Path, encoding: str | None) -> str | None:
    """The encoding to read a Shapefile's DBF with: the one given, else its .cpg's, else UTF-8 if the text is."""
    if encoding:
        return encoding
    if sibling_file(shp, ".cpg") is not None:
        return None  # GDAL reads the .cpg
    dbf = sibling_file(shp, ".dbf")
    if dbf is None or dbf_text_is_utf8(dbf):
        return "UTF-8"
    raise EncodingNeeded(
        _l(
            "The Shapefile has no .cpg file saying how its text is encoded, and the text is not UTF-8. "
            "Name the encoding (for example cp1258, Windows Vietnamese). If the names were typed with a TCVN3 (ABC) "
            "or VNI font, convert the file to Unicode first (for example with Unikey's converter)."
        )
    )


def decode_text(data: bytes, encoding: str | None, what: str) -> str:
    try:
        text = data.decode(encoding or "utf-8-sig")
    except UnicodeDecodeError:
        if encoding:
            raise EncodingNeeded(
                _l("The %(what)s file cannot be read as %(encoding)s.", what=what, encoding=encoding)
            ) from None
        raise EncodingNeeded(
            _l(
                "The %(what)s file is not UTF-8: save it as UTF-8, or name its encoding (for example cp1258, Windows Vietnamese).",
                what=what,
            )
        ) from None
    return unicodedata.normalize("NFC", text)


def utf8_geojson(path: Path, workdir: Path, encoding: str | None) -> Path:
    """GeoJSON is UTF-8 by definition; a file in another encoding is re-encoded when its encoding is named."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(COPY_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        return path
    except UnicodeDecodeError:
        pass
    if not encoding or encoding == "utf-8":
        raise EncodingNeeded(_l("The GeoJSON file is not UTF-8: save it as UTF-8, or name its encoding."))
    workdir.mkdir(parents=True, exist_ok=True)
    target = workdir / "recoded.geojson"
    target.write_text(decode_text(path.read_bytes(), encoding, "GeoJSON"), encoding="utf-8")
    return target


# The letters of Vietnamese that only Unicode has (ă đ ĩ ũ ơ ư and every precomposed tone mark, U+1EA0–U+1EF9)
_UNICODE_VIETNAMESE = re.compile("[ĂăĐđĨĩŨũƠơƯư\u1ea0-\u1ef9]")
# Latin-1 letters Vietnamese uses; every other character of U+00A1–U+00FF (and the soft hyphen) in a name is a
# byte of a TCVN3 (ABC) or VNI font shown as Windows-1252: "§ång §×nh" is Đồng Đình in TCVN3, "Ñoàng" in VNI.
_VIETNAMESE_LATIN1 = set("àáâãèéêìíòóôõùúýÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝ")
_LEGACY_FONT_CHARS = {chr(code) for code in range(0xA1, 0x100)} - _VIETNAMESE_LATIN1
# VNI writes Đ/đ as Ñ/ñ and tone marks as separate bytes after the vowel ("chaøo" is chào)
_VNI_HINT = re.compile("[Ññ]|[aeiouyAEIOUY][øùûõï]")


def text_problem(text: str) -> str | None:
    """What is wrong with a name's encoding: "mojibake" (UTF-8 shown as Windows-1252), "tcvn3", "vni", or None."""
    if not text or text.isascii():
        return None
    for legacy in ("cp1252", "latin-1"):
        try:
            repaired = text.encode(legacy).decode("utf-8")
        except UnicodeError:
            continue
        if repaired != text:
            return "mojibake"
    if _UNICODE_VIETNAMESE.search(text) or not any(ch in _LEGACY_FONT_CHARS for ch in text):
        return None
    return "vni" if _VNI_HINT.search(text) else "tcvn3"
