"""The formula-to-SQL compiler (scriptexec/codegen/sql.py), run on real DuckDB.

Every test builds small "input_<name>" tables by hand, runs the compiled source, rows,
summary and groups queries, and checks the answers against values worked out by hand
(in the comments), never against the program's own output.
"""

from __future__ import annotations

import ast
import csv
import datetime
import json
import math
import re
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from codegen.helpers import MODEL_NAMES, model
from codegen.sql_support import connect, old_evaluate, run, spec_model
from scriptexec import acceptance
from scriptexec.codegen import render, sql
from scriptexec.codegen.model import program_model
from scriptexec.codegen.sql import compile_queries
from scriptexec.errors import BuildError
from scriptexec.spec import formulas
from scriptexec.spec.functions import REGISTRY
from scriptexec.spec.model import load_spec

SPECS = Path(__file__).resolve().parents[2] / "specs"


def one_row(
    tmp_path: Path,
    fields: dict[str, Any],
    compute: dict[str, str],
    row: dict[str, Any],
    **more: Any,
) -> dict[str, Any]:
    """The computed row of a one-row input."""
    result = run(spec_model(tmp_path, fields=fields, compute=compute, **more), [row])
    (computed,) = result.rows
    return computed


# -- operators and functions ----------------------------------------------------------------


def test_arithmetic_is_pythons(tmp_path: Path) -> None:
    compute = {
        "div": "a / b",
        "floordiv": "a // b",
        "mod": "a % b",
        "neg_floordiv": "-a // b",
        "neg_mod": "-a % b",
        "mod_neg": "a % -b",
        "power": "b ** 3",
        "int_floordiv": "i // j",
        "int_mod": "-i % j",
        "int_sum": "i + j",
        "int_power": "i ** j",
        "unary": "-(-a)",
        "plus": "+i",
    }
    row = one_row(
        tmp_path,
        {"a": "number", "b": "number", "i": "integer", "j": "integer"},
        compute,
        {"a": 7.5, "b": 2.0, "i": 7, "j": 2},
    )
    assert row["error"] is None
    # 7.5 / 2 = 3.75; 7.5 // 2 = 3; 7.5 % 2 = 1.5; -7.5 // 2 = -4 (floor); -7.5 % 2 = 0.5
    # (the divisor's sign); 7.5 % -2 = -0.5; 2 ** 3 = 8; 7 // 2 = 3; -7 % 2 = 1; 7 + 2 = 9
    assert row["div"] == 3.75
    assert row["floordiv"] == 3.0 and row["neg_floordiv"] == -4.0
    assert row["mod"] == 1.5 and row["neg_mod"] == 0.5 and row["mod_neg"] == -0.5
    assert row["power"] == 8.0 and row["int_power"] == 49.0
    assert row["int_floordiv"] == 3.0 and row["int_mod"] == 1.0 and row["int_sum"] == 9.0
    assert row["unary"] == 7.5 and row["plus"] == 7.0
    # integers make integers, as in Python (issue 15: years printed as 2022.0); a power
    # whose exponent is a field may be fractional (7 ** -1), so it is a number
    ints = {"int_floordiv", "int_mod", "int_sum", "plus"}
    assert {k for k in compute if isinstance(row[k], int)} == ints
    assert all(isinstance(row[k], float) for k in set(compute) - ints)


def test_floor_division_and_modulo_of_floats_use_the_exact_remainder(tmp_path: Path) -> None:
    # 1 // 0.1 is 9 in Python (0.1 is a little more than a tenth), though 1 / 0.1 == 10.0
    row = one_row(
        tmp_path,
        {"a": "number", "b": "number"},
        {"q": "a // b", "r": "a % b"},
        {"a": 1.0, "b": 0.1},
    )
    assert row["q"] == 9.0
    assert row["r"] == pytest.approx(0.09999999999999995, rel=0, abs=1e-17)


def test_rounding_is_half_to_even_on_the_binary_value(tmp_path: Path) -> None:
    compute = {
        "half": "round(a)",
        "half_up": "round(b)",
        "two": "round(c, 2)",
        "tie": "round(d, 2)",
        "tens": "round(e, -1)",
        "digits": "round(c, n)",
        "int_round": "round(n)",
    }
    fields = {
        "a": "number",
        "b": "number",
        "c": "number",
        "d": "number",
        "e": "number",
        "n": "integer",
    }
    row = one_row(
        tmp_path, fields, compute, {"a": 2.5, "b": 3.5, "c": 2.675, "d": 0.125, "e": 25.0, "n": 1}
    )
    # round(2.5) = 2 and round(3.5) = 4 (half to even); 2.675 is 2.67499999... in binary:
    # 2.67; 0.125 is exact, a tie: 0.12; round(25, -1) = 20 (tie, even); round(2.675, 1) = 2.7
    assert (row["half"], row["half_up"]) == (2.0, 4.0)
    assert row["two"] == 2.67 and row["tie"] == 0.12 and row["tens"] == 20.0
    assert row["digits"] == 2.7 and row["int_round"] == 1.0
    assert row["error"] is None


