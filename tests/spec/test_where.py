"""`where=` on aggregates: summary and groups only, a boolean of the row's fields."""

from __future__ import annotations

from scriptexec.spec import formulas
from scriptexec.spec.formulas import Symbol

ROW = {"year": Symbol("field", "integer"), "paid_back": Symbol("field", "boolean")}


def issues(text: str, *, aggregate: bool) -> list[tuple[int, str]]:
    scope = {} if aggregate else ROW
    _, found = formulas.check(text, scope, aggregate_context=aggregate, row_scope=ROW)
    return [(i.col, i.message) for i in found]


def test_where_in_summary_types_as_its_aggregate() -> None:
    checked, found = formulas.check(
        "min(year, where=paid_back)", {}, aggregate_context=True, row_scope=ROW
    )
    assert found == [] and checked is not None and checked.type == "integer"


def test_where_wants_a_boolean() -> None:
    assert issues("sum(year, where=year)", aggregate=True) == [
        (16, "a number used as a boolean in where=")
    ]


def test_where_is_not_for_compute() -> None:
    assert issues("sum(year, where=paid_back)", aggregate=False) == [
        (
            16,
            "sum(..., where=) is for summary and groups; in compute, use"
            " sum(x if condition else ...) or a field of its own",
        )
    ]
