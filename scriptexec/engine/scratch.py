"""Stages' temporary folders: .scriptexec/tmp/<stage>-<random>/, not /tmp.

A build killed by SIGKILL cannot remove its temporaries. In /tmp nothing tells a dead
build's folder from a running one's (this project's, another project's, another user's).
In the project's own state folder, whoever holds the project lock (a build before its first
stage, `cache gc`) knows that no stage of this project is running, and sweeps it all.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any


def scratch_dir(project: Any) -> Path:
    root: Path = project.state_dir / "tmp"
    root.mkdir(parents=True, exist_ok=True)
    return root


def sweep(project: Any, warn: Callable[[str], None]) -> int:
    """Empty the scratch folder (call only with the project lock held); entries removed."""
    root: Path = project.state_dir / "tmp"
    if not root.is_dir():
        return 0
    removed = 0
    for entry in sorted(root.iterdir()):
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed += 1
        except FileNotFoundError:
            continue
        except OSError as exc:
            warn(f"cannot remove {entry} (left by an interrupted build): {exc.strerror}")
    return removed
