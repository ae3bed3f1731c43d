"""``expand[]``: replace ids with the objects they name, as Stripe does.

A path such as ``line_items.data.price.product`` walks the rendered JSON;
an id on the way is replaced by its object, an includable property
(``line_items`` of a session) is filled in, and ``data`` walks into lists.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from . import errors
from .objects import JSONObject

MAX_DEPTH = 4

# Looks an object up by id; None when it is not expandable.
FindObject = Callable[[str], JSONObject | None]
# Fills an includable property of an object (e.g. a session's line_items).
Include = Callable[[JSONObject, str], JSONObject | None]


def expand(obj: JSONObject, paths: Sequence[str], find: FindObject, include: Include) -> JSONObject:
    """Expand every path of ``paths`` in ``obj`` (in place) and return it."""
    for index, path in enumerate(paths):
        segments = path.split(".")
        if len(segments) > MAX_DEPTH + (segments.count("data")):
            raise errors.invalid_value(
                f"expand[{index}]",
                f"You cannot expand more than {MAX_DEPTH} levels of a property. Property: {path}",
            )
        _expand(obj, segments, path, index, find, include)
    return obj


def _expand(
    obj: JSONObject,
    segments: list[str],
    path: str,
    index: int,
    find: FindObject,
    include: Include,
) -> None:
    name, rest = segments[0], segments[1:]
    if obj.get("object") == "list" and name == "data":
        data = obj.get("data")
        if isinstance(data, list) and rest:
            for item in data:
                if isinstance(item, dict):
                    _expand(item, rest, path, index, find, include)
        return
    value = obj.get(name)
    if isinstance(value, str):
        found = find(value)
        if found is None:
            raise _cannot_expand(name, index)
        obj[name] = value = found
    elif value is None:
        included = include(obj, name)
        if included is None:
            if name in obj:
                return  # a null reference stays null, as in Stripe
            raise _cannot_expand(name, index)
        obj[name] = value = included
    elif not rest and (not isinstance(value, dict) or "object" not in value):
        raise _cannot_expand(name, index)
    if rest:
        if not isinstance(value, dict):
            raise _cannot_expand(rest[0], index)
        _expand(value, rest, path, index, find, include)


def _cannot_expand(name: str, index: int) -> errors.StripeApiError:
    return errors.invalid_value(f"expand[{index}]", f"This property cannot be expanded ({name}).")
