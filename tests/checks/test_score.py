"""The score's weights, its one-defect-per-line rule, its caps, and the pass rule."""

from __future__ import annotations

import json

import pytest

from scriptexec.checks import Issue
from scriptexec.checks.score import category_scores, score

from .helpers import check


def issue(line: int, severity: str = "warning", code: str = "CFG001", file: str = "a.py") -> Issue:
    return Issue(file, line, 0, severity, code, "m")  # type: ignore[arg-type]


def test_weights() -> None:
    assert score([]) == 1.0
    assert score([issue(1, "error", "SEC001")]) == 0.75  # one error fails the default 0.8
    assert score([issue(1, "warning", "CFG001"), issue(2, "warning", "CFG002")]) == 0.9
    assert score([issue(1, "info", "PRA006")]) == 0.99


def test_one_line_counts_once_at_its_worst() -> None:
    same_line = [
        issue(3, "error", "SEC001"),
        issue(3, "warning", "bandit:B307"),
        issue(3, "info", "PRA007"),
    ]
    assert score(same_line) == 0.75
    assert score([*same_line, issue(3, "error", "SEC001", file="b.py")]) == 0.5


def test_repeated_habits_are_capped_errors_are_not() -> None:
    assert score([issue(n, "info", "PRA006") for n in range(1, 40)]) == 0.95
    assert score([issue(n, "warning", "CFG003") for n in range(1, 40)]) == 0.85
    assert score([issue(n, "error", "SEC001") for n in range(1, 5)]) == 0.0


def test_syntax_error_scores_zero() -> None:
    assert score([issue(1, "error", "SYN001")]) == 0.0


def test_category_scores() -> None:
    found = [
        issue(1, "error", "SEC001"),
        issue(2, "warning", "CFG001"),
        issue(3, "info", "ruff:F401"),
    ]
    assert category_scores(found) == {"configuration": 0.95, "lint": 0.99, "security": 0.75}


@pytest.mark.parametrize(
    ("source", "threshold", "passed"),
    [
        ("X = 1\n", 0.8, True),
        ("import os\nHOST = 'db.internal'\nPORT = 5432\n", 0.95, False),  # two warnings: 0.9
        ("import os\nHOST = 'db.internal'\nPORT = 5432\n", 0.9, True),
        ("eval('1')\n", 0.0, False),  # a security error fails whatever the threshold
    ],
)
def test_pass_rule(source: str, threshold: float, passed: bool) -> None:
    from scriptexec.checks import check_program

    report = check_program({"a.py": source.encode()}, threshold=threshold, lint=False)
    assert report.passed is passed


def test_report_json_is_deterministic_and_complete() -> None:
    report = check("import pandas as pd\nfrom flask import Flask\n\nrows = pd.read_csv(p)\n")
    data = json.loads(report.to_json())
    assert (
        report.to_json()
        == check(
            "import pandas as pd\nfrom flask import Flask\n\nrows = pd.read_csv(p)\n"
        ).to_json()
    )
    assert set(data) == {
        "passed", "score", "threshold", "scores", "counts", "issues", "resources", "tools",
        "checks_version",
    }  # fmt: skip
    resources = data["resources"]
    assert resources["data_in_memory"] is True
    assert resources["cpus"] == 1.0  # pandas computes
    assert resources["memory_mb"] >= 20 + 70 + 15 + 20 + 64
    assert any("pandas" in r for r in resources["reasons"])


def test_syntax_error_is_an_issue_with_a_position() -> None:
    report = check("def f(:\n    pass\n")
    (issue_,) = report.issues
    assert (issue_.code, issue_.line, issue_.severity) == ("SYN001", 1, "error")
    assert report.score == 0.0 and not report.passed


def test_undecodable_file() -> None:
    from scriptexec.checks import check_program

    report = check_program({"a.py": b"x = 1\ny = '\xff'\n"}, lint=False)
    assert [(i.code, i.line) for i in report.issues] == [("SYN002", 2)]
