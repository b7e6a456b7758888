"""The SQL path against the old Python path on hypothesis-generated rows and formulas.

The old path is the template's: `to_python` expressions evaluated with the template's
helpers (tests/codegen/sql_support.py). Integers, booleans, text and messages must be
equal, floats within 1e-12 relative. Where the paths differ by design (scriptexec/codegen/
sql.py's docstring) the comparison allows exactly that: a missing value's message names
the empty field now, and fields after a row's first error that do not depend on it are
computed now (the old path left them empty).

- dscr and rent_roll (the test models): numbers are drawn as multiples of 1/4 or 1/8
  below 2**30 and percentages that make exact factors (1.25, 0.75, ...), so that the
  products and sums the summaries add up are exact in binary: the sums are then the same
  whatever the order of addition (Python adds left to right, DuckDB's fsum compensates),
  and 1e-12 is a fair test of the rest. One test draws general floats and compares the
  rows, which no sum touches.
- Random formulas over the whole language (every operator and function, nested), on
  small numbers without missing values.
- The macros (floor division, modulo, round to digits) against Python's operators on
  any finite floats, bit for bit.
"""

from __future__ import annotations

import math
import re
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from codegen.helpers import model
from codegen.sql_support import connect, old_evaluate, run
from scriptexec.spec import formulas
from scriptexec.spec.formulas import NUMERIC

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DB = connect()  # one connection: each run is a transaction rolled back
EMPTY = re.compile(r" \([A-Za-z_][A-Za-z0-9_]* is empty\)$")

quarters = st.integers(-(2**28), 2**28).map(lambda k: k / 4)
eighths = st.integers(0, 2**10).map(lambda k: k / 8)
percent = st.sampled_from([-50, -25, 0, 25, 50])
names = st.text(alphabet="abcXYZ '-", min_size=1, max_size=6)


def same(new: Any, old: Any) -> bool:
    if isinstance(old, float) and isinstance(new, float):
        return math.isclose(new, old, rel_tol=1e-12, abs_tol=0.0) or new == old
    return type(new) is type(old) and new == old


def assert_rows_agree(
    m: dict[str, Any], new_rows: list[dict[str, Any]], old_rows: list[dict[str, Any]]
) -> None:
    assert len(new_rows) == len(old_rows)
    computed = [c["name"] for c in m["compute"]]
    for new, old in zip(new_rows, old_rows, strict=True):
        new_error = EMPTY.sub("", new["error"]) if new["error"] else None
        assert new_error == old["error"], (new, old)
        for column in m["columns"]:
            if column in computed and old["error"]:
                failed = old["error"].rsplit(" in ", 1)[1]
                if computed.index(column) >= computed.index(failed):
                    assert column != failed or new[column] is None
                    continue  # the old path left it empty
            assert same(new[column], old[column]), (column, new, old)


def assert_values_agree(
    items: list[dict[str, Any]],
    new: dict[str, Any],
    old: dict[str, Any],
    old_errors: dict[str, str],
) -> None:
    for item in items:
        name = item["name"]
        assert same(new[name], old[name]), (name, new, old)
        assert new[f"_e_{name}"] == old_errors.get(name), (name, new, old_errors)


dscr_rows = st.lists(
    st.fixed_dictionaries(
        {
            "property_id": names,
            "name": names,
            "gross_revenue": quarters,
            "operating_expenses": quarters,
            "annual_debt_service": st.one_of(st.just(0.0), quarters),
        }
    ),
    max_size=12,
)
dscr_params = st.fixed_dictionaries(
    {
        "revenue_change_pct": percent,
        "expense_change_pct": percent,
        "covenant": st.sampled_from([0.5, 1.0, 1.25, 3.0]),
    }
)


@SETTINGS
@given(rows=dscr_rows, params=dscr_params)
def test_dscr_agrees_with_the_old_path(rows: list[dict[str, Any]], params: dict[str, Any]) -> None:
    m = model("dscr")
    new, old = run(m, rows, params, DB), old_evaluate(m, {"properties": rows}, params)
    assert_rows_agree(m, new.rows, old.rows)
    assert_values_agree(m["summary"], new.summary, old.summary, old.summary_errors)


@SETTINGS
@given(
    rows=st.lists(
        st.fixed_dictionaries(
            {
                "property_id": names,
                "name": names,
                "gross_revenue": st.floats(-1e12, 1e12),
                "operating_expenses": st.floats(-1e12, 1e12),
                "annual_debt_service": st.one_of(st.just(0.0), st.floats(-1e9, 1e9)),
            }
        ),
        max_size=8,
    ),
    params=st.fixed_dictionaries(
        {
            "revenue_change_pct": st.floats(-50, 50),
            "expense_change_pct": st.floats(-50, 50),
            "covenant": st.floats(0.5, 3),
        }
    ),
)
def test_dscr_rows_agree_on_any_floats(rows: list[dict[str, Any]], params: dict[str, Any]) -> None:
    m = model("dscr")
    new, old = run(m, rows, params, DB), old_evaluate(m, {"properties": rows}, params)
    assert_rows_agree(m, new.rows, old.rows)


