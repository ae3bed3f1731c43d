"""The site's ``_redirects`` file for Netlify: ``/api/*`` proxied to the functions.

Netlify reads ``_redirects`` from the published folder. A status-200 rule is a rewrite
(a proxy when the target is another host): the shopper's browser only ever talks to the
site's own origin, so the pages need no CORS and the CSP keeps ``connect-src 'self'``.
The functions' origin is known only after the first ``sam deploy``; it reaches the build
through configuration (``COMPTOIR_API_ORIGIN``), read by the command line, never here.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

REDIRECTS_FILE = "_redirects"

_HOST = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+")


class ApiOriginError(ValueError):
    """The functions' origin is not an https origin; the message says how to fix it."""


def api_origin(value: str) -> str:
    """``value`` as an origin ``https://host`` (a trailing slash is dropped).

    Raises ApiOriginError for anything else: another scheme, a path, a query, user info.
    """
    text = value.strip().rstrip("/")
    parts = urlsplit(text)
    if (
        parts.scheme != "https"
        or parts.path
        or parts.query
        or parts.fragment
        or "@" in parts.netloc
        or not _HOST.fullmatch(parts.hostname or "")
        or parts.netloc != parts.hostname
    ):
        raise ApiOriginError(
            f"COMPTOIR_API_ORIGIN must be the functions' https origin, such as "
            f"https://abc123.lambda-url.eu-west-3.on.aws (the ApiOrigin output of sam deploy), "
            f"not {value.strip()!r}"
        )
    return text


def redirects(origin: str) -> str:
    """The ``_redirects`` file proxying ``/api/*`` to ``origin`` (already checked)."""
    return (
        "# Made by comptoir build from COMPTOIR_API_ORIGIN: the shop's /api runs on AWS Lambda.\n"
        f"/api/*  {origin}/api/:splat  200\n"
    )
