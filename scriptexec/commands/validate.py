"""`scriptexec validate`: every problem in every spec, and nothing written anywhere."""

from __future__ import annotations

from pathlib import Path

from scriptexec.errors import Problem, SpecError
from scriptexec.spec.model import Spec, load_spec


def display_path(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def llm_note(spec: Spec, display: str) -> str:
    """What a valid spec still needs to build: an LLM for its prose steps, named."""
    gen = spec.canonical["generator"]
    where = f" at {gen['host']}" if gen.get("host") else ""
    steps = len(spec.canonical["steps"])
    model = f" {gen['model']}" if gen.get("model") else ""
    plural = "s need" if steps != 1 else " needs"
    return (
        f"{display}: {steps} prose step{plural} an LLM to build ({gen['provider']}{model}{where})"
    )


def validate_specs(
    *, paths: list[Path], root: Path, notes: list[str] | None = None
) -> tuple[list[Problem], int]:
    """Every problem in `paths`, and how many specs were read. `notes` gets a line for
    each valid spec that cannot be built without an LLM."""
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
        if spec.needs_llm() and notes is not None:
            notes.append(llm_note(spec, display))
    return problems, len(paths)
