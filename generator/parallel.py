"""Running build work on every core: how many processes, and when forking is safe."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def worker_count() -> int:
    """COMPTOIR_BUILD_WORKERS when set (1: render in this process), else one per core."""
    wanted = os.environ.get("COMPTOIR_BUILD_WORKERS", "").strip()
    if wanted.isdigit() and int(wanted) > 0:
        return int(wanted)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def can_fork() -> bool:
    """Fork only where it is safe: on Linux (macOS frameworks are not fork-safe) and
    from a single-threaded process (a lock held by another thread would stay held
    in the child), e.g. not from ``comptoir serve`` or a test driving a browser."""
    return sys.platform.startswith("linux") and threading.active_count() == 1


def in_background(task: Callable[[], bool | None]) -> Callable[[], bool | None]:
    """Start ``task`` in a forked process; the returned function waits for it and
    gives what it returned (a bool, or None).

    Where forking is not safe, or when the child fails, the task runs in this
    process when waited for, so its errors surface here.
    """
    if not can_fork():
        return task
    pid = os.fork()
    if pid == 0:  # the child
        code = 1
        try:
            answer = task()
            code = {None: 0, False: 2, True: 3}[answer]
        finally:
            os._exit(code)

    def wait() -> bool | None:
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        return {0: None, 2: False, 3: True}[code] if code in (0, 2, 3) else task()

    return wait


def forked_map(
    work: Callable[[Sequence[T]], list[R]],
    items: Sequence[T],
    encode: Callable[[list[R]], bytes] = pickle.dumps,
    decode: Callable[[bytes], list[R]] = pickle.loads,
    minimum: int = 500,
) -> list[R]:
    """``work(items)``, its items shared among forked workers when there are many.

    Workers inherit ``work`` and ``items`` (nothing is pickled on the way in) and
    send their results back through ``encode``; results keep the items' order.
    """
    count = worker_count()
    if count <= 1 or len(items) < minimum or not can_fork():
        return work(items)
    size = -(-len(items) // (count * 4))  # a few chunks per worker, for balance
    bounds = [(start, min(start + size, len(items))) for start in range(0, len(items), size)]
    _inherited["map"] = (work, items, encode)
    try:
        with multiprocessing.get_context("fork").Pool(count) as pool:
            blobs = pool.map(_map_chunk, bounds)
    finally:
        _inherited.clear()
    return [result for blob in blobs for result in decode(blob)]


# What forked workers inherit: set before the pool forks, read in the workers.
_inherited: dict[str, Any] = {}


def _map_chunk(bounds: tuple[int, int]) -> bytes:
    work, items, encode = _inherited["map"]
    return encode(work(items[bounds[0] : bounds[1]]))  # type: ignore[no-any-return]
