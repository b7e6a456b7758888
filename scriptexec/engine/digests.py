"""File digests that skip re-hashing when a file's size and mtime did not change.

As black's cache does: a file is identified by (mtime_ns, size, inode); only when that
signature changes is the file read and hashed again. Signatures too close to "now" are not
trusted (an edit in the same clock tick would keep the mtime), so such files are re-hashed
next time, like git's racy-index rule.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

Signature = tuple[int, int, int]
RACY_NS = 2_000_000_000  # mtimes within 2 s of the last save are re-hashed next time


def signature(path: Path | str) -> Signature | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class FileDigests:
    """sha256 of files, remembered by signature. Thread-safe; records which files it saw."""

    def __init__(self, known: dict[str, Any] | None = None) -> None:
        self._known: dict[str, tuple[Signature, str]] = {
            p: (tuple(v[0]), v[1]) for p, v in (known or {}).items()
        }
        self._lock = threading.Lock()
        self.touched: dict[str, Signature] = {}  # files read since creation: path -> signature
        self._local = threading.local()

    @contextlib.contextmanager
    def recording(self) -> Iterator[dict[str, Signature | None]]:
        """Collect, in this thread, every file digested inside the block (None: missing)."""
        seen: dict[str, Signature | None] = {}
        stack = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        stack.append(seen)
        try:
            yield seen
        finally:
            stack.pop()

    def note_missing(self, path: Path | str) -> None:
        """Record that a file the build looked for is absent (a project template that would
        override a shipped one): creating it later must make the build look again."""
        for seen in getattr(self._local, "stack", ()):
            seen[str(path)] = None

    def digest(self, path: Path | str) -> str | None:
        """The file's sha256, or None when it does not exist."""
        key = str(path)
        sig = signature(key)
        for seen in getattr(self._local, "stack", ()):
            seen[key] = sig
        with self._lock:
            if sig is None:
                self.touched.pop(key, None)
                return None
            self.touched[key] = sig
            hit = self._known.get(key)
            if hit is not None and hit[0] == sig:
                return hit[1]
        h = hashlib.sha256()
        with open(key, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        value = h.hexdigest()
        with self._lock:
            self._known[key] = (sig, value)
        return value

    def export(self) -> dict[str, Any]:
        """What to persist: every trusted (non-racy) signature and digest."""
        now = time.time_ns()
        with self._lock:
            return {
                p: [list(sig), d] for p, (sig, d) in self._known.items() if now - sig[0] > RACY_NS
            }
