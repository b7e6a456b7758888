"""The one way scriptexec runs an external process (ruff, bandit, the generated program).

Every failure names the command, its exit code and its output, so a user never sees a bare
"returned non-zero exit status".
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from scriptexec.errors import ExternalCommandError


def run_command(
    cmd: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    check: bool = True,
    input: bytes | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run `cmd`, capture stdout and stderr. Raise ExternalCommandError on failure or timeout.

    With check=False a non-zero exit is returned, not raised (linters exit 1 on findings).
    """
    try:
        proc = subprocess.run(
            list(cmd),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            timeout=timeout,
            capture_output=True,
            input=input,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        partial = (exc.stdout or b"") + (exc.stderr or b"")
        raise ExternalCommandError(
            tuple(cmd), -1, f"timed out after {timeout:g}s\n" + partial.decode("utf-8", "replace")
        ) from None
    except OSError as exc:
        raise ExternalCommandError(tuple(cmd), -1, f"could not start: {exc}") from None
    if check and proc.returncode != 0:
        text = (proc.stdout + proc.stderr).decode("utf-8", "replace")
        raise ExternalCommandError(tuple(cmd), proc.returncode, text)
    return proc


def clean_env(**extra: str) -> dict[str, str]:
    """A minimal environment for child programs: PATH, locale and HOME, plus `extra`."""
    keep = ("PATH", "LANG", "LC_ALL", "HOME", "SYSTEMROOT", "TMPDIR")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(extra)
    return env
