"""Every rendered program passes ruff and bandit with no findings, and the validate stage's
own checks with no issues."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from scriptexec.checks import check_program
from scriptexec.checks.linters import run_bandit, run_ruff
from scriptexec.codegen.model import program_model, step_function_name
from scriptexec.codegen.vendor import runtime_files
from scriptexec.process import clean_env, run_command
from scriptexec.spec.model import load_spec

from .helpers import DSCR_CSV, MODEL_NAMES, model, render, run

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted((REPO / "specs").glob("*.yaml"))


def variants() -> dict[str, dict[str, Any]]:
    """The four models, and variants that switch on the other templates' branches."""
    programs = {name: model(name) for name in MODEL_NAMES}
    http = model("dscr")
    http["inputs"][0].update(
        format="http", location="https://api.example.com/v1/properties", records="data"
    )
    programs["http"] = http
    postgres = model("dscr")
    postgres["inputs"][0].update(format="postgres", location=None, table="properties")
    programs["postgres"] = postgres
    query = model("inventory")
    query["inputs"][0].update(table=None, query="SELECT * FROM stock WHERE active = 1")
    programs["sqlite_query"] = query
    batch = model("dscr")
    batch.update(web=None, parameters=[], summary=[], on_error="fail")
    batch["compute"] = [
        {
            "name": "dscr",
            "type": "number",
            "formula": "(gross_revenue - operating_expenses) / annual_debt_service",
        }
    ]
    batch["columns"] = [*batch["columns"][:5], "dscr"]
    programs["batch_only"] = batch
    long_names = model("rent_roll")
    long_names["title"] = "A title that goes on and on " * 6
    long_names["description"] = "A description that goes on and on, " * 20
    long_names["compute"][0]["formula"] = " + ".join(["sqft * market_rent_psf"] * 10)
    programs["long_text"] = long_names
    return programs


@pytest.fixture(scope="module")
def programs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("programs")
    return {name: render(m, root / name) for name, m in variants().items()}


def _tool(*args: str) -> str:
    proc = run_command([sys.executable, "-m", *args], env=clean_env(), timeout=300, check=False)
    output = (proc.stdout + proc.stderr).decode()
    assert proc.returncode == 0, output
    return output


def test_ruff_finds_nothing(programs: dict[str, Path]) -> None:
    paths = [str(p / "app.py") for p in programs.values()]
    _tool("ruff", "check", "--isolated", "--no-cache", "--select", "E,F,W,B,S,UP", "--", *paths)


def test_ruff_with_its_default_rules_finds_nothing(programs: dict[str, Path]) -> None:
    paths = [str(p / "app.py") for p in programs.values()]
    _tool("ruff", "check", "--isolated", "--no-cache", "--", *paths)


def test_bandit_finds_nothing(programs: dict[str, Path]) -> None:
    paths = [str(p / "app.py") for p in programs.values()]
    output = _tool("bandit", "-q", "--", *paths)
    assert "No issues identified" in output or not output.strip(), output


def test_the_validate_checks_find_nothing(programs: dict[str, Path]) -> None:
    for name, program in programs.items():
        files = {p.name: p.read_bytes() for p in program.iterdir() if p.is_file()}
        report = check_program(files, context=runtime_files())  # as the validate stage does
        assert report.issues == [], f"{name}: " + "\n".join(str(i) for i in report.issues)


def test_a_batch_only_program_runs(programs: dict[str, Path]) -> None:
    program = programs["batch_only"]
    (program / "data").mkdir(exist_ok=True)
    (program / "data" / "properties.csv").write_text(DSCR_CSV)
    result = run(program, "run")
    assert result.code == 1, result  # on_error: fail, and P3 divides by zero
    assert "error: row 3 (property_id=P3): division by zero in dscr" in result.err
    assert run(program, "serve").code == 2  # no such command without a web interface


# -- every shipped spec's program, linted as a user and as the validate stage would ---------


def _stub(name: str, produces: dict[str, str]) -> str:
    """Stand-in code for a prose step (an LLM writes the real one): lint-clean and trivial,
    so that the findings, if any, are the templates'."""
    values = ", ".join(f"{field!r}: None" for field in produces)
    return f"def {step_function_name(name)}(row: dict, params: dict) -> dict:\n    return {{{values}}}\n"


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    """{spec name: its generated Python files} for every spec under specs/."""
    from scriptexec.codegen.render import render_program
    from scriptexec.project import Project

    root = tmp_path_factory.mktemp("shipped")
    programs = {}
    for path in SHIPPED:
        spec = load_spec(path)
        steps = {s["name"]: _stub(s["name"], s["produces"]) for s in spec.canonical["steps"]}
        directory = root / path.stem
        directory.mkdir()
        for name, content in render_program(program_model(spec, steps), Project(root)).items():
            (directory / name).parent.mkdir(parents=True, exist_ok=True)
            (directory / name).write_bytes(content)
        programs[path.stem] = sorted(directory.glob("*.py"))
    assert len(programs) == len(SHIPPED) and "steps.py" in {
        p.name for files in programs.values() for p in files
    }  # a spec with prose steps is among them
    return programs


@pytest.mark.parametrize("name", [p.stem for p in SHIPPED])
def test_shipped_programs_pass_ruff_with_its_default_rules(
    shipped: dict[str, list[Path]], name: str
) -> None:
    """What a user who runs plain `ruff check` on the program sees (no configuration)."""
    paths = [str(p) for p in shipped[name]]
    _tool("ruff", "check", "--isolated", "--no-cache", "--", *paths)


@pytest.mark.parametrize("name", [p.stem for p in SHIPPED])
def test_shipped_programs_pass_the_validate_stage_linters(
    shipped: dict[str, list[Path]], name: str
) -> None:
    """The validate stage's own rule set (noqa ignored) and bandit (nosec ignored)."""
    root = shipped[name][0].parent
    paths = [p.name for p in shipped[name]]
    issues = run_ruff(root, paths) + run_bandit(root, paths)
    assert issues == [], "\n".join(str(i) for i in issues)


@pytest.mark.parametrize("name", [p.stem for p in SHIPPED])
def test_shipped_programs_pass_bandit_and_the_projects_ruff_config(
    shipped: dict[str, list[Path]], name: str
) -> None:
    """bandit with its defaults, and ruff with this project's settings (which include
    RUF100: a `noqa` for a rule that is not enabled is itself a finding)."""
    paths = [str(p) for p in shipped[name]]
    output = _tool("bandit", "-q", "--", *paths)
    assert "No issues identified" in output or not output.strip(), output
    config = str(REPO / "pyproject.toml")
    _tool("ruff", "check", "--no-cache", "--config", config, "--", *paths)
