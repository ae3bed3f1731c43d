"""The site's search index: made by ``comptoir build``, read by js/search.js in the
shopper's browser. No server, no third party, no WebAssembly.

What search knows of a product, page or article is a *record*: what its result shows
(URL, title, price, image, a short text) and its words, each weighed by where it appears
(title and SKUs most, then category, tags and variant names, then the text). Words are
folded as js/search.js folds a query (``words``): lower case, accents removed, a final
plural ``s`` or ``x`` dropped, the commonest words of the shop's language left out.
Records are made like pages, only those whose inputs changed and in forked workers on a
cold build, and kept in ``.cache/search/records.pickle``.

From all records the build writes ``output/search-index/``:

- ``meta.json``: the number of documents, the common words, the word files there are;
- ``words/<first two letters>.json``: for each word, the documents holding it and its
  weight in each (``[gap, weight, gap, weight, …]``: document numbers as gaps, ascending);
- ``docs/<n>.json``: what results show, ``CHUNK`` documents per file.

A search asks for ``meta.json``, one word file per word of the query (the query's last
words are prefixes: ``thé`` finds ``théière``), then the few ``docs`` files of the results
it shows. Each document keeps its number from build to build (a new one takes the lowest
free number), so an edit rewrites only the files it touches.

Pagefind did this until December 2026: it could not meet the build budget (it costs
about 9 CPU-seconds at 10,000 products, against a build of 9 seconds on two cores; see
benchmarks/README.md), indexed everything again after any edit, and needed
``'wasm-unsafe-eval'`` and a Trusted Types exception on the search page.
"""

from __future__ import annotations

import hashlib
import json
import math
import pickle
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any, NamedTuple

from generator.pages import replace_file, write_file
from generator.parallel import forked_map

FOLDER = "search-index"  # output/search-index/, where js/search.js finds the index
VERSION = 1  # of the index's files and of .cache/search/records.pickle
CHUNK = 16  # documents per docs/ file: a page of 10 results asks for a few small files
EXCERPT = 600  # characters of text kept: a result shows the part around the words found
PARALLEL_MIN = 400  # fewer records than this are made in this process

# Weight of a word by where it appears; a word's weight in a document is capped, so a
# text repeating a word does not outrank a title holding it. In a text longer than SHORT
# words, each occurrence weighs less (a word of a product's five lines says more about it
# than the same word once in a long article).
TITLE, CODE, LABEL, TEXT, CAP, SHORT = 40, 40, 16, 4, 200, 100

# The commonest words of each language (folded): in nearly every document, they would
# only make the index larger. A query's words are filtered the same way (meta.json).
COMMON = {
    "fr": (
        "au aux avec ce ces dans de des du elle en est et il ils la le les leur leurs "
        "mais ne nous on ou par pas pour qu que qui sa se ses son sont sur un une vous"
    ),
    "en": (
        "an and are as at be but by for from has have in is it its not of on or that the "
        "their this to was were which with you your"
    ),
}

_LIGATURES = (("œ", "oe"), ("æ", "ae"), ("ß", "ss"))
_MARKS = re.compile("[\u0300-\u036f]")  # what NFKD splits off accented Latin letters
_WORD = re.compile(r"[^\W_]+")  # letters and digits of any script, as \p{L}\p{N} in JS
_LONG_WORD = re.compile(r"[^\W_]{2,}")
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


def fold(text: str) -> str:
    """Lower case, ligatures spelt out, accents removed: ``Théière`` → ``theiere``."""
    text = text.lower()
    if text.isascii():
        return text
    for ligature, letters in _LIGATURES:
        if ligature in text:
            text = text.replace(ligature, letters)
    return _MARKS.sub("", unicodedata.normalize("NFKD", text))


def stem(word: str) -> str:
    """A final plural ``s`` (not ``ss``) or ``x`` after ``u`` dropped from words of four
    letters or more: ``tasses`` → ``tasse``, ``bijoux`` → ``bijou``, ``verts`` → ``vert``."""
    if len(word) > 3:
        last = word[-1]
        if (last == "s" and word[-2] != "s") or (last == "x" and word[-2] == "u"):
            return word[:-1]
    return word


def words(text: str, common: Set[str]) -> Iterator[str]:
    """The words of ``text`` as the index holds them: folded, at least two characters,
    not common, stemmed. js/search.js does the same to a query."""
    for word in _WORD.findall(fold(text)):
        if len(word) > 1 and word not in common:
            yield stem(word)


