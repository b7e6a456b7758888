"""End to end without an LLM: each shipped spec through the compiler, the templates and
its own checks (what `scriptexec build` does between generate and test)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scriptexec.acceptance import input_declarations, run_checks
from scriptexec.codegen.model import program_model
from scriptexec.codegen.render import render_program
from scriptexec.project import Project
from scriptexec.spec.model import load_spec

SPECS = Path(__file__).resolve().parents[2] / "specs"
DECLARATIVE = [p.stem for p in sorted(SPECS.glob("*.yaml")) if "\nsteps:" not in p.read_text()]


@pytest.mark.parametrize("name", DECLARATIVE)
def test_shipped_spec_passes_its_checks(name: str, tmp_path: Path) -> None:
    spec = load_spec(SPECS / f"{name}.yaml")
    assert spec.canonical["checks"], f"{name} has no checks"
    program = tmp_path / "program"
    program.mkdir()
    for file, content in render_program(program_model(spec), Project(tmp_path)).items():
        (program / file).parent.mkdir(parents=True, exist_ok=True)
        (program / file).write_bytes(content)
    report = run_checks(
        program,
        spec.canonical["checks"],
        input_declarations(spec.canonical),
        workdir=tmp_path / "w",
    )
    assert report.failed == [], report.failure_message()
