"""A fast path for the Markdown most descriptions are made of.

Python-Markdown with "extra" costs about 0.6 ms for a 150-word product
description, most of it trying twenty inline patterns on every piece of text:
at 10,000 products that is the largest single cost of a cold build. Most
descriptions use a handful of constructs: paragraphs, ``#`` headings, flat
lists, simple pipe tables, quotes, ``*em*``, ``**strong**``, ``_em_`` and
``[links](/url)``.

``render`` writes those directly, byte for byte as Python-Markdown does, and
returns None for anything else: a character or a line start that could mean
more (raw HTML, entities, escapes, code, footnotes, abbreviations, attribute
lists, definition lists, setext headings, rules, indentation, trailing
spaces, nested or loose lists, aligned tables...). The caller then renders
with Python-Markdown, so the merchant's dialect stays exactly "extra".

Every rule here errs towards None. tests/test_quick_markdown.py compares both
renderers on generated documents and on every text of the example shop.
"""

from __future__ import annotations

import re

import markdown

# Verified by the test suite against the installed Python-Markdown; another major
# version may render differently, so it takes the slow path.
ENABLED = markdown.__version_info__[0] == 3

# Characters that make a text leave the fast path wherever they are.
_UNSAFE = r"<>&\\`{}~^\t\r\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x85\u2028\u2029\ufeff"
_NEVER = re.compile(rf"[{_UNSAFE}|]|!\[|  ")
# A table may hold pipes; it is checked line by line instead.
_NEVER_IN_TABLE = re.compile(rf"[{_UNSAFE}]|!\[|  ")

_HEADING = re.compile(r"(#{1,6}) +(.*[^#\s])\Z")
_BULLET = re.compile(r"([-*+]) (.*)\Z")
_NUMBER = re.compile(r"([0-9]+)\. (.*)\Z")
_ORDERED_START = re.compile(r"[0-9]+\.( |\Z)")
_SEPARATOR = re.compile(r"\|(?: *-{3,} *\|)+\Z")
_REFERENCE = re.compile(r"\[[^\]]*\]:")

# Inline: a link, then emphasis bounded by spaces or punctuation on the outside and
# by something that is not a space on the inside.
_BODY = r"[^\s*_\[\]](?:[^*_\[\]]*[^\s*_\[\]])?"
_BEFORE = r"(?<![^ \n(«\"'])"
_AFTER = r"(?![^ \n.,;:!?)»\"'])"
_INLINE = re.compile(
    r"\[(?P<text>[^\s\[\]*_](?:[^\[\]*_\n]*[^\s\[\]*_])?)\]\((?P<url>[A-Za-z0-9/._~:#?=%+,;@-]+)\)"
    rf"|{_BEFORE}\*\*(?P<strong>{_BODY})\*\*{_AFTER}"
    rf"|{_BEFORE}\*(?P<em>{_BODY})\*{_AFTER}"
    rf"|{_BEFORE}_(?P<under>{_BODY})_{_AFTER}"
)
_SPECIAL = re.compile(r"[*_\[\]]")


def render(text: str) -> str | None:
    """The HTML Python-Markdown ("extra", "sane_lists") would make of ``text``, or None
    when ``text`` uses more than this fast path knows."""
    if not ENABLED:
        return None
    html = _document(text.split("\n"), in_quote=False)
    return None if html is None else "\n".join(html)


def _document(lines: list[str], in_quote: bool) -> list[str] | None:
    html: list[str] = []
    previous = ""
    for chunk in _chunks(lines):
        first = chunk[0]
        kind = first[0]
        if kind == "#":
            block = _heading(chunk)
        elif kind == ">":
            block = None if previous == ">" else _quote(chunk)
        elif kind == "|":
            block = _table(chunk)
        elif _BULLET.match(first) or (kind.isdigit() and _ORDERED_START.match(first)):
            block = None if previous == "list" else _list(chunk)
            kind = "list"
        else:
            block = _paragraph(chunk)
        if block is None:
            return None
        html.append(block)
        previous = kind
    if not html and in_quote:
        return None
    return html


def _chunks(lines: list[str]) -> list[list[str]]:
    chunks: list[list[str]] = []
    current: list[str] = []
    for line in lines:
        if line:
            current.append(line)
        elif current:
            chunks.append(current)
            current = []
    if current:
        chunks.append(current)
    return chunks


