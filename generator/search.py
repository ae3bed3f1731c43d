"""The site's search index: made by ``comptoir build``, read by js/search.js in the
shopper's browser. No server, no third party, no WebAssembly.

What search knows of a product, page or article is a *record*: what its result shows
(URL, title, price, image, a short text) and its words, each weighed by where it appears
(title and SKUs most, then category, tags and variant names, then the text). Words are
folded as js/search.js folds a query (``words``): lower case, accents removed, a final
plural ``s`` or ``x`` dropped, the commonest words of the shop's language left out.
Only the records whose inputs changed are made, a product's by the worker that has just
rendered its page; all are kept in ``.cache/search/records.pickle``.

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
about 9 CPU-seconds at 10,000 products, against a build of 20 CPU-seconds; this index
about 2.6, see benchmarks/README.md), indexed everything again after any edit, and needed
``'wasm-unsafe-eval'`` and a Trusted Types exception on the search page.
"""

from __future__ import annotations

import hashlib
import json
import math
import pickle
import re
import shutil
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any, NamedTuple

from generator.pages import replace_file, write_file
from generator.parallel import Background, forked_map

FOLDER = "search-index"  # output/search-index/, where js/search.js finds the index
VERSION = 2  # of the index's files and of .cache/search/records.pickle
CHUNK = 16  # documents per docs/ file: a page of 10 results asks for a few small files
EXCERPT = 600  # characters of text kept: a result shows the part around the words found
PARALLEL_MIN = 400  # fewer records than this are made in this process

# Weight of a word by where it appears; a word's weight in a document is capped, so a
# text repeating a word does not outrank a title holding it. In a text longer than SHORT
# words, each occurrence weighs less (a word of a product's five lines says more about it
# than the same word once in a long article).
TITLE, CODE, LABEL, TEXT, CAP, SHORT = 40, 40, 16, 4, 200, 100
assert CAP < 256  # a weight is a byte (see packed)
# For each weight of one occurrence, the weight of 0–255 occurrences, capped (a bytes table)
_SCALES = {
    each: bytes(min(count * each, CAP) for count in range(256)) for each in range(1, TEXT + 1)
}

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
# ASCII but for letters and digits, as spaces: what _WORD finds in ASCII text is then split()
_ASCII_SEPARATORS = str.maketrans({c: " " for c in range(128) if not chr(c).isalnum()})
_TAG = re.compile(r"<[^>]*>")


def fold(text: str) -> str:
    """Lower case, ligatures spelt out, accents removed: ``Théière`` → ``theiere``."""
    text = text.lower()
    if text.isascii():
        return text
    for letter, folded in _LATIN:  # str.replace is C: most text needs nothing more
        if letter in text:
            text = text.replace(letter, folded)
    if text.isascii():
        return text
    return _slow_fold(text)


def _slow_fold(text: str) -> str:
    for ligature, letters in _LIGATURES:
        if ligature in text:
            text = text.replace(ligature, letters)
    return _MARKS.sub("", unicodedata.normalize("NFKD", text))


# The accented letters of Western European languages, folded as ``_slow_fold`` folds them.
_LATIN = tuple((c, _slow_fold(c)) for c in "éèêëàâäáãåîïíìôöóòõûüúùçñÿýœæß")
assert all(folded.isascii() and folded != c for c, folded in _LATIN)
# Signs no word holds, common in Western text: spaces for ``counted``, which can then split
# on ASCII alone (``_WORD`` would split the text there).
_SIGNS = "’‘“”«»–—…€£°×·•§©®\xa0\u202f"
assert not any(c.isalnum() for c in _SIGNS)


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


