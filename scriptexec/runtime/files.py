"""Writing a file so that no reader ever sees half of it, and reusing a written one."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic(path: Path) -> Iterator[Path]:
    """A new, empty temporary file beside `path` to write; it replaces `path` when the
    block ends, and is removed when the block fails. The name is unique, so that two
    runs at once never write into each other's file; creating it here (rather than
    in DuckDB) makes an unwritable directory an OSError naming the directory's file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{secrets.token_hex(8)}.partial")
    with partial.open("x"):
        pass
    try:
        yield partial
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    """`text`, ending with a newline, as UTF-8 with its line endings as given."""
    if not text.endswith("\n"):
        text += "\n"
    with atomic(path) as partial, partial.open("w", encoding="utf-8", newline="") as handle:
        handle.write(text)


def link_or_copy(source: Path, target: Path) -> None:
    """`target` as the same file as `source`: a hard link where the file system allows
    one (no second write of a large file), a copy where it does not (another volume)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
        return
    except OSError:
        pass  # EXDEV, EPERM, or a file system without links: copy instead
    with atomic(target) as partial:
        shutil.copyfile(source, partial)
