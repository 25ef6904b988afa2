"""Which requests come from programs (scripts, QGIS, GDAL) rather than from a person's browser, and how khgeo asks
them to authenticate.

Programs read /api/, /ogcapi (with or without the slash), /export/ and /tiles/. There an API token is accepted as
``Authorization: Bearer khg_…`` or as the *password* of HTTP Basic, because desktop GIS programs such as QGIS 3.22
(Debian 12) can send only Basic. The account's own password is not accepted over Basic (README, "QGIS and GDAL"):
a GIS program sends its credentials with every request of a session, so the password would go through the login
throttle hundreds of times a minute (a stale one saved in QGIS would lock its owner out of the login form at the
same address), be checked with scrypt on each request, and sit in the program's settings where a token, which
expires and is revoked on its own, belongs. HTML pages never take Basic: a browser that once answered a Basic
prompt attaches those credentials to every request to the host, cross-site ones included, so pages relying on
cookies and CSRF tokens would get state changes without either. For the same reason Basic only reads
(GET/HEAD/OPTIONS), even on the program paths; writes send the token as Bearer, which no browser adds by itself.

Pure functions of the request (duck-typed: ``path``, ``method``, ``headers``, ``accept_mimetypes``); no Flask here.
"""

from __future__ import annotations

REALM = "khgeo"
# paths whose answers (errors included) are JSON whoever asks
JSON_PREFIXES = ("/api/", "/ogcapi/")
JSON_PATHS = frozenset({"/api", "/ogcapi", "/healthz"})
# paths programs download files from: a browser's link gets the login page, a program a 401 it can answer
FILE_PREFIXES = ("/export/", "/tiles/")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
BASIC_CHALLENGE = f'Basic realm="{REALM}", charset="UTF-8"'
BEARER_CHALLENGE = f'Bearer realm="{REALM}"'


def answers_json(path: str) -> bool:
    return path in JSON_PATHS or path.startswith(JSON_PREFIXES)


def takes_basic(path: str) -> bool:
    """Where HTTP Basic (username + API token) is read at all: the program paths, never an HTML page."""
    return (answers_json(path) and path != "/healthz") or path.startswith(FILE_PREFIXES)


def _accepts_html_explicitly(request) -> bool:
    return any(mimetype == "text/html" for mimetype, _quality in request.accept_mimetypes)


def program_request(request) -> bool:
    """A request a program made: to a JSON path, with a Bearer token, or to a file path with credentials or an Accept header that
    does not name HTML (curl and wget send ``*/*``; a browser navigating names text/html). A refusal answers
    such a request with 401 and a challenge, never with a redirect to the HTML login page."""
    if answers_json(request.path) or request.headers.get("Authorization", "").startswith("Bearer "):
        return True  # only programs send Bearer tokens: they get JSON, wherever they ask
    if not request.path.startswith(FILE_PREFIXES):
        return False
    if "Authorization" in request.headers:
        return True
    return bool(request.accept_mimetypes) and not _accepts_html_explicitly(request)


def challenges(request) -> list[str]:
    """The WWW-Authenticate headers of a 401 on a program path, one per scheme (clients that read only the first
    find Basic, which QGIS and GDAL use). A script inside one of khgeo's pages (``Sec-Fetch-Mode`` other than
    navigate) gets no Basic challenge: the browser would open a password dialog over the page instead of letting
    the page send its user to the login form."""
    in_page_script = request.headers.get("Sec-Fetch-Mode", "navigate") != "navigate"
    return [BEARER_CHALLENGE] if in_page_script else [BASIC_CHALLENGE, BEARER_CHALLENGE]
