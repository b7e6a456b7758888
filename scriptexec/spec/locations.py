"""Where an input's file is, and whether a build may copy it.

The package stage copies sample data into build/<name>/data/, and from there it reaches the
cache and the Docker image. So a spec must not be able to name /etc/shadow or ~/.ssh/id_rsa:
a relative location (read from the spec's own directory) must resolve, symlinks and all, to
a regular file inside the project. An absolute location is a path on the machine that runs
the program and is not copied. `outside_project: true` on an input is the one way to copy a
file from outside the project (relative or absolute) into a build.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath
from typing import Any

FILE_FORMATS = ("csv", "json", "sqlite")  # formats whose location is a file path


def file_location(inp: dict[str, Any]) -> str | None:
    """The input's location if it names a file (not a URL, not postgres, not another
    spec's results: those are where its program writes them, when the program runs)."""
    if inp.get("from"):
        return None
    loc = inp.get("location")
    if inp.get("format") in FILE_FORMATS and isinstance(loc, str) and loc and "://" not in loc:
        return loc
    return None


def is_copied(location: str, outside_project: bool) -> bool:
    """Whether a build copies the file: relative locations, and anything opted in."""
    return outside_project or not os.path.isabs(location)


DATA_DIR = "data"  # where a build keeps the copies, in the program's directory


def packaged_location(inp: dict[str, Any]) -> str | None:
    """Where the program finds the input by default: the build's copy of a file it
    copies (a location already under data/ keeps its path, anything else, such as
    sample.csv or ../shared/x.csv, goes to data/<file name>), else the location."""
    location = file_location(inp)
    if location is None or not is_copied(location, bool(inp.get("outside_project"))):
        return inp.get("location")
    rel = PurePosixPath(location.replace("\\", "/"))
    if rel.parts and rel.parts[0] == DATA_DIR and ".." not in rel.parts:
        return str(rel)
    return f"{DATA_DIR}/{rel.name}"


def resolve(location: str, base_dir: Path) -> Path:
    """The file a location names: relative to the spec's directory, symlinks resolved."""
    return Path(os.path.realpath(base_dir / location))


def location_problem(
    location: str, base_dir: Path, root: Path, *, outside_project: bool
) -> tuple[str, str] | None:
    """(message, hint) when a copied location may not be copied; None when it may."""
    real = resolve(location, base_dir)
    if not outside_project and not real.is_relative_to(os.path.realpath(root)):
        # Checked before existence, so a spec cannot probe which files exist elsewhere.
        return (
            f"{location!r} resolves to {real}, outside the project",
            "a build copies a file from outside the project only with outside_project: true"
            " on this input",
        )
    try:
        mode = os.stat(real).st_mode
    except FileNotFoundError:
        return (
            f"{location!r} does not exist (looked for {_shown(base_dir / location, root)})",
            "a relative location is read from the spec's own directory",
        )
    except OSError as exc:
        return f"{location!r} cannot be read: {exc.strerror}", ""
    if not stat.S_ISREG(mode):
        return f"{location!r} is not a regular file", ""  # a FIFO or device would hang a build
    return None


def _shown(path: Path, root: Path) -> str:
    normal = os.path.normpath(path)
    real_root = os.path.realpath(root)
    for base in (str(root), real_root):
        if normal.startswith(base.rstrip("/") + "/"):
            return os.path.relpath(normal, base)
    return normal