unit_types = st.sampled_from(["flat", "shop", "barn"])
rent_roll_data = st.fixed_dictionaries(
    {
        "units": st.lists(
            st.fixed_dictionaries(
                {
                    "unit_id": names,
                    "property": st.sampled_from(["Elm", "Oak", "Ash"]),
                    "unit_type": unit_types,
                    "sqft": st.integers(0, 2**12).map(float),
                    "occupied": st.booleans(),
                    "monthly_rent": st.one_of(st.none(), quarters),
                }
            ),
            max_size=12,
        ),
        # each type at most once (a repeated key is the runtime's error); "barn" may be
        # missing, which leaves its units unmatched
        "market": st.lists(
            st.fixed_dictionaries({"unit_type": unit_types, "market_rent_psf": eighths}),
            max_size=3,
            unique_by=lambda r: r["unit_type"],
        ),
    }
)


@SETTINGS
@given(data=rent_roll_data, growth=st.sampled_from([-25, 0, 25, 50]))
def test_rent_roll_agrees_with_the_old_path(data: dict[str, Any], growth: int) -> None:
    m = model("rent_roll")
    m["rules"] = {"missing": "error"}  # the old path's: a missing result fails the row
    params = {"market_growth_pct": growth}
    new, old = run(m, data, params, DB), old_evaluate(m, data, params)
    assert_rows_agree(m, new.rows, old.rows)
    assert_values_agree(m["summary"], new.summary, old.summary, old.summary_errors)
    assert new.groups is not None and old.groups is not None
    assert [g["property"] for g in new.groups] == [g["property"] for g in old.groups]
    for new_group, old_group in zip(new.groups, old.groups, strict=True):
        assert_values_agree(m["groups"]["summary"], new_group, old_group, old_group["errors"])


# -- the macros against Python's own operators --------------------------------------------

finite = st.floats(allow_nan=False, allow_infinity=False)


def same_bits(new: float, old: float) -> bool:
    return (new == old and math.copysign(1, new) == math.copysign(1, old)) or (
        math.isnan(new) and math.isnan(old)
    )


@SETTINGS
@given(pairs=st.lists(st.tuples(finite, finite.filter(bool)), min_size=1, max_size=50))
def test_floor_division_and_modulo_macros_are_pythons(pairs: list[tuple[float, float]]) -> None:
    got = DB.execute(
        "SELECT sx_floordiv(a, b), sx_mod(a, b) FROM (SELECT unnest($a) AS a, unnest($b) AS b)",
        {"a": [a for a, _ in pairs], "b": [b for _, b in pairs]},
    ).fetchall()
    for (a, b), (quotient, remainder) in zip(pairs, got, strict=True):
        assert same_bits(quotient, a // b) and same_bits(remainder, a % b), (a, b)


@SETTINGS
@given(values=st.lists(finite, min_size=1, max_size=50), digits=st.integers(-30, 400))
def test_the_round_macro_is_pythons(values: list[float], digits: int) -> None:
    got = DB.execute("SELECT sx_round(unnest($x), $n)", {"x": values, "n": digits}).fetchall()
    for x, (rounded,) in zip(values, got, strict=True):
        try:
            want = round(x, digits)
        except OverflowError:  # beyond the largest number: inf here, an error later
            assert math.isinf(rounded)
            continue
        if digits < 0 and abs(x) >= 2**52:  # the documented differences: the last bit,
            # or an overflow next to the largest number, which Python's exact digits avoid
            near_the_largest = math.isinf(rounded) and abs(x) > 1e307
            assert near_the_largest or math.isclose(rounded, want, rel_tol=1e-15), (x, digits)
        else:
            assert same_bits(rounded, want), (x, digits, rounded, want)


# -- random formulas -----------------------------------------------------------------------
# Formulas drawn from the whole language, on rows without missing values and numbers
# small enough that nothing overflows but powers (where both paths refuse): every
# operator, function and their nesting must agree with the old path, errors included.

FIELDS: dict[str, formulas.Type] = {"a": "number", "b": "number", "i": "integer", "j": "integer"}
NUMBER_LEAVES = st.sampled_from(["a", "b", "i", "j", "0", "1", "2", "5", "0.5", "2.5", "-1.5"])
small = st.sampled_from([-3.0, -1.5, -0.5, 0.0, 0.5, 1.0, 2.0, 7.25])
whole = st.integers(-3, 5)


def numbers(depth: int) -> st.SearchStrategy[str]:
    if depth == 0:
        return NUMBER_LEAVES
    sub, cond = numbers(depth - 1), booleans(depth - 1)
    return st.one_of(
        NUMBER_LEAVES,
        st.tuples(sub, st.sampled_from(["+", "-", "*", "/", "//", "%"]), sub).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        st.tuples(sub, NUMBER_LEAVES).map(lambda t: f"({t[0]}) ** {t[1]}"),
        sub.map(lambda x: f"-({x})"),
        st.tuples(st.sampled_from(["abs", "sqrt", "ceil", "floor", "round"]), sub).map(
            lambda t: f"{t[0]}({t[1]})"
        ),
        st.tuples(sub, st.sampled_from(["i", "j", "2", "-1", "a"])).map(
            lambda t: f"round({t[0]}, {t[1]})"
        ),
        st.tuples(st.sampled_from(["min", "max"]), st.lists(sub, min_size=2, max_size=3)).map(
            lambda t: f"{t[0]}({', '.join(t[1])})"
        ),
        st.tuples(sub, cond, sub).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
    )


def booleans(depth: int) -> st.SearchStrategy[str]:
    sub = numbers(max(depth - 1, 0))
    comparison = st.tuples(sub, st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), sub).map(
        lambda t: f"({t[0]} {t[1]} {t[2]})"
    )
    if depth == 0:
        return comparison
    inner = booleans(depth - 1)
    return st.one_of(
        comparison,
        st.tuples(sub, sub, sub).map(lambda t: f"({t[0]} <= {t[1]} < {t[2]})"),
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        inner.map(lambda c: f"(not {c})"),
        st.tuples(inner, comparison, inner).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
    )


