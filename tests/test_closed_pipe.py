"""A reader that goes away (`scriptexec status specs/ | head -1`) is not a crash.

Real processes: the command's stdout is a pipe whose reading end is already closed, so
every write fails with EPIPE, as it does after `head` exits or in `| true`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def run_into_closed_pipe(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "scriptexec", *args],
            cwd=cwd,
            stdout=write_end,
            stderr=subprocess.PIPE,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)


@pytest.mark.parametrize(
    "args",
    [
        ["status", "specs/"],
        ["validate", "specs/"],
        ["graph", "specs/dscr.yaml"],
        ["build", "-n", "-B", "specs/dscr.yaml"],
        ["schema"],
    ],
    ids=lambda a: " ".join(a),
)
def test_closed_output_pipe_stops_quietly(project: Path, args: list[str]) -> None:
    result = run_into_closed_pipe(args, project)
    stderr = result.stderr.decode()
    assert "internal error" not in stderr and "Traceback" not in stderr
    assert "BrokenPipeError" not in stderr and "Exception ignored" not in stderr
    assert stderr == ""
    # The work was done; only its report had no reader. The exit code is the command's own.
    assert result.returncode == 0
    assert not (project / ".scriptexec" / "crash.log").exists()


def test_help_into_closed_pipe_is_quiet(project: Path) -> None:
    # click prints help itself, and exits 1 on EPIPE by its own convention (as Python's
    # documentation advises); what matters to a user is that nothing is printed.
    result = run_into_closed_pipe(["--help"], project)
    assert result.stderr == b""
    assert result.returncode in (0, 1)
