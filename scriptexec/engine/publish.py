"""Materialise a spec's outputs into build/<name>/.

Each file is written to a temporary file and moved into place with os.replace, and only
files whose content changed are touched (so a running program, or Docker's build context,
sees no needless churn). The manifest, written last, lists what the engine owns there;
files it did not write (results/, logs/, a user's .env) are left alone.

Every name, from the manifest or to be written, goes through engine.names.inside first:
a manifest line naming ../../x or /home/x, or a symlinked folder in build/<name>/ pointing
elsewhere, is never written or deleted through.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

from scriptexec.engine.cache import atomic_write
from scriptexec.engine.digests import Signature, signature
from scriptexec.engine.keys import bytes_digest
from scriptexec.engine.names import UnsafeName, inside
from scriptexec.errors import BuildError

MANIFEST = "_scriptexec/manifest.json"


def _mode(name: str) -> int:
    return 0o755 if name.endswith(".sh") else 0o644


def publish(
    build_dir: Path,
    files: dict[str, bytes],
    *,
    modes: dict[str, int] | None = None,
    warn: Callable[[str], None],
) -> dict[str, Signature]:
    """Make build_dir hold exactly `files` (among the files the engine owns there).

    `modes` narrows a file's usual mode (0644, or 0755 for scripts): never widens it.
    """
    _refuse_symlink(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    old = read_manifest(build_dir, warn)
    new = {name: bytes_digest(data) for name, data in files.items()}
    for name, data in sorted(files.items()):
        try:
            target = inside(build_dir, name)
        except UnsafeName as exc:
            raise BuildError(f"refusing to publish into {build_dir}: {exc}") from None
        mode = _mode(name) & (modes or {}).get(name, 0o777)
        if old.get(name) == new[name] and _same_content(target, new[name], mode):
            continue
        atomic_write(target, data, mode)
    for name in old.keys() - new.keys():
        with contextlib.suppress(FileNotFoundError):
            os.unlink(build_dir / name)  # checked by read_manifest
    _sweep_temporaries(build_dir, old.keys() | new.keys())
    atomic_write(_manifest_path(build_dir), json.dumps(new, sort_keys=True, indent=1).encode())
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


def _manifest_path(build_dir: Path) -> Path:
    try:
        return inside(build_dir, MANIFEST)  # _scriptexec/ may be a symlink too
    except UnsafeName as exc:
        raise BuildError(f"refusing to use the manifest in {build_dir}: {exc}") from None


def _refuse_symlink(build_dir: Path) -> None:
    if build_dir.is_symlink():
        raise BuildError(
            f"{build_dir} is a symlink (to {os.path.realpath(build_dir)}); refusing to write"
            " or remove files through it: remove the link"
        )


def read_manifest(build_dir: Path, warn: Callable[[str], None]) -> dict[str, str]:
    """The files the engine owns in build_dir; a line naming anything outside it is warned
    about and dropped (neither rewritten nor deleted)."""
    try:
        path = inside(build_dir, MANIFEST)
    except UnsafeName as exc:
        warn(f"ignoring the manifest in {build_dir}: {exc}")
        return {}
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        warn(f"{path} is unreadable or corrupt ({exc}); ignoring it")
        return {}
    if not isinstance(data, dict):
        warn(f"{path} is corrupt (not a mapping); ignoring it")
        return {}
    owned = {}
    for name, digest in data.items():
        try:
            inside(build_dir, name)
        except UnsafeName as exc:
            warn(f"{path}: ignoring a corrupt entry: {exc}")
            continue
        owned[name] = str(digest)
    return owned


def _same_content(path: Path, digest: str, mode: int) -> bool:
    """Whether `path` is a file with this content and mode (not a symlink to one)."""
    try:
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode) or stat.S_IMODE(st.st_mode) != mode:
            return False
        return bytes_digest(path.read_bytes()) == digest
    except FileNotFoundError:
        return False


def _manifest_inside(build_dir: Path) -> bool:
    try:
        inside(build_dir, MANIFEST)
    except UnsafeName:
        return False
    return True


def unpublish(build_dir: Path, warn: Callable[[str], None]) -> int:
    """Remove the files the engine owns in build_dir (and the dir if it ends up empty)."""
    if build_dir.is_symlink():
        warn(f"{build_dir} is a symlink; not removing anything through it")
        return 0
    removed = 0
    # read_manifest checked each name; a manifest reached through a symlink reads as {}.
    names = [*read_manifest(build_dir, warn), MANIFEST] if _manifest_inside(build_dir) else []
    for name in names:
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
