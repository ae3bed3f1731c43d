"""Fingerprinted static assets: the theme's ``static/`` folder, published under content hashes.

``css/site.css`` becomes ``static/css/site.1a2b3c4d5e.css``: a new content gets a new
name, so the CDN may cache every asset forever. CSS and JavaScript are minified
conservatively first (nothing that could change what they mean: why not rcssmin and
rjsmin, which do: benchmarks/README.md, "minify.py"), and ``url(...)``
references between static files are rewritten to the fingerprinted URLs, so a font
that changes also renames the stylesheet that loads it.
"""

from __future__ import annotations

import difflib
import hashlib
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from urllib.parse import quote, unquote

from shop.files import write_atomic

HASH_LENGTH = 10


class AssetError(Exception):
    """A theme file that cannot be published, reported as ``path:line: message``."""

    def __init__(self, path: Path, line: int, message: str) -> None:
        super().__init__(path, line, message)
        self.path = path
        self.line = line
        self.message = message

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(frozen=True)
class AssetManifest:
    """Where each static file was published: ``"css/site.css" -> "/static/css/site.<hash>.css"``."""

    urls: Mapping[str, str]

    def url(self, name: str) -> str:
        """The fingerprinted URL of a static file, named by its path inside ``static/``."""
        try:
            return self.urls[name]
        except KeyError:
            raise KeyError(_unknown_asset(name, self.urls)) from None


def build_assets(static_dir: Path, output_dir: Path, url_prefix: str = "/static/") -> AssetManifest:
    """Publish every file of ``static_dir`` into ``output_dir/static`` under hashed names.

    A file is written only when its hashed name is missing: the same name means the
    same bytes. A missing ``static_dir`` gives an empty manifest.
    """
    names = _asset_names(static_dir)
    publisher = _Publisher(static_dir, output_dir / "static", url_prefix, frozenset(names))
    for name in names:
        publisher.publish(name)
    return AssetManifest(MappingProxyType(dict(sorted(publisher.urls.items()))))


def fingerprinted_name(name: str, content: bytes) -> str:
    """``css/site.css`` -> ``css/site.<10 hex>.css`` (the hash goes before the extension)."""
    digest = hashlib.sha256(content).hexdigest()[:HASH_LENGTH]
    folder, base = posixpath.split(name)
    stem, dot, extension = base.rpartition(".")
    hashed = f"{stem}.{digest}.{extension}" if dot and stem else f"{base}.{digest}"
    return posixpath.join(folder, hashed)


def _asset_names(static_dir: Path) -> list[str]:
    """Every file under ``static_dir`` as a posix path, skipping hidden ones (.DS_Store…)."""
    if not static_dir.is_dir():
        return []
    names = []
    for path in static_dir.rglob("*"):
        relative = path.relative_to(static_dir)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            names.append(relative.as_posix())
    return sorted(names)


def _unknown_asset(name: str, urls: Mapping[str, str]) -> str:
    message = f"unknown static asset {name!r}: there is no such file in the theme's static folder"
    close = difflib.get_close_matches(name, list(urls), n=1)
    if close:
        return f"{message}; did you mean {close[0]!r}?"
    known = ", ".join(list(urls)[:12]) or "none"
    return f"{message} (known assets: {known})"


# -- publishing ----------------------------------------------------------------


@dataclass
class _Publisher:
    static_dir: Path
    target_dir: Path
    url_prefix: str
    names: frozenset[str]
    urls: dict[str, str] = field(default_factory=dict)
    _in_progress: list[str] = field(default_factory=list)

    def publish(self, name: str) -> str:
        """Publish one file (after those its CSS refers to) and return its URL."""
        if name in self.urls:
            return self.urls[name]
        if name in self._in_progress:
            cycle = " -> ".join([*self._in_progress[self._in_progress.index(name) :], name])
            raise AssetError(self.static_dir / name, 1, f"stylesheets import each other: {cycle}")
        self._in_progress.append(name)
        try:
            content = self._content(name)
        finally:
            self._in_progress.pop()
        hashed = fingerprinted_name(name, content)
        _write_once(self.target_dir / hashed, content)
        self.urls[name] = self.url_prefix + quote(hashed)
        return self.urls[name]

    def _content(self, name: str) -> bytes:
        path = self.static_dir / name
        data = path.read_bytes()
        extension = posixpath.splitext(name)[1].lower()
        if extension not in (".css", ".js", ".mjs"):
            return data
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            line = data[: error.start].count(b"\n") + 1
            raise AssetError(path, line, "this file is not UTF-8 text: save it as UTF-8") from None
        if extension == ".css":
            text = minify_css(text, lambda ref, line: self._reference(name, ref, line))
        else:
            text = minify_js(text)
        return text.encode("utf-8")

    def _reference(self, css_name: str, reference: str, line: int) -> str:
        """The URL a stylesheet should use for ``reference``: fingerprinted when it is ours."""
        target = _static_name(css_name, reference, self.url_prefix)
        if target is None:
            return reference
        name, suffix = target
        if name not in self.names:
            raise AssetError(
                self.static_dir / css_name,
                line,
                f"{reference!r} refers to {name}, which is not in the static folder: "
                "add the file or correct the path",
            )
        return self.publish(name) + suffix


