"""How scriptexec talks to a person: plain lines, colour when wanted, a progress line on a TTY.

Colour follows --color/--no-color, then NO_COLOR (https://no-color.org), then whether the
stream is a terminal. Nothing here imports click, so the engine can use it too.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

_CODES = {"red": "31", "green": "32", "yellow": "33", "blue": "34", "dim": "2", "bold": "1"}
# Without a terminal, progress shows only after this many seconds without any output: a
# CI log of a ten-minute model call gets a line a minute, a quick build none.
HEARTBEAT_SECONDS = 60.0


class ProgressText(str):
    """A progress line that also carries its facts (stage, seconds, tokens...) for `--json`
    events. Stages hand progress on as text, and to them it is plain text."""

    fields: dict[str, Any]

    def __new__(cls, text: str, **fields: Any) -> ProgressText:
        line = super().__new__(cls, text)
        line.fields = fields
        return line


@dataclass
class Console:
    color: bool | None = None
    verbosity: int = 0  # -1 quiet, 0 normal, 1+ verbose
    json_events: bool = False
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _progress_shown: bool = False
    _last_output: float = field(default_factory=time.monotonic)  # for HEARTBEAT_SECONDS

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
            self._print(self.out, text)

    def error(self, text: str) -> None:
        with self._lock:
            self._clear_progress()
            self._print(self.err, text)

    def warn(self, text: str) -> None:
        self.error(self.style("warning: ", "yellow") + text)

    def event(self, kind: str, **data: Any) -> None:
        """A machine-readable event (build --json): one JSON object per line on stdout."""
        if self.json_events:
            with self._lock:
                self._print(self.out, json.dumps({"event": kind, **data}, sort_keys=True))

    def progress(self, text: str) -> None:
        """How a running step is doing (an LLM call waiting, a docker build).

        On a terminal: one status line, rewritten in place. Elsewhere (a CI log, a pipe,
        --json): a line on stderr, or a "progress" event, only once nothing else was
        written for HEARTBEAT_SECONDS, so a long wait shows it is alive without a flood.
        """
        with self._lock:
            if self.interactive:
                width = 100
                self.err.write("\r\033[K" + text[:width])
                self.err.flush()
                self._progress_shown = True
                return
            if time.monotonic() - self._last_output < HEARTBEAT_SECONDS:
                return
            if self.json_events:
                facts = getattr(text, "fields", {})
                event = {"event": "progress", "text": str(text), **facts}
                self._print(self.out, json.dumps(event, sort_keys=True))
            elif self.verbosity >= 0:
                self._print(self.err, str(text))

    def _print(self, stream: TextIO, text: str) -> None:
        _write(stream, text)
        self._last_output = time.monotonic()

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
