"""The product files a build read, kept for the next build in one pickle file.

``PickleProductCache`` implements ``shop.content.ProductCache``. The file holds
a one-line header naming this format and ``generator.code_digest()`` (so a new
comptoir starts empty rather than unpickling records of classes that changed),
then the pickled records, keyed by ``load_content``'s cache keys, and the keys of
the files by their signatures (so an unchanged file is not even read).

pickle is acceptable here, though it can run code when loaded: the file lives
in the merchant's own build cache folder (``.cache/``), which only comptoir
writes, so whoever could write a hostile file there could as well change the
shop's code. Never point this class at a file from anywhere else.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import io
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from generator import code_digest
from generator.pages import replace_file
from shop.content import ProductRecord, Signature

FORMAT = b"comptoir-product-cache 2"


def code_header() -> bytes:
    """The first line of a cache file this comptoir can read."""
    return FORMAT + b" " + code_digest().encode() + b"\n"


class PickleProductCache:
    """Product records by key, loaded from ``path`` once and saved by ``save()``.

    ``save()`` keeps only the records asked for or put since the last save (by
    one ``load_content``), so deleted or edited products leave nothing behind.
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