def _heading(chunk: list[str]) -> str | None:
    if len(chunk) != 1 or _NEVER.search(chunk[0]):
        return None
    match = _HEADING.match(chunk[0])
    if match is None or match.group(2)[0].isspace():
        return None
    inner = _inline(match.group(2))
    if inner is None:
        return None
    level = len(match.group(1))
    return f"<h{level}>{inner}</h{level}>"


def _quote(chunk: list[str]) -> str | None:
    if chunk[0] == ">" or chunk[-1] == ">":  # Python-Markdown keeps such a line's newline
        return None
    inner: list[str] = []
    for line in chunk:
        if line == ">":
            inner.append("")
        elif line.startswith("> ") and not line.startswith(">  "):
            inner.append(line[2:])
        else:
            return None
    html = _document(inner, in_quote=True)
    if html is None:
        return None
    return "<blockquote>\n" + "\n".join(html) + "\n</blockquote>"


def _list(chunk: list[str]) -> str | None:
    items: list[str] = []
    bullet = _BULLET.match(chunk[0])
    for number, line in enumerate(chunk, 1):
        if _NEVER.search(line):
            return None
        if bullet is not None:
            match = _BULLET.match(line)
            if match is None or match.group(1) != bullet.group(1):
                return None
        else:
            match = _NUMBER.match(line)
            if match is None or int(match.group(1)) != number or match.group(1)[0] == "0":
                return None
        text = match.group(2)
        if not _plain_start(text) or _is_rule(line):
            return None
        inner = _inline(text)
        if inner is None:
            return None
        items.append(f"<li>{inner}</li>")
    tag = "ul" if bullet is not None else "ol"
    return f"<{tag}>\n" + "\n".join(items) + f"\n</{tag}>"


def _table(chunk: list[str]) -> str | None:
    if len(chunk) < 3 or not _SEPARATOR.match(chunk[1]):
        return None
    rows: list[list[str]] = []
    for line in chunk[:1] + chunk[2:]:
        if _NEVER_IN_TABLE.search(line) or not (line.startswith("|") and line.endswith("|")):
            return None
        if len(line) < 2:
            return None
        cells: list[str] = []
        for cell in line[1:-1].split("|"):
            content = cell.strip(" ")
            if not content or content != content.strip():
                return None
            inner = _inline(content)
            if inner is None:
                return None
            cells.append(inner)
        rows.append(cells)
    columns = chunk[1].count("|") - 1
    if any(len(row) != columns for row in rows):
        return None
    head = "".join(f"<th>{cell}</th>\n" for cell in rows[0])
    body = "".join(
        "<tr>\n" + "".join(f"<td>{cell}</td>\n" for cell in row) + "</tr>\n" for row in rows[1:]
    )
    return f"<table>\n<thead>\n<tr>\n{head}</tr>\n</thead>\n<tbody>\n{body}</tbody>\n</table>"


def _paragraph(chunk: list[str]) -> str | None:
    for line in chunk:
        if _NEVER.search(line) or not _plain_start(line):
            return None
    inner = _inline("\n".join(chunk))
    if inner is None:
        return None
    return f"<p>{inner}</p>"


def _plain_start(line: str) -> bool:
    """Whether a line of text starts as nothing but text (not a block of its own)."""
    if not line:
        return False
    first = line[0]
    if first.isspace() or line[-1].isspace() or first in "#>|-+=:":
        return False
    if first in "*_":  # emphasis, not a list item
        return not line.startswith("* ") and _INLINE.match(line) is not None
    if first == "[":
        return _REFERENCE.match(line) is None
    return not (first.isdigit() and _ORDERED_START.match(line))


def _is_rule(line: str) -> bool:
    return set(line) <= {"-", "*", "_", " "}


def _inline(text: str) -> str | None:
    if _SPECIAL.search(text) is None:
        return text
    parts: list[str] = []
    end = 0
    for match in _INLINE.finditer(text):
        gap = text[end : match.start()]
        if _SPECIAL.search(gap):
            return None
        parts.append(gap)
        end = match.end()
        if match.group("url") is not None:
            parts.append(f'<a href="{match.group("url")}">{match.group("text")}</a>')
        elif match.group("strong") is not None:
            parts.append(f"<strong>{match.group('strong')}</strong>")
        else:
            em = match.group("em")
            parts.append(f"<em>{em if em is not None else match.group('under')}</em>")
    rest = text[end:]
    if _SPECIAL.search(rest):
        return None
    parts.append(rest)
    return "".join(parts)
