"""netlify.toml read as Netlify reads it, for tests: the build settings, the headers a path
gets, and an ASGI middleware serving a local site with those headers applied.

Header rules: every ``[[headers]]`` whose ``for`` matches the path applies, in file order,
a later rule overriding an earlier one for the same header name (as Netlify's own header
matcher, ``headersForPath`` in netlify/primitives, does). ``*`` matches anything,
``:name`` one path segment. Headers apply only to files Netlify serves, not to proxied paths.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ROOT = Path(__file__).resolve().parent.parent
NETLIFY_TOML = ROOT / "netlify.toml"
PROXIED = ("/api/", "/_stripe/")  # the functions (and, locally, the Stripe emulator)


def netlify_config(path: Path = NETLIFY_TOML) -> dict[str, Any]:
    with path.open("rb") as file:
        return tomllib.load(file)


def _pattern(rule: str) -> re.Pattern[str]:
    parts = re.split(r"(\*|:[A-Za-z_]+)", rule)
    regex = "".join(
        ".*" if p == "*" else "[^/]+" if p.startswith(":") else re.escape(p) for p in parts
    )
    return re.compile(regex)


def headers_for(config: dict[str, Any], path: str) -> dict[str, str]:
    """The headers Netlify adds to the file served at ``path``."""
    headers: dict[str, str] = {}
    for rule in config.get("headers", []):
        if _pattern(rule["for"]).fullmatch(path):
            headers.update(rule["values"])
    return headers


def csp_directives(policy: str) -> dict[str, list[str]]:
    """A Content-Security-Policy as {directive: [sources]}."""
    directives: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


class NetlifyHeaders:
    """Adds netlify.toml's headers to every static response, replacing the server's own."""

    def __init__(self, app: ASGIApp, config: dict[str, Any]) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(PROXIED):
            await self.app(scope, receive, send)
            return
        extra = [
            (k.lower().encode(), v.encode()) for k, v in headers_for(self.config, path).items()
        ]
        names = {name for name, _ in extra}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message["headers"] = kept + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)
