"""The spec's `rules:`: missing values propagate (or fail the row), a division by zero
fails the row (or is left missing, with a warning), and rows in error leave the
aggregates (or still count). Expected values are worked out by hand in the comments."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from codegen.helpers import render, run
from codegen.sql_support import run as run_queries
from codegen.sql_support import spec_model
from scriptexec.errors import SpecError
from scriptexec.spec.model import load_spec

FIELDS = {"line": "string", "budget": "number", "actual": "number", "note": "string?"}
BUDGET = [
    {"line": "A", "budget": 1000, "actual": 1100, "note": "ok"},
    {"line": "B", "budget": 0, "actual": 500, "note": None},
    {"line": "C", "budget": 2000, "actual": 1500, "note": "cut"},
]


def budget_model(tmp_path: Path, rules: dict[str, str] | None = None) -> dict[str, Any]:
    compute = {
        "variance_pct": "(actual - budget) / budget * 100",
        "unbudgeted": "budget == 0 and actual > 0",
        "tag": "upper(note)",
    }
    summary = {"total_actual": "sum(actual)", "mean_variance": "mean(variance_pct)"}
    sections: dict[str, Any] = {"compute": compute, "summary": summary}
    if rules:
        sections["rules"] = rules
    return spec_model(tmp_path, fields=FIELDS, **sections)


def test_by_default_a_missing_value_propagates_and_the_row_still_counts(tmp_path: Path) -> None:
    result = run_queries(budget_model(tmp_path), BUDGET)
    b = result.rows[1]
    # B's note is empty: upper(note) is missing, with no error; B fails on 500 / 0 alone
    assert b["tag"] is None and b["error"] == "division by zero in variance_pct"
    assert b["unbudgeted"] is True  # computed: it does not depend on variance_pct
    assert result.rows[0]["tag"] == "OK" and result.rows[0]["error"] is None
    # B is in error: left out (exclude); A and C: 1100 + 1500 = 2600; (10 + -25) / 2
    assert result.summary["total_actual"] == 2600.0
    assert result.summary["mean_variance"] == -7.5


def test_missing_error_makes_a_missing_result_a_row_error(tmp_path: Path) -> None:
    model = spec_model(
        tmp_path,
        fields={"a": "number", "note": "string?"},
        compute={"tag": "upper(note)", "twice": "a * 2"},
        rules={"missing": "error"},
    )
    (row,) = run_queries(model, [{"a": 2, "note": None}]).rows
    assert row["tag"] is None and row["twice"] == 4.0
    assert row["error"] == "missing value in tag (note is empty)"


def test_division_by_zero_left_missing_is_a_counted_warning(tmp_path: Path) -> None:
    model = budget_model(tmp_path, {"division_by_zero": "missing", "error_rows": "include"})
    result = run_queries(model, BUDGET)
    assert [r["error"] for r in result.rows] == [None, None, None]
    assert [r["variance_pct"] for r in result.rows] == [10.0, None, -25.0]
    # the rows query says which rows divided by zero, for the run to count (see the
    # end-to-end test below)
    assert '"_warning"' in result.queries["rows"]["sql"]
    # every row counts: 1100 + 500 + 1500 = 3100; the mean skips B's missing variance
    assert result.summary["total_actual"] == 3100.0
    assert result.summary["mean_variance"] == -7.5
    assert result.summary["_n_mean_variance"] == 1


def test_a_division_in_a_branch_not_taken_warns_of_nothing(tmp_path: Path) -> None:
    model = spec_model(
        tmp_path,
        fields={"a": "number", "d": "number"},
        compute={"safe": "a / d if d != 0 else 0", "raw": "a / d"},
        rules={"division_by_zero": "missing"},
    )
    result = run_queries(model, [{"a": 1, "d": 0}, {"a": 1, "d": 4}])
    # row 1: safe takes the else branch (0), raw divides by zero (missing); row 2: 0.25
    assert [(r["safe"], r["raw"], r["error"]) for r in result.rows] == [
        (0.0, None, None),
        (0.25, 0.25, None),
    ]


def test_error_rows_include_counts_a_failed_rows_other_fields(tmp_path: Path) -> None:
    model = budget_model(tmp_path, {"error_rows": "include"})
    result = run_queries(model, BUDGET)
    # B fails (500 / 0) but still counts by its actual: 1100 + 500 + 1500 = 3100;
    # its variance_pct is missing, so the mean is (10 + -25) / 2 and leaves one row out
    assert result.rows[1]["error"] == "division by zero in variance_pct"
    assert result.summary["total_actual"] == 3100.0
    assert result.summary["mean_variance"] == -7.5
    assert result.summary["_n_mean_variance"] == 1


def test_the_division_rule_needs_missing_values_to_propagate(tmp_path: Path) -> None:
    spec = tmp_path / "t.yaml"
    spec.write_text(
        "version: 1\nname: t\ninputs:\n  data:\n    format: csv\n    location: data.csv\n"
        "    fields: {a: number}\nrules:\n  missing: error\n  division_by_zero: missing\n",
        encoding="utf-8",
    )
    with pytest.raises(SpecError) as caught:
        load_spec(spec)
    assert str(caught.value) == (
        f"{spec}:10:21: rules.division_by_zero: division_by_zero: missing makes a missing"
        " result, which missing: error makes a row error; set missing: propagate, or"
        " division_by_zero: error"
    )


def test_the_run_says_what_each_value_left_out_and_what_was_left_missing(
    tmp_path: Path,
) -> None:
    (tmp_path / "spec").mkdir()
    model = budget_model(tmp_path / "spec", {"division_by_zero": "missing"})
    data = "line,budget,actual,note\nA,1000,1100,ok\nB,0,500,\nC,2000,1500,cut\n"
    program = render(model, tmp_path / "program", {"data.csv": data})
    result = run(program, "run", env={"DATA_LOCATION": str(program / "data.csv")})
    assert result.code == 0, result
    lines = result.out.splitlines()
    assert "  ~ mean_variance leaves out 1 row with a missing value" in lines
    assert "  ~ 1 row: division by zero in variance_pct (left missing)" in lines
    summary = json.loads((program / "results" / "summary.json").read_text(encoding="utf-8"))
    # no row in error: 1100 + 500 + 1500 = 3100; mean of 10 and -25
    assert summary["summary"] == {"total_actual": 3100.0, "mean_variance": -7.5}
    assert summary["left_out"] == {"mean_variance": 1}
    assert summary["warnings"] == ["1 row: division by zero in variance_pct (left missing)"]
    csv_rows = (program / "results" / "results.csv").read_text(encoding="utf-8").splitlines()
    # B: variance missing (empty), tag missing (empty), no error
    assert csv_rows[2] == "B,0.0,500.0,,,true,,"
