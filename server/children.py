"""Child processes that end with the thread that started them (Linux's `PR_SET_PDEATHSIG`): a
`kill -9` of a server leaves no embedded redis-server behind, and of a YouTube follower no
yt-dlp still writing into a meeting's folder. Elsewhere children are stopped on the way out.
"""

from __future__ import annotations

import ctypes
import functools
import signal
import sys
from collections.abc import Callable

PR_SET_PDEATHSIG = 1


def preexec() -> Callable[[], None] | None:
    """What `Popen(preexec_fn=...)` should run in the child between fork and exec, or None
    where there is no such thing. Resolves `prctl` here, in the parent: a child between fork
    and exec should only call it."""
    if sys.platform != "linux":
        return None
    _prctl()
    return _die_with_parent


@functools.cache
def _prctl() -> Callable[..., int]:
    prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    return prctl


def _die_with_parent() -> None:
    _prctl()(PR_SET_PDEATHSIG, signal.SIGTERM)
