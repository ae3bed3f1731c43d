"""The withdrawal function of the site (« Se rétracter du contrat ici »), art. 11a of
Directive 2011/83/EU as amended by Directive 2023/2673.

Two steps, both ``POST``:

1. ``/api/withdrawals`` with the shopper's name, the order's number and e-mail, and a
   contact address. When the number and e-mail match one order (compared in constant
   time; an unknown number and a wrong e-mail get the very same answer), the answer is a
   **token**: the declaration, signed with HMAC-SHA256 by a key derived from the webhook
   secret, valid ``TOKEN_LIFETIME``. Nothing is recorded yet.
2. ``/api/withdrawals/confirm`` with that token (« Confirmer la rétractation »). The
   withdrawal is recorded as a return of the whole order (``functions.backroom.returns``),
   the shopper's acknowledgement (content, date and time: a durable medium) and the
   merchant's alert are queued. A replayed token answers the same withdrawal and records
   nothing new: the return's id is fixed per order, and the mails' keys per return.

With JavaScript the site's page sends JSON and gets JSON (errors as everywhere:
``{"error": {"code", "message"}}``). Without it, its form posts
``application/x-www-form-urlencoded``: step 1 answers a small HTML page holding the token
and the confirm button, step 2 a 303 to the site's confirmation page; errors answer an
HTML page with the same status.

Rate limits are kept in this process's memory (``RateLimiter``): per client address and
per order number. On Lambda each warm instance counts on its own, so a burst spread over
N instances gets N times the limit; the per-number limit still makes guessing an e-mail
for a known number hopeless (5 tries per quarter hour per instance), and order numbers
are not guessable (6 hex digits a day). A store-backed counter would make the limit
exact at the cost of a write per attempt. Behind Netlify's proxy the client address may
be the proxy's, which is why its limit is generous.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import html
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from functions.backroom import BackRoom, OperationError
from functions.backroom.returns import Withdrawal, check_returnable, withdraw
from functions.emails import email_gettext, withdrawal_acknowledgement, withdrawal_alert
from functions.errors import ApiError
from functions.inbound import check_origin, read_body
from functions.settings import Settings
from functions.store import Store
from shop.config import LANGUAGES
from shop.orders import Order
from shop.published import PublishedShop
from shop.returns import ReturnRequest
from shop.text import is_unsafe_char

FORM_PAGE = "/retractation/formulaire/"  # the site's pages (theme/templates/withdrawal*.html)
DONE_PAGE = "/retractation/confirmee/"
TOKEN_LIFETIME = dt.timedelta(minutes=30)
BODY_LIMIT = 8 * 1024
FIELDS = {"name": 200, "number": 40, "email": 254, "address": 1000}
_NUMBER = re.compile(r"[A-Z0-9][A-Z0-9-]{2,39}")
_FORM = "application/x-www-form-urlencoded"
NOT_FOUND = (
    404,
    "order_not_found",
    "No order matches this number and e-mail address. Check both in your confirmation e-mail.",
)


class RateLimiter:
    """At most ``limit`` hits per key within ``window`` seconds, in this process."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.window = window
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = self.clock()
        with self._lock:
            if len(self._hits) > 10_000:  # forget idle keys, so memory stays bounded
                self._hits = {
                    k: v for k, v in self._hits.items() if v and v[-1] > now - self.window
                }
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            return True


@dataclass(frozen=True, slots=True)
class Declaration:
    """What the shopper declared in step 1, carried by the token to step 2."""

    session_id: str
    name: str
    address: str
    language: str


