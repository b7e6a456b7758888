"""Assertions: the checks of the data a spec asks every run to make (like dbt's tests).

Each is a query compiled by scriptexec/codegen/assertions.py, which returns nothing when
the assertion holds, else its offending rows (at most EXAMPLES, with how many there are
in all). Those over the inputs alone run as soon as they are read, the others over the
computed rows; either way before anything is written. A failed assertion of severity
`error` fails the run with one line per failed assertion (exit code 1, as bad data does);
one of severity `warn` logs the same line as a warning, and the run goes on.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

import duckdb

from . import deadline
from .errors import ProgramError
from .logs import log
from .program import Assertion, Program
from .values import show

EXAMPLES = 5  # offending rows (or shared values) a message names; the queries' LIMIT
TABLES = {"source": "the inputs", "results": "the computed rows"}


class AssertionFailed(ProgramError):
    """Assertions of severity error failed: the message has one line for each."""

    def __init__(self, failures: Sequence[str]) -> None:
        super().__init__("\n".join(failures))
        self.failures = list(failures)


def check_assertions(db: duckdb.DuckDBPyConnection, program: Program, table: str) -> list[str]:
    """Run the assertions over `table` ("source" or "results"); the warnings (logged),
    or AssertionFailed naming every failed assertion of severity error."""
    chosen = [a for a in program.assertions if a.on == table]
    if not chosen:
        return []
    deadline.phase(f"checking the assertions on {TABLES.get(table, table)}")
    failures: list[str] = []
    warnings: list[str] = []
    for assertion in chosen:
        found = _offending(db, assertion)
        if found:
            line = f"assertion failed: {title(assertion)}: {describe(assertion, found)}"
            (warnings if assertion.severity == "warn" else failures).append(line)
    for line in warnings:
        log.warning("%s", line)
    if failures:
        raise AssertionFailed(failures)
    return warnings


def _offending(db: duckdb.DuckDBPyConnection, assertion: Assertion) -> list[dict[str, Any]]:
    cursor = db.execute(assertion.sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def title(assertion: Assertion) -> str:
    """How a message names the assertion: `range(dscr, min 0, max 20)`, after its name
    when it has one."""
    bounds = [
        f"{key} {_bound(value)}"
        for key, value in (("min", assertion.min), ("max", assertion.max))
        if value is not None
    ]
    written = f"{assertion.kind}({', '.join([*assertion.fields, *bounds])})"
    return f"{assertion.name} ({written})" if assertion.name else written


def describe(assertion: Assertion, found: list[dict[str, Any]]) -> str:
    """What failed, from the rows the assertion's query returned (at least one)."""
    first = found[0]
    if assertion.kind == "row_count":
        count = first["_count"]
        if assertion.min is not None and count < assertion.min:
            return f"{_rows(count)}, fewer than {assertion.min}"
        return f"{_rows(count)}, more than {assertion.max}"
    if assertion.kind == "unique":
        shared = first["_values"]
        examples = [
            f"{_value(r['_value'])} ({_listed(list(r['_labels']), r['_rows'])})" for r in found
        ]
        what = "a value" if shared == 1 else f"{shared} values"
        return f"{first['_count']} rows share {what}: {_listed(examples, shared)}"
    count = first["_count"]
    one = count == 1
    if assertion.kind == "not_missing":
        several = len(assertion.fields) > 1  # then say which are missing
        examples = [r["_label"] + (f" ({r['_value']})" if several else "") for r in found]
        what = "has a missing value" if one else "have a missing value"
    elif assertion.kind == "accepted_values":
        examples = [f"{r['_label']}: {_value(r['_value'])}" for r in found]
        what = "has a value not accepted" if one else "have a value not accepted"
    else:  # range
        examples = [f"{r['_label']}: {_value(r['_value'])}" for r in found]
        what = "out of range"
    return f"{_rows(count)} {what}: {_listed(examples, count)}"


def _listed(items: list[str], total: int) -> str:
    """`items`, and how many more of `total` there are. Labels of repeated rows hold a
    comma (`row 1, period 2`): then a semicolon separates them."""
    sep = "; " if any(", " in item for item in items) else ", "
    more = total - len(items)
    return sep.join(items) + (f"{sep}... and {more} more" if more > 0 else "")


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


def _value(value: Any) -> str:
    if isinstance(value, datetime.date):  # (a datetime is a date too)
        return value.isoformat(sep=" ") if isinstance(value, datetime.datetime) else str(value)
    return show(value)


def _bound(value: Any) -> str:
    return value if isinstance(value, str) else repr(value)