def formula_model(text: str) -> dict[str, Any] | None:
    """dscr's model with the formula `x` (and `y`, computed after it), or None when
    the spec checker refuses it (a constant power too large, a boolean as a number...)."""
    scope = {n: formulas.Symbol("field", t) for n, t in FIELDS.items()}
    checked, _ = formulas.check(text, scope, aggregate_context=False)
    if checked is None:
        return None
    m = model("dscr")
    m["inputs"][0]["fields"] = [{"name": n, "type": t, "required": True} for n, t in FIELDS.items()]
    m["parameters"] = []
    m["compute"] = [
        {"name": "x", "type": checked.type, "formula": checked.canonical},
        {"name": "y", "type": "number", "formula": "a + 1"},
    ]
    m["columns"] = [*FIELDS, "x", "y"]
    if checked.type in NUMERIC:
        m["summary"] = [
            {"name": "total", "type": "number", "formula": "sum(x)"},
            {"name": "average", "type": "number", "formula": "mean(x)"},
            {"name": "most", "type": "number", "formula": "max(x)"},
        ]
    else:
        m["summary"] = [{"name": "hits", "type": "integer", "formula": "count(x)"}]
    return m


def typed(value: Any, ftype: str) -> Any:
    """As the runtime shows a value of its type (execute._typed)."""
    if ftype == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    text=st.one_of(numbers(3), booleans(2)),
    rows=st.lists(
        st.fixed_dictionaries({"a": small, "b": small, "i": whole, "j": whole}),
        min_size=1,
        max_size=3,
    ),
)
def test_random_formulas_agree_with_the_old_path(text: str, rows: list[dict[str, Any]]) -> None:
    m = formula_model(text)
    assume(m is not None)
    assert m is not None
    new, old = run(m, rows, {}, DB), old_evaluate(m, {"properties": rows})
    declared = m["compute"][0]["type"]
    for got, want in zip(new.rows, old.rows, strict=True):
        assert got["error"] == want["error"], (text, got, want)
        if want["error"] is None:
            assert same(typed(got["x"], declared), want["x"]), (text, got, want)
        elif want["error"].endswith(" in x"):
            assert got["y"] == want["a"] + 1  # computed all the same
    magnitude = sum(
        abs(r["x"]) for r in old.rows if not r["error"] and isinstance(r["x"], float | int)
    )
    for item in m["summary"]:
        name = item["name"]
        assert new.summary[f"_e_{name}"] == old.summary_errors.get(name), (text, new.summary)
        got, want = new.summary[name], old.summary[name]
        if isinstance(want, float) and isinstance(got, float):
            # the order of addition differs: agree to the rounding of the sum
            assert math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-12 * magnitude), (
                text,
                got,
                want,
            )
        else:
            assert same(typed(got, item["type"]), want), (text, got, want)
