"""Reading what a client sends, strictly: size, media type, origin, and the cart's shape."""

from __future__ import annotations

import json
import re
from collections.abc import Container
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from functions.errors import ApiError
from shop.catalogue import SKU_PATTERN
from shop.pricing import MAX_LINES, MAX_QUANTITY, CartLine

MAX_BODY = 64 * 1024
_COUNTRY = re.compile(r"[A-Z]{2}")
_CODE = re.compile(r"[A-Za-z0-9_-]{1,32}")
_METHOD = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_CATALOG = re.compile(r"[0-9a-f]{16}")
# "catalog": the prices the cart was shown (from /api/quote); checkout refuses other ones.
CART_KEYS = {"items", "country", "promo_code", "shipping_method", "catalog"}
ITEM_KEYS = {"sku", "quantity"}


@dataclass(frozen=True, slots=True)
class CartRequest:
    lines: tuple[CartLine, ...]
    country: str | None
    promo_code: str | None
    shipping_method: str | None
    catalog: str | None = None  # the catalogue the shopper's totals came from


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The raw body, refusing more than ``limit`` bytes without reading it all."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise ApiError(413, "body_too_large", f"The request body is over {limit // 1024} KB.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "body_too_large", f"The request body is over {limit // 1024} KB.")
        chunks.append(chunk)
    return b"".join(chunks)


def check_origin(request: Request, allowed: Container[str]) -> str | None:
    """The request's Origin when it is allowed (None without one); else a 403."""
    origin = request.headers.get("origin")
    if origin is not None and origin not in allowed:
        raise ApiError(403, "origin_not_allowed", "Requests from this site are not accepted.")
    return origin


async def read_json(request: Request) -> Any:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise ApiError(415, "unsupported_media_type", "Send the body as application/json.")
    body = await read_body(request)
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):  # JSONDecodeError is a ValueError
        raise ApiError(400, "invalid_json", "The body is not valid JSON.") from None


def parse_cart(data: Any) -> CartRequest:
    """A cart as the client may send it: SKUs and whole quantities, nothing else."""
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_body", "The body must be a JSON object.")
    unknown = sorted(set(data) - CART_KEYS)
    if unknown:
        raise ApiError(
            400,
            "unknown_field",
            f"Unknown field '{unknown[0]}'. Prices and totals are set by the shop.",
            field=unknown[0],
        )
    items = data.get("items")
    if not isinstance(items, list) or not items:
        raise ApiError(400, "invalid_items", "'items' must be a non-empty list.")
    if len(items) > MAX_LINES:
        raise ApiError(400, "too_many_lines", f"A cart holds at most {MAX_LINES} lines.")
    lines = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ApiError(400, "invalid_item", f"items[{index}] must be an object.")
        extra = sorted(set(item) - ITEM_KEYS)
        if extra:
            raise ApiError(
                400,
                "unknown_field",
                f"Unknown field '{extra[0]}' in items[{index}]. Prices are set by the shop.",
                field=f"items[{index}].{extra[0]}",
            )
        sku, quantity = item.get("sku"), item.get("quantity")
        if not isinstance(sku, str) or not SKU_PATTERN.fullmatch(sku):
            raise ApiError(400, "invalid_sku", f"items[{index}].sku is not a product reference.")
        if (
            isinstance(quantity, bool)
            or not isinstance(quantity, int)
            or not (1 <= quantity <= MAX_QUANTITY)
        ):
            raise ApiError(
                400,
                "invalid_quantity",
                f"items[{index}].quantity must be a whole number from 1 to {MAX_QUANTITY}.",
                sku=sku,
            )
        lines.append(CartLine(sku, quantity))
    return CartRequest(
        tuple(lines),
        _optional(data, "country", _COUNTRY, "a two-letter country code such as FR"),
        _optional(data, "promo_code", _CODE, "letters and digits"),
        _optional(data, "shipping_method", _METHOD, "a delivery method id"),
        _optional(data, "catalog", _CATALOG, "the 'catalog' of a quote"),
    )


def _optional(data: dict[str, Any], key: str, pattern: re.Pattern[str], what: str) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ApiError(400, f"invalid_{key}", f"'{key}' must be {what}.")
    return value
