"""Formulas compile to plain Python that computes what the formula says."""

from __future__ import annotations

import math

import pytest

from scriptexec.spec import formulas
from scriptexec.spec.formulas import Symbol

SCOPE = {
    "a": Symbol("field", "number"),
    "b": Symbol("field", "number"),
    "flag": Symbol("field", "boolean"),
    "label": Symbol("field", "string"),
    "k": Symbol("param", "number"),
}


def compile_row(text: str) -> str:
    checked, issues = formulas.check(text, SCOPE, aggregate_context=False)
    assert not issues, issues
    assert checked is not None
    return formulas.to_python(checked.tree, SCOPE)


def evaluate(python: str, **env: object) -> object:
    # The test evaluates the compiled output to check its meaning; the product never does.
    code = compile(python, "<formula>", "eval")
    return eval(
        code,
        {
            "math": math,
            "__builtins__": {"min": min, "max": max, "abs": abs, "round": round, "len": len},
            # The program's guarded helpers are these functions (see app.py.j2).
            "_pow": formulas.power,
            "_round": formulas.rounded,
        },
        env,
    )


@pytest.mark.parametrize(
    "formula, row, expected",
    [
        ("a + b * k", {"a": 1, "b": 2}, 7),
        ("(a + b) / 2", {"a": 1, "b": 2}, 1.5),
        ("a ** 2 - b // 1 % 2", {"a": 3, "b": 5}, 8),
        ("sqrt(a) + ceil(b) + floor(b)", {"a": 9, "b": 1.5}, 6),
        (
            "min(a, b, k) + max(a, b) + abs(-a) + round(b, 1)",
            {"a": 1, "b": 2.26},
            1 + 2.26 + 1 + 2.3,
        ),
        ("a if flag else b", {"a": 1, "b": 2, "flag": False}, 2),
        (
            "flag and not (a > b) or label == 'x'",
            {"a": 1, "b": 2, "flag": True, "label": "y"},
            True,
        ),
        ("1 < a <= b", {"a": 2, "b": 2}, True),
        ("true and not false", {}, True),
    ],
)
def test_compiled_formula_computes(formula: str, row: dict, expected: object) -> None:
    result = evaluate(compile_row(formula), row=row, params={"k": 3})
    assert result == pytest.approx(expected)


def test_aggregates_compile_to_helpers() -> None:
    scope = {**SCOPE, "total": Symbol("summary", "number")}
    checked, issues = formulas.check(
        "sum(a * k) / count() + mean(b) - total", scope, aggregate_context=True, row_scope=SCOPE
    )
    assert not issues
    py = formulas.to_python(checked.tree, scope, SCOPE)
    assert py == (
        "_agg_sum(rows, lambda row: row['a'] * params['k']) / len(rows) "
        "+ _agg_mean(rows, lambda row: row['b']) - summary['total']"
    )


def test_unknown_name_has_column_and_hint() -> None:
    _, issues = formulas.check("a + bb", SCOPE, aggregate_context=False)
    (issue,) = issues
    assert (issue.line, issue.col, issue.message, issue.hint) == (
        1,
        4,
        "unknown name 'bb'",
        "did you mean 'b'?",
    )


def test_dependency_order_and_cycles() -> None:
    order, cycles = formulas.dependency_order(
        {"c": frozenset({"b"}), "b": frozenset({"a"}), "a": frozenset()}
    )
    assert order == ["a", "b", "c"] and cycles == []
    _, cycles = formulas.dependency_order({"x": frozenset({"y"}), "y": frozenset({"x"})})
    assert cycles == [["x", "y", "x"]]


@pytest.mark.parametrize(
    "formula",
    [
        "__import__('os').system('id')",
        "a.__class__",
        "[x for x in a]",
        "f'{a}'",
        "(x := 1)",
        "a[0]",
        "lambda: 1",
    ],
)
def test_escape_attempts_are_rejected(formula: str) -> None:
    checked, issues = formulas.check(formula, SCOPE, aggregate_context=False)
    assert checked is None and issues


# -- what a formula may cost -------------------------------------------------------------


