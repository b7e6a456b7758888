"""What the checker says about windows and aggregates (issue 14): where each may be used,
what they take, their types, and the fields they depend on."""

from __future__ import annotations

from pathlib import Path

import pytest

from scriptexec.errors import SpecError
from scriptexec.spec import formulas
from scriptexec.spec.formulas import Symbol
from scriptexec.spec.model import load_spec

ROW = {
    "rent": Symbol("field", "number"),
    "units": Symbol("field", "integer"),
    "market": Symbol("field", "string"),
    "year": Symbol("field", "integer"),
    "due": Symbol("field", "date"),
    "vacant": Symbol("field", "boolean"),
    "growth": Symbol("param", "number"),
}
PARAMS = {"growth": ROW["growth"]}


def compute_issues(text: str) -> list[tuple[int, str]]:
    _, issues = formulas.check(text, ROW, aggregate_context=False)
    return [(issue.col, issue.message) for issue in issues]


def summary_issues(text: str) -> list[tuple[int, str]]:
    _, issues = formulas.check(text, PARAMS, aggregate_context=True, row_scope=ROW)
    return [(issue.col, issue.message) for issue in issues]


@pytest.mark.parametrize(
    ("formula", "issues"),
    [
        ("running_sum(rent)", [(0, "running_sum() is per row: use it in compute")]),
        ("sum(previous(rent))", [(4, "previous() is per row: use it in compute")]),
        ("rank(order=rent) + 1", [(0, "rank() is per row: use it in compute")]),
        (
            "median(rent, per=market)",
            [
                (
                    17,
                    "median(..., per=) is for compute: in summary an aggregate is over all"
                    " rows, in groups.summary over the group's",
                )
            ],
        ),
        (
            "sum(rent, per=market)",
            [
                (
                    14,
                    "sum(..., per=) is for compute: in summary an aggregate is over all rows,"
                    " in groups.summary over the group's",
                )
            ],
        ),
        ("median(median(rent))", [(7, "aggregate 'median' inside another aggregate")]),
        ("sum(rent, units)", [(0, "sum() takes one argument")]),
    ],
)
def test_in_summary_and_groups(formula: str, issues: list[tuple[int, str]]) -> None:
    assert summary_issues(formula) == issues


@pytest.mark.parametrize(
    ("formula", "issues"),
    [
        (
            "running_sum(previous(rent))",
            [(12, "previous() inside running_sum(): compute it as a field of its own first")],
        ),
        (
            "previous(sum(rent))",
            [(9, "sum() inside previous(): compute it as a field of its own first")],
        ),
        (
            "sum(rent / median(rent, per=market))",
            [(11, "median() inside sum(): compute it as a field of its own first")],
        ),
        ("rank()", [(0, "rank() needs order=: the field (or fields) to rank by")]),
        ("rank(per=market)", [(0, "rank() needs order=: the field (or fields) to rank by")]),
        ("sum(rent, order=year)", [(16, "sum() has no keyword 'order'; it takes per=")]),
        ("median(rent, order=year)", [(19, "median() has no keyword 'order'; it takes per=")]),
        (
            "running_sum(rent, by=year)",
            [(21, "running_sum() has no keyword 'by'; it takes order=, per=")],
        ),
        ("running_sum(rent, order=yaer)", [(24, "unknown row field 'yaer' in order=")]),
        ("running_sum(rent, order=growth)", [(24, "unknown row field 'growth' in order=")]),
        ("running_sum(rent, order=year + 1)", [(24, "order= takes a row field or a list of them")]),
        ("running_sum(rent, per=-market)", [(22, "per= takes a row field or a list of them")]),
        (
            "running_sum(market)",
            [(12, "running_sum() takes a number as its first argument, got text")],
        ),
        (
            "percentile(rent, 101)",
            [(17, "percentile(): the percentile must be a number from 0 to 100, got 101")],
        ),
        (
            "percentile(rent, -5)",
            [(17, "percentile(): the percentile must be a number from 0 to 100, got -5")],
        ),
        (
            "percentile(rent, units)",
            [(17, "percentile()'s second argument must be written as a number")],
        ),
        (
            "previous(rent, 0)",
            [(15, "previous(): the number of rows must be a whole number from 1, got 0")],
        ),
        (
            "next(rent, 1.5)",
            [(11, "next(): the number of rows must be a whole number from 1, got 1.5")],
        ),
        (
            "previous(rent, units)",
            [(15, "previous()'s second argument must be written as a number")],
        ),
        ("previous()", [(0, "previous() takes 1 to 2 arguments, got 0")]),
        ("row_number(rent)", [(0, "row_number() takes 0 arguments, got 1")]),
        ("min()", [(0, "min() takes 2 to 16 arguments, got 0")]),
        ("sum()", [(0, "sum() takes one argument")]),
        (
            "value_at_max(market, vacant)",
            [
                (
                    21,
                    "value_at_max() takes a number, a date or text as its second argument,"
                    " got a boolean",
                )
            ],
        ),
    ],
)
def test_in_compute(formula: str, issues: list[tuple[int, str]]) -> None:
    assert compute_issues(formula) == issues