def counted(text: str, common: Set[str]) -> dict[str, int]:
    """``Counter(words(text, common))``, made with as little Python per word as can be:
    a product's description has a hundred-odd words, the index ten thousand products."""
    folded = fold(text)
    if not folded.isascii():
        for sign in _SIGNS:
            if sign in folded:
                folded = folded.replace(sign, " ")
    if folded.isascii():  # most text once folded: split in C, no regular expression
        counts = Counter(folded.translate(_ASCII_SEPARATORS).split())
    else:
        counts = Counter(_WORD.findall(folded))
    found: dict[str, int] = {}  # one loop over the distinct words: drop, stem, sum
    for word, count in counts.items():
        if len(word) > 1 and word not in common:
            stemmed = stem(word)
            found[stemmed] = found.get(stemmed, 0) + count
    return found


def common_words(language: str) -> frozenset[str]:
    return frozenset(COMMON.get(language, "").split())


def plain(html: str) -> str:
    """The text of an HTML fragment (its spaces as they are: ``excerpt`` collapses those
    it keeps, words do not mind them)."""
    return unescape(_TAG.sub(" ", html))


def excerpt(text: str, length: int = EXCERPT) -> str:
    """The start of ``text``, its spaces collapsed, cut at a word with an ellipsis when
    longer than ``length``."""
    start = " ".join(text[: 2 * length].split())
    if len(start) <= length and len(text) <= 2 * length:
        return start
    cut = start[:length].rsplit(" ", 1)[0].rstrip(" ,;:.(«—–-")
    return cut + "…"


class Record(NamedTuple):
    """What the index knows of one document: what its result shows, and its words."""

    url: str
    title: str
    price: str  # "" for a page or article
    image: str  # a thumbnail's URL, or ""
    text: str  # the start of the text, from which a result shows the part that matched
    words: str  # the words, space-separated, and
    weights: bytes  # their weights in the same order (``packed``): cheap to send and keep


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
    found = counted(text, common)
    each = max(1, round(TEXT * min(1.0, math.sqrt(SHORT / max(sum(found.values()), 1)))))
    # The text's words weigh each occurrence ``each``, at most CAP: computed in C on
    # their counts as bytes (most words of a record are its text's).
    counts: Iterable[int] = found.values()
    if found and max(counts) > 255:
        counts = [min(count, 255) for count in counts]
    weights = dict(zip(found, bytes(counts).translate(_SCALES[each]), strict=True))
    for field, weight in (
        (title, TITLE),
        (" ".join(codes), CODE),
        (" ".join(labels), LABEL),
    ):
        for word, count in counted(field, common).items():
            weights[word] = min(CAP, weights.get(word, 0) + count * weight)
    return Record(url, title, price, image, excerpt(text), *packed(weights))


def packed(weights: Mapping[str, int]) -> tuple[str, bytes]:
    """A record's words and weights as a string and bytes (a weight is at most CAP):
    forked workers send ten thousand of them to the build, which only hands them to
    ``make_index``; a dict of a hundred words each would cost the build's own process
    half a second to unpickle, and the records' cache as much to save."""
    return " ".join(weights), bytes(weights.values())


@dataclass(frozen=True)
class SearchJob:
    path: str  # the document's page, relative to the output folder
    depends: str  # everything its record is made from, besides the build's environment
    make: Callable[[], Record]


