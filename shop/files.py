"""Writing a file so that readers see it whole or not at all: the one atomic-write helper."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


@contextlib.contextmanager
def atomic_writer(target: Path, *, durable: bool = False, mode: int = 0o644) -> Iterator[BinaryIO]:
    """A binary file that appears at ``target`` complete, or not at all.

    Written beside ``target`` under a unique temporary name, then renamed over it;
    on any error the temporary file is removed and ``target`` is left as it was.
    The file gets ``mode``: 0644 by default (a web server reading output/ needs more
    than mkstemp's 0600), 0600 for private data. ``durable`` flushes it to disk before
    the rename (for data that must survive a power cut, such as a queued e-mail).
    """
    descriptor, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    temporary = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as file:
            yield file
            if durable:
                file.flush()
                os.fsync(file.fileno())
        temporary.chmod(mode)
        temporary.replace(target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_atomic(target: Path, data: bytes, *, durable: bool = False, mode: int = 0o644) -> None:
    """Replace ``target`` with ``data`` at once (see ``atomic_writer``)."""
    with atomic_writer(target, durable=durable, mode=mode) as file:
        file.write(data)