@pytest.mark.parametrize(
    ("formula", "typ"),
    [
        ("running_sum(units)", "integer"),  # exact
        ("running_sum(rent)", "number"),
        ("running_mean(units)", "number"),
        ("running_min(due)", "date"),
        ("running_max(market)", "string"),
        ("previous(due)", "date"),
        ("previous(vacant, 2)", "boolean"),
        ("next(units)", "integer"),
        ("first(market, order=-rent)", "string"),
        ("last(due)", "date"),
        ("rank(order=[market, -rent])", "integer"),
        ("row_number()", "integer"),
        ("median(units)", "number"),
        ("percentile(units, 90)", "number"),
        ("stddev(units, per=market)", "number"),
        ("count_distinct(market)", "integer"),
        ("value_at_max(units, rent)", "integer"),
        ("value_at_min(due, rent)", "date"),
        ("sum(rent)", "number"),
        ("count(vacant, per=market)", "integer"),
        ("min(rent)", "number"),  # over the rows, in compute too
        ("min(rent, units)", "number"),  # two arguments: the scalar function
    ],
)
def test_types(formula: str, typ: str) -> None:
    checked, issues = formulas.check(formula, ROW, aggregate_context=False)
    assert issues == [] and checked is not None
    assert checked.type == typ


def test_the_fields_of_order_and_per_are_dependencies() -> None:
    checked, _ = formulas.check(
        "running_sum(rent, order=[year, -units], per=market) / sum(rent)",
        ROW,
        aggregate_context=False,
    )
    assert checked is not None
    assert checked.refs == {"rent", "year", "units", "market"}
    checked, _ = formulas.check("rank(order=-rent)", ROW, aggregate_context=False)
    assert checked is not None and checked.refs == {"rent"}


SPEC = """\
version: 1
name: t
inputs:
  units:
    format: csv
    location: units.csv
    fields: {unit_id: string, rent: number}
compute:
{compute}
summary:
{summary}
"""


def problems(tmp_path: Path, compute: str, summary: str = "  n: count()") -> list[str]:
    (tmp_path / "units.csv").write_text("unit_id,rent\n", encoding="utf-8")
    path = tmp_path / "t.yaml"
    text = SPEC.replace("{compute}", compute).replace("{summary}", summary)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    return [f"{p.line}:{p.col}: {p.path}: {p.message}" for p in caught.value.problems]


def test_a_cycle_through_order_is_reported(tmp_path: Path) -> None:
    compute = "  place: rank(order=score)\n  score: rent / place"
    assert problems(tmp_path, compute) == [
        "9:3: compute.place: formulas depend on each other in a cycle: place -> score -> place"
    ]


def test_spec_errors_name_the_line_and_column(tmp_path: Path) -> None:
    compute = "  total: running_sum(rent)\n  nested: running_sum(previous(rent))"
    summary = "  grand: running_sum(rent)\n  middle: median(rent, per=unit_id)"
    assert problems(tmp_path, compute, summary) == [
        "10:23: compute.nested: previous() inside running_sum(): compute it as a field of"
        " its own first",
        "12:10: summary.grand: running_sum() is per row: use it in compute",
        "13:28: summary.middle: median(..., per=) is for compute: in summary an aggregate"
        " is over all rows, in groups.summary over the group's",
    ]
