"""The site's search index: Pagefind, run over small search documents while pages render.

What search knows of the site is one small HTML document per product, page and article
(``theme/templates/search_document.html``: title, description or text, SKUs, category,
tags, variant names, and the image and price a result shows), not the pages themselves:
Pagefind then does a third of the work it does on whole pages (benchmarks/README.md).
The documents are rendered like pages, only those whose inputs changed and in forked
workers on a cold build, into ``.cache/search/documents/`` under the path of the page
they stand for (which gives each result its URL).

Pagefind then runs as a separate process, started as soon as the documents are written:
it indexes while the build renders the listings and the other pages, and ``finish``
waits for it. It runs only when a document changed (a signature of every document's
key, size and mtime, and of Pagefind's version and options, in ``.cache/search/index.json``).

Pagefind has no incremental mode: it indexes every document each run, so a rebuild after
one edit indexes them all again. Splitting the index into shards indexed one by one and
merged in the browser (``mergeIndex``) was tried and left: a shard lacking a word of the
query answers with Pagefind's near matches for it (``morita`` finds the word ``M``), ranked
above the true results of the shard that has it. The new index's files replace those of
the last one only where their bytes changed (most fragments keep theirs); the others are
removed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Sequence, Set
from importlib import metadata
from pathlib import Path
from typing import Any

from generator.pages import PageCache, PageJob, Written, render_pages, replace_file, write_file
from shop.problems import Problem

FOLDER = "pagefind"  # output/pagefind/, where the search page's script finds the index
OPTIONS = ("--quiet", "--include-characters", "-")
# Pagefind's own search interfaces: the site has its own (js/search.js), these stay out.
UNUSED = ("pagefind-ui.", "pagefind-component-ui.", "pagefind-modular-ui.", "pagefind-highlight.")
VERSION = 2  # of .cache/search/index.json


class SearchIndexError(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def pagefind_version() -> str | None:
    try:
        return metadata.version("pagefind_bin")
    except metadata.PackageNotFoundError:
        return None


class SearchIndex:
    """Keeps ``output/pagefind/`` in step with the site's search documents.

    ``render`` (during the build, once the product views exist) writes the documents
    whose inputs changed and, if any did, starts Pagefind; ``finish`` (once the stale
    pages are gone) waits for it and moves the new index files into ``output/``.
    """

    def __init__(self, cache: Path, output: Path, previous: Set[str] | None, environment: str):
        self.cache = cache  # .cache/search/
        self.output = output
        self.environment = environment  # the pages' own: a theme or code change renders again
        # The index files of the last build: kept through the stale sweep, replaced after.
        self.kept = {f for f in previous or () if f.startswith(FOLDER + "/")}
        self.documents = cache / "documents"
        self.aside = cache / f"index-{os.getpid()}.tmp"
        self.signature = ""
        self.process: subprocess.Popen[bytes] | None = None
        self.error: SearchIndexError | None = None

    def render(
        self,
        jobs: Sequence[PageJob],
        collect: Callable[[], Any] = lambda: None,
        merge: Callable[[Any], None] = lambda _: None,
    ) -> int:
        """Write the search documents (``jobs``: one per page, at the page's path), remove
        those of pages gone, and start Pagefind if any changed. Returns how many were
        rendered."""
        pages = PageCache(self.cache / "documents.json", self.environment)
        if not pages.entries:  # no record of what is there: start from nothing
            shutil.rmtree(self.documents, ignore_errors=True)
        top = str(self.documents)
        folders: set[str] = set()

        def write(relative: str, text: str) -> Written:
            return write_file(f"{top}/{relative}", text.encode("utf-8"), folders)

        wanted = {job.path for job in jobs}
        for gone in set(pages.entries) - wanted:
            del pages.entries[gone]  # its file goes with the strays below
        result = render_pages(jobs, pages, self.documents, write, collect, merge)
        pages.save(wanted)
        strays = 0  # pages gone, or left by a build stopped halfway
        for folder, _, names in os.walk(top):
            for name in names:
                path = f"{folder}/{name}"
                if os.path.relpath(path, top) not in wanted:
                    os.unlink(path)  # noqa: PTH108
                    strays += 1

        digest = hashlib.sha256(f"{VERSION}\0{pagefind_version()}\0{OPTIONS}".encode())
        for path in sorted(pages.entries):
            digest.update(f"{path}\0{pages.entries[path]}\n".encode())
        self.signature = digest.hexdigest()
        entry = f"{FOLDER}/pagefind-entry.json"
        if (
            not strays
            and self.signature == self._last_signature()
            and entry in self.kept
            and (self.output / entry).is_file()
        ):
            return result.rendered  # the index is that of these documents
        (self.cache / "index.json").unlink(missing_ok=True)  # until indexed again
        shutil.rmtree(self.aside, ignore_errors=True)
        try:
            self.process = _start_pagefind(self.documents, self.aside)
        except SearchIndexError as error:
            self.error = error
        return result.rendered

    def _last_signature(self) -> str | None:
        try:
            data = json.loads((self.cache / "index.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data.get("signature") if isinstance(data, dict) else None

    def finish(
        self,
        produced: set[str],
        folders: set[str],
        remove: Callable[..., None],
        progress: Callable[[str], None] = lambda _: None,
    ) -> int:
        """Wait for Pagefind, and put the new index's files in ``output/pagefind/``.
        ``produced`` gains the index's files; ``remove(output, produced, previous)``
        deletes the last index's files that are no longer in it. Returns the number of
        files written."""
        if self.error is not None:
            raise self.error
        if self.process is None:  # nothing changed
            produced |= self.kept
            return 0
        try:
            progress("Indexing the site for search…")
            _wait(self.process, self.aside)
            written, files = _merge(self.aside, self.output, folders)
        finally:
            self.abandon()
        remove(self.output, files, self.kept)
        produced |= files
        replace_file(self.cache / "index.json", json.dumps({"signature": self.signature}).encode())
        return written

    def abandon(self) -> None:
        """Stop Pagefind if it still runs (a failed build), and remove what it wrote."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.aside, ignore_errors=True)
        self.aside.with_suffix(".log").unlink(missing_ok=True)


def _start_pagefind(site: Path, into: Path) -> subprocess.Popen[bytes]:
    try:
        from pagefind_bin import get_executable  # type: ignore[import-untyped]

        executable = str(get_executable())
    except (ImportError, FileNotFoundError) as error:
        raise SearchIndexError(
            Problem(FOLDER, 1, "the search index needs Pagefind: pip install 'pagefind[bin]'")
        ) from error
    command = [executable, "--site", str(site), "--output-path", str(into), *OPTIONS]
    site.mkdir(parents=True, exist_ok=True)
    with into.with_suffix(".log").open("wb") as log:  # the child has its own descriptor
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)


def _wait(process: subprocess.Popen[bytes], into: Path) -> None:
    process.wait()
    if process.returncode != 0 or not (into / "pagefind-entry.json").is_file():
        said = into.with_suffix(".log").read_text(errors="replace").strip().splitlines()
        raise SearchIndexError(Problem(FOLDER, 1, "Pagefind failed: " + " / ".join(said[-5:])))


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
