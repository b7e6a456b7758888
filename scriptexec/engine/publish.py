"""Materialise a spec's outputs into build/<name>/.

Each file is written to a temporary file and moved into place with os.replace, and only
files whose content changed are touched (so a running program, or Docker's build context,
sees no needless churn). The manifest, written last, lists what the engine owns there;
files it did not write (results/, logs/, a user's .env) are left alone.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from scriptexec.engine.cache import atomic_write
from scriptexec.engine.digests import Signature, signature
from scriptexec.engine.keys import bytes_digest

MANIFEST = "_scriptexec/manifest.json"


def _mode(name: str) -> int:
    return 0o755 if name.endswith(".sh") else 0o644


def publish(build_dir: Path, files: dict[str, bytes]) -> dict[str, Signature]:
    """Make build_dir hold exactly `files` (among the files the engine owns there)."""
    build_dir.mkdir(parents=True, exist_ok=True)
    old = read_manifest(build_dir)
    new = {name: bytes_digest(data) for name, data in files.items()}
    for name, data in sorted(files.items()):
        target = build_dir / name
        if old.get(name) == new[name] and _same_content(target, new[name]):
            continue
        atomic_write(target, data, _mode(name))
    for name in old.keys() - new.keys():
        with contextlib.suppress(FileNotFoundError):
            os.unlink(build_dir / name)
    _sweep_temporaries(build_dir, old.keys() | new.keys())
    atomic_write(build_dir / MANIFEST, json.dumps(new, sort_keys=True, indent=1).encode())
    sigs = {str(build_dir / n): signature(build_dir / n) for n in new}
    return {p: s for p, s in sigs.items() if s is not None}


def _sweep_temporaries(build_dir: Path, names: set[str]) -> None:
    """Remove what a build killed in the middle of atomic_write left behind: temporaries
    named after files the engine owns (`.app.py.<random>.tmp`). Builds hold the project
    lock, so none of these can belong to a write still under way."""
    for name in {*names, MANIFEST}:
        target = build_dir / name
        for leftover in target.parent.glob(f".{target.name}.*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def read_manifest(build_dir: Path) -> dict[str, str]:
    try:
        data = json.loads((build_dir / MANIFEST).read_bytes())
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _same_content(path: Path, digest: str) -> bool:
    try:
        return bytes_digest(path.read_bytes()) == digest
    except OSError:
        return False


def unpublish(build_dir: Path) -> int:
    """Remove the files the engine owns in build_dir (and the dir if it ends up empty)."""
    removed = 0
    for name in [*read_manifest(build_dir), MANIFEST]:
        try:
            os.unlink(build_dir / name)
            removed += 1
        except FileNotFoundError:
            continue
    for d in sorted((p for p in build_dir.rglob("*") if p.is_dir()), reverse=True):
        with contextlib.suppress(OSError):
            d.rmdir()
    with contextlib.suppress(OSError):
        build_dir.rmdir()
    return removed
