"""The product files a build read, kept for the next build in one pickle file.

``load_cached_content`` is ``shop.content.load_content`` with a ``PickleProductCache``:
a product file whose bytes (and reading settings) are unchanged since it was put
there is not parsed again, and one whose ``stat`` signature is unchanged is not even
read; the files left to read may be spread over several processes (``parse_many``).
The shop and the problems reported are the same as without a cache.

The cache file holds a one-line header naming this format and
``generator.code_digest()`` (so a new comptoir starts empty rather than unpickling
records of classes that changed), then the pickled records, keyed by the products'
digests, and the digests of the files by their signatures.

pickle is acceptable here, though it can run code when loaded: the file lives
in the merchant's own build cache folder (``.cache/``), which only comptoir
writes, so whoever could write a hostile file there could as well change the
shop's code. Never point this class at a file from anywhere else.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import hashlib
import io
import os
import pickle
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from generator import code_digest
from generator.pages import replace_file
from shop.content import (
    READER_VERSION,
    ProductRecord,
    ProductSettings,
    ShopContent,
    load_content,
    read_product_file,
)

FORMAT = b"comptoir-product-cache 2"

Signature = tuple[int, int, int, int, int]  # size, mtime, ctime (ns), inode, device
# A file's signature is trusted only once its change time is this far in the past:
# a file changed twice within one tick of the file system's clock, with a build
# reading it in between, must not keep the first version's key.
SETTLED_NS = 2_000_000_000

Parsed = tuple[str | None, ProductRecord]  # a file's digest (None: unreadable), its record
ParseMany = Callable[[Callable[[Sequence[Any]], list[Parsed]], Sequence[Any]], list[Parsed]]


def code_header() -> bytes:
    """The first line of a cache file this comptoir can read."""
    return FORMAT + b" " + code_digest().encode() + b"\n"


def load_cached_content(
    root: Path, cache: PickleProductCache, parse_many: ParseMany | None = None
) -> ShopContent:
    """``load_content`` reading through ``cache`` (see above); ``cache.save()`` keeps
    what it read for the next time.

    ``parse_many(parse, files)`` may spread the reading and parsing of product files
    over several processes; it must return ``parse(files)``'s results, in order.
    """
    read = functools.partial(_read_products, cache, parse_many or _parse_here)
    return load_content(root, read)


class PickleProductCache:
    """Product records by digest, loaded from ``path`` once and saved by ``save()``.

    The digests of the files are also known by their *signature*: what ``os.stat``
    says of them, recorded only once a file has not changed for a while (see
    ``_signature``). ``save()`` keeps only the records asked for or put since the
    last save (by one load), so deleted or edited products leave nothing behind.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._header = code_header()
        self._stored, self._stored_keys = self._load()
        self._used: dict[str, ProductRecord] = {}
        self._used_keys: dict[str, tuple[Signature, str]] = {}

    def get(self, key: str) -> ProductRecord | None:
        record = self._stored.get(key)
        if record is not None:
            self._used[key] = record
        return record

    def put(self, key: str, record: ProductRecord) -> None:
        self._used[key] = record

    def key_of(self, context: str, signature: Signature) -> str | None:
        known = self._stored_keys.get(context)
        if known is None or known[0] != signature:
            return None
        self._used_keys[context] = known
        return known[1]

    def note_key(self, context: str, signature: Signature, key: str) -> None:
        self._used_keys[context] = (signature, key)

    def save(self) -> None:
        """Write the records used since the last save, when they differ from the file's."""
        used, self._used = self._used, {}
        keys, self._used_keys = self._used_keys, {}
        if used == self._stored and keys == self._stored_keys:
            return
        replace_file(self.path, self._header + dumps((used, keys)))
        self._stored, self._stored_keys = used, keys

    def _load(self) -> tuple[dict[str, ProductRecord], dict[str, tuple[Signature, str]]]:
        """The file's records and keys; none when it is missing, unreadable or from
        another comptoir."""
        try:
            with self.path.open("rb") as file:
                if file.readline() != self._header:
                    return {}, {}
                records, keys = loads(file.read())
        except Exception:  # any damage or surprise only costs a cold read
            return {}, {}
        if not (
            isinstance(records, dict)
            and all(isinstance(record, ProductRecord) for record in records.values())
            and isinstance(keys, dict)
            and all(_is_known_key(context, known) for context, known in keys.items())
        ):
            return {}, {}
        return records, keys


# -- reading product files through the cache ----------------------------------------


def _parse_here(
    parse: Callable[[Sequence[Any]], list[Parsed]], files: Sequence[Any]
) -> list[Parsed]:
    return parse(files)


