"""`scriptexec run`: the built program, in its container or (--local) a virtual environment."""

from __future__ import annotations

from pathlib import Path

from scriptexec.project import Project
from scriptexec.spec.model import load_spec
from scriptexec.ui import Console


def run_spec(
    *,
    project: Project,
    console: Console,
    spec_path: Path,
    web: bool,
    local: bool,
    env_file: Path | None,
) -> int:
    from scriptexec.container.run import run_program

    spec = load_spec(spec_path, project.relative(spec_path))
    return run_program(
        project, spec, web=web, local=local, env_file=env_file, on_output=console.line
    )