def test_min_max_abs_sqrt_ceil_floor(tmp_path: Path) -> None:
    compute = {
        "lo": "min(a, b)",
        "lo3": "min(a, b, -1)",
        "hi": "max(a, b, i)",
        "size": "abs(b)",
        "root": "sqrt(a)",
        "up": "ceil(b)",
        "down": "floor(b)",
        "int_up": "ceil(i)",
    }
    fields = {"a": "number", "b": "number", "i": "integer"}
    row = one_row(tmp_path, fields, compute, {"a": 6.25, "b": -2.5, "i": 9})
    # min(6.25, -2.5) = -2.5; with -1 still -2.5; max(6.25, -2.5, 9) = 9; |-2.5| = 2.5;
    # sqrt(6.25) = 2.5; ceil(-2.5) = -2; floor(-2.5) = -3; ceil(9) = 9 (integers)
    assert (row["lo"], row["lo3"], row["hi"], row["size"], row["root"]) == (
        -2.5,
        -2.5,
        9.0,
        2.5,
        2.5,
    )
    assert (row["up"], row["down"], row["int_up"]) == (-2, -3, 9)
    assert all(type(row[k]) is int for k in ("up", "down", "int_up"))


def test_comparisons_chains_and_logic(tmp_path: Path) -> None:
    compute = {
        "inside": "0 < a < 10",
        "outside": "0 < a < 5",
        "eq": "a == 7.5",
        "ne": "s != 'x'",
        "both": "a > 1 and b > 1",
        "either": "a > 100 or b > 1",
        "negated": "not a > 1",
        "chain3": "1 <= b <= a <= 10",
        "text_if": "'big' if a > 5 else 'small'",
        "quoted": "\"it's\" if s == 'x' else 'no'",
    }
    fields = {"a": "number", "b": "number", "s": "string"}
    row = one_row(tmp_path, fields, compute, {"a": 7.5, "b": 2.0, "s": "x"})
    assert (row["inside"], row["outside"], row["eq"], row["ne"]) == (True, False, True, False)
    assert (row["both"], row["either"], row["negated"], row["chain3"]) == (True, True, False, True)
    assert row["text_if"] == "big" and row["quoted"] == "it's"


def test_if_else_takes_the_branch_python_takes(tmp_path: Path) -> None:
    # The untaken branch divides by zero: no error, as in Python.
    compute = {"safe": "a / b if b != 0 else 0", "mixed": "ceil(a) if a > 0 else 0"}
    model = spec_model(tmp_path, fields={"a": "number", "b": "number"}, compute=compute)
    result = run(model, [{"a": 3.5, "b": 0.0}, {"a": 3.0, "b": 2.0}, {"a": -1.0, "b": 4.0}])
    assert [r["safe"] for r in result.rows] == [0.0, 1.5, -0.25]
    assert [r["mixed"] for r in result.rows] == [4, 3, 0]
    assert [r["error"] for r in result.rows] == [None, None, None]


def test_and_or_do_not_report_what_python_never_evaluated(tmp_path: Path) -> None:
    compute = {
        "guarded": "b != 0 and a / b > 1",
        "shortcut": "b == 0 or a / b > 1",
        "chained": "b > 0 < a / b",
    }
    model = spec_model(tmp_path, fields={"a": "number", "b": "number"}, compute=compute)
    (row,) = run(model, [{"a": 1.0, "b": 0.0}]).rows
    assert (row["guarded"], row["shortcut"], row["chained"]) == (False, True, False)
    assert row["error"] is None


# -- errors -----------------------------------------------------------------------------------


def test_division_by_zero_is_the_rows_error_and_independent_fields_are_computed(
    tmp_path: Path,
) -> None:
    compute = {
        "noi": "revenue - costs",
        "dscr": "noi / debt",
        "breach": "dscr < 1.25",
        "margin": "noi / revenue",
    }
    fields = {"revenue": "number", "costs": "number", "debt": "number"}
    model = spec_model(tmp_path, fields=fields, compute=compute)
    rows = run(
        model,
        [
            {"revenue": 50000, "costs": 20000, "debt": 0},
            {"revenue": 90000, "costs": 30000, "debt": 40000},
        ],
    ).rows
    # Row 1: noi 30000; dscr divides by zero, breach depends on it; margin 30000 / 50000
    assert rows[0]["error"] == "division by zero in dscr"
    assert (rows[0]["noi"], rows[0]["dscr"], rows[0]["breach"]) == (30000.0, None, None)
    assert rows[0]["margin"] == 0.6
    assert (rows[1]["dscr"], rows[1]["breach"], rows[1]["error"]) == (1.5, False, None)


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("a // b", "division by zero in x"),
        ("a % b", "division by zero in x"),
        ("a / 0", "division by zero in x"),
        ("b ** -1", "division by zero in x"),
        ("sqrt(-a)", "invalid value in x: math domain error"),
        (
            "(-a) ** 0.5",
            "invalid value in x: a negative number to a fractional power is not a real number",
        ),
        ("a * 1e308", "number too large in x"),
        ("a ** 400", "number too large in x"),
        ("1 / (1 + a ** 400)", "number too large in x"),  # refused inside, as _pow did
        ("ceil(a * 1e300)", "number too large in x"),  # does not fit BIGINT
        ("floor(a * 1e308)", "number too large in x"),  # infinite
        ("round(a * 1e308 - a * 1e308)", "invalid value in x: cannot convert float NaN to integer"),
        ("round(a, i * 1000)", "number too large in x"),
        ("round(a, i / 1)", "TypeError in x: 'float' object cannot be interpreted as an integer"),
    ],
)
def test_errors_as_the_old_describe_words_them(tmp_path: Path, formula: str, message: str) -> None:
    fields = {"a": "number", "b": "number", "i": "integer"}
    row = one_row(tmp_path, fields, {"x": formula, "y": "a + 1"}, {"a": 10.0, "b": 0.0, "i": 2})
    assert (row["error"], row["x"], row["y"]) == (message, None, 11.0)