def _static_name(css_name: str, reference: str, url_prefix: str) -> tuple[str, str] | None:
    """The static file a CSS reference points to, with its ``?query#fragment``; None if not ours."""
    if not reference or reference.startswith(("#", "//")) or _SCHEME.match(reference):
        return None  # data: URIs, other sites, SVG fragment references
    split = min((i for i in (reference.find("?"), reference.find("#")) if i >= 0), default=None)
    path, suffix = (reference, "") if split is None else (reference[:split], reference[split:])
    path = unquote(path)
    if path.startswith("/"):
        prefix = url_prefix if url_prefix.startswith("/") else "/" + url_prefix
        return (path[len(prefix) :], suffix) if path.startswith(prefix) else None
    name = posixpath.normpath(posixpath.join(posixpath.dirname(css_name), path))
    return None if name == ".." or name.startswith("../") else (name, suffix)


_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*:")


def _write_once(target: Path, content: bytes) -> None:
    """Write ``content`` at ``target`` unless it exists; atomically, for concurrent builds."""
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, content)


# -- CSS -----------------------------------------------------------------------

_CSS_STRING = r""""(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'"""
_CSS_TOKEN = re.compile(
    rf"""
      (?P<comment>/\*.*?\*/)
    | url\(\s*(?P<unquoted>(?:[^\s"'()\\]|\\.)*)\s*\)
    | url\(\s*(?P<quoted>{_CSS_STRING})\s*\)
    | @import\s*(?P<imported>{_CSS_STRING})
    | (?P<string>{_CSS_STRING})
    | (?P<space>\s+)
    | (?P<other>[^\s"'/u@{{}};,]+|.)
    """,
    re.DOTALL | re.VERBOSE | re.IGNORECASE,
)
# Whitespace next to these never matters. Colons, parentheses and operators are left
# alone: ``a :hover``, ``and (min-width…)`` and ``calc(100% - 2rem)`` need their spaces.
_CSS_TIGHT = frozenset("{};,")
_WORD = re.compile(r"[\w-]")  # chars that would fuse into one identifier or number

Rewriter = Callable[[str, int], str]  # (reference, line) -> URL to use instead


def _keep(reference: str, line: int) -> str:
    return reference


def minify_css(css: str, rewrite: Rewriter = _keep) -> str:
    """Remove comments (but ``/*! licences */``) and needless whitespace; rewrite ``url()``s.

    Strings and ``url()`` contents are copied untouched; a removed comment that separated
    two words leaves a space.
    """
    out: list[str] = []
    space = separated = False
    for match in _CSS_TOKEN.finditer(css):
        kind = match.lastgroup
        text = match.group()
        if kind == "comment" and not text.startswith("/*!"):
            separated = True
            continue
        if kind == "space":
            space = True
            continue
        text = _rewritten(match, css, rewrite)
        last = out[-1][-1] if out else ""
        if last and (
            (space and last not in _CSS_TIGHT and text[0] not in _CSS_TIGHT)
            or (separated and _WORD.match(last) and _WORD.match(text[0]))
        ):
            out.append(" ")
        elif text[0] == "}" and last == ";":
            out[-1] = out[-1][:-1]
        elif text == ";" and last == ";":
            continue  # an empty declaration means nothing (and ";;}" must end as "}")
        out.append(text)
        space = separated = False
    return "".join(out)


def _rewritten(match: re.Match[str], css: str, rewrite: Rewriter) -> str:
    def line() -> int:
        return css.count("\n", 0, match.start()) + 1

    if match.group("unquoted") is not None:
        reference = match.group("unquoted")
        if "\\" not in reference:  # escaped references are left as written
            reference = rewrite(reference, line())
        return f"url({reference})"
    for group, template in (("quoted", "url({})"), ("imported", "@import {}")):
        string = match.group(group)
        if string is not None:
            quote_mark, reference = string[0], string[1:-1]
            if "\\" not in reference:
                string = quote_mark + rewrite(reference, line()) + quote_mark
            return template.format(string)
    return match.group()