def _read_products(
    cache: PickleProductCache,
    parse_many: ParseMany,
    root: Path,
    names: Sequence[str],
    settings: ProductSettings,
) -> list[ProductRecord]:
    """``shop.content.ReadProducts`` through the cache: the files their signature vouches
    for come from it unread; the others are read (in ``parse_many``) and put there."""
    folder = root / "content" / "products"
    records: list[ProductRecord | None] = []
    unread: list[_Unread] = []
    images: dict[str, bool] = {}  # whether each image a cached record names exists
    settled = time.time_ns() - SETTLED_NS
    reading = hashlib.blake2b(repr((READER_VERSION, settings)).encode(), digest_size=8).hexdigest()
    for index, name in enumerate(names):
        display = f"content/products/{name}"
        context = f"{display}\0{reading}"
        signature = _signature(f"{folder}/{name}", settled)
        known = _known_record(root, context, signature, cache, images)
        if known is None:
            path = folder / name
            unread.append(_Unread(root, path, display, settings, context, signature, index))
        records.append(known)
    parsed = parse_many(functools.partial(_parse_files, cache), unread)
    for item, (key, fresh) in zip(unread, parsed, strict=True):
        records[item.position] = fresh
        if key is not None:
            cache.put(key, fresh)
            if item.signature is not None:
                cache.note_key(item.context, item.signature, key)
    complete = [record for record in records if record is not None]
    assert len(complete) == len(names)  # parse_many returned a record for each file
    return complete


class _Unread(NamedTuple):
    """A product file its signature did not vouch for: to read, and to parse unless
    the cache has the record of its bytes (in a worker process, perhaps)."""

    root: Path
    path: Path
    display: str
    settings: ProductSettings
    context: str  # the file's name and the reading settings, for ``note_key``
    signature: Signature | None
    position: int  # among the shop's product files


def _parse_files(cache: PickleProductCache, files: Sequence[_Unread]) -> list[Parsed]:
    images: dict[str, bool] = {}
    return [_parse_file(cache, file, images) for file in files]


def _parse_file(cache: PickleProductCache, file: _Unread, images: dict[str, bool]) -> Parsed:
    def cached(key: str) -> ProductRecord | None:
        record = cache.get(key)
        return record if record is not None and _same_images(file.root, record, images) else None

    return read_product_file(file.root, file.path, file.display, file.settings, cached)


def _known_record(
    root: Path,
    context: str,
    signature: Signature | None,
    cache: PickleProductCache,
    images: dict[str, bool],
) -> ProductRecord | None:
    """The cached record of a file its signature vouches for (and whose images are
    as they were); None when the file must be read."""
    if signature is None:
        return None
    key = cache.key_of(context, signature)
    cached = None if key is None else cache.get(key)
    if cached is not None and _same_images(root, cached, images):
        return cached
    return None


def _signature(path: str, settled: int) -> Signature | None:
    try:
        stat = os.stat(path)  # noqa: PTH116 - a stat_result, for 10,000 files
    except OSError:
        return None
    if stat.st_ctime_ns >= settled or stat.st_mtime_ns >= settled:
        return None  # changed too recently to be told apart from its next change
    return (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino, stat.st_dev)


def _same_images(root: Path, record: ProductRecord, exists: dict[str, bool]) -> bool:
    """Whether the images the record names exist as they did (``exists`` remembers
    each file's answer: a few pictures serve thousands of products)."""
    for src, existed in record.images:
        found = exists.get(src)
        if found is None:
            found = exists[src] = os.path.isfile(f"{root}/content/{src}")  # noqa: PTH113
        if found != existed:
            return False
    return True


# -- the file ---------------------------------------------------------------------


def _is_known_key(context: object, known: object) -> bool:
    return (
        isinstance(context, str)
        and isinstance(known, tuple)
        and len(known) == 2
        and isinstance(known[1], str)
        and isinstance(known[0], tuple)
        and len(known[0]) == 5
        and all(isinstance(number, int) for number in known[0])
    )


def dumps(value: Any) -> bytes:
    """``pickle.dumps`` with the fast form of shop/'s dataclasses (see ``_Pickler``)."""
    buffer = io.BytesIO()
    with _gc_paused():
        _Pickler(buffer).dump(value)
    return buffer.getvalue()


def loads(data: bytes) -> Any:
    """What ``dumps`` made: in a worker of this build, or in the cache file (see above)."""
    with _gc_paused():
        return pickle.loads(data)  # noqa: S301 - only ever data dumps made, see the docstring


class _Pickler(pickle.Pickler):
    """Pickles a dataclass of shop/ as a call of its class with its field values.

    Unpickling then runs the class's generated ``__init__``, twice as fast as the
    ``__setstate__`` that dataclasses gives slots classes (it looks up the fields
    anew for every object), and a record holds some 70,000 objects per 10,000 products.
    """

    def __init__(self, file: BinaryIO) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._fields: dict[type, tuple[str, ...] | None] = {}

    def reducer_override(self, obj: object) -> Any:
        cls = type(obj)
        if cls not in self._fields:
            self._fields[cls] = _init_fields(cls)
        names = self._fields[cls]
        if names is None:
            return NotImplemented
        return cls, tuple(getattr(obj, name) for name in names)


def _init_fields(cls: type) -> tuple[str, ...] | None:
    """The fields that rebuild a dataclass of shop/ through its __init__, else None."""
    if not dataclasses.is_dataclass(cls) or not cls.__module__.startswith("shop."):
        return None
    fields = dataclasses.fields(cls)
    return tuple(field.name for field in fields) if all(field.init for field in fields) else None


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """No garbage collection while (un)pickling: the many new objects hold no cycles,
    and collections triggered by their count would double the time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
