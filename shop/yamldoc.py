"""YAML read with line numbers, so every problem can name ``path:line``.

PyYAML composes a node tree that remembers where each value starts; this
module wraps it in small typed readers that validate a value and record a
problem (never raise) when it is wrong. Scalars keep the exact text the
merchant wrote, so prices are parsed from that text and never via a float.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from shop.money import Money, MoneyFormatError, parse_money
from shop.problems import Problems

_constructor = yaml.constructor.SafeConstructor()
_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", None)


@dataclass(frozen=True, slots=True)
class Node:
    """A YAML node and the file it came from."""

    raw: yaml.Node
    path: str
    line_offset: int = 0

    @property
    def line(self) -> int:
        return int(self.raw.start_mark.line) + 1 + self.line_offset

    @property
    def is_map(self) -> bool:
        return isinstance(self.raw, yaml.MappingNode)

    @property
    def is_seq(self) -> bool:
        return isinstance(self.raw, yaml.SequenceNode)

    @property
    def is_scalar(self) -> bool:
        return isinstance(self.raw, yaml.ScalarNode)

    @property
    def text(self) -> str:
        """The scalar exactly as written (without quotes)."""
        return str(self.raw.value) if self.is_scalar else ""

    @property
    def is_null(self) -> bool:
        return self.is_scalar and self.raw.tag == "tag:yaml.org,2002:null"

    @property
    def quoted(self) -> bool:
        return self.is_scalar and getattr(self.raw, "style", None) in ("'", '"')

    def value(self) -> Any:
        """The Python value PyYAML would give (str, int, bool, date, ...)."""
        return _constructor.construct_object(self.raw, deep=True)

    def entries(self) -> list[tuple[str, Node, Node]]:
        """A mapping's (key text, key node, value node), in file order."""
        assert isinstance(self.raw, yaml.MappingNode)
        return [
            (
                str(k.value),
                Node(k, self.path, self.line_offset),
                Node(v, self.path, self.line_offset),
            )
            for k, v in self.raw.value
        ]

    def items(self) -> list[Node]:
        assert isinstance(self.raw, yaml.SequenceNode)
        return [Node(n, self.path, self.line_offset) for n in self.raw.value]


def parse_yaml(text: str, path: str, problems: Problems, line_offset: int = 0) -> Node | None:
    """Compose one YAML document; a syntax error becomes a problem at its line.

    libyaml (when PyYAML has it) composes ten times faster; a document it refuses is
    parsed again by the pure-Python parser, whose messages are the ones we explain.
    """
    if _FAST_LOADER is not None:
        try:
            raw = yaml.compose(text, Loader=_FAST_LOADER)
        except yaml.YAMLError:
            pass
        else:
            return None if raw is None else Node(raw, path, line_offset)
    try:
        raw = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        line, message = _explain(error)
        problems.add(path, line + line_offset, f"invalid YAML: {message}")
        return None
    except yaml.YAMLError as error:  # e.g. a reader error on a control character
        problems.add(path, 1 + line_offset, f"invalid YAML: {error}")
        return None
    if raw is None:
        return None
    return Node(raw, path, line_offset)


_HINT = (
    " — check the indentation, and put quotes around text that contains ': ', '#', "
    "or starts with '&', '*', '[' or '{'"
)


def _explain(error: yaml.MarkedYAMLError) -> tuple[int, str]:
    """The line to point at and a plain-words message for a YAML syntax error."""
    problem = error.problem or "unreadable"
    context = error.context or ""
    mark = error.problem_mark
    opened = error.context_mark
    if opened is not None and "flow sequence" in context:
        return opened.line + 1, "a list opened with '[' is not closed with ']'"
    if opened is not None and "flow mapping" in context:
        return opened.line + 1, "a group opened with '{' is not closed with '}'"
    if opened is not None and "quoted scalar" in context:
        return opened.line + 1, "a quoted text is not closed: add the closing quote"
    line = (mark or opened).line + 1 if (mark or opened) is not None else 1  # type: ignore[union-attr]
    if "\\t" in problem or "tab" in problem:
        return line, "a tab character is used for indentation: indent with spaces"
    if "mapping values are not allowed" in problem:
        return line, "unexpected ':'" + _HINT
    return line, problem + _HINT


def describe(node: Node) -> str:
    if node.is_map:
        return "a list of 'key: value' lines"
    if node.is_seq:
        return "a list"
    return repr(node.text)


def example_for(key: str) -> str:
    return f"{key}: …"


