"""ruff and bandit as processes: findings mapped to file:line, never silenced, never skipped."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scriptexec.checks import check_program
from scriptexec.checks.linters import RUFF_RULES, bandit_command, lint, ruff_command
from scriptexec.errors import BuildError, ExternalCommandError

PROGRAM = {
    "app.py": b"import os\n\n\ndef main() -> None:\n    print(undefined_name)\n",
    "pkg/steps.py": (
        b"import subprocess\n\n\n"
        b"def run(cmd: str) -> None:\n"
        b"    subprocess.run(cmd, shell=True)  # nosec  # no"
        b"qa\n"
    ),
}


@pytest.fixture(scope="module")
def findings() -> dict[str, tuple[str, int, int, str]]:
    return {i.code: (i.file, i.line, i.col, i.severity) for i in lint(PROGRAM)}


def test_ruff_findings_map_to_file_line(findings: dict[str, tuple[str, int, int, str]]) -> None:
    assert findings["ruff:F401"] == ("app.py", 1, 7, "warning")
    assert findings["ruff:F821"] == ("app.py", 5, 10, "error")  # would crash at run time


def test_bandit_findings_map_to_file_line(findings: dict[str, tuple[str, int, int, str]]) -> None:
    # A nosec comment in the judged code does not silence bandit, nor a noqa comment ruff.
    assert findings["bandit:B602"] == ("pkg/steps.py", 5, 4, "error")


def test_rules_are_on_the_command_line() -> None:
    cmd = ruff_command(["a.py"])
    assert "--isolated" in cmd and "--ignore-noqa" in cmd
    assert cmd[cmd.index("--select") + 1] == ",".join(RUFF_RULES)
    assert "--ignore-nosec" in bandit_command(["a.py"])


def test_files_in_directories_tools_skip_are_still_linted() -> None:
    issues = lint({"build/x.py": b"import os\n", ".venv/y.py": b"import sys\n"})
    assert {(i.file, i.code) for i in issues} >= {
        ("build/x.py", "ruff:F401"),
        (".venv/y.py", "ruff:F401"),
    }


def test_paths_outside_the_program_are_refused() -> None:
    for name in ("../evil.py", "/etc/evil.py"):
        with pytest.raises(BuildError, match="not a path inside the program"):
            lint({name: b"x = 1\n"})


def test_missing_linter_is_an_error_not_a_pass(tmp_path: Path) -> None:
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    with pytest.raises(ExternalCommandError) as info:
        lint({"a.py": b"x = 1\n"}, python=python)
    assert "No module named" in str(info.value)
    assert "installed" in str(info.value)


def test_linters_see_only_python_files_that_parse() -> None:
    report = check_program({"a.py": b"def (\n", "b.py": b"import os\n", "README.md": b"# hi\n"})
    assert {(i.file, i.code) for i in report.issues} == {("a.py", "SYN001"), ("b.py", "ruff:F401")}
    assert set(report.tools) == {"ruff", "bandit"}
