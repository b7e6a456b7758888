"""`scriptexec validate`: every problem in every spec, and nothing written anywhere."""

from __future__ import annotations

from pathlib import Path

from scriptexec.errors import Problem, SpecError
from scriptexec.spec.model import load_spec


def display_path(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def validate_specs(*, paths: list[Path], root: Path) -> tuple[list[Problem], int]:
    problems: list[Problem] = []
    names: dict[str, str] = {}
    for path in paths:
        display = display_path(path, root)
        try:
            spec = load_spec(path, display, root=root)
        except SpecError as exc:
            problems.extend(exc.problems)
            continue
        if spec.name in names:
            # build/<name>/ and the image tag are per name: two specs cannot share one.
            line, col = spec.doc.pos(("name",))
            problems.append(
                Problem(
                    display,
                    line,
                    col,
                    "name",
                    f"name '{spec.name}' is also used by {names[spec.name]}",
                )
            )
        names[spec.name] = display
    return problems, len(paths)