def test_an_infinity_along_the_way_is_no_error_when_the_result_is_finite(tmp_path: Path) -> None:
    # Python's floats overflow to inf without raising; only a non-finite result is an error
    row = one_row(
        tmp_path, {"a": "number"}, {"big": "a * 1e308 > 5", "zero": "1 / (a * 1e308)"}, {"a": 10.0}
    )
    assert (row["big"], row["zero"], row["error"]) == (True, 0.0, None)


def test_missing_optional_fields_name_the_field(tmp_path: Path) -> None:
    # rules.missing: error: a formula whose result is missing fails its row
    fields = {"rent": "number?", "occupied": "boolean", "sqft": "number"}
    compute = {
        "annual": "rent * 12 if occupied else 0",
        "per_sqft": "sqft / 10",
        "lowest": "min(rent, sqft)",
        "vacant_or_cheap": "not occupied or rent < 1000",
    }
    model = spec_model(tmp_path, fields=fields, compute=compute, rules={"missing": "error"})
    rows = run(
        model,
        [
            {"rent": None, "occupied": True, "sqft": 800},
            {"rent": None, "occupied": False, "sqft": 900},
            {"rent": 1500, "occupied": True, "sqft": 700},
        ],
    ).rows
    assert rows[0]["error"] == "missing value in annual (rent is empty)"
    assert (rows[0]["annual"], rows[0]["per_sqft"], rows[0]["lowest"]) == (None, 80.0, None)
    assert rows[0]["vacant_or_cheap"] is None  # not true or NULL: missing
    # vacant: no rent needed for annual; min() of a missing value is missing (not 900)
    assert rows[1]["annual"] == 0.0 and rows[1]["vacant_or_cheap"] is True
    assert rows[1]["lowest"] is None
    assert rows[1]["error"] == "missing value in lowest (rent is empty)"
    assert (rows[2]["annual"], rows[2]["lowest"], rows[2]["vacant_or_cheap"], rows[2]["error"]) == (
        18000.0,
        700.0,
        False,
        None,
    )


def test_a_missing_condition_takes_neither_branch(tmp_path: Path) -> None:
    row = one_row(
        tmp_path,
        {"flag": "boolean?", "a": "number"},
        {"x": "a if flag else 0"},
        {"flag": None, "a": 1.0},
        rules={"missing": "error"},
    )
    assert (row["x"], row["error"]) == (None, "missing value in x (flag is empty)")


def test_parameters_are_bound_not_formatted(tmp_path: Path) -> None:
    params = {
        "rate": {"type": "number", "default": 10},
        "flag": {"type": "boolean", "default": True},
        "n": {"type": "integer", "default": 3},
    }
    compute = {"b": "a * (1 + rate / 100)", "c": "flag and a > 1", "d": "a * n"}
    model = spec_model(tmp_path, fields={"a": "number"}, parameters=params, compute=compute)
    rows = compile_queries(model)["rows"]
    assert rows["params"] == ["rate", "flag", "n"]
    assert "$rate::DOUBLE" in rows["sql"] and "$flag::BOOLEAN" in rows["sql"]
    (row,) = run(model, [{"a": 100.0}], {"rate": 5, "flag": False}).rows
    assert (row["b"], row["c"], row["d"]) == (105.0, False, 300.0)


def test_integer_arithmetic_never_overflows_the_query(tmp_path: Path) -> None:
    # BIGINT arithmetic would raise for the whole query; the formulas compute in DOUBLE,
    # and an integer result must fit BIGINT: 2**124 does not (a row error, not a failed
    # query); 2**62 + 1 is computed in DOUBLE, which holds 53 bits: 2**62
    row = one_row(tmp_path, {"i": "integer"}, {"x": "i * i", "y": "i + 1"}, {"i": 2**62})
    assert (row["x"], row["y"], row["error"]) == (None, 2**62, "number too large in x")


# -- joins and repeats ---------------------------------------------------------------------


def test_lookups_join_on_their_key_and_unmatched_rows_get_nulls(tmp_path: Path) -> None:
    inputs = {
        "units": {
            "format": "csv",
            "location": "u.csv",
            "fields": {"unit": "string", "kind": "string", "rent": "number"},
        },
        "kinds": {
            "format": "json",
            "location": "k.json",
            "join_on": "kind",
            "fields": {"kind": "string", "ratio": "number"},
        },
    }
    model = spec_model(tmp_path, inputs=inputs, rows="units", compute={"cost": "rent * ratio"})
    data = {
        "units": [
            {"unit": "U1", "kind": "shop", "rent": 100},
            {"unit": "U2", "kind": "barn", "rent": 50},
        ],
        "kinds": [{"kind": "shop", "ratio": 0.5}, {"kind": "flat", "ratio": 0.25}],
    }
    rows = run(model, data).rows
    assert [(r["unit"], r["kind"], r["ratio"], r["cost"]) for r in rows] == [
        ("U1", "shop", 0.5, 50.0),
        ("U2", "barn", None, None),
    ]
    assert rows[1]["error"] is None  # a lookup that found nothing: missing (propagated)
    assert [r["_label"] for r in rows] == ["row 1", "row 2"]
    strict = spec_model(
        tmp_path,
        inputs=inputs,
        rows="units",
        compute={"cost": "rent * ratio"},
        rules={"missing": "error"},
    )
    assert run(strict, data).rows[1]["error"] == "missing value in cost (ratio is empty)"


