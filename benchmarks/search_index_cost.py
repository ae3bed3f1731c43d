#!/usr/bin/env python3
"""What a search index costs to make from the build's search documents: Pagefind, and a
minimal inverted index written in Python, on the same documents of the same shop.

It builds the synthetic shop of ``build.py`` once (``comptoir build``: its search documents
land in ``.cache/search/documents/``), then, on those documents:

- runs Pagefind as ``comptoir build`` does, and reports its wall time and the CPU time of
  the process (user + system, from ``getrusage`` of the children);
- makes in this process the smallest index of our own that could serve the search page:
  the text of each document folded to lower-case ASCII words (accents removed, words of
  one character and the commonest French and English words left out), a posting list
  per word (document number and count), written as one JSON file per two-letter word
  prefix, plus one small JSON file per document (URL, title, price, image, text for the
  excerpt). It reports the CPU time of each step (``time.process_time``).

This prices the option named in benchmarks/README.md ("an index of our own"); it is not
a search engine: no stemming, no ranking beyond counts, no query code.

    python benchmarks/search_index_cost.py --size 10000 --workdir /dev/shm/bench-index
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import build as bench  # benchmarks/build.py, beside this file

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from generator.search import OPTIONS  # noqa: E402 - after the path is set

WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
TAG = re.compile(r"<[^>]+>")
COMMON = frozenset(
    [
        "le",
        "la",
        "les",
        "de",
        "des",
        "du",
        "un",
        "une",
        "et",
        "en",
        "au",
        "aux",
        "a",
        "ce",
        "ces",
        "est",
        "pour",
        "par",
        "sur",
        "dans",
        "avec",
        "il",
        "elle",
        "on",
        "qui",
        "que",
        "se",
        "ne",
        "pas",
        "plus",
        "the",
        "of",
        "and",
        "to",
        "in",
        "is",
        "for",
        "on",
        "with",
        "as",
        "by",
        "it",
        "its",
        "an",
        "be",
        "or",
        "at",
    ]
)


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return decomposed.encode("ascii", "ignore").decode("ascii")


def document_of(path: Path, root: Path) -> tuple[dict[str, str], str]:
    page = path.read_text(encoding="utf-8")
    meta = {
        "url": "/" + str(path.parent.relative_to(root)) + "/",
        "title": html.unescape(re.search(r"<h1>(.*?)</h1>", page, re.S).group(1)),  # type: ignore[union-attr]
    }
    for name in ("price", "image"):
        found = re.search(rf'data-{name}="([^"]*)"', page)
        if found:
            meta[name] = html.unescape(found.group(1))
    skus = re.search(r'data-skus="([^"]*)"', page)
    body = page[page.index("<body") :]
    text = html.unescape(TAG.sub(" ", body))
    return meta, f"{text} {skus.group(1) if skus else ''}"


def own_index(documents: Path, into: Path) -> tuple[dict[str, float], int, int]:
    """The minimal index, step by step; returns each step's CPU seconds, and the number of
    words and of postings."""
    times: dict[str, float] = {}
    mark = time.process_time()
    files = sorted(documents.rglob("index.html"))
    parsed = [document_of(path, documents) for path in files]
    times["read and strip"] = time.process_time() - mark

    mark = time.process_time()
    counts = [
        Counter(w for w in WORD.findall(fold(text)) if len(w) > 1 and w not in COMMON)
        for _, text in parsed
    ]
    times["fold and count words"] = time.process_time() - mark

    mark = time.process_time()
    postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for number, words in enumerate(counts):
        for word, count in words.items():
            postings[word].append((number, count))
    shards: dict[str, dict[str, list[tuple[int, int]]]] = defaultdict(dict)
    for word, entries in postings.items():
        shards[word[:2]][word] = entries
    times["posting lists"] = time.process_time() - mark

    mark = time.process_time()
    shutil.rmtree(into, ignore_errors=True)
    (into / "words").mkdir(parents=True)
    (into / "docs").mkdir()
    for prefix, words in shards.items():
        (into / "words" / f"{prefix}.json").write_text(json.dumps(words, separators=(",", ":")))
    for number, (meta, text) in enumerate(parsed):
        fragment = {**meta, "text": " ".join(text.split())[:2000]}
        (into / "docs" / f"{number}.json").write_text(json.dumps(fragment, ensure_ascii=False))
    times["write files"] = time.process_time() - mark
    return times, len(postings), sum(len(e) for e in postings.values())


def pagefind(documents: Path, into: Path) -> tuple[float, float]:
    """Pagefind as ``comptoir build`` runs it: (wall seconds, CPU seconds)."""
    from pagefind_bin import get_executable  # type: ignore[import-untyped]

    shutil.rmtree(into, ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    command = [str(get_executable()), "--site", str(documents), "--output-path", str(into)]
    subprocess.run([*command, *OPTIONS], check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def size_of(folder: Path) -> tuple[int, float]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files) / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/comptoir-bench-index"))
    args = parser.parse_args()

    base = args.workdir.resolve() / f"n{args.size}"
    shutil.rmtree(base, ignore_errors=True)
    pool = args.workdir.resolve() / "image-pool"
    bench.make_image_pool(pool, args.seed)
    shop = bench.make_shop(args.size, args.seed)
    root = base / "comptoir"
    bench.write_comptoir(shop, root, pool)
    env = bench.comptoir_env(REPO)
    subprocess.run(bench.comptoir_command(REPO, root, root / "output"), env=env, check=True)
    documents = root / ".cache" / "search" / "documents"
    count, megabytes = size_of(documents)
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()}")
    print(f"{args.size:,} products: {count:,} search documents, {megabytes:.1f} MB")

    wall, cpu = pagefind(documents, base / "pagefind")
    files, index_mb = size_of(base / "pagefind")
    print(f"Pagefind: {wall:.2f} s wall, {cpu:.2f} s CPU; {files:,} files, {index_mb:.1f} MB")

    times, words, postings = own_index(documents, base / "own")
    files, index_mb = size_of(base / "own")
    print(
        f"own index: {sum(times.values()):.2f} s CPU in one process "
        + ", ".join(f"{k} {v:.2f}" for k, v in times.items())
        + f"; {words:,} words, {postings:,} postings; "
        f"{files:,} files, {index_mb:.1f} MB"
    )
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