class Withdrawals:
    """The two routes, with the functions' collaborators."""

    def __init__(
        self,
        settings: Settings,
        shop: Callable[[], PublishedShop],
        store: Store,
        backroom: Callable[[], BackRoom],
        deliver_mail: Callable[[], None],
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.settings = settings
        self.shop = shop
        self.store = store
        self.backroom = backroom
        self.deliver_mail = deliver_mail
        self.clock = clock
        self._key = hmac.new(
            settings.webhook_secret.reveal().encode(), b"comptoir withdrawal token v1", "sha256"
        ).digest()
        self.per_client = RateLimiter(30, 15 * 60)
        self.per_order = RateLimiter(5, 15 * 60)

    # -- step 1 -----------------------------------------------------------------------

    async def start(self, request: Request) -> Response:
        shop = self.shop()
        as_form = _is_form(request)
        language = _lang(None, shop)
        try:
            check_origin(request, self.settings.allowed_origins(shop))
            fields = await _read_fields(request, as_form, {*FIELDS, "lang"})
            language = _lang(fields.get("lang"), shop)
            name, number, email, address = (_field(fields, f) for f in FIELDS)
            number = number.upper()
            self._limit(request, number)
            order = await run_in_threadpool(self._returnable, number, email)
            declaration = Declaration(order.session_id, name, address, language)
            token = self._sign(declaration)
        except ApiError as error:
            if as_form:
                return self._error_page(shop, language, error)
            raise
        if as_form:
            return self._confirm_page(shop, order, declaration, token)
        return JSONResponse(
            {
                "token": token,
                "expires_in": int(TOKEN_LIFETIME.total_seconds()),
                "order": {
                    "number": order.number,
                    "lines": [
                        {"title": line.title, "quantity": line.quantity}
                        for line in order.priced.lines
                    ],
                },
            },
            headers={"cache-control": "no-store"},
        )

    # -- step 2 -----------------------------------------------------------------------

    async def confirm(self, request: Request) -> Response:
        shop = self.shop()
        as_form = _is_form(request)
        language = _lang(None, shop)
        try:
            check_origin(request, self.settings.allowed_origins(shop))
            fields = await _read_fields(request, as_form, {"token", "lang"})
            language = _lang(fields.get("lang"), shop)
            if not self.per_client.allow("confirm:" + _client(request)):
                raise ApiError(429, "rate_limited", "Too many attempts: try again later.")
            declaration = self._verify(str(fields.get("token", "")))
            done = await run_in_threadpool(self._record, shop, declaration)
        except ApiError as error:
            if as_form:
                return self._error_page(shop, language, error)
            raise
        order = done.order
        background = BackgroundTask(self.deliver_mail)
        if as_form:
            return RedirectResponse(
                self.settings.site_url(shop) + DONE_PAGE, status_code=303, background=background
            )
        return JSONResponse(
            {
                "return": done.ret.rid,
                "number": order.number,
                "declared_at": done.ret.created_at.isoformat(),
                "recorded": done.created,
            },
            status_code=201 if done.created else 200,
            headers={"cache-control": "no-store"},
            background=background,
        )

    # -- the store's part (in a worker thread) -----------------------------------------

    def _returnable(self, number: str, email: str) -> Order:
        order = self._match(number, email)
        try:
            check_returnable(self.backroom(), order)
        except OperationError as error:
            raise ApiError(409, error.code, error.message) from None
        return order

    def _record(self, shop: PublishedShop, declaration: Declaration) -> Withdrawal:
        """The withdrawal recorded (once), and its two mails queued (once)."""
        order = self.store.get_order(declaration.session_id)
        if order is None:
            raise ApiError(400, "invalid_token", "This confirmation link is not valid.")
        try:
            done = withdraw(self.backroom(), order, declaration.name, declaration.address)
        except OperationError as error:
            raise ApiError(409, error.code, error.message) from None
        if done.created:
            queue_withdrawal_emails(
                self.store, shop, order, done.ret, declaration.language, self.clock()
            )
        return done

    # -- the order, matched without revealing it --------------------------------------

    def _limit(self, request: Request, number: str) -> None:
        allowed = self.per_client.allow("start:" + _client(request))
        allowed = self.per_order.allow(number) and allowed
        if not allowed:
            raise ApiError(
                429, "rate_limited", "Too many attempts: try again in a quarter of an hour."
            )

    def _match(self, number: str, email: str) -> Order:
        """The one order with this number and e-mail; the same 404 for a number that is
        unknown and a wrong e-mail, and the e-mails compared in constant time."""
        wanted = email.strip().lower().encode()
        orders = self.store.find_orders_by_number(number) if _NUMBER.fullmatch(number) else []
        candidates: list[Order | None] = [*orders] or [None]  # None: compare all the same
        found = None
        for order in candidates:
            known = order.email.strip().lower().encode() if order else b"\0" * len(wanted)
            if hmac.compare_digest(known, wanted) and order is not None:
                found = order
        if found is None:
            raise ApiError(*NOT_FOUND)
        return found

    # -- tokens -------------------------------------------------------------------------

    def _sign(self, declaration: Declaration) -> str:
        expires = int((self.clock() + TOKEN_LIFETIME).timestamp())
        payload = json.dumps(
            {
                "s": declaration.session_id,
                "n": declaration.name,
                "a": declaration.address,
                "l": declaration.language,
                "x": expires,
            },
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
        body = _b64(payload)
        return body + "." + _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())

    def _verify(self, token: str) -> Declaration:
        invalid = ApiError(400, "invalid_token", "This confirmation link is not valid.")
        body, _, signature = token.partition(".")
        if not body or len(token) > 4096:
            raise invalid
        expected = _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise invalid
        try:
            data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            declaration = Declaration(
                str(data["s"]), str(data["n"]), str(data["a"]), str(data["l"])
            )
            expires = int(data["x"])
        except (ValueError, KeyError, TypeError):
            raise invalid from None
        if self.clock().timestamp() > expires:
            raise ApiError(
                410, "token_expired", "This confirmation has expired: fill in the form again."
            )
        return declaration

    # -- the pages without JavaScript ----------------------------------------------------

    def _confirm_page(
        self, shop: PublishedShop, order: Order, declaration: Declaration, token: str
    ) -> Response:
        """Step 2 without JavaScript: what will be declared, and « Confirmer la rétractation »."""
        language = declaration.language
        gettext = email_gettext(shop, language)
        title = gettext("Confirm your withdrawal")
        items = "".join(f"<li>{x.quantity} × {_esc(x.title)}</li>" for x in order.priced.lines)
        number = gettext("Order number: %(number)s") % {"number": order.number}
        name = gettext("Name: %(name)s") % {"name": declaration.name}
        address = _esc(declaration.address).replace("\n", "<br>")
        contact = gettext("Contact address:")
        only_then = gettext("Your withdrawal is recorded only when you confirm it.")
        confirm = gettext("Confirm the withdrawal")  # « Confirmer la rétractation »
        back = gettext("Back to the form")
        body = (
            f"<h1>{_esc(title)}</h1><p>{_esc(number)}</p><ul>{items}</ul><p>{_esc(name)}</p>"
            f"<p>{_esc(contact)}<br>{address}</p><p>{_esc(only_then)}</p>"
            '<form method="post" action="/api/withdrawals/confirm">'
            f'<input type="hidden" name="token" value="{_esc(token)}">'
            f'<input type="hidden" name="lang" value="{language}">'
            f'<button type="submit">{_esc(confirm)}</button></form>'
            f'<p><a href="{FORM_PAGE}">{_esc(back)}</a></p>'
        )
        return _page(shop, language, title, body, 200)

    def _error_page(self, shop: PublishedShop, language: str, error: ApiError) -> Response:
        """A refusal without JavaScript: the same status, said in the shopper's language."""
        gettext = email_gettext(shop, language)
        known = {
            "order_not_found": gettext("No order matches this number and e-mail address."),
            "withdrawal_period_over": gettext("The withdrawal period of this order is over."),
            "rate_limited": gettext("Too many attempts: try again in a quarter of an hour."),
            "token_expired": gettext("This confirmation has expired: fill in the form again."),
        }
        message = known.get(error.code) or gettext(
            "Your withdrawal could not be recorded: %(reason)s"
        ) % {"reason": error.message}
        if error.code == "withdrawal_period_over":
            message += " " + error.message  # the date it ended
        title = gettext("Withdraw from the contract")
        back = gettext("Back to the form")
        body = (
            f'<h1>{_esc(title)}</h1><p role="alert">{_esc(message)}</p>'
            f'<p><a href="{FORM_PAGE}">{_esc(back)}</a></p>'
        )
        page = _page(shop, language, title, body, error.status)
        if error.status == 429:
            page.headers["retry-after"] = "900"
        return page


# -- e-mails -----------------------------------------------------------------------------


def queue_withdrawal_emails(
    store: Store,
    shop: PublishedShop,
    order: Order,
    ret: ReturnRequest,
    language: str,
    now: dt.datetime,
) -> None:
    """Queue the shopper's acknowledgement and the merchant's alert, once per return."""
    for mail in (
        withdrawal_acknowledgement(order, ret, shop, language),
        withdrawal_alert(order, ret, shop),
    ):
        if mail is not None:
            store.enqueue_mail(mail, now)


# -- reading requests ---------------------------------------------------------------------


def _is_form(request: Request) -> bool:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return media == _FORM


async def _read_fields(request: Request, as_form: bool, allowed: set[str]) -> dict[str, str]:
    """The body's fields: a JSON object of strings, or a form; nothing else."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not as_form and media != "application/json":
        raise ApiError(
            415, "unsupported_media_type", "Send the body as application/json or a form."
        )
    body = await read_body(request, BODY_LIMIT)
    data: Any
    try:
        if as_form:
            parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
            if any(len(values) != 1 for values in parsed.values()):
                raise ValueError("a field was sent twice")
            data = {key: values[0] for key, values in parsed.items()}
        else:
            data = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ApiError(400, "invalid_body", "The body could not be read.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_body", "The body must be a JSON object.")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ApiError(400, "unknown_field", f"Unknown field '{unknown[0]}'.", field=unknown[0])
    if not all(isinstance(value, str) for value in data.values()):
        raise ApiError(400, "invalid_body", "Every field must be text.")
    return data


def _field(fields: Mapping[str, str], name: str) -> str:
    """A required field, trimmed, within its length, without control characters (the
    address keeps its line breaks)."""
    value = fields.get(name, "").replace("\r\n", "\n").strip()
    keep = "\n" if name == "address" else ""
    if not value or len(value) > FIELDS[name]:
        raise ApiError(
            400, f"invalid_{name}", f"'{name}' is required ({FIELDS[name]} characters at most)."
        )
    if any(is_unsafe_char(char) and char not in keep for char in value):
        raise ApiError(400, f"invalid_{name}", f"'{name}' holds control characters.")
    return value


def _lang(wanted: str | None, shop: PublishedShop) -> str:
    return wanted if wanted in LANGUAGES else shop.config.language


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _page(shop: PublishedShop, language: str, title: str, body: str, status: int) -> HTMLResponse:
    """A small, self-contained page (no script, no style: the site's CSP holds)."""
    document = (
        "<!DOCTYPE html>"
        f'<html lang="{language}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{_esc(title)} – {_esc(shop.config.name)}</title></head>"
        f'<body><header><p><a href="/">{_esc(shop.config.name)}</a></p></header>'
        f"<main>{body}</main></body></html>"
    )
    return HTMLResponse(document, status_code=status, headers={"cache-control": "no-store"})
