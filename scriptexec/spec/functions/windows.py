"""Window functions: a row's value read from the rows around it (compute only).

Each is over the rows of its partition (`per=`: a field or a list; none: every row), in
the order `order=` gives (a field, `-field` descending, or a list; none: input order),
ties broken by input order (column "_ord"), so a window never depends on how DuckDB
happens to sort. A missing order value sorts last, either way.

An entry's SQL is the call only: the compiler (scriptexec/codegen/sql.py) adds its
`OVER (PARTITION BY ... ORDER BY ..., "_ord" <frame>)` from FRAMES, and compiles a
window's argument's errors with the same window (a row whose argument failed fails every
value that reads it).
"""

from __future__ import annotations

from collections.abc import Sequence

from scriptexec.spec.functions import Function, SqlTemplate, sql_call

# The frames: the rows up to this one, or the whole partition (first and last). The
# others (lag, lead, rank, row_number) take none.
RUNNING = "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
PARTITION = "ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING"
FRAMES: dict[str, str | None] = {
    "running_sum": RUNNING,
    "running_mean": RUNNING,
    "running_min": RUNNING,
    "running_max": RUNNING,
    "previous": None,
    "next": None,
    "rank": None,
    "row_number": None,
    "first": PARTITION,
    "last": PARTITION,
}
# Sums of whole numbers are exact (HUGEINT) with these; the entries' own SQL (Kahan
# summation, independent of how DuckDB splits the work) is for numbers.
EXACT_FOR_INTEGERS = {"running_sum": "sum", "running_mean": "avg"}
# Windows whose value is one row's (that row's argument error is theirs); the others
# combine the rows of their frame (the first error among them, in input order, is theirs).
ONE_ROW = ("previous", "next", "first", "last")
UNTIED = ("rank",)  # equal order values share a rank: ties are not broken by input order
NEEDS_ORDER = ("rank",)


def check_offset(_position: int, value: object) -> str | None:
    """previous(x, n), next(x, n): n rows away, a whole number from 1."""
    if not isinstance(value, int) or value < 1:
        return f"the number of rows must be a whole number from 1, got {value!r}"
    return None


def _offset(name: str) -> SqlTemplate:
    """lag(x, n) or lead(x, n): n is written as a constant, checked by check_offset."""

    def sql(args: Sequence[str], constants: Sequence[object]) -> str:
        rows = constants[1] if len(args) > 1 else 1
        return f"{name}({args[0]}, {rows})"

    return sql


FUNCTIONS = [
    Function(
        "running_sum",
        ("numeric",),
        "first",
        sql_call("fsum"),
        "the total of x over the rows so far, this one included (0 before any value)",
        "running_sum(net_cash_flow, order=year)",
        kind="window",
        keywords=("order", "per"),
        nullable=False,
    ),
    Function(
        "running_mean",
        ("numeric",),
        "number",
        sql_call("favg"),
        "the mean of x over the rows so far, this one included",
        "running_mean(monthly_rent, order=period, per=unit_id)",
        kind="window",
        keywords=("order", "per"),
        nullable=True,
    ),
    Function(
        "running_min",
        ("orderable",),
        "first",
        sql_call("min"),
        "the smallest x over the rows so far, this one included",
        "running_min(dscr, order=year)",
        kind="window",
        keywords=("order", "per"),
        nullable=True,
    ),
    Function(
        "running_max",
        ("orderable",),
        "first",
        sql_call("max"),
        "the largest x over the rows so far, this one included",
        "running_max(noi, order=year)",
        kind="window",
        keywords=("order", "per"),
        nullable=True,
    ),
    Function(
        "previous",
        ("any", "integer"),
        "first",
        _offset("lag"),
        "x of the row before (n rows before); missing for the first",
        "previous(noi, order=year, per=property_id)",
        kind="window",
        keywords=("order", "per"),
        min_args=1,
        constant=(1,),
        check_constant=check_offset,
        nullable=True,
    ),
    Function(
        "next",
        ("any", "integer"),
        "first",
        _offset("lead"),
        "x of the row after (n rows after); missing for the last",
        "next(monthly_rent, 12, order=period)",
        kind="window",
        keywords=("order", "per"),
        min_args=1,
        constant=(1,),
        check_constant=check_offset,
        nullable=True,
    ),
    Function(
        "rank",
        (),
        "integer",
        lambda _args, _constants: "rank()",
        "1 for the first row in order, rows of equal order values sharing a rank (1, 1, 3)",
        "rank(order=-noi, per=city)",
        kind="window",
        keywords=("order", "per"),
        nullable=False,
    ),
    Function(
        "row_number",
        (),
        "integer",
        lambda _args, _constants: "row_number()",
        "1, 2, 3, ... in order",
        "row_number(order=[city, -noi])",
        kind="window",
        keywords=("order", "per"),
        nullable=False,
    ),
    Function(
        "first",
        ("any",),
        "first",
        sql_call("first_value"),
        "x of the partition's first row in order (missing if it is missing there)",
        "first(monthly_rent, order=period, per=unit_id)",
        kind="window",
        keywords=("order", "per"),
        nullable=True,
    ),
    Function(
        "last",
        ("any",),
        "first",
        sql_call("last_value"),
        "x of the partition's last row in order (missing if it is missing there)",
        "last(noi, order=year)",
        kind="window",
        keywords=("order", "per"),
        nullable=True,
    ),
]
