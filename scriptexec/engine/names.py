"""The one check on file names the engine reads back: from cache records, scriptexec.lock
and build/<name>/_scriptexec/manifest.json.

Any of those may have been edited by someone else (a cloned repository, a shared cache), and
the engine writes and deletes the files they name. So a name is obeyed only if it is plain
(relative, no `..`, no empty or `.` parts, no NUL) and, on disk, no symlinked directory
takes it out of its folder. The last part is not followed: os.replace and os.unlink act on
a symlink itself, never on what it points to.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

DIGEST = re.compile(r"[0-9a-f]{64}")  # sha256: stage keys and blob digests


class UnsafeName(ValueError):
    """A name that would reach outside its folder."""


def check_name(name: object) -> str:
    """`name` if it is a plain relative path; else UnsafeName saying why."""
    if not isinstance(name, str) or not name:
        raise UnsafeName(f"{name!r} is not a file name")
    if "\0" in name:
        raise UnsafeName(f"{name!r} contains a NUL byte")
    if name.startswith("/"):
        raise UnsafeName(f"{name!r} is an absolute path")
    if any(part in ("", ".", "..") for part in name.split("/")):
        raise UnsafeName(f"{name!r} is not a plain relative path")
    return name


def check_digest(value: object) -> str:
    if not isinstance(value, str) or not DIGEST.fullmatch(value):
        raise UnsafeName(f"{value!r} is not a sha256 digest")
    return value


def inside(folder: Path, name: object) -> Path:
    """folder/name, once it is sure to stay inside `folder` on disk; else UnsafeName."""
    target = folder / check_name(name)
    real_folder = os.path.realpath(folder)
    parent = os.path.realpath(target.parent)
    if parent != real_folder and not parent.startswith(real_folder.rstrip("/") + "/"):
        raise UnsafeName(f"{name!r} leads outside {folder} (through a symlink to {parent})")
    return target