def test_join_keys_of_different_numeric_types_match_as_in_python(tmp_path: Path) -> None:
    inputs = {
        "a": {"format": "csv", "location": "a.csv", "fields": {"k": "integer", "x": "number"}},
        "b": {
            "format": "csv",
            "location": "b.csv",
            "join_on": "k",
            "fields": {"k": "number", "y": "number"},
        },
    }
    model = spec_model(tmp_path, inputs=inputs, rows="a", compute={"z": "x + y"})
    rows = run(
        model, {"a": [{"k": 1, "x": 1.0}, {"k": 2, "x": 2.0}], "b": [{"k": 1.0, "y": 10.0}]}
    ).rows
    assert [(r["k"], r["y"]) for r in rows] == [
        (1, 10.0),
        (2, None),
    ]  # 1 == 1.0; k stays the primary's


def test_repeat_expands_rows_numbered_and_labelled(tmp_path: Path) -> None:
    inputs = {
        "loans": {
            "format": "csv",
            "location": "l.csv",
            "fields": {"id": "string", "term": "integer"},
            "repeat": {"count": "term", "as": "period"},
        }
    }
    model = spec_model(
        tmp_path,
        inputs=inputs,
        compute={"left": "term - period"},
        summary={"schedule": "count()", "last": "count(left == 0)"},
    )
    result = run(model, [{"id": "A", "term": 2}, {"id": "B", "term": 0}, {"id": "C", "term": 3}])
    assert [(r["id"], r["period"], r["left"]) for r in result.rows] == [
        ("A", 1, 1.0),
        ("A", 2, 0.0),
        ("C", 1, 2.0),
        ("C", 2, 1.0),
        ("C", 3, 0.0),
    ]
    assert [r["_label"] for r in result.rows] == [
        "row 1, period 1",
        "row 1, period 2",
        "row 3, period 1",
        "row 3, period 2",
        "row 3, period 3",
    ]
    assert result.summary["schedule"] == 5 and result.summary["last"] == 2


# -- summary and groups ----------------------------------------------------------------------


def test_summary_values_refer_to_each_other_over_rows_without_errors(tmp_path: Path) -> None:
    fields = {"a": "number", "b": "number", "opt": "number?"}
    summary = {
        "total": "sum(q)",
        "n": "count()",
        "average": "total / n",
        "double": "average * 2",
        "opts": "sum(opt)",
        "big": "count(q > 1)",
        "mean_opt": "mean(opt)",
    }
    model = spec_model(tmp_path, fields=fields, compute={"q": "a / b"}, summary=summary)
    result = run(
        model,
        [
            {"a": 4, "b": 2, "opt": 1.5},
            {"a": 1, "b": 0, "opt": 100},  # in error: left out of every aggregate
            {"a": 3, "b": 3, "opt": None},  # a NULL: left out of sum(opt) and mean(opt)
        ],
    )
    # valid rows: q = 2 and 1; total 3; n 2; average 1.5; double 3; opts 1.5; big 1
    assert result.summary == {
        "total": 3.0,
        "_e_total": None,
        "n": 2,
        "_e_n": None,
        "average": 1.5,
        "_e_average": None,
        "double": 3.0,
        "_e_double": None,
        "opts": 1.5,
        "_e_opts": None,
        "big": 1,
        "_e_big": None,
        "mean_opt": 1.5,
        "_e_mean_opt": None,
        # each left out the one valid row whose opt is empty
        "_n_opts": 1,
        "_n_mean_opt": 1,
    }


def test_aggregates_of_nothing(tmp_path: Path) -> None:
    summary = {
        "total": "sum(a)",
        "n": "count()",
        "c": "count(a > 0)",
        "avg": "mean(a)",
        "lo": "min(a)",
        "twice": "mean(a) * 2",
        "share": "count(a > 0) / count()",
    }
    rules = {"missing": "error"}
    model = spec_model(tmp_path, fields={"a": "number"}, summary=summary, rules=rules)
    s = run(model, []).summary
    # sum of nothing is 0, counts 0; mean and min of nothing are NULL (no error, as before);
    # arithmetic on the NULL mean is missing; 0 / 0 divides by zero
    assert (s["total"], s["n"], s["c"], s["avg"], s["lo"]) == (0.0, 0, 0, None, None)
    assert (s["_e_total"], s["_e_avg"], s["_e_lo"]) == (None, None, None)
    assert s["_e_twice"] == "missing value in twice"
    assert s["_e_share"] == "division by zero in share"


def test_an_error_inside_an_aggregate_is_the_values_error(tmp_path: Path) -> None:
    summary = {"ratio": "sum(a / b)", "ok": "sum(a)", "roots": "sum(sqrt(a - 5))"}
    model = spec_model(tmp_path, fields={"a": "number", "b": "number"}, summary=summary)
    s = run(model, [{"a": 4, "b": 2}, {"a": 1, "b": 0}]).summary
    assert (s["ratio"], s["_e_ratio"]) == (None, "division by zero in ratio")
    assert (s["ok"], s["_e_ok"]) == (5.0, None)
    assert s["_e_roots"] == "invalid value in roots: math domain error"