def counted(text: str, common: Set[str]) -> Counter[str]:
    """``Counter(words(text, common))``, made with as little Python per word as can be:
    a product's description has a hundred-odd words, the index ten thousand products."""
    counts = Counter(_LONG_WORD.findall(fold(text)))
    for word in common & counts.keys():
        del counts[word]
    plurals = [w for w in counts if w.endswith(("s", "ux")) and len(w) > 3 and w[-2] != "s"]
    for word in plurals:
        counts[word[:-1]] += counts.pop(word)
    return counts


def common_words(language: str) -> frozenset[str]:
    return frozenset(COMMON.get(language, "").split())


def plain(html: str) -> str:
    """The text of an HTML fragment, its spaces collapsed."""
    return _SPACE.sub(" ", unescape(_TAG.sub(" ", html))).strip()


def excerpt(text: str, length: int = EXCERPT) -> str:
    """The start of ``text``, cut at a word with an ellipsis when longer than ``length``."""
    if len(text) <= length:
        return text
    cut = text[:length].rsplit(" ", 1)[0].rstrip(" ,;:.")
    return cut + "…"


class Record(NamedTuple):
    """What the index knows of one document: what its result shows, and its words."""

    url: str
    title: str
    price: str  # "" for a page or article
    image: str  # a thumbnail's URL, or ""
    text: str  # the start of the text, from which a result shows the part that matched
    weights: Mapping[str, int]  # word → weight


def make_record(
    url: str,
    title: str,
    *,
    text: str,
    price: str = "",
    image: str = "",
    codes: Iterable[str] = (),
    labels: Iterable[str] = (),
    common: Set[str] = frozenset(),
) -> Record:
    """A document's record. ``text`` is plain text (see ``plain``), its start kept for the
    result's excerpt; ``codes`` are SKUs; ``labels`` the category, tags and variant names."""
    weights: Counter[str] = Counter()
    for field, weight in (
        (title, TITLE),
        (" ".join(codes), CODE),
        (" ".join(labels), LABEL),
    ):
        for word, count in counted(field, common).items():
            weights[word] += count * weight
    found = counted(text, common)
    each = max(1, round(TEXT * min(1.0, math.sqrt(SHORT / max(found.total(), 1)))))
    for word, count in found.items():
        weights[word] += count * each
    capped = {word: weight if weight < CAP else CAP for word, weight in weights.items()}
    return Record(url, title, price, image, excerpt(text), capped)


@dataclass(frozen=True)
class SearchJob:
    path: str  # the document's page, relative to the output folder
    depends: str  # everything its record is made from, besides the build's environment
    make: Callable[[], Record]


