"""Decode Stripe's form encoding (``a[b][0][c]=v``, ``a[]=v``) into nested values.

Hashes become dicts and ``[]`` appends to lists. Indexed keys such as
``line_items[0]`` stay dict keys here: whether ``{"0": ...}`` is an array or
a hash (metadata may have a key ``"0"``) is decided by the parameter reader.
"""

from __future__ import annotations

import re
from typing import TypeAlias
from urllib.parse import parse_qsl

from .errors import StripeApiError

FormValue: TypeAlias = str | dict[str, "FormValue"] | list["FormValue"]
FormDict: TypeAlias = dict[str, FormValue]

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")
MAX_FIELDS = 10_000


def split_key(key: str) -> list[str]:
    """``"a[b][0][]"`` -> ``["a", "b", "0", ""]``; a malformed key is one name."""
    match = _KEY.match(key)
    if match is None:
        return [key]
    return [match.group(1), *_SEGMENT.findall(match.group(2))]


def join_key(segments: list[str]) -> str:
    """The inverse of ``split_key``: ``["a", "b"]`` -> ``"a[b]"``."""
    return segments[0] + "".join(f"[{s}]" for s in segments[1:])


def decode_form(body: str) -> FormDict:
    """Decode an ``application/x-www-form-urlencoded`` body or query string."""
    try:
        pairs = parse_qsl(body, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError as exc:
        raise StripeApiError(f"Invalid request body: {exc}") from exc
    root: FormDict = {}
    for key, value in pairs:
        _assign(root, split_key(key), value)
    return root


def _assign(container: FormDict, segments: list[str], value: str) -> None:
    name, rest = segments[0], segments[1:]
    path = [name]
    current: FormDict = container
    while rest:
        following, rest = rest[0], rest[1:]
        existing = current.get(name)
        if following == "":
            items = existing if existing is not None else []
            if not isinstance(items, list):
                raise StripeApiError("Invalid array", param=join_key(path))
            current[name] = items
            if not rest:
                items.append(value)
                return
            # Rack's rule for a[][x]=1&a[][y]=2: start a new hash when the key repeats.
            last = items[-1] if items else None
            if not isinstance(last, dict) or rest[0] in last:
                last = {}
                items.append(last)
            current, name = last, rest[0]
            path += ["", rest[0]]
            rest = rest[1:]
            continue
        child = existing if existing is not None else {}
        if not isinstance(child, dict):
            raise StripeApiError("Invalid object", param=join_key(path))
        current[name] = child
        current, name = child, following
        path.append(following)
    if isinstance(current.get(name), dict | list):
        raise StripeApiError("Invalid string: expected a value", param=join_key(path))
    current[name] = value
