"""Which values a program shows are measured against a threshold, and which way is bad.

The dashboard and the HTML report use this to show enough digits that a value on the
wrong side of a threshold never reads as the threshold (1.2483 is not "1.25" beside a 1.25
covenant), to colour such a value by the unrounded comparison, and to colour a boolean
column whose true means bad. The rules, all read from what the spec states:

- A chart with a `threshold` says its `y` column is bad below that threshold (the chart
  draws those bars red). That is the only source of a direction: nothing is guessed
  from names alone.
- A summary figure is measured like column Y when its formula is `min(Y)`, `max(Y)` or
  `mean(Y)`, or when Y has a threshold and the figure is named `..._Y`
  (`portfolio_dscr`, `lowest_dscr` are DSCRs; `total_noi` is not an NOI).
- A boolean column whose formula is exactly `Y < T` or `Y <= T` (or `T > Y`...), for
  such a Y and its T, is true when the value is bad: its true is shown as bad news.
  The opposite comparison (`Y >= T`) is true when the value is good.
"""

from __future__ import annotations

import ast
from typing import Any

from scriptexec import pyparse

AGGREGATES_OF_ONE_VALUE = {"min", "max", "mean"}  # same unit as the column; sum is not


def judgements(
    charts: list[dict[str, Any]], compute: list[dict[str, Any]], summary: list[dict[str, Any]]
) -> dict[str, dict[str, str]]:
    """{"thresholds": {column: threshold}, "related": {figure: column},
    "flags": {boolean column: "bad" | "good"}} (each JSON-able, possibly empty)."""
    thresholds = {c["y"]: c["threshold"] for c in charts if c.get("threshold")}
    columns = {c["name"] for c in compute} | set(thresholds)
    related: dict[str, str] = {}
    for item in summary:
        column = _aggregated_column(item.get("formula", ""))
        if column is not None and column in columns:
            related[item["name"]] = column
            continue
        for name in thresholds:
            if item["name"] == name or item["name"].endswith("_" + name):
                related[item["name"]] = name
    flags: dict[str, str] = {}
    for item in compute:
        if item.get("type") == "boolean":
            meaning = _comparison_meaning(item.get("formula", ""), thresholds)
            if meaning:
                flags[item["name"]] = meaning
    return {"thresholds": thresholds, "related": related, "flags": flags}


def _expression(formula: str) -> ast.expr | None:
    try:
        return pyparse.parse(formula, mode="eval").body
    except SyntaxError:
        return None


def _aggregated_column(formula: str) -> str | None:
    node = _expression(formula)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in AGGREGATES_OF_ONE_VALUE
        and len(node.args) == 1
        and isinstance(node.args[0], ast.Name)
    ):
        return node.args[0].id
    return None


def _comparison_meaning(formula: str, thresholds: dict[str, str]) -> str | None:
    node = _expression(formula)
    if not (isinstance(node, ast.Compare) and len(node.ops) == 1):
        return None
    left, op, right = node.left, node.ops[0], node.comparators[0]
    if not (isinstance(left, ast.Name) and isinstance(right, ast.Name)):
        return None
    below = isinstance(op, ast.Lt | ast.LtE)
    above = isinstance(op, ast.Gt | ast.GtE)
    if thresholds.get(left.id) == right.id:  # value < threshold
        return "bad" if below else "good" if above else None
    if thresholds.get(right.id) == left.id:  # threshold > value
        return "bad" if above else "good" if below else None
    return None
