"""The runtime package a program carries: scriptexec/runtime/, copied into every build.

A program imports it as `scriptexec_runtime` from its own directory, so the program and
its image need no scriptexec. Its files (and the SQL compiler's, which decides what the
runtime is given) enter the generate stage's key: a change to either rebuilds every
program, and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scriptexec.project import Project

PACKAGE = "scriptexec_runtime"  # the name a program imports the runtime by
RUNTIME_DIR = Path(__file__).resolve().parent.parent / "runtime"
_CODEGEN = Path(__file__).resolve().parent
_SPEC = _CODEGEN.parent / "spec"
# What the program's code is compiled by: the model, the renderer and the SQL compiler,
# and the formula language they read (its checker and its functions).
COMPILER_FILES = (
    *(_CODEGEN / name for name in ("model.py", "render.py", "sql.py", "assertions.py")),
    _SPEC / "formulas.py",
    *sorted((_SPEC / "functions").glob("*.py")),
)


def runtime_sources() -> list[Path]:
    """The runtime's Python files, sorted (bytecode and caches are not part of it)."""
    return sorted(p for p in RUNTIME_DIR.rglob("*.py") if "__pycache__" not in p.parts)


def runtime_files() -> dict[str, bytes]:
    """{path in the program's directory: content} for the vendored package."""
    return {
        f"{PACKAGE}/{p.relative_to(RUNTIME_DIR).as_posix()}": p.read_bytes()
        for p in runtime_sources()
    }


def is_vendored(name: str) -> bool:
    """Whether a program's file `name` is part of the vendored runtime."""
    return name.startswith(f"{PACKAGE}/")


def split_vendored(files: Mapping[str, bytes]) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """(generated, vendored): what this spec's build wrote, which the code checks judge,
    and the runtime, which is scriptexec's own code, the same in every program, linted,
    type-checked and tested where it is written (the checks only read it for context)."""
    generated = {n: d for n, d in files.items() if not is_vendored(n)}
    return generated, {n: d for n, d in files.items() if is_vendored(n)}


def code_digests(project: Project) -> dict[str, str | None]:
    """Digests of every file the generated program's code comes from besides templates:
    the runtime package and the SQL compiler (cached by stat, like templates)."""
    root = RUNTIME_DIR.parent
    return {
        f"code:{p.relative_to(root).as_posix()}": project.file_digest(p)
        for p in [*runtime_sources(), *COMPILER_FILES]
    }
