"""``comptoir serve``: the static site and the functions on one local origin.

``/api/*`` is the functions' ASGI app (same paths as in production); every
other path is a file of ``output/``. Content changes trigger a rebuild, after which
the functions switch to the new published shop.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path

import watchfiles
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

IMMUTABLE = "public, max-age=31536000, immutable"


class CacheHeaders:
    """Fingerprinted files are cached forever; pages are revalidated."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        immutable = path.startswith(("/static/", "/images/"))
        managed = not path.startswith(("/api/", "/_stripe/"))

        async def send_with_cache(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if managed:
                    headers = [(k, v) for k, v in headers if k != b"cache-control"]
                value = IMMUTABLE if immutable else "no-cache"
                if managed:
                    headers.append((b"cache-control", value.encode()))
                headers.append((b"x-content-type-options", b"nosniff"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_cache)


async def no_api(request: Request) -> Response:
    return JSONResponse(
        {"error": {"code": "not_found", "message": "No such API route."}}, status_code=404
    )


def create_app(
    output: Path, api: ASGIApp | None = None, mounts: Mapping[str, ASGIApp] | None = None
) -> Starlette:
    """The local server's ASGI app: ``/api`` (when given) beside the static files.

    ``mounts`` adds other apps under a prefix (the offline Stripe emulator at ``/_stripe``).
    """
    api_route: Mount | Route = (
        Mount("/api", app=api)
        if api is not None
        else Route("/api/{rest:path}", no_api, methods=["GET", "POST"])
    )
    extra = [Mount(prefix, app=app) for prefix, app in (mounts or {}).items()]
    return Starlette(
        routes=[api_route, *extra, Mount("/", app=StaticFiles(directory=output, html=True))],
        middleware=[Middleware(CacheHeaders), Middleware(GZipMiddleware, minimum_size=500)],
    )


def watch(
    paths: list[Path],
    on_change: Callable[[set[str]], None],
    stop: threading.Event | None = None,
) -> threading.Thread:
    """Call ``on_change`` with the changed files' paths after each burst of changes under
    ``paths`` (an editor's save, a ``git pull``), from a background thread.

    watchfiles waits on the system's file events (inotify) rather than walking the
    tree every second; changes made while ``on_change`` runs come as the next burst.
    Editors' swap and backup files are ignored.
    """
    stop = stop or threading.Event()
    roots = [str(path) for path in paths if path.exists()]

    def loop() -> None:
        for changes in watchfiles.watch(
            *roots, stop_event=stop, debounce=300, step=50, raise_interrupt=False
        ):
            changed = {path for _, path in changes}
            if changed:
                on_change(changed)

    thread = threading.Thread(target=loop, name="comptoir-watch", daemon=True)
    thread.start()
    return thread
