"""Which parameter names the real Stripe API knows, read from the library's typed params.

Used only to word an error: a name Stripe knows but the emulator does not
implement gets ``emulator_unsupported``; any other name gets Stripe's own
``parameter_unknown``. The library's ``*Params`` TypedDicts describe every
parameter; their annotations are walked by name, without evaluating them.
"""

from __future__ import annotations

import re
import sys

from .forms import split_key

_CLASS_NAME = re.compile(r"\b([A-Z][A-Za-z0-9]*Params[A-Za-z0-9]*)\b")
# RequestOptions keys (api_key, headers, ...) are arguments of the library, not the API.
_REQUEST_OPTIONS = frozenset(
    {
        "api_key",
        "stripe_version",
        "stripe_account",
        "stripe_context",
        "max_network_retries",
        "idempotency_key",
        "content_type",
        "headers",
    }
)


def stripe_knows(root: type | None, param: str) -> bool:
    """True if ``param`` (``a[0][b]`` form) is a parameter of ``root`` (a ``*Params`` TypedDict)."""
    if root is None:
        return False
    segments = split_key(param)
    if segments[0] in _REQUEST_OPTIONS:
        return False
    node: list[type] = [root]
    index = 0
    while index < len(segments):
        segment = segments[index]
        text = _annotation_text(node, segment)
        if text is None:
            return False
        index += 1
        if "List[" in text and index < len(segments) and segments[index].isdigit():
            index += 1
        if "Dict[str" in text and index < len(segments):
            index += 1  # a free-form key, e.g. metadata[anything]
        node = _classes_in(text, node[0])
        if not node:
            return index >= len(segments)
    return True


def _annotation_text(classes: list[type], name: str) -> str | None:
    for cls in classes:
        annotations: dict[str, object] = getattr(cls, "__annotations__", {})
        if name in annotations:
            return repr(annotations[name])
    return None


def _classes_in(text: str, sibling: type) -> list[type]:
    module = sys.modules.get(sibling.__module__)
    found: list[type] = []
    for name in _CLASS_NAME.findall(text):
        cls = getattr(module, name, None)
        if isinstance(cls, type):
            found.append(cls)
    return found
