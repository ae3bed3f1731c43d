"""Running build work on every core: how many processes, and when forking is safe."""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def worker_count() -> int:
    """COMPTOIR_BUILD_WORKERS when set, else one per core. It bounds every parallel
    step of a build (pages, parsing, images); 1 keeps them all in this process."""
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


class Background:
    """A task running in a forked process while this one goes on.

    With one worker, or where forking is not safe, the task runs in this process
    at ``wait()``. When the child raised, ``wait()`` runs the task again here so
    that its error surfaces; a child killed by a signal (Ctrl-C) is not run again.
    """

    def __init__(self, task: Callable[[], None]) -> None:
        self.task = task
        self.pid: int | None = None
        self.done = False
        if worker_count() > 1 and can_fork():
            self.pid = os.fork()
            if self.pid == 0:  # the child
                code = 1
                try:
                    task()
                    code = 0
                finally:
                    os._exit(code)

    def wait(self) -> None:
        """Return once the task has run, here or in the child."""
        if self.done:
            return
        failed = self.pid is None or self._reap() > 0
        self.done = True
        if failed:
            self.task()

    def abandon(self) -> None:
        """The task's result is not wanted: reap the child, never run the task here."""
        if not self.done and self.pid is not None:
            self._reap()
        self.done = True

    def _reap(self) -> int:
        assert self.pid is not None
        _, status = os.waitpid(self.pid, 0)
        return os.waitstatus_to_exitcode(status)


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
    size = -(-len(items) // (count * 8))  # several chunks per worker: no long tail
    bounds = [(start, min(start + size, len(items))) for start in range(0, len(items), size)]
    _inherited["map"] = (work, items, encode)
    gc.freeze()  # workers' collections then skip what they inherit, sparing its pages copies
    try:
        # An executor, not a Pool: a worker that dies (out of memory) fails the build
        # with BrokenProcessPool instead of leaving it waiting forever. With "fork" it
        # starts every worker at once, before its own thread.
        context = multiprocessing.get_context("fork")
        results: list[R] = []
        with ProcessPoolExecutor(count, mp_context=context) as pool:
            for blob in pool.map(_map_chunk, bounds):
                results += decode(blob)  # while the workers go on with the next chunks
    finally:
        gc.unfreeze()
        _inherited.clear()
    return results


# What forked workers inherit: set before the pool forks, read in the workers.
_inherited: dict[str, Any] = {}


def _map_chunk(bounds: tuple[int, int]) -> bytes:
    work, items, encode = _inherited["map"]
    # Collect once per chunk instead of every so many allocations: a worker's cycles
    # (Jinja's contexts, about 40 per page) are all young, and the scans cost 3 % of a build.
    gc.disable()
    try:
        return encode(work(items[bounds[0] : bounds[1]]))  # type: ignore[no-any-return]
    finally:
        gc.collect(0)