def test_integer_sums_are_exact(tmp_path: Path) -> None:
    model = spec_model(
        tmp_path, fields={"i": "integer"}, summary={"total": "sum(i)", "avg": "mean(i)"}
    )
    s = run(model, [{"i": 2**62}, {"i": 2**62}, {"i": -(2**62)}]).summary
    assert s["total"] == float(2**62) and s["avg"] == float(2**62) / 3


def test_an_if_mixing_integer_and_number_is_a_number_column(tmp_path: Path) -> None:
    # `0 if ... else a * 1.5` mixes an integer and a number: a number (a DOUBLE column;
    # the runtime shows 0.0 as 0), as summaries see it
    compute = {"z": "0 if a > 1 else a * 1.5"}
    groups = {"by": "kind", "summary": {"lo": "min(i)", "tops": "sum(ceil(z))"}}
    model = spec_model(
        tmp_path,
        fields={"kind": "string", "a": "number", "i": "integer"},
        compute=compute,
        groups=groups,
        summary={"total": "sum(ceil(z))"},
    )
    assert model["compute"][0]["type"] == "number"
    result = run(model, [{"kind": "k", "a": 1.0, "i": 7}, {"kind": "k", "a": 2.0, "i": 5}])
    assert [r["z"] for r in result.rows] == [1.5, 0.0]
    # ceil(1.5) + ceil(0) = 2; min(7, 5) = 5
    assert result.summary["total"] == 2.0
    assert result.groups == [{"kind": "k", "lo": 5.0, "_e_lo": None, "tops": 2.0, "_e_tops": None}]


def test_groups_ordered_with_null_last_and_groups_all_in_error(tmp_path: Path) -> None:
    fields = {"kind": "string?", "a": "number", "b": "number"}
    groups = {
        "by": "kind",
        "summary": {
            "n": "count()",
            "total": "sum(q)",
            "avg": "mean(q)",
            "share": "count(q > 1) / count()",
        },
    }
    model = spec_model(tmp_path, fields=fields, compute={"q": "a / b"}, groups=groups)
    result = run(
        model,
        [
            {"kind": "shop", "a": 4, "b": 2},
            {"kind": None, "a": 1, "b": 1},
            {"kind": "barn", "a": 1, "b": 0},  # its only row is in error: the group is there
            {"kind": "shop", "a": 1, "b": 2},
        ],
    )
    assert result.groups is not None
    assert [g["kind"] for g in result.groups] == ["barn", "shop", None]
    barn, shop, none = result.groups
    assert (barn["n"], barn["total"], barn["avg"], barn["_e_avg"]) == (0, 0.0, None, None)
    assert barn["_e_share"] == "division by zero in share"
    # shop: q = 2 and 0.5: total 2.5, mean 1.25, one of two above 1
    assert (shop["n"], shop["total"], shop["avg"], shop["share"]) == (2, 2.5, 1.25, 0.5)
    assert (none["n"], none["total"], none["share"]) == (1, 1.0, 0.0)


def test_summary_values_use_parameters_and_aggregate_inside_them(tmp_path: Path) -> None:
    params = {"rate": {"type": "number", "default": 10}, "least": {"type": "number", "default": 1}}
    summary = {"scaled": "sum(a) * rate", "above": "count(a > least)"}
    model = spec_model(tmp_path, fields={"a": "number"}, parameters=params, summary=summary)
    result = run(model, [{"a": 1.0}, {"a": 2.0}, {"a": 3.0}], {"rate": 0.5})
    assert result.queries["summary"]["params"] == ["rate", "least"]
    # (1 + 2 + 3) * 0.5 = 3; two values above 1
    assert (result.summary["scaled"], result.summary["above"]) == (3.0, 2)


def test_step_outputs_are_typed_empty_columns_for_the_runtime_to_fill() -> None:
    m = program_model(load_spec(SPECS / "tenant_risk.yaml"))
    db = connect()
    result = run(
        m,
        [
            {
                "tenant_id": "T1",
                "name": "Cafe",
                "months_remaining": 3,
                "late_payments_12m": 2,
                "rent_to_sales_pct": 15.0,
            }
        ],
        db=db,
    )
    assert (result.rows[0]["risk_score"], result.rows[0]["risk_band"]) == (None, None)


# -- size ----------------------------------------------------------------------------------------


