"""Windows (issue 14): `running_sum`, `previous`, `rank`, ... compiled to DuckDB window
functions and run on real DuckDB, over small inputs whose answers are worked out by hand
in the comments; and one spec built into a program and run, end to end."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from codegen.sql_support import run, spec_model
from scriptexec.codegen.model import program_model
from scriptexec.spec.model import load_spec

from .helpers import render
from .helpers import run as run_program


def rows_of(
    tmp_path: Path, fields: dict[str, str], compute: dict[str, str], data: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    return run(spec_model(tmp_path, fields=fields, compute=compute), data).rows


def column(rows: list[dict[str, Any]], name: str) -> list[Any]:
    return [row[name] for row in rows]


def test_running_sum_in_input_order_keeps_integers_exact(tmp_path: Path) -> None:
    rows = rows_of(
        tmp_path,
        {"x": "integer", "big": "integer"},
        {"total": "running_sum(x)", "big_total": "running_sum(big)"},
        [{"x": 3, "big": 2**53}, {"x": 1, "big": 1}, {"x": 4, "big": 1}],
    )
    # 3, 3 + 1 = 4, 4 + 4 = 8; 2**53, 2**53 + 1, 2**53 + 2 (a float would lose the ones)
    assert column(rows, "total") == [3, 4, 8]
    assert column(rows, "big_total") == [2**53, 2**53 + 1, 2**53 + 2]
    assert all(type(v) is int for v in column(rows, "total") + column(rows, "big_total"))
    assert column(rows, "error") == [None, None, None]


def test_a_running_sum_beyond_64_bits_is_too_large(tmp_path: Path) -> None:
    rows = rows_of(
        tmp_path,
        {"x": "integer"},
        {"total": "running_sum(x)"},
        [{"x": 2**62}, {"x": 2**62}, {"x": -(2**62)}],
    )
    # 2**62 fits; 2**62 + 2**62 = 2**63 is one more than the largest BIGINT; then 2**62
    assert column(rows, "total") == [2**62, None, 2**62]
    assert column(rows, "error") == [None, "number too large in total", None]


def test_order_descending_and_partitions(tmp_path: Path) -> None:
    data = [
        {"market": "a", "year": 2021, "amount": 10.0},
        {"market": "b", "year": 2022, "amount": 1.0},
        {"market": "a", "year": 2023, "amount": 30.0},
        {"market": "a", "year": 2022, "amount": 20.0},
        {"market": "b", "year": 2021, "amount": 2.0},
    ]
    rows = rows_of(
        tmp_path,
        {"market": "string", "year": "integer", "amount": "number"},
        {
            "by_year": "running_sum(amount, order=year, per=market)",
            "latest_first": "running_sum(amount, order=-year, per=market)",
            "mean_so_far": "running_mean(amount, order=year, per=[market])",
            "low": "running_min(amount, order=year, per=market)",
            "high": "running_max(amount, order=-year)",
        },
        data,
    )
    # a by year: 2021 10, 2022 10 + 20 = 30, 2023 30 + 30 = 60; b: 2021 2, 2022 2 + 1 = 3
    assert column(rows, "by_year") == [10.0, 3.0, 60.0, 30.0, 2.0]
    # a, latest first: 2023 30, 2022 50, 2021 60; b: 2022 1, 2021 3
    assert column(rows, "latest_first") == [60.0, 1.0, 30.0, 50.0, 3.0]
    # a: 10, (10 + 20) / 2 = 15, 60 / 3 = 20; b: 2, 3 / 2 = 1.5
    assert column(rows, "mean_so_far") == [10.0, 1.5, 20.0, 15.0, 2.0]
    assert column(rows, "low") == [10.0, 1.0, 10.0, 10.0, 2.0]
    # all rows, latest year first: 2023 (30), 2022 (1 and 20, in input order), 2021 (10, 2):
    # 30, 30, 30, 30, 30
    assert column(rows, "high") == [30.0] * 5


def test_ties_are_broken_by_input_order_and_rank_shares(tmp_path: Path) -> None:
    data = [{"k": 2, "x": 1}, {"k": 1, "x": 10}, {"k": 2, "x": 100}, {"k": 1, "x": 1000}]
    rows = rows_of(
        tmp_path,
        {"k": "integer", "x": "integer"},
        {
            "n": "row_number(order=k)",
            "r": "rank(order=k)",
            "r_desc": "rank(order=-k)",
            "total": "running_sum(x, order=k)",
            "before": "previous(x, order=k)",
        },
        data,
    )
    # by k, ties in input order: row 2 (k 1), row 4 (k 1), row 1 (k 2), row 3 (k 2)
    assert column(rows, "n") == [3, 1, 4, 2]
    assert column(rows, "r") == [3, 1, 3, 1]  # 1, 1, 3, 3: equal keys share a rank
    assert column(rows, "r_desc") == [1, 3, 1, 3]
    # running in that order: 10, 10 + 1000 = 1010, 1011, 1111
    assert column(rows, "total") == [1011, 10, 1111, 1010]
    assert column(rows, "before") == [1000, None, 1, 10]


def test_a_missing_value_is_skipped_and_a_missing_order_value_comes_last(
    tmp_path: Path,
) -> None:
    data = [{"k": None, "x": 5.0}, {"k": 2, "x": None}, {"k": 1, "x": 3.0}, {"k": 3, "x": 4.0}]
    rows = rows_of(
        tmp_path,
        {"k": "integer?", "x": "number?"},
        {
            "total": "running_sum(x, order=k)",
            "average": "running_mean(x, order=k)",
            "high": "running_max(x, order=k)",
            "n": "row_number(order=k)",
            "n_desc": "row_number(order=-k)",
            "in_order": "running_sum(x)",
        },
        data,
    )
    # order by k: 1 (x 3), 2 (x missing), 3 (x 4), missing k last (x 5)
    assert column(rows, "n") == [4, 2, 1, 3]
    assert column(rows, "n_desc") == [4, 2, 3, 1]  # 3, 2, 1, then the missing one
    # 3; 3 (the missing x skipped); 3 + 4 = 7; 7 + 5 = 12
    assert column(rows, "total") == [12.0, 3.0, 3.0, 7.0]
    # means of the values so far: 3 / 1 = 3; still 3; 7 / 2 = 3.5; 12 / 3 = 4
    assert column(rows, "average") == [4.0, 3.0, 3.0, 3.5]
    assert column(rows, "high") == [5.0, 3.0, 3.0, 4.0]
    # input order: 5, 5 (missing skipped), 8, 12; a running sum is 0 before any value
    assert column(rows, "in_order") == [5.0, 5.0, 8.0, 12.0]
    rows = rows_of(tmp_path, {"x": "number?"}, {"t": "running_sum(x)"}, [{"x": None}, {"x": 2.0}])
    assert column(rows, "t") == [0.0, 2.0]


def test_previous_and_next_keep_the_type_and_are_missing_at_the_ends(tmp_path: Path) -> None:
    data = [
        {"period": "2024-01", "rent": 100, "due": dt.date(2024, 1, 31), "late": False},
        {"period": "2024-02", "rent": 110, "due": dt.date(2024, 2, 29), "late": True},
        {"period": "2024-03", "rent": 120, "due": dt.date(2024, 3, 31), "late": False},
    ]
    rows = rows_of(
        tmp_path,
        {"period": "string", "rent": "integer", "due": "date", "late": "boolean"},
        {
            "last_rent": "previous(rent, order=period)",
            "two_back": "previous(rent, 2, order=period)",
            "next_rent": "next(rent, order=period)",
            "next_period": "next(period)",
            "last_due": "previous(due)",
            "was_late": "previous(late)",
            "change": "rent - previous(rent)",
        },
        data,
    )
    assert column(rows, "last_rent") == [None, 100, 110]
    assert column(rows, "two_back") == [None, None, 100]
    assert column(rows, "next_rent") == [110, 120, None]
    assert column(rows, "next_period") == ["2024-02", "2024-03", None]
    assert column(rows, "last_due") == [None, dt.date(2024, 1, 31), dt.date(2024, 2, 29)]
    assert column(rows, "was_late") == [None, False, True]
    # 110 - 100 = 10, 120 - 110 = 10; the first has nothing before: missing, no error
    assert column(rows, "change") == [None, 10.0, 10.0]
    assert column(rows, "error") == [None, None, None]
    assert all(type(v) is int for v in column(rows, "last_rent") if v is not None)


def test_first_and_last_of_the_partition_in_order(tmp_path: Path) -> None:
    data = [
        {"unit": "u1", "period": 2, "rent": 1100.0},
        {"unit": "u2", "period": 1, "rent": 900.0},
        {"unit": "u1", "period": 1, "rent": 1000.0},
        {"unit": "u1", "period": 3, "rent": None},
    ]
    rows = rows_of(
        tmp_path,
        {"unit": "string", "period": "integer", "rent": "number?"},
        {
            "opening": "first(rent, order=period, per=unit)",
            "closing": "last(rent, order=period, per=unit)",
            "growth": "rent / first(rent, order=period, per=unit) - 1",
        },
        data,
    )
    # u1 by period: 1000, 1100, missing: first 1000, last missing (first/last keep it)
    assert column(rows, "opening") == [1000.0, 900.0, 1000.0, 1000.0]
    assert column(rows, "closing") == [None, 900.0, None, None]
    # 1100 / 1000 - 1 = 0.1 (to the rounding of a float)
    assert round(rows[0]["growth"], 12) == 0.1 and rows[2]["growth"] == 0.0


def test_windows_read_computed_fields_computed_before_them(tmp_path: Path) -> None:
    rows = rows_of(
        tmp_path,
        {"year": "integer", "flow": "number"},
        {
            # declared before what they read: the dependency order includes order= fields
            "rank_by_position": "rank(order=-position)",
            "paid_back": "running_max(position, order=year) >= 0",
            "position": "running_sum(net, order=sort_key)",
            "net": "flow - 10",
            "sort_key": "year * 1",
        },
        [{"year": 2, "flow": 60.0}, {"year": 1, "flow": -90.0}, {"year": 3, "flow": 30.0}],
    )
    # net: 50, -100, 20; by year: -100, -100 + 50 = -50, -50 + 20 = -30
    assert column(rows, "position") == [-50.0, -100.0, -30.0]
    assert column(rows, "paid_back") == [False, False, False]
    assert column(rows, "rank_by_position") == [2, 3, 1]


def test_a_failing_argument_fails_the_values_that_read_its_row(tmp_path: Path) -> None:
    data = [{"a": 1.0, "b": 1.0}, {"a": 1.0, "b": 0.0}, {"a": 4.0, "b": 2.0}]
    rows = rows_of(
        tmp_path,
        {"a": "number", "b": "number"},
        {
            "total": "running_sum(a / b)",
            "before": "previous(a / b)",
            "after": "next(a / b)",
        },
        data,
    )
    # a / b: 1, (division by zero), 2. The running sum fails from row 2 on; row 3's
    # previous is row 2's, row 1's next too.
    assert column(rows, "total") == [1.0, None, None]
    assert column(rows, "before") == [None, 1.0, None]
    assert column(rows, "after") == [None, 2.0, None]
    assert column(rows, "error") == [
        "division by zero in after",
        "division by zero in total",
        "division by zero in total",
    ]


def test_a_program_with_windows_runs_end_to_end(tmp_path: Path) -> None:
    spec = tmp_path / "flows.yaml"
    spec.write_text(
        """\
version: 1
name: flows
inputs:
  flows:
    format: csv
    location: data/flows.csv
    fields: {project: string, year: integer, cash: number}
compute:
  position: running_sum(cash, order=year, per=project)
  last_cash: previous(cash, order=year, per=project)
  share: cash / sum(cash, per=project)
summary:
  ever_below: count(position < 0)
outputs: [results.csv, summary.json]
""",
        encoding="utf-8",
    )
    csv = "project,year,cash\nb,2022,50\na,2022,80\na,2021,-100\nb,2021,-40\n"
    program = render(program_model(load_spec(spec)), tmp_path / "p", {"data/flows.csv": csv})
    result = run_program(program, "run", "--json")
    assert result.code == 0, result
    got = [(r["position"], r["last_cash"], r["share"]) for r in result.json["rows"]]
    # b: 2021 -40, 2022 -40 + 50 = 10, sum 10; a: 2021 -100, 2022 -100 + 80 = -20, sum -20
    assert got == [
        (10.0, -40.0, 50 / 10),
        (-20.0, -100.0, 80 / -20),
        (-100.0, None, -100 / -20),
        (-40.0, None, -40 / 10),
    ]
    assert result.json["summary"]["ever_below"] == 3  # -20, -100, -40