class SearchIndex:
    """Keeps ``output/search-index/`` in step with the site's products, pages and articles.

    ``plan`` (before the product pages render) learns which records are due: those whose
    inputs changed. A page worker makes a page's record right after the page (``make``,
    ``take_new``, ``learn``: as the product views travel). ``render`` makes those still
    due, then starts writing the index files that changed in a forked process
    (``generator.parallel.Background``), which goes on while the listings render and the
    build ends; ``finish`` waits for it and adds the index's files to those the build made.
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
        # The index files of the last build: still the index when nothing changed.
        self.kept = {f for f in previous or () if f.startswith(FOLDER + "/")}
        self.records: dict[str, tuple[str, Record]] = {}  # page path → (key, record)
        self.numbers: dict[str, int] = {}  # page path → document number
        self.pending: dict[str, tuple[SearchJob, str]] = {}  # page path → (job, key) to make
        self.fresh: dict[str, tuple[str, Record]] = {}  # made here, not yet taken
        self.last: set[str] = set()  # the page paths of the records of the last build
        self.changed = True
        self.writing: Background | None = None

    def plan(self, jobs: Sequence[SearchJob]) -> None:
        """Learn the site's documents; keep the records whose inputs did not change."""
        last = self._load()
        self.last = set(last)
        for job in jobs:
            key = self._key(job)
            known = last.get(job.path)
            if known is not None and known[0] == key:
                self.records[job.path] = known
            else:
                self.pending[job.path] = (job, key)

    def make(self, path: str) -> None:
        """Make the record of the page at ``path`` if it is due, here and now: a page
        worker calls it once it has rendered the page, whose view it then has at hand.
        ``take_new`` gives what it made to the build's own process."""
        due = self.pending.get(path)
        if due is not None and path not in self.records:
            job, key = due
            self.fresh[path] = self.records[path] = (key, job.make())

    def take_new(self) -> dict[str, tuple[str, Record]]:
        fresh, self.fresh = self.fresh, {}
        return fresh

    def learn(self, fresh: Mapping[str, tuple[str, Record]]) -> None:
        self.records.update(fresh)

    def render(
        self,
        collect: Callable[[], Any] = lambda: None,
        merge: Callable[[Any], None] = lambda _: None,
    ) -> int:
        """Make the records still due (those the pages did not make: their page was up
        to date, or is no page of ours), then start writing the index if it changed.
        ``collect`` runs in each worker after its batch and returns what the parent
        should learn from it; ``merge`` receives that. Returns how many records were
        made in this build."""
        due = [(job, key) for path, (job, key) in self.pending.items() if path not in self.records]

        def batch(chunk: Sequence[tuple[SearchJob, str]]) -> list[tuple[Any, Any]]:
            made = [(job.path, key, job.make()) for job, key in chunk]
            return [(made, collect())]

        for made, payload in forked_map(batch, due, minimum=PARALLEL_MIN):
            for path, key, record in made:
                self.records[path] = (key, record)
            merge(payload)
        self._number(last_numbers=self.numbers)
        meta = f"{FOLDER}/meta.json"
        self.changed = (
            bool(self.pending)
            or self.last != set(self.records)
            or meta not in self.kept
            or not (self.output / meta).is_file()
        )
        if self.changed:
            self._manifest.unlink(missing_ok=True)
            self.writing = Background(self._write)
        return len(self.pending)

    def finish(self, produced: set[str], progress: Callable[[str], None] = lambda _: None) -> int:
        """Once the index is written, add its files to ``produced`` (the last index's
        files no longer in it are then stale, for the build to remove). Returns the number
        of files written."""
        if not self.changed:
            produced |= self.kept
            return 0
        progress("Indexing the site for search…")
        if self.writing is None:  # render did not run: an index of no document
            self.writing = Background(self._write)
        self.writing.wait()
        manifest = json.loads(self._manifest.read_bytes())
        produced.update(manifest["files"])
        return int(manifest["written"])

    def abandon(self) -> None:
        """The build failed: reap the process writing the index, if any."""
        if self.writing is not None:
            self.writing.abandon()

    @property
    def _manifest(self) -> Path:
        """What ``_write`` tells ``finish``, from the process it may run in."""
        return self.cache / "written.json"

    def _write(self) -> None:
        files = make_index(
            {self.numbers[path]: record for path, (_, record) in self.records.items()},
            self.common,
        )
        top, folders = str(self.output), set[str]()
        written = sum(
            write_file(f"{top}/{relative}", data, folders).changed
            for relative, data in files.items()
        )
        self._save()
        manifest = {"files": sorted(files), "written": written}
        replace_file(self._manifest, _json(manifest))

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
            # What the Pagefind build kept here (a document per page), of no use now.
            shutil.rmtree(self.cache / "documents", ignore_errors=True)
            (self.cache / "index.json").unlink(missing_ok=True)
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
        record = documents[number]
        for word, weight in zip(record.words.split(), record.weights, strict=True):
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
    "packed",
    "plain",
    "stem",
    "words",
]
