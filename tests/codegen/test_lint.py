"""Every rendered program passes ruff and bandit with no findings, and the validate stage's
own checks with no issues."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from scriptexec.checks import check_program
from scriptexec.process import clean_env, run_command

from .helpers import DSCR_CSV, MODEL_NAMES, model, render, run


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
            "python": "(row['gross_revenue'] - row['operating_expenses'])"
            " / row['annual_debt_service']",
        }
    ]
    batch["columns"] = [*batch["columns"][:5], "dscr"]
    programs["batch_only"] = batch
    long_names = model("rent_roll")
    long_names["title"] = "A title that goes on and on " * 6
    long_names["description"] = "A description that goes on and on, " * 20
    long_names["compute"][0]["formula"] = " + ".join(["sqft * market_rent_psf"] * 10)
    long_names["compute"][0]["python"] = " + ".join(["row['sqft'] * row['market_rent_psf']"] * 10)
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


def test_bandit_finds_nothing(programs: dict[str, Path]) -> None:
    paths = [str(p / "app.py") for p in programs.values()]
    output = _tool("bandit", "-q", "--", *paths)
    assert "No issues identified" in output or not output.strip(), output


def test_the_validate_checks_find_nothing(programs: dict[str, Path]) -> None:
    for name, program in programs.items():
        files = {p.name: p.read_bytes() for p in program.iterdir() if p.is_file()}
        report = check_program(files)
        assert report.issues == [], f"{name}: " + "\n".join(str(i) for i in report.issues)


def test_a_batch_only_program_runs(programs: dict[str, Path]) -> None:
    program = programs["batch_only"]
    (program / "data").mkdir(exist_ok=True)
    (program / "data" / "properties.csv").write_text(DSCR_CSV)
    result = run(program, "run")
    assert result.code == 1, result  # on_error: fail, and P3 divides by zero
    assert "error: row 3 (property_id=P3): division by zero in dscr" in result.err
    assert run(program, "serve").code == 2  # no such command without a web interface
