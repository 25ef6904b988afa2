"""Every download leaves through here: one exact Content-Type (a single charset) and a file name that says what
it holds, in ASCII for old clients and in Vietnamese (RFC 6266 / RFC 5987 ``filename*``) for the others."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response

from khgeo.text import ascii_file_name


def content_disposition(name: str) -> str:
    fallback = ascii_file_name(name)
    value = f'attachment; filename="{fallback}"'
    if fallback != name:
        value += "; filename*=UTF-8''" + quote(name, safe="")
    return value


def attachment(body: bytes | str, *, content_type: str, name: str) -> Response:
    # content_type, not mimetype: Werkzeug appends "; charset=utf-8" to a text/* mimetype even if it has one
    response = Response(body, content_type=content_type)
    response.headers["Content-Disposition"] = content_disposition(name)
    return response
