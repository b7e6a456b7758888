"""`scriptexec clean` and `scriptexec cache gc`."""

from __future__ import annotations

import re
from pathlib import Path

from scriptexec.engine.cache import Cache
from scriptexec.engine.lockfile import LockFile
from scriptexec.engine.publish import unpublish
from scriptexec.engine.scratch import sweep
from scriptexec.errors import SpecError, UsageError
from scriptexec.file_lock import file_lock
from scriptexec.project import Project

_SIZE = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_AGE = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_size(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*", text.lower())
    if not m:
        raise UsageError(f"--max-size: {text!r} is not a size like 500M or 2G")
    return int(float(m.group(1)) * _SIZE[m.group(2)])


def parse_age(text: str) -> float:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text.lower())
    if not m:
        raise UsageError(f"--older-than: {text!r} is not an age like 30d or 12h")
    return float(m.group(1)) * _AGE[m.group(2)]


def clean_specs(*, project: Project, paths: list[Path] | None) -> list[str]:
    """Remove the engine's files from build/<name>/ for the given specs (default: all)."""
    build_root = project.root / "build"
    if paths is None:
        dirs = sorted(p for p in build_root.glob("*") if p.is_dir()) if build_root.is_dir() else []
    else:
        from scriptexec.spec.model import load_spec

        dirs = []
        for path in paths:
            try:
                dirs.append(project.build_dir(load_spec(path, project.relative(path)).name))
            except SpecError:
                dirs.append(project.build_dir(path.stem))
    lines: list[str] = []
    with file_lock(project.state_dir / "build.lock"):
        for d in dirs:
            n = unpublish(d, lambda msg: lines.append(f"warning: {msg}"))
            lines.append(f"{project.relative(d)}: removed {n} file{'s' if n != 1 else ''}")
        state = project.state_dir / "state.json"
        state.unlink(missing_ok=True)  # the fast path must not vouch for removed files
    return lines or ["nothing to clean"]


def gc_cache(*, project: Project, max_size: str | None, older_than: str | None) -> str:
    if max_size is None and older_than is None:
        raise UsageError("cache gc: give --max-size and/or --older-than")
    warnings: list[str] = []
    with file_lock(project.state_dir / "build.lock"):
        keep = LockFile(project.lock_path, warnings.append).keys()
        removed, freed = Cache(project.cache_dir, warnings.append).gc(
            max_size=parse_size(max_size) if max_size else None,
            older_than=parse_age(older_than) if older_than else None,
            keep=keep,
        )
        # Holding the project lock, no stage of this project is running: what its scratch
        # folder holds was left by a killed build.
        swept = sweep(project, warnings.append)
    summary = f"removed {removed} cache files, freed {freed / 1e6:.1f} MB"
    if swept:
        summary += f"; removed {swept} temporary folder{'s' if swept != 1 else ''} of killed builds"
    return "\n".join([*(f"warning: {w}" for w in warnings), summary])