NESTINGS = {
    # shape: (levels, the same nesting one level in Python)
    "a / (1 + {})": (48, lambda v: 2.0 / (1 + v)),
    "sqrt(1 + {})": (48, lambda v: math.sqrt(1 + v)),
    "min(opt, 1 + {})": (48, lambda v: min(5.0, 1 + v)),
    "(a if {} > 0 else -a)": (30, lambda v: 2.0 if v > 0 else -2.0),
    "round({} + 0.5, 1)": (48, lambda v: round(v + 0.5, 1)),
    "(a // (1 + {}))": (48, lambda v: 2.0 // (1 + v)),
    "(1 + {}) ** 0.5": (48, lambda v: (1 + v) ** 0.5),
    "(opt if {} else a) > 1": (30, lambda v: (5.0 if v else 2.0) > 1),
}


@pytest.mark.parametrize("shape", NESTINGS)
def test_a_deeply_nested_formula_compiles_to_linear_sql(tmp_path: Path, shape: str) -> None:
    """Each level names its operand twice or more (a divisor is checked, an optional
    field is tested for NULL, a macro names its argument again): pasted, the SQL would
    double with every level; it must grow by a constant instead."""
    levels, one_level = NESTINGS[shape]
    formula = "a > 1" if shape.endswith("> 1") else "a"
    expected: Any = 2.0 > 1 if shape.endswith("> 1") else 2.0
    for _ in range(levels):
        formula = shape.format(formula)
        expected = one_level(expected)
    model = spec_model(tmp_path, fields={"a": "number", "opt": "number?"}, compute={"x": formula})
    queries = compile_queries(model)
    assert len(queries["rows"]["sql"]) < 15 * len(formula), len(queries["rows"]["sql"])
    started = time.monotonic()
    (row,) = run(model, [{"a": 2.0, "opt": 5.0}]).rows
    assert time.monotonic() - started < 10
    assert row["x"] == pytest.approx(expected, rel=1e-15)
    assert row["error"] is None


DEEPEST = {
    # shape: the value of the nesting at a = 2 after n levels
    "1 + ({})": lambda n: 2.0 + n,
    "-({})": lambda n: 2.0 * (-1) ** n,
    "abs({})": lambda n: 2.0,
    "max(a, {})": lambda n: 2.0,
    "(a if {} > 0 else -a)": lambda n: 2.0,
}


@pytest.mark.parametrize("shape", DEEPEST)
def test_a_formula_nested_as_deeply_as_allowed_is_laid_out_in_lines_of_the_width(
    tmp_path: Path, shape: str
) -> None:
    """Nested as deeply as the spec checker allows (or as long), with nothing to share:
    one expression of a hundred brackets, still broken into lines of at most 88."""
    formula, levels = "a", 0
    while True:
        deeper = shape.format(formula)
        if formulas.parse(deeper)[0] is None or len(deeper) > formulas.MAX_FORMULA_CHARS:
            break
        formula, levels = deeper, levels + 1
    assert levels >= 49
    model = spec_model(tmp_path, fields={"a": "number"}, compute={"x": formula})
    rows = compile_queries(model)["rows"]["sql"]
    assert len(rows) < 15 * len(formula)
    assert max(len(line) for line in rows.split("\n")) <= render.WIDTH
    (row,) = run(model, [{"a": 2.0}]).rows
    assert (row["x"], row["error"]) == (DEEPEST[shape](levels), None)


def test_the_sql_reads_like_the_formulas() -> None:
    rows = compile_queries(model("dscr"))["rows"]["sql"]
    # one formula a line, parameters bound by name, identifiers quoted
    assert '"noi" / "annual_debt_service" AS "dscr"' in rows
    assert '"dscr" < $covenant::DOUBLE AS "breach"' in rows
    assert "CASE WHEN \"annual_debt_service\" = 0 THEN 'division by zero in dscr' END" in rows
    assert rows.startswith("WITH\n  c1 AS (")
    # a value is kept (and its error completed) by the macros, over its columns
    assert 'sx_num("dscr", "_c_dscr") AS "dscr"' in rows


def _ctes(sql_text: str) -> list[str]:
    return re.findall(r"^  (\w+) AS \(", sql_text, flags=re.MULTILINE)


def test_formulas_of_one_level_share_a_cte_and_lone_aggregates_need_none() -> None:
    queries = compile_queries(program_model(load_spec(SPECS / "dscr.yaml")))
    rows, summary = queries["rows"]["sql"], queries["summary"]["sql"]
    # noi; noi kept; dscr and headroom (both read noi alone); dscr kept; breach (reads
    # dscr). headroom, which nothing reads, is kept by the final SELECT.
    assert _ctes(rows) == ["c1", "c2", "c3", "c4", "c5"]
    (level,) = [c for c in rows.split("\n  c") if 'AS "dscr"' in c and "REPLACE" not in c]
    assert 'AS "headroom"' in level
    assert 'sx_num("headroom") AS "headroom"' in rows.split("\nSELECT\n")[1]
    # only portfolio_dscr is more than one aggregate: the other three values read the
    # aggregation layer in the final SELECT
    assert _ctes(summary) == ["aggregates", "v1"]
    assert '"count(breach)" AS "properties_in_breach"' in summary
    assert 'sx_num("min(dscr)") AS "lowest_dscr"' in summary


def test_long_names_and_constants_are_broken_between_tokens_only(tmp_path: Path) -> None:
    """A long string constant is a concatenation of pieces, a control character or a
    backslash chr(n); lines are broken between tokens, never inside a string or a
    quoted name, and the SQL computes what it did on one line."""
    long = "a_rather_long_field_name_for_a_revenue_figure"
    text = 'it\'s a "long" text, longer than any line of SQL may be; back\\slash and\ttab'
    fields = {long: "number", "other_long_field_name_for_costs": "number?", "s": "string"}
    compute = {
        "label": f"{text!r} if {long} > other_long_field_name_for_costs * 2 else 'short'",
        "net": f"{long} * 1.25 - other_long_field_name_for_costs / 4 + {long} / 8 - 1000",
        "same": f"s == {text!r}",
    }
    m = spec_model(tmp_path, fields=fields, compute=compute)
    rows = compile_queries(m)["rows"]["sql"]
    assert "\\" not in rows and "\t" not in rows  # chr(92), chr(9)
    for line in rows.split("\n"):
        assert len(line) <= render.WIDTH, line
        assert not re.search("['\"]", re.sub(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"", "", line)), line
    got = run(m, [{long: 100.0, "other_long_field_name_for_costs": 8.0, "s": text}]).rows[0]
    # 100 > 16: the text; 125 - 2 + 12.5 - 1000 = -864.5
    assert (got["label"], got["net"], got["same"], got["error"]) == (text, -864.5, True, None)


def test_a_query_over_the_bound_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = spec_model(tmp_path, fields={"a": "number"}, compute={"x": "a + 1"})
    monkeypatch.setattr(sql, "MAX_QUERY_CHARS", 100)
    with pytest.raises(BuildError, match="characters of SQL"):
        compile_queries(model)


def test_names_that_differ_in_case_only_are_refused(tmp_path: Path) -> None:
    model = spec_model(tmp_path, fields={"Total": "number"}, compute={"total": "Total + 1"})
    with pytest.raises(BuildError, match="one name in DuckDB"):
        compile_queries(model)


# -- the shipped models and specs -----------------------------------------------------------


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_the_test_models_compile_and_run_on_empty_inputs(name: str) -> None:
    m = model(name)
    queries = compile_queries(m)
    assert set(queries) == {"source", "rows", "summary", "groups"}
    assert (queries["groups"] is None) == (m["groups"] is None)
    result = run(m, {})
    assert result.rows == []


def _sample_records(spec_path: Path, inp: dict[str, Any]) -> list[dict[str, Any]]:
    """An input's sample data, converted to the declared types (what the readers do)."""
    location = spec_path.parent / inp["location"]
    if inp["format"] == "csv":
        with location.open(encoding="utf-8", newline="") as handle:
            records: list[dict[str, Any]] = list(csv.DictReader(handle))
    elif inp["format"] == "json":
        document = json.loads(location.read_text(encoding="utf-8"))
        records = document[inp["records"]] if inp["records"] else document
    else:
        with sqlite3.connect(location) as db:
            db.row_factory = sqlite3.Row
            records = [dict(r) for r in db.execute(f'SELECT * FROM "{inp["table"]}"')]
    convert: dict[str, Callable[[Any], Any]] = {
        "number": float,
        "integer": int,
        "string": str,
        "boolean": lambda v: v if isinstance(v, bool) else str(v).lower() in ("true", "1", "yes"),
    }
    return [
        {
            f["name"]: None if r.get(f["name"]) in (None, "") else convert[f["type"]](r[f["name"]])
            for f in inp["fields"]
        }
        for r in records
    ]


SPEC_NAMES = sorted(p.stem for p in SPECS.glob("*.yaml"))


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_each_shipped_spec_compiles(name: str) -> None:
    queries = compile_queries(program_model(load_spec(SPECS / f"{name}.yaml")))
    assert all(len(q["sql"]) < 20_000 for q in queries.values() if q)


DECLARATIVE = [n for n in SPEC_NAMES if not load_spec(SPECS / f"{n}.yaml").canonical["steps"]]


def _compiled(name: str) -> dict[str, Any]:
    """The queries of a shipped spec (`dscr`) or of a test model (`model:dscr`)."""
    if name.startswith("model:"):
        return compile_queries(model(name.removeprefix("model:")))
    return compile_queries(program_model(load_spec(SPECS / f"{name}.yaml")))


@pytest.mark.parametrize("name", [*SPEC_NAMES, *(f"model:{n}" for n in MODEL_NAMES)])
def test_every_line_of_the_compiled_queries_fits_the_generated_programs_width(
    name: str,
) -> None:
    """The SQL is pasted into app.py line for line, which is wrapped at render.WIDTH."""
    assert render.WIDTH == sql.WIDTH == 88
    for key, query in _compiled(name).items():
        for number, line in enumerate(query["sql"].split("\n") if query else [], 1):
            assert len(line) <= 88, f"{name} {key} line {number}: {len(line)} characters\n{line}"


def test_dscr_rows_and_summary_stay_within_their_line_budget() -> None:
    """Issue 12 wants dscr's app.py under 150 lines. Its queries are pasted into it line
    for line; if the rest of it (docstring, imports, the program's constants, the call
    into the runtime) takes about 80 lines and the three query constants' comments and
    quotes about 12, with 5 for the source query, the rows and the summary have
    150 - 80 - 12 - 5 = 53 lines. They took 108 before the compact layout; 49 now."""
    queries = _compiled("dscr")
    lines = {key: queries[key]["sql"].count("\n") + 1 for key in ("source", "rows", "summary")}
    assert lines["source"] <= 5 and lines["rows"] + lines["summary"] <= 53, lines


@pytest.mark.parametrize("name", DECLARATIVE)
def test_shipped_specs_pass_their_own_checks(name: str) -> None:
    """Each check's rows and expectations were worked out by hand in the spec."""
    spec = load_spec(SPECS / f"{name}.yaml")
    m = program_model(spec)
    for check in spec.canonical["checks"]:
        result = run(m, check["given"], check.get("parameters") or {})
        rows = [{k: _written(v) for k, v in r.items() if k != "_label"} for r in result.rows]
        summary = {k: _written(v) for k, v in result.summary.items() if not k.startswith("_e_")}
        errors = [v for k, v in result.summary.items() if k.startswith("_e_") and v]
        tolerance = {"abs": 0.0, "rel": 0.0, **(check.get("tolerance") or {})}
        diff = acceptance.compare(
            check["expect"], {"rows": rows, "summary": summary, "summary_errors": errors}, tolerance
        )
        assert diff == [], f"{name}: {check['name']}\n" + "\n".join(diff)


def _written(value: Any) -> Any:
    """A value as the outputs write it, which checks compare: a date as ISO text."""
    return value.isoformat() if isinstance(value, datetime.date) else value


def _beyond_the_old_path(m: dict[str, Any]) -> bool:
    """Whether a model uses what the old Python path never had: windows, aggregates in
    compute, the registry's aggregates (tests/codegen/test_windows.py and
    test_aggregates_more.py check those by hand instead), dates (test_dates.py)."""
    fields = [f["type"] for i in m["inputs"] for f in i["fields"]]
    if set(formulas.TEMPORAL) & {*fields, *(p["type"] for p in m["parameters"])}:
        return True
    items = [*m["compute"], *m["summary"], *((m["groups"] or {}).get("summary") or [])]
    for item in items:
        for node in ast.walk(formulas.parse(item["formula"])[0] or ast.Constant(0)):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                function = REGISTRY.get(node.func.id)
                in_compute = item in m["compute"]
                first_five = formulas.is_aggregate_call(node.func.id, len(node.args))
                if (function is not None and function.kind != "scalar") or (
                    in_compute and first_five
                ):
                    return True
    return False


@pytest.mark.parametrize("name", DECLARATIVE)
def test_shipped_specs_on_their_sample_data_agree_with_the_old_path(name: str) -> None:
    spec = load_spec(SPECS / f"{name}.yaml")
    m = program_model(spec)
    if _beyond_the_old_path(m):
        pytest.skip("windows, the newer aggregates or dates: the old path has none")
    if any(i.get("upstream") for i in m["inputs"]):
        pytest.skip("reads another spec's results (from:): no sample data of its own")
    data = {i["name"]: _sample_records(spec.path, i) for i in m["inputs"]}
    new, old = run(m, data), old_evaluate(m, data)
    assert len(new.rows) == len(old.rows) > 0
    for got, want in zip(new.rows, old.rows, strict=True):
        assert got["error"] == want["error"]
        for column in m["columns"]:
            assert _close(got[column], want[column]), (column, got, want)
    for item in m["summary"]:
        assert _close(new.summary[item["name"]], old.summary[item["name"]]), item["name"]
        assert new.summary[f"_e_{item['name']}"] == old.summary_errors.get(item["name"])
    if old.groups is not None:
        assert new.groups is not None and len(new.groups) == len(old.groups)
        for got_group, want_group in zip(new.groups, old.groups, strict=True):
            for item in m["groups"]["summary"]:
                assert _close(got_group[item["name"]], want_group[item["name"]]), item["name"]


def _close(got: Any, want: Any) -> bool:
    if isinstance(got, float) and isinstance(want, float | int) and not isinstance(want, bool):
        return math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-9)
    return type(got) is type(want) and got == want