@pytest.mark.parametrize(
    "formula, col, message",
    [
        # 100000 * log10(2) = 30102.99..., so 2 ** 100000 has 30,103 digits.
        ("2 ** 100000", 0, "2 ** 100000 is too large: about 30,103 digits"),
        # Right-associative: 10 ** (10 ** 10), 10,000,000,000 zeros after the 1.
        ("10 ** 10 ** 10", 0, "10 ** 10 ** 10 is too large: about 10,000,000,001 digits"),
        # 9 ** 9 = 387,420,489; 387420489 * log10(9) = 369,693,099.6...
        ("9 ** 9 ** 9", 0, "9 ** 9 ** 9 is too large: about 369,693,100 digits"),
        # Inside a data-dependent expression, the constant part is still checked.
        ("a * (10 ** 10 ** 10)", 5, "10 ** 10 ** 10 is too large: about 10,000,000,001 digits"),
        ("a if flag else -(2 ** 2000)", 17, "2 ** 2000 is too large: about 603 digits"),
        # Each factor is fine; their product has 601 digits.
        ("10 ** 300 * 10 ** 300", 0, "10 ** 300 * 10 ** 300 is too large: about 601 digits"),
        # int.__round__ computes 10 ** 10 ** 10 to round to that many digits.
        ("round(a, -(10 ** 10))", 0, "round() to -10000000000 digits: at most 1000 either way"),
        ("round(5, -10 ** 10)", 0, "round() to -10000000000 digits: at most 1000 either way"),
    ],
)
def test_constants_too_large_to_compute_are_refused(formula: str, col: int, message: str) -> None:
    checked, issues = formulas.check(formula, SCOPE, aggregate_context=False)
    assert checked is None
    (issue,) = issues
    assert (issue.line, issue.col) == (1, col)
    assert issue.message.startswith(message), issue.message


@pytest.mark.parametrize(
    "formula, python",
    [
        # Constant powers that fit stay as written.
        ("2 ** 10 * a", "2 ** 10 * row['a']"),
        ("10 ** 308 + a", "10 ** 308 + row['a']"),
        ("round(a, 2)", "round(row['a'], 2)"),
        # Anything that depends on the data goes through the program's guarded helpers.
        ("a ** 2", "_pow(row['a'], 2)"),
        ("2 ** a", "_pow(2, row['a'])"),
        ("(1 + k) ** -a", "_pow(1 + params['k'], -row['a'])"),
        ("round(a, b)", "_round(row['a'], row['b'])"),
        # A constant the checker could not fold (not a real number) is guarded too.
        ("(-8) ** 0.5 + a", "_pow(-8, 0.5) + row['a']"),
    ],
)
def test_powers_compile_to_the_guarded_helper_unless_constant(formula: str, python: str) -> None:
    assert compile_row(formula) == python


DEEP = "formula is nested too deeply (more than 100 levels)"


@pytest.mark.parametrize(
    "formula, message",
    [
        ("(" * 10_000 + "a" + ")" * 10_000, "formula is longer than 2000 characters"),
        ("(" * 999 + "a" + ")" * 999, "too many nested parentheses"),  # Python's parser
        # These fit in 2000 characters and used to crash the checker with RecursionError.
        ("-" * 1999 + "a", DEEP),
        ("not " * 499 + "flag", DEEP),
        (" + ".join(["a"] * 500), DEEP),
        (" ** ".join(["a"] * 400), DEEP),
        ("min(" * 150 + "a" + ", a)" * 150, DEEP),
    ],
    ids=["parentheses", "parser", "signs", "nots", "sum", "powers", "calls"],
)
def test_deep_nesting_is_a_clean_issue(formula: str, message: str) -> None:
    checked, issues = formulas.check(formula, SCOPE, aggregate_context=False)
    assert checked is None
    (issue,) = issues
    assert issue.message == message


def test_a_hundred_levels_are_allowed() -> None:
    # 100 terms: a sum of 100 fields is long but legitimate.
    python = compile_row(" + ".join(["a"] * 100))
    assert evaluate(python, row={"a": 2}, params={}) == 200