class SearchIndex:
    """Keeps ``output/search-index/`` in step with the site's products, pages and articles.

    ``render`` (during the build, once the product views exist) makes the records whose
    inputs changed; ``finish`` (once the stale pages are gone) writes the index files that
    changed and removes those no longer in it.
    """

    def __init__(
        self,
        cache: Path,
        output: Path,
        previous: Set[str] | None,
        environment: str,
        language: str = "fr",
    ) -> None:
        self.cache = cache  # .cache/search/
        self.output = output
        self.environment = environment  # the pages' own: a theme or code change makes all again
        self.common = common_words(language)
        # The index files of the last build: kept through the stale sweep, replaced after.
        self.kept = {f for f in previous or () if f.startswith(FOLDER + "/")}
        self.records: dict[str, tuple[str, Record]] = {}  # page path → (key, record)
        self.numbers: dict[str, int] = {}  # page path → document number
        self.changed = True

    def render(
        self,
        jobs: Sequence[SearchJob],
        collect: Callable[[], Any] = lambda: None,
        merge: Callable[[Any], None] = lambda _: None,
    ) -> int:
        """Make the records of ``jobs`` whose inputs changed, forget those of pages gone.
        ``collect`` runs in each worker after its batch and returns what the parent should
        learn from it; ``merge`` receives that. Returns how many records were made."""
        last = self._load()
        stale: list[tuple[SearchJob, str]] = []
        for job in jobs:
            key = self._key(job)
            known = last.get(job.path)
            if known is not None and known[0] == key:
                self.records[job.path] = known
            else:
                stale.append((job, key))

        def batch(chunk: Sequence[tuple[SearchJob, str]]) -> list[tuple[Any, Any]]:
            made = [(job.path, key, job.make()) for job, key in chunk]
            return [(made, collect())]

        for made, payload in forked_map(batch, stale, minimum=PARALLEL_MIN):
            for path, key, record in made:
                self.records[path] = (key, record)
            merge(payload)
        self._number(last_numbers=self.numbers)
        self.changed = bool(stale) or set(last) != set(self.records)
        return len(stale)

    def finish(
        self,
        produced: set[str],
        folders: set[str],
        remove: Callable[..., None],
        progress: Callable[[str], None] = lambda _: None,
    ) -> int:
        """Write the index files that changed into ``output/search-index/``. ``produced``
        gains the index's files; ``remove(output, produced, previous)`` deletes the last
        index's files that are no longer in it. Returns the number of files written."""
        meta = f"{FOLDER}/meta.json"
        if not self.changed and meta in self.kept and (self.output / meta).is_file():
            produced |= self.kept
            return 0
        progress("Indexing the site for search…")
        files = make_index(
            {self.numbers[path]: record for path, (_, record) in self.records.items()},
            self.common,
        )
        top = str(self.output)
        written = sum(
            write_file(f"{top}/{relative}", data, folders).changed
            for relative, data in files.items()
        )
        remove(self.output, set(files), self.kept)
        produced |= set(files)
        self._save()
        return written

    # --- the records' cache ----------------------------------------------------------------

    def _key(self, job: SearchJob) -> str:
        text = f"{VERSION}\0{self.environment}\0{job.path}\0{job.depends}"
        return hashlib.sha256(text.encode()).hexdigest()

    def _load(self) -> dict[str, tuple[str, Record]]:
        try:
            with (self.cache / "records.pickle").open("rb") as file:
                data = pickle.load(file)  # noqa: S301 - our own cache, written by _save
            if data["version"] != VERSION:
                return {}
            self.numbers = dict(data["numbers"])
            return {path: (key, Record(*record)) for path, (key, record) in data["records"].items()}
        except (OSError, ValueError, KeyError, TypeError, pickle.UnpicklingError, EOFError):
            self.numbers = {}
            return {}

    def _save(self) -> None:
        data = {
            "version": VERSION,
            "numbers": self.numbers,
            "records": {path: (key, tuple(record)) for path, (key, record) in self.records.items()},
        }
        replace_file(self.cache / "records.pickle", pickle.dumps(data, pickle.HIGHEST_PROTOCOL))

    def _number(self, last_numbers: Mapping[str, int]) -> None:
        """Each document keeps its number; a new one takes the lowest free number."""
        numbers = {p: n for p, n in last_numbers.items() if p in self.records}
        taken = set(numbers.values())
        free = (n for n in range(len(self.records) + len(taken) + 1) if n not in taken)
        for path in sorted(self.records):
            if path not in numbers:
                numbers[path] = next(free)
        self.numbers = numbers


def make_index(documents: Mapping[int, Record], common: Set[str]) -> dict[str, bytes]:
    """The index's files (paths relative to the output folder) for documents by number."""
    postings: dict[str, list[int]] = {}
    for number in sorted(documents):
        for word, weight in documents[number].weights.items():
            entries = postings.get(word)
            if entries is None:
                postings[word] = [number, weight]
            else:
                entries += (number, weight)
    buckets: dict[str, dict[str, list[int]]] = {}
    for word in sorted(postings):
        entries = postings[word]
        previous = 0
        for at in range(0, len(entries), 2):  # numbers as gaps: shorter files
            entries[at], previous = entries[at] - previous, entries[at]
        buckets.setdefault(word[:2], {})[word] = entries
    files = {
        f"{FOLDER}/words/{_file_name(bucket)}.json": _json(words)
        for bucket, words in buckets.items()
    }
    chunks: dict[int, list[Any]] = {}
    for number, record in documents.items():
        chunk = chunks.setdefault(number // CHUNK, [None] * CHUNK)
        chunk[number % CHUNK] = [record.url, record.title, record.price, record.image, record.text]
    for at, chunk in chunks.items():
        while chunk and chunk[-1] is None:
            chunk.pop()
        files[f"{FOLDER}/docs/{at}.json"] = _json(chunk)
    files[f"{FOLDER}/meta.json"] = _json(
        {
            "version": VERSION,
            "documents": len(documents),
            "chunk": CHUNK,
            "common": sorted(common),
            "files": sorted(_file_name(bucket) for bucket in buckets),
        }
    )
    return files


def _file_name(bucket: str) -> str:
    """A word file's name: the two letters themselves when plain ASCII, else their code
    points (``e6-97``), so every name is safe in a URL and on any file system."""
    if bucket.isascii() and bucket.isalnum():
        return bucket
    return "-".join(f"{ord(c):x}" for c in bucket)


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


__all__ = [
    "CHUNK",
    "FOLDER",
    "Record",
    "SearchIndex",
    "SearchJob",
    "common_words",
    "excerpt",
    "fold",
    "make_index",
    "make_record",
    "plain",
    "stem",
    "words",
]