class MapReader:
    """Reads the keys of one YAML mapping, recording every problem found.

    Unknown keys are reported with a "did you mean" hint; duplicated keys too.
    Getters return None when a value is missing or wrong (the problem is recorded).
    """

    def __init__(
        self,
        node: Node,
        problems: Problems,
        allowed: Iterable[str],
        what: str,
        line: int | None = None,
    ) -> None:
        self.node = node
        self.anchor_line = line if line is not None else node.line
        self.problems = problems
        self.what = what
        self.allowed = tuple(allowed)
        self.values: dict[str, Node] = {}
        self.keys: dict[str, Node] = {}
        for key, key_node, value in node.entries():
            if key in self.values:
                self.error(key_node, f"'{key}' appears twice in {what}: keep only one")
                continue
            if key not in self.allowed:
                close = difflib.get_close_matches(key, self.allowed, n=1, cutoff=0.6)
                hint = (
                    f" — did you mean '{close[0]}'?"
                    if close
                    else f" (allowed: {', '.join(self.allowed)})"
                )
                self.error(key_node, f"unknown key '{key}' in {what}{hint}")
                continue
            self.values[key] = value
            self.keys[key] = key_node

    # -- plumbing -----------------------------------------------------------

    def error(self, node: Node, message: str) -> None:
        self.problems.add(node.path, node.line, message)

    def line(self, key: str) -> int:
        return self.keys[key].line if key in self.keys else self.node.line

    def has(self, key: str) -> bool:
        return key in self.values and not self.values[key].is_null

    def get(self, key: str, *, required: bool = False, example: str = "") -> Node | None:
        node = self.values.get(key)
        if node is None or node.is_null:
            if required:
                hint = f": add a line such as {example}" if example else ""
                self.problems.add(
                    self.node.path, self.anchor_line, f"missing '{key}' in {self.what}{hint}"
                )
            return None
        return node

    # -- typed getters -------------------------------------------------------

    def text(self, key: str, *, required: bool = False, example: str = "") -> str | None:
        node = self.get(key, required=required, example=example or example_for(key))
        if node is None:
            return None
        if not node.is_scalar:
            self.error(node, f"'{key}' must be text, not {describe(node)}")
            return None
        value = node.text.strip()
        if not value:
            self.error(node, f"'{key}' is empty: write a value or remove the line")
            return None
        if any(ch in value for ch in "\r\n\x00"):
            self.error(node, f"'{key}' must fit on one line")
            return None
        return value

    def choice(self, key: str, choices: Sequence[str], default: str) -> str:
        value = self.text(key)
        if value is None:
            return default
        if value not in choices:
            close = difflib.get_close_matches(value, choices, n=1, cutoff=0.5)
            hint = f" — did you mean '{close[0]}'?" if close else ""
            self.error(
                self.values[key],
                f"'{key}' must be one of {', '.join(choices)}, not '{value}'{hint}",
            )
            return default
        return value

    def integer(
        self, key: str, *, minimum: int | None = None, unit: str = "", required: bool = False
    ) -> int | None:
        node = self.get(key, required=required, example=f"{key}: 1")
        if node is None:
            return None
        value = node.value() if node.is_scalar and not node.quoted else node.text
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(node, f"'{key}' must be a whole number{unit}, not {describe(node)}")
            return None
        if minimum is not None and value < minimum:
            self.error(node, f"'{key}' must be {minimum} or more, not {value}")
            return None
        return value

    def boolean(self, key: str, default: bool = False) -> bool:
        node = self.get(key)
        if node is None:
            return default
        value = node.value() if node.is_scalar and not node.quoted else None
        if not isinstance(value, bool):
            self.error(node, f"'{key}' must be true or false, not {describe(node)}")
            return default
        return value

    def money(self, key: str, currency: str, *, required: bool = False) -> Money | None:
        node = self.get(key, required=required, example=f"{key}: 24.90")
        if node is None:
            return None
        if not node.is_scalar:
            self.error(node, f"'{key}' must be a price such as 24.90, not {describe(node)}")
            return None
        try:
            return parse_money(node.text, currency)
        except MoneyFormatError as error:
            self.error(node, f"'{key}': {error}")
            return None

    def date(self, key: str, *, required: bool = False) -> dt.date | None:
        node = self.get(key, required=required, example=f"{key}: 2026-01-31")
        if node is None:
            return None
        value = node.value() if node.is_scalar else None
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        self.error(node, f"'{key}' must be a date written as 2026-01-31, not {describe(node)}")
        return None

    def seq(self, key: str, *, required: bool = False) -> list[Node]:
        node = self.get(key, required=required, example=f"{key}: [...]")
        if node is None:
            return []
        if not node.is_seq:
            self.error(node, f"'{key}' must be a list (one '- item' per line, or [a, b])")
            return []
        return node.items()

    def text_list(self, key: str) -> list[str]:
        node = self.get(key)
        if node is None:
            return []
        if node.is_scalar:  # "tags: thé" is read as a one-item list
            return [node.text.strip()] if node.text.strip() else []
        result: list[str] = []
        for item in self.seq(key):
            if not item.is_scalar or not item.text.strip():
                self.error(item, f"each entry of '{key}' must be a short text")
                continue
            result.append(item.text.strip())
        return result

    def submap(
        self, key: str, allowed: Iterable[str], what: str, *, required: bool = False
    ) -> MapReader | None:
        node = self.get(key, required=required, example=f"{key}:")
        if node is None:
            return None
        if not node.is_map:
            self.error(node, f"'{key}' must be a group of 'key: value' lines, not {describe(node)}")
            return None
        return MapReader(node, self.problems, allowed, what, line=self.keys[key].line)


def find(node: Node | None, *path: str | int) -> Node | None:
    """The node at ``path`` (mapping keys and sequence indexes) under ``node``, or None."""
    for step in path:
        if node is None:
            return None
        if isinstance(step, int):
            items = node.items() if node.is_seq else []
            node = items[step] if 0 <= step < len(items) else None
        else:
            found = [v for k, _, v in node.entries() if k == step] if node.is_map else []
            node = found[0] if found else None
    return node


def as_map(
    node: Node | None,
    problems: Problems,
    allowed: Iterable[str],
    what: str,
) -> MapReader | None:
    """A MapReader for a node that must be a mapping (records a problem otherwise)."""
    if node is None:
        return None
    if not node.is_map:
        problems.add(node.path, node.line, f"{what} must be a group of 'key: value' lines")
        return None
    return MapReader(node, problems, allowed, what)
