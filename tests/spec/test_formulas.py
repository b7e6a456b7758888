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
