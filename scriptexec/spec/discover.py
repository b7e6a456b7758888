"""Which spec files a command works on."""

from __future__ import annotations

import os
from pathlib import Path

from scriptexec.errors import UsageError

SPEC_SUFFIXES = (".yaml", ".yml")
DEFAULT_DIR = "specs"


def discover(paths: list[str], root: Path) -> list[Path]:
    """Files as given; directories searched for *.yaml / *.yml (hidden dirs skipped,
    symlinked dirs not followed, so a link loop cannot trap the walk)."""
    if not paths:
        default = root / DEFAULT_DIR
        if not default.is_dir():
            raise UsageError(
                f"no {DEFAULT_DIR}/ directory in {root}; name a spec file or directory"
            )
        paths = [str(default)]
    found: list[Path] = []
    for raw in paths:
        path = Path(raw) if Path(raw).is_absolute() else root / raw
        if path.is_dir():
            found.extend(_walk(path))
        elif path.exists() or path.is_symlink():
            found.append(path)
        else:
            raise UsageError(f"{raw}: no such file or directory")
    unique = dict.fromkeys(p.absolute() for p in found)
    return list(unique)


def _walk(top: Path) -> list[Path]:
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        out.extend(Path(dirpath) / f for f in sorted(filenames) if f.endswith(SPEC_SUFFIXES))
    return out
