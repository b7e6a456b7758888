"""A `scriptexec watch` process for tests: real file-system events, output with times."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path


class WatchProcess:
    def __init__(self, project: Path, *args: str) -> None:
        self.marker = uuid.uuid4().hex
        env = {
            **os.environ,
            "NO_COLOR": "1",
            "SCRIPTEXEC_TEST_MARKER": self.marker,
            "PYTHONUNBUFFERED": "1",
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "scriptexec", "watch", *args],
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[tuple[float, str]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.wait_for("watching ", timeout=30)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    def text(self) -> str:
        return "\n".join(line for _, line in self.lines)

    def wait_for(self, pattern: str, timeout: float = 30, count: int = 1) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(re.findall(pattern, self.text())) >= count:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"no {pattern!r} (x{count}) in watch output:\n{self.text()}")

    def rebuilds(self) -> int:
        return len(re.findall(r"rebuilding specs/", self.text()))

    def settle(self, quiet: float = 1.5, timeout: float = 60) -> None:
        """Wait until no output has appeared for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            last = self.lines[-1][0] if self.lines else 0
            if time.monotonic() - last > quiet:
                return
            time.sleep(0.05)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout=60)
        self._reader.join(timeout=5)
        return code

    def leftover_processes(self) -> list[int]:
        found = []
        for env_file in Path("/proc").glob("[0-9]*/environ"):
            try:
                if f"SCRIPTEXEC_TEST_MARKER={self.marker}".encode() in env_file.read_bytes():
                    found.append(int(env_file.parent.name))
            except OSError:
                continue
        return found
