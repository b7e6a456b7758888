"""One request at a time per model: a lock per (host, model) in this process, and a file
lock under the project's state directory so two scriptexec processes (a `watch` and a
`build`, or parallel CI jobs) do not hammer one local model either.

A local model answers one request at a time anyway; queuing here keeps timeouts honest
(a request waiting for the GPU is not "slow") and answers deterministic.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scriptexec.llm.base import Cancelled

POLL = 0.1  # seconds between looks at the cancel event while waiting for a lock

_locks: dict[tuple[str, str], threading.Lock] = {}
_locks_guard = threading.Lock()


def lock_path(state_dir: Path, host: str, model: str) -> Path:
    """The file lock of one model on one server, e.g. .scriptexec/llm-3f2a9c1e0b7d4a56.lock."""
    digest = hashlib.sha256(f"{host}\n{model}".encode()).hexdigest()[:16]
    return state_dir / f"llm-{digest}.lock"


def _thread_lock(host: str, model: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault((host, model), threading.Lock())


@contextmanager
def model_lock(state_dir: Path, host: str, model: str, cancel: threading.Event) -> Iterator[None]:
    """Hold the model; raise Cancelled if `cancel` is set while waiting for it."""
    import filelock

    inner = _thread_lock(host, model)
    while not inner.acquire(timeout=POLL):
        if cancel.is_set():
            raise Cancelled("cancelled while waiting for the model")
    try:
        path = lock_path(state_dir, host, model)
        path.parent.mkdir(parents=True, exist_ok=True)
        outer = filelock.FileLock(path)
        while True:
            try:
                outer.acquire(timeout=POLL)
                break
            except filelock.Timeout:
                if cancel.is_set():
                    raise Cancelled("cancelled while waiting for the model") from None
        try:
            yield
        finally:
            outer.release()
    finally:
        inner.release()
