"""Aggregates beyond the first five (`sum mean count min max`, compiled by hand in
scriptexec/codegen/sql.py): a value over rows.

In `summary` and `groups.summary` they are over the rows not in error (or the group's);
called in `compute` they are over every row of the input, or of the row's `per=`
partition, each row getting the partition's value (`rent / median(rent, per=market)`).
A missing value is skipped, as SQL does. An entry's SQL is the aggregate call only: the
compiler adds its FILTER (summary and groups) or its OVER (compute).
"""

from __future__ import annotations

from collections.abc import Sequence

from scriptexec.spec.functions import Function, SqlTemplate


def check_percentile(_position: int, value: object) -> str | None:
    """percentile(x, p): p a number from 0 to 100."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        return f"the percentile must be a number from 0 to 100, got {value!r}"
    return None


def _percentile(args: Sequence[str], constants: Sequence[object]) -> str:
    # Linear interpolation between the closest ranks (numpy's default, Excel's
    # PERCENTILE.INC): DuckDB's quantile_cont of the fraction.
    fraction = float(constants[1]) / 100  # type: ignore[arg-type]
    return f"quantile_cont({args[0]}::DOUBLE, {fraction!r}::DOUBLE)"


def _at(function: str) -> SqlTemplate:
    """arg_max / arg_min of the value by `by`, ties going to the first row in input order
    (the key's second part, negated for arg_max); rows where either is missing are
    skipped (a struct with a missing part is not missing itself: hence the CASE)."""

    def sql(args: Sequence[str], _constants: Sequence[object]) -> str:
        value, by = args
        ord_ = '-"_ord"' if function == "arg_max" else '"_ord"'
        key = f"struct_pack(b := {by}, o := {ord_})"
        return f"{function}({value}, CASE WHEN {by} IS NOT NULL THEN {key} END)"

    return sql


FUNCTIONS = [
    Function(
        "median",
        ("numeric",),
        "number",
        lambda args, _: f"quantile_cont({args[0]}::DOUBLE, 0.5)",
        "the middle value (the mean of the two middle ones for an even count)",
        "median(monthly_rent)",
        kind="aggregate",
        keywords=("per", "where"),
        nullable=True,
    ),
    Function(
        "percentile",
        ("numeric", "numeric"),
        "number",
        _percentile,
        "the p-th percentile (p from 0 to 100), interpolated linearly between the closest"
        " values (as numpy, Excel's PERCENTILE.INC)",
        "percentile(monthly_rent, 75)",
        kind="aggregate",
        keywords=("per", "where"),
        constant=(1,),
        check_constant=check_percentile,
        nullable=True,
    ),
    Function(
        "stddev",
        ("numeric",),
        "number",
        lambda args, _: f"stddev_samp({args[0]})",
        "the sample standard deviation (divided by n - 1; missing for fewer than 2 values)",
        "stddev(noi)",
        kind="aggregate",
        keywords=("per", "where"),
        nullable=True,
    ),
    Function(
        "stddev_pop",
        ("numeric",),
        "number",
        lambda args, _: f"stddev_pop({args[0]})",
        "the population standard deviation (divided by n)",
        "stddev_pop(noi)",
        kind="aggregate",
        keywords=("per", "where"),
        nullable=True,
    ),
    Function(
        "count_distinct",
        ("any",),
        "integer",
        lambda args, _: f"count(DISTINCT {args[0]})",
        "the number of different values (0 over no rows)",
        "count_distinct(city)",
        kind="aggregate",
        keywords=("per", "where"),
        nullable=False,
    ),
    Function(
        "value_at_max",
        ("any", "orderable"),
        "first",
        _at("arg_max"),
        "the value on the row where by is largest (the first such row in input order)",
        "value_at_max(name, noi)",
        kind="aggregate",
        keywords=("per", "where"),
        nullable=True,
    ),
    Function(
        "value_at_min",
        ("any", "orderable"),
        "first",
        _at("arg_min"),
        "the value on the row where by is smallest (the first such row in input order)",
        "value_at_min(year, dscr)",
        kind="aggregate",
        keywords=("per", "where"),
        nullable=True,
    ),
]