def test_the_macros_install_on_a_fresh_connection_and_again() -> None:
    db = connect()
    from scriptexec.runtime import sqlmacros

    sqlmacros.install(db)  # idempotent
    assert db.execute(
        "SELECT sx_floordiv(-7.5, 2), sx_mod(-7.5, 2), sx_round(2.675::DOUBLE, 2)"
    ).fetchone() == (-4.0, 0.5, 2.67)


def test_the_finishing_macros_keep_a_value_only_when_nothing_failed() -> None:
    db = connect()
    # columns named like the macros' parameters: an argument is never taken for one
    db.execute(
        "CREATE TABLE t AS SELECT * FROM (VALUES (1.5::DOUBLE, NULL::VARCHAR, 'x', 2.0::DOUBLE),"
        " ('inf', NULL, 'y', NULL), (3.0, 'division by zero in z', 'z', 1e300)) t(v, e, f, m)"
    )
    got = db.execute(
        """SELECT sx_num(v, e), sx_num_error(v, f, e, 'missing value in ' || f),
        sx_num(m), sx_num_error(m, 'm', m := 'missing value in m'),
        sx_int(m), sx_int_error(m, 'm'), sx_val(f, e), sx_val_error(f, e, 'gone')
        FROM t ORDER BY f"""
    ).fetchall()
    z = "division by zero in z"
    assert got == [
        (1.5, None, 2.0, None, 2, None, "x", None),
        (None, "number too large in y", None, "missing value in m", None, None, "y", None),
        # 1e300 is finite, but no BIGINT; the checks' error comes first
        (None, "division by zero in z", 1e300, None, None, "number too large in m", None, z),
    ]
    nan = "invalid value in q: cannot convert float NaN to integer"
    assert db.execute(
        "SELECT sx_integral_error('nan'::DOUBLE, 'q'), sx_integral_error(-1e309, 'q'),"
        " sx_integral_error(2.5, 'q')"
    ).fetchone() == (nan, "number too large in q", None)
