"""Running build work on every core: how many processes, and when forking is safe."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable


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
