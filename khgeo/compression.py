"""Responses compressed in the app (gzip, brotli) when the client accepts it: khgeo alone, with no proxy in front.

A 1,000-feature OGC API page is 1.45 MiB of GeoJSON; compressed it is 235 KiB (brotli) or 242 KiB (gzip). The
levels were chosen by measuring CPU per page (benchmarks/compression_levels.py, 10,000 zones shaped like the
seeded outlines): brotli quality 1 costs 3.3 ms a page, the cheapest setting under 250 KiB; gzip needs level 5
(15 ms; level 4 leaves 257 KiB, 6 costs 21 ms for 1 % less). Brotli is preferred when the client accepts both.

What is compressed: text types (HTML, JSON, GeoJSON, CSV, CSS, JavaScript, SVG…) of at least MIN_SIZE bytes,
chosen by Accept-Encoding with its q-values (q=0 refuses). Never: already compressed formats (XLSX, DOCX, PNG,
zipped GeoPackage/shapefile…), 206 partial content, HEAD-less bodies (204, 304), or a response that already has a
Content-Encoding. Every compressible type says ``Vary: Accept-Encoding`` so a cache keeps the versions apart.

ETags: a compressed body is another representation, so a strong ETag gets the encoding as a suffix ("5" →
"5-gzip"). Conditional requests name that tag: the suffix is taken off If-None-Match and If-Match before a view
reads them (the version checks of /api/zones see "5"), and put back on a 304's ETag.

Streamed bodies are compressed chunk by chunk, each flushed, so whatever a stream shows progressively still
arrives progressively.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Iterator

import brotli
from flask import Flask, Response, g, request

GZIP_LEVEL = 5
BROTLI_QUALITY = 1
MIN_SIZE = 1024  # smaller bodies fit in a packet or two: compressing them saves nothing worth the CPU
COMPRESSIBLE = frozenset(
    {
        "application/json",
        "application/geo+json",
        "application/javascript",
        "application/xml",
        "application/x-ndjson",
        "application/vnd.oai.openapi+json",
        "image/svg+xml",
        "application/vnd.mapbox-vector-tile",  # protobuf, but mostly repeated keys and small varints: ~-45 %
    }
)
_SUFFIXED_TAG = re.compile(r'"([^"]*)-(gzip|br)"')
_CONDITIONAL_HEADERS = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MATCH")


def compressible(mimetype: str | None) -> bool:
    if not mimetype:
        return False
    return mimetype.startswith("text/") or mimetype.endswith("+json") or mimetype in COMPRESSIBLE


def _quality(accept_encoding, coding: str) -> float:
    """The q-value the client gives ``coding``: its own entry over ``*`` (``gzip;q=0, *`` refuses gzip)."""
    exact = [q for value, q in accept_encoding if value.lower() in (coding, f"x-{coding}")]
    if exact:
        return max(exact)
    return max((q for value, q in accept_encoding if value == "*"), default=0)


def choose_encoding(accept_encoding) -> str | None:
    """ "br", "gzip" or None from a parsed Accept-Encoding ((coding, q-value) pairs, as werkzeug's Accept)."""
    br = _quality(accept_encoding, "br")
    gzip = _quality(accept_encoding, "gzip")
    if br > 0 and br >= gzip:
        return "br"
    if gzip > 0:
        return "gzip"
    return None


class _Compressor:
    def __init__(self, encoding: str):
        self.encoding = encoding
        if encoding == "br":
            self._brotli = brotli.Compressor(quality=BROTLI_QUALITY)
        else:
            self._zlib = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # gzip wrapper

    def whole(self, data: bytes) -> bytes:
        if self.encoding == "br":
            return brotli.compress(data, quality=BROTLI_QUALITY)
        return self._zlib.compress(data) + self._zlib.flush()

    def chunk(self, data: bytes) -> bytes:
        if self.encoding == "br":
            return self._brotli.process(data) + self._brotli.flush()
        return self._zlib.compress(data) + self._zlib.flush(zlib.Z_SYNC_FLUSH)

    def end(self) -> bytes:
        return self._brotli.finish() if self.encoding == "br" else self._zlib.flush()


def _compressed_stream(chunks: Iterable[bytes], compressor: _Compressor, original) -> Iterator[bytes]:
    try:
        for chunk in chunks:
            if data := compressor.chunk(chunk):
                yield data
        yield compressor.end()
    finally:
        if hasattr(original, "close"):
            original.close()


def _strip_encoding_suffixes() -> None:
    """ "5-gzip" → "5" in conditional headers, remembering the suffixes to put back on a 304."""
    suffixes = {}
    for name in _CONDITIONAL_HEADERS:
        raw = request.environ.get(name)
        if raw and _SUFFIXED_TAG.search(raw):
            for tag, suffix in _SUFFIXED_TAG.findall(raw):
                suffixes[tag] = suffix
            request.environ[name] = _SUFFIXED_TAG.sub(r'"\1"', raw)
    g.etag_suffixes = suffixes


def _suffix_etag(response: Response, suffix: str) -> None:
    tag, weak = response.get_etag()
    if tag is not None and not weak:
        response.set_etag(f"{tag}-{suffix}")


def compress_response(response: Response) -> Response:
    if response.status_code == 304:
        tag, weak = response.get_etag()
        suffix = getattr(g, "etag_suffixes", {}).get(tag) if tag is not None and not weak else None
        if suffix:
            _suffix_etag(response, suffix)
        return response
    if not compressible(response.mimetype):
        return response
    response.vary.add("Accept-Encoding")
    if (
        response.status_code < 200
        or response.status_code in (204, 206)
        or "Content-Encoding" in response.headers
        or "Range" in request.headers
    ):
        return response
    encoding = choose_encoding(request.accept_encodings)
    if encoding is None:
        return response
    compressor = _Compressor(encoding)
    if response.is_streamed and not response.direct_passthrough:
        original = response.response
        response.response = _compressed_stream(response.iter_encoded(), compressor, original)
        response.headers.pop("Content-Length", None)
    else:
        response.direct_passthrough = False  # a static file: read it to compress it
        data = response.get_data()
        if len(data) < MIN_SIZE:
            return response
        response.set_data(compressor.whole(data))
    response.headers["Content-Encoding"] = encoding
    _suffix_etag(response, encoding)
    return response


def init_app(app: Flask) -> None:
    app.before_request(_strip_encoding_suffixes)
    app.after_request(compress_response)