# -- JavaScript ----------------------------------------------------------------


def minify_js(source: str) -> str:
    """Drop indentation, blank lines and whole-line ``//`` comments; nothing riskier.

    Lines that begin inside a template literal (or a string continued with a backslash)
    are kept exactly, since their spaces are part of a value, and so are lines inside a
    block comment (a ``//`` there may precede its ``*/``). A file whose strings,
    comments or regular expressions cannot be followed is returned unchanged.
    """
    protected = _untouchable_lines(source)
    if protected is None:
        return source
    lines = source.split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        if index in protected:
            kept.append(line)
            continue
        stripped = line.lstrip() if index + 1 in protected else line.strip()
        if stripped and not stripped.startswith("//"):
            kept.append(stripped)
    text = "\n".join(kept)
    return text + "\n" if source.endswith("\n") and not text.endswith("\n") else text


_JS_REGEX_BEFORE = frozenset("(,=:[!&|?{};+-*%<>~^")
_JS_REGEX_AFTER_WORDS = frozenset(
    {
        "return",
        "typeof",
        "case",
        "do",
        "else",
        "in",
        "of",
        "new",
        "delete",
        "void",
        "throw",
        "instanceof",
        "yield",
        "await",
    }
)
_JS_WORD = re.compile(r"[\w$]+")


def _untouchable_lines(source: str) -> set[int] | None:
    """Indexes of the lines that start inside a template literal, a continued string or a
    block comment: the lines whose leading spaces or ``//`` are not code.

    A small lexer: it follows strings, comments, regular expressions (told from a
    division by the token before them) and ``${…}`` nesting. None when it gets lost.
    """
    protected: set[int] = set()
    stack: list[str] = []  # "`" inside a template, "${" / "{" inside its substitutions
    regex_allowed = True
    line = i = 0
    while i < len(source):
        char = source[i]
        if stack and stack[-1] == "`":
            if char == "\\":
                i += 1
            elif char == "`":
                stack.pop()
                regex_allowed = False
            elif source.startswith("${", i):
                stack.append("${")
                regex_allowed = True
                i += 1
            if i < len(source) and source[i] == "\n":
                line += 1
                protected.add(line)
            i += 1
            continue
        if char == "\n":
            line += 1
        elif source.startswith("//", i):
            end = source.find("\n", i)
            i = len(source) if end < 0 else end
            continue
        elif source.startswith("/*", i):
            end = source.find("*/", i + 2)
            if end < 0:
                return None
            newlines = source.count("\n", i, end)
            protected.update(range(line + 1, line + 1 + newlines))  # a "//" there is no comment
            line += newlines
            i = end + 2
            continue
        elif char in "'\"":
            string_end = _end_of_string(source, i, protected, line)
            if string_end is None:
                return None
            line += source.count("\n", i, string_end)
            i, regex_allowed = string_end, False
            continue
        elif char == "`":
            stack.append("`")
        elif char == "/" and regex_allowed:
            regex_end = _end_of_regex(source, i)
            if regex_end is None:
                return None
            i, regex_allowed = regex_end, False
            continue
        elif char == "{" and stack:
            stack.append("{")
        elif char == "}" and stack:
            stack.pop()
        word = _JS_WORD.match(source, i)
        if word:
            regex_allowed = word.group() in _JS_REGEX_AFTER_WORDS
            i = word.end()
            continue
        if not char.isspace():
            regex_allowed = char in _JS_REGEX_BEFORE
        i += 1
    return None if stack else protected


def _end_of_string(source: str, start: int, protected: set[int], line: int) -> int | None:
    """Index just after the string opened at ``start``; notes lines continued by ``\\``."""
    quote_mark = source[start]
    i = start + 1
    while i < len(source):
        char = source[i]
        if char == "\\":
            if source.startswith("\n", i + 1) or source.startswith("\r\n", i + 1):
                line += 1
                protected.add(line)
            i += 3 if source.startswith("\r\n", i + 1) else 2
            continue
        if char == quote_mark:
            return i + 1
        if char == "\n":
            return None
        i += 1
    return None


def _end_of_regex(source: str, start: int) -> int | None:
    """Index just after the regular expression literal (and its flags) opened at ``start``."""
    in_class = False
    i = start + 1
    while i < len(source):
        char = source[i]
        if char == "\\":
            i += 2
            continue
        if char == "\n":
            return None
        if char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        elif char == "/" and not in_class:
            flags = _JS_WORD.match(source, i + 1)
            return flags.end() if flags else i + 1
        i += 1
    return None
