"""How scriptexec talks to a person: plain lines, colour when wanted, a progress line on a TTY.

Colour follows --color/--no-color, then NO_COLOR (https://no-color.org), then whether the
stream is a terminal. Nothing here imports click, so the engine can use it too.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from dataclasses import dataclass, field
from typing import Any, TextIO

_CODES = {"red": "31", "green": "32", "yellow": "33", "blue": "34", "dim": "2", "bold": "1"}


@dataclass
class Console:
    color: bool | None = None
    verbosity: int = 0  # -1 quiet, 0 normal, 1+ verbose
    json_events: bool = False
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _progress_shown: bool = False

    def __post_init__(self) -> None:
        if self.color is None:
            self.color = "NO_COLOR" not in os.environ and self.out.isatty()

    @property
    def interactive(self) -> bool:
        return self.err.isatty() and not self.json_events

    def style(self, text: str, color: str) -> str:
        return f"\033[{_CODES[color]}m{text}\033[0m" if self.color else text

    def line(self, text: str = "", *, min_verbosity: int = 0) -> None:
        if self.verbosity < min_verbosity or self.json_events:
            return
        with self._lock:
            self._clear_progress()
            _write(self.out, text)

    def error(self, text: str) -> None:
        with self._lock:
            self._clear_progress()
            _write(self.err, text)

    def warn(self, text: str) -> None:
        self.error(self.style("warning: ", "yellow") + text)

    def event(self, kind: str, **data: Any) -> None:
        """A machine-readable event (build --json): one JSON object per line on stdout."""
        if self.json_events:
            with self._lock:
                _write(self.out, json.dumps({"event": kind, **data}, sort_keys=True))

    def progress(self, text: str) -> None:
        """A transient status line on a TTY (an LLM reply streaming, a docker build)."""
        if not self.interactive:
            return
        with self._lock:
            width = 100
            self.err.write("\r\033[K" + text[:width])
            self.err.flush()
            self._progress_shown = True

    def _clear_progress(self) -> None:
        if self._progress_shown:
            self.err.write("\r\033[K")
            self.err.flush()
            self._progress_shown = False


def _write(stream: TextIO, text: str) -> None:
    """Print a line; if the reader has gone (`scriptexec status | head -1`), stop printing.

    Like other command-line tools, a closed pipe is not an error: the command finishes its
    work quietly and exits with its own code.
    """
    try:
        print(text, file=stream, flush=True)
    except BrokenPipeError:
        discard_output(stream)


def discard_output(stream: TextIO) -> None:
    """Send what is still written to `stream` to /dev/null, so that neither later lines nor
    the interpreter's flush at exit raise BrokenPipeError again."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a real file (a test's StringIO): nothing can break on it again
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)
