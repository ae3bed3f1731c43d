"""The site's search index: Pagefind run over ``output/`` at the end of a build.

The templates mark what is indexed (``data-pagefind-body`` on products, pages and
articles, so listings, the cart and the order page are left out) and give each
result its image and price (``data-pagefind-meta``). ``js/search.js`` on
``/search/`` queries the index in the browser: no server, no third party.

Pagefind has no incremental mode: it reads every page of the site each run.
So a build runs it only when the pages changed: a signature of every HTML file
of the site (path, size, mtime: a file left untouched keeps its mtime) and of
Pagefind's version and options is kept in ``.cache/search.json``. When it
differs, Pagefind indexes the whole site into a folder aside, and the files
whose bytes changed replace those of ``output/pagefind/`` (most fragments keep
their name and bytes, so a deploy uploads little); the others are removed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Set
from importlib import metadata
from pathlib import Path

from generator.pages import replace_file, write_file
from shop.problems import Problem

FOLDER = "pagefind"  # output/pagefind/, where the page's script finds the index
OPTIONS = ("--quiet", "--include-characters", "-")
# Pagefind's own search interfaces: the site has its own (js/search.js), these stay out.
UNUSED = ("pagefind-ui.", "pagefind-component-ui.", "pagefind-modular-ui.", "pagefind-highlight.")


class SearchIndexError(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def pagefind_version() -> str | None:
    try:
        return metadata.version("pagefind_bin")
    except metadata.PackageNotFoundError:
        return None


def signature(output: Path, produced: Set[str]) -> str:
    """A hash of every page of the site as it is on disk, and of how it is indexed."""
    digest = hashlib.sha256(f"{pagefind_version()}\0{OPTIONS}".encode())
    top = str(output)
    for relative in sorted(p for p in produced if p.endswith(".html")):
        stat = os.stat(f"{top}/{relative}")  # noqa: PTH116 - 11,000 pages: no Path
        digest.update(f"{relative}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


class SearchIndex:
    """Keeps ``output/pagefind/`` in step with the pages, re-indexing only when they changed."""

    def __init__(self, cache: Path, output: Path, previous: Set[str] | None) -> None:
        self.cache = cache  # .cache/search.json: the signature of the last index
        self.output = output
        # The index files of the last build: kept through the stale sweep, replaced after.
        self.kept = {f for f in previous or () if f.startswith(FOLDER + "/")}

    def last_signature(self) -> str | None:
        try:
            data = json.loads(self.cache.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data.get("signature") if isinstance(data, dict) else None

    def update(
        self,
        produced: set[str],
        folders: set[str],
        remove: Callable[..., None],
        progress: Callable[[str], None] = lambda _: None,
    ) -> int:
        """Index the site unless its pages are those of the last index; returns the number
        of index files written. ``produced`` gains the index's files; ``remove(output,
        produced, previous)`` deletes the last index's files that are no longer in it."""
        produced -= self.kept
        current = signature(self.output, produced)
        entry = f"{FOLDER}/pagefind-entry.json"
        if (
            current == self.last_signature()
            and entry in self.kept
            and (self.output / entry).is_file()
        ):
            produced |= self.kept  # the pages are those the index was made from
            return 0
        self.cache.unlink(missing_ok=True)  # an interrupted run must not look finished
        progress("Indexing the site for search…")
        aside = self.cache.parent / f"pagefind-{os.getpid()}.tmp"
        try:
            _run_pagefind(self.output, aside)
            written, files = _merge(aside, self.output, folders)
        finally:
            shutil.rmtree(aside, ignore_errors=True)
        remove(self.output, files, self.kept)
        produced |= files
        replace_file(self.cache, json.dumps({"signature": current}).encode())
        return written


def _run_pagefind(site: Path, into: Path) -> None:
    try:
        from pagefind_bin import get_executable  # type: ignore[import-untyped]

        executable = str(get_executable())
    except (ImportError, FileNotFoundError) as error:
        raise SearchIndexError(
            Problem(FOLDER, 1, "the search index needs Pagefind: pip install 'pagefind[bin]'")
        ) from error
    command = [executable, "--site", str(site), "--output-path", str(into), *OPTIONS]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not (into / "pagefind-entry.json").is_file():
        said = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise SearchIndexError(Problem(FOLDER, 1, "Pagefind failed: " + " / ".join(said)))


def _merge(aside: Path, output: Path, folders: set[str]) -> tuple[int, set[str]]:
    """Move the new index's files into output/pagefind/, leaving identical ones untouched."""
    written = 0
    files: set[str] = set()
    top = str(output)
    for folder, _, names in os.walk(aside):
        inside = os.path.relpath(folder, aside)
        for name in names:
            if name.startswith(UNUSED):
                continue
            relative = f"{FOLDER}/{name}" if inside == "." else f"{FOLDER}/{inside}/{name}"
            with open(f"{folder}/{name}", "rb") as file:  # noqa: PTH123
                data = file.read()
            written += write_file(f"{top}/{relative}", data, folders).changed
            files.add(relative)
    return written, files
