"""Render the storefront's pages: only those whose inputs changed, across cores.

A page is a ``PageJob``: where it goes, and a text naming everything it is
made from besides the build's environment (theme, code, globals). A rebuild
compares that text's hash with the last build's and renders only what
changed. A cold build renders in forked worker processes, one per core: a
fork inherits the catalogue, the views and the compiled templates, so nothing
is pickled on the way in; each worker sends back what the parent must keep
(page cache entries, and whatever ``collect`` returns, such as views it made).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from generator.parallel import forked_map
from shop.files import write_atomic

# Below this many pages to render, forking costs more than it saves.
PARALLEL_MIN = 400


@dataclass(frozen=True, slots=True)
class PageJob:
    path: str  # relative to the output folder: "products/kyusu/index.html"
    depends: str  # everything the page is made from, besides the build's environment
    render: Callable[[], str]


class PageCache:
    """What each page was rendered from, so a rebuild renders only what changed.

    An entry is the page's key (a hash of the environment, its path and what it
    depends on) and the size and mtime of the file the build wrote: a file
    edited or removed by hand is rendered again.
    """

    VERSION = 2

    def __init__(self, path: Path, environment: str) -> None:
        self.path = path
        self.environment = environment
        self.entries: dict[str, list[Any]] = {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") == self.VERSION and data.get("environment") == environment:
                pages = data["pages"]
                self.entries = pages if isinstance(pages, dict) else {}
        except (OSError, ValueError, KeyError, AttributeError):
            self.entries = {}

    def key(self, relative: str, depends: str) -> str:
        text = f"{self.environment}\0{relative}\0{depends}"
        return hashlib.sha256(text.encode()).hexdigest()

    def fresh(self, relative: str, key: str, output: str) -> bool:
        entry = self.entries.get(relative)
        if not isinstance(entry, list) or entry[:1] != [key]:
            return False
        try:
            stat = os.stat(f"{output}/{relative}")  # noqa: PTH116 - no Path for 11,000 pages
        except OSError:
            return False
        return [stat.st_size, stat.st_mtime_ns] == entry[1:]

    def save(self, keep: Iterable[str]) -> None:
        kept = set(keep)
        data = {
            "version": self.VERSION,
            "environment": self.environment,
            "pages": {k: v for k, v in self.entries.items() if k in kept},
        }
        replace_file(self.path, json.dumps(data).encode())


def replace_file(path: Path, data: bytes) -> None:
    """Replace a cache file whole, its folder made if need be (see ``shop.files.write_atomic``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data)


class Written(NamedTuple):
    changed: bool
    size: int
    mtime_ns: int


Write = Callable[[str, str], Written]  # (relative path, text) -> the file as it now is


def write_file(path: str, data: bytes, folders: set[str]) -> Written:
    """Write ``data`` at ``path`` unless the file already holds it.

    A file that exists is replaced at once (written aside, then renamed), so a
    visitor of ``comptoir serve`` never gets half a page. A new file is written in
    place, which saves a cold build a rename per page: if the build stops halfway,
    the next one finds the file's size wrong and writes it again. ``folders``
    remembers the folders known to exist; in a folder made just now there is no
    file to look for (a product page is alone in its folder: 10,000 lookups saved).
    """
    folder = os.path.dirname(path)  # noqa: PTH120 - strings, not Paths, for 11,000 pages
    if folder not in folders:
        folders.add(folder)
        try:
            os.mkdir(folder)  # noqa: PTH102
        except FileExistsError:
            pass  # the file may be there too
        except FileNotFoundError:
            os.makedirs(folder, exist_ok=True)  # noqa: PTH103
            return _write(path, data)
        else:
            return _write(path, data)  # a folder made just now holds no file yet
    try:
        stat = os.stat(path)  # noqa: PTH116
    except FileNotFoundError:
        return _write(path, data)
    if stat.st_size == len(data):
        with open(path, "rb") as file:  # noqa: PTH123 - no Path for 11,000 pages
            if file.read() == data:
                return Written(False, stat.st_size, stat.st_mtime_ns)
    # Not shop.files.atomic_writer: its unique name, buffered file and chmod cost twice
    # as much per page (170 us against 330 us), and a theme change replaces every page.
    temporary = f"{path}.{os.getpid()}.tmp"
    written = _write(temporary, data)
    os.replace(temporary, path)  # noqa: PTH105
    return written


def _write(path: str, data: bytes) -> Written:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view) :]
        stat = os.fstat(descriptor)
    finally:
        os.close(descriptor)
    return Written(True, stat.st_size, stat.st_mtime_ns)


@dataclass
class RenderResult:
    rendered: int = 0
    written: int = 0


def render_pages(
    jobs: Sequence[PageJob],
    cache: PageCache,
    output: Path,
    write: Write,
    collect: Callable[[], Any] = lambda: None,
    merge: Callable[[Any], None] = lambda _: None,
) -> RenderResult:
    """Render and write the jobs whose key changed, in forked workers when there are many.

    ``write`` must not count files itself (a worker's count would be lost): the
    result counts them. ``collect`` runs after each batch (in a worker) and returns
    what the parent should learn from it; ``merge`` receives that in the parent.
    """
    result = RenderResult()
    stale: list[tuple[PageJob, str]] = []
    folder = str(output)
    for job in jobs:
        key = cache.key(job.path, job.depends)
        if not cache.fresh(job.path, key, folder):
            stale.append((job, key))
    result.rendered = len(stale)

    def batch(chunk: Sequence[tuple[PageJob, str]]) -> list[Batch]:
        entries, written = _render_batch(chunk, write)
        return [(entries, written, collect())]

    for entries, written, payload in forked_map(batch, stale, minimum=PARALLEL_MIN):
        cache.entries.update(entries)
        result.written += written
        merge(payload)
    return result


Batch = tuple[dict[str, list[Any]], int, Any]  # page cache entries, files written, payload


def _render_batch(
    batch: Sequence[tuple[PageJob, str]], write: Write
) -> tuple[dict[str, list[Any]], int]:
    entries: dict[str, list[Any]] = {}
    written = 0
    for job, key in batch:
        file = write(job.path, job.render())
        written += file.changed
        entries[job.path] = [key, file.size, file.mtime_ns]
    return entries, written
