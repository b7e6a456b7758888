"""The runtime's assertions (scriptexec.runtime.assertions) on real DuckDB tables, with the
queries scriptexec/codegen/assertions.py compiles: what passes, and the exact line each
failure gives (at most 5 examples, then how many more), warnings that let a run go on,
and names, values and labels that would break hand-written SQL or messages."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterator, Sequence
from typing import Any

import duckdb
import pytest

from scriptexec.codegen.assertions import compile_assertions
from scriptexec.runtime.assertions import AssertionFailed, check_assertions
from scriptexec.runtime.errors import ProgramError
from scriptexec.runtime.logs import log
from scriptexec.runtime.program import Assertion, Program
from scriptexec.runtime.sqlmacros import install


def program(
    fields: dict[str, str], assertions: list[dict[str, Any]], computed: Sequence[str] = ()
) -> Program:
    """A program whose one input has `fields` ({name: type}); the `computed` ones are
    compute fields instead, so that assertions on them read "results"."""
    inputs = {n: t for n, t in fields.items() if n not in computed}
    model = {
        "inputs": [
            {
                "name": "d",
                "primary": True,
                "repeat": None,
                "fields": [{"name": n, "type": t, "required": True} for n, t in inputs.items()],
            }
        ],
        "compute": [{"name": n, "type": fields[n], "formula": "1"} for n in computed],
        "steps": [],
        "assertions": [{"severity": "error", "name": None, **a} for a in assertions],
    }
    compiled = compile_assertions(model)
    return Program.from_dict(
        {
            "name": "t",
            "inputs": [],
            "columns": list(fields),
            "queries": {"source": ["", []], "rows": ["", []], "summary": ["", []]},
            "assertions": [[a["sql"], a["spec"]] for a in compiled],
        }
    )


def table(
    name: str, columns: dict[str, str], rows: list[tuple[Any, ...]], labels: list[str] | None = None
) -> duckdb.DuckDBPyConnection:
    """A database with table `name` as the runtime makes them: the columns ({name: SQL
    type}), then _ord (1, 2, ...) and _label ('row 1', ... unless given)."""
    db = duckdb.connect(":memory:")
    install(db)
    quoted = ", ".join(f'"{c.replace(chr(34), chr(34) * 2)}" {t}' for c, t in columns.items())
    db.execute(f'CREATE TABLE "{name}" ({quoted}, "_ord" BIGINT, "_label" VARCHAR)')
    labels = labels or [f"row {n}" for n in range(1, len(rows) + 1)]
    marks = ", ".join("?" for _ in range(len(columns) + 2))
    if rows:
        db.executemany(
            f'INSERT INTO "{name}" VALUES ({marks})',
            [(*row, n, labels[n - 1]) for n, row in enumerate(rows, 1)],
        )
    return db


def failure(db: duckdb.DuckDBPyConnection, prog: Program, on: str = "source") -> str:
    with pytest.raises(AssertionFailed) as info:
        check_assertions(db, prog, on)
    return str(info.value)


@pytest.fixture
def warnings_logged() -> Iterator[list[str]]:
    """The lines the runtime's log gets at WARNING."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    handler = Keep(logging.WARNING)
    log.addHandler(handler)
    level = log.level
    log.setLevel(logging.INFO)
    yield lines
    log.removeHandler(handler)
    log.setLevel(level)


# -- unique ------------------------------------------------------------------------------


def test_unique_passes_when_values_differ_and_missing_values_repeat() -> None:
    prog = program({"id": "string"}, [{"kind": "unique", "field": "id"}])
    db = table("source", {"id": "VARCHAR"}, [("P1",), (None,), ("P2",), (None,)])
    assert check_assertions(db, prog, "source") == []


def test_unique_names_the_shared_value_and_its_rows() -> None:
    prog = program({"id": "string"}, [{"kind": "unique", "field": "id"}])
    db = table("source", {"id": "VARCHAR"}, [("P1",), ("P2",), ("P1",)])
    # rows 1 and 3 share P1: 2 rows, 1 value
    assert failure(db, prog) == (
        "assertion failed: unique(id): 2 rows share a value: 'P1' (row 1, row 3)"
    )


def test_unique_shows_five_values_in_order_of_first_row_and_five_rows_each() -> None:
    prog = program({"id": "string"}, [{"kind": "unique", "field": "id"}])
    # Z on rows 1-7; then B, C, D, E, F, G on two rows each; H once (not shared).
    ids = ["Z"] * 7 + [v for v in "BCDEFG" for _ in range(2)] + ["H"]
    db = table("source", {"id": "VARCHAR"}, [(i,) for i in ids])
    # 7 + 6 * 2 = 19 rows share 7 values; Z's rows after the 5th: 2 more; values after
    # the 5th (F, G): 2 more.
    assert failure(db, prog) == (
        "assertion failed: unique(id): 19 rows share 7 values: "
        "'Z' (row 1, row 2, row 3, row 4, row 5, ... and 2 more); 'B' (row 8, row 9); "
        "'C' (row 10, row 11); 'D' (row 12, row 13); 'E' (row 14, row 15); ... and 2 more"
    )


def test_unique_of_numbers_and_of_a_column_named_like_the_querys_own() -> None:
    prog = program({"_rows": "number"}, [{"kind": "unique", "field": "_rows"}])
    db = table("source", {"_rows": "DOUBLE"}, [(1.5,), (2.0,), (1.5,), (1.5,)])
    # 1.5 on rows 1, 3 and 4
    assert failure(db, prog) == (
        "assertion failed: unique(_rows): 3 rows share a value: 1.5 (row 1, row 3, row 4)"
    )


# -- not_missing -------------------------------------------------------------------------


def test_not_missing_of_one_field_lists_the_rows() -> None:
    prog = program({"rent": "number"}, [{"kind": "not_missing", "fields": ["rent"]}])
    db = table("source", {"rent": "DOUBLE"}, [(1.0,), (None,), (3.0,), (None,)])
    assert failure(db, prog) == (
        "assertion failed: not_missing(rent): 2 rows have a missing value: row 2, row 4"
    )


def test_not_missing_of_several_fields_says_which_are_missing() -> None:
    prog = program(
        {"rent": "number", "kind": "string"},
        [{"kind": "not_missing", "fields": ["rent", "kind"]}],
    )
    db = table(
        "source", {"rent": "DOUBLE", "kind": "VARCHAR"}, [(1.0, "a"), (None, "b"), (None, None)]
    )
    # in the spec's order (rent, then kind); ';' between rows, as the rows hold commas
    assert failure(db, prog) == (
        "assertion failed: not_missing(rent, kind): 2 rows have a missing value:"
        " row 2 (rent); row 3 (rent, kind)"
    )


def test_not_missing_shows_five_rows_then_how_many_more() -> None:
    prog = program({"rent": "number"}, [{"kind": "not_missing", "fields": ["rent"]}])
    db = table("source", {"rent": "DOUBLE"}, [(None,)] * 8)
    # 8 rows, 5 shown, 3 more
    assert failure(db, prog) == (
        "assertion failed: not_missing(rent): 8 rows have a missing value:"
        " row 1, row 2, row 3, row 4, row 5, ... and 3 more"
    )


def test_one_missing_value_is_one_row() -> None:
    prog = program({"rent": "number"}, [{"kind": "not_missing", "fields": ["rent"]}])
    db = table("source", {"rent": "DOUBLE"}, [(1.0,), (None,)])
    assert failure(db, prog) == (
        "assertion failed: not_missing(rent): 1 row has a missing value: row 2"
    )


# -- accepted_values -----------------------------------------------------------------------


def test_accepted_values_with_quotes_and_missing_values() -> None:
    accepted = ["it's", 'say "hi"', "back\\slash", "new\nline"]
    prog = program(
        {"kind": "string"}, [{"kind": "accepted_values", "field": "kind", "values": accepted}]
    )
    rows = [
        ("it's",),
        ('x"y',),
        (None,),
        ("It's",),
        ('say "hi"',),
        ("back\\slash",),
        ("new\nline",),
    ]
    db = table("source", {"kind": "VARCHAR"}, rows)
    # accepted: rows 1, 5, 6, 7 (exactly as listed), and row 3 (missing: not_missing's job)
    assert failure(db, prog) == (
        "assertion failed: accepted_values(kind): 2 rows have a value not accepted:"
        """ row 2: 'x"y', row 4: "It's\""""
    )


def test_accepted_values_of_integers_and_a_thousand_values() -> None:
    prog = program(
        {"units": "integer"},
        [{"kind": "accepted_values", "field": "units", "values": list(range(1000))}],
    )
    db = table("source", {"units": "BIGINT"}, [(0,), (999,), (1000,), (-1,)])
    assert failure(db, prog) == (
        "assertion failed: accepted_values(units): 2 rows have a value not accepted:"
        " row 3: 1000, row 4: -1"
    )


# -- range ---------------------------------------------------------------------------------


def test_range_both_bounds_included() -> None:
    prog = program(
        {"dscr": "number"}, [{"kind": "range", "field": "dscr", "min": 0, "max": 20}], ["dscr"]
    )
    db = table("results", {"dscr": "DOUBLE"}, [(0.0,), (20.0,), (None,), (25.0,)])
    # 0 and 20 are the bounds themselves; the missing value is not_missing's job
    assert failure(db, prog, "results") == (
        "assertion failed: range(dscr, min 0, max 20): 1 row out of range: row 4: 25.0"
    )


def test_range_with_one_bound_and_not_a_number() -> None:
    prog = program({"dscr": "number"}, [{"kind": "range", "field": "dscr", "max": 1.5}], ["dscr"])
    db = table("results", {"dscr": "DOUBLE"}, [(-1e300,), (float("nan"),), (1.5,), (1.6,)])
    # no min: -1e300 passes; NaN is no number, so within no bound (DuckDB sorts it last)
    assert failure(db, prog, "results") == (
        "assertion failed: range(dscr, max 1.5): 2 rows out of range: row 2: nan, row 4: 1.6"
    )


def test_range_of_dates() -> None:
    prog = program(
        {"due": "date"},
        [{"kind": "range", "field": "due", "min": "2024-01-01", "max": "2024-12-31"}],
    )
    days = [datetime.date(2024, 1, 1), datetime.date(2023, 12, 31), datetime.date(2025, 1, 1)]
    db = table("source", {"due": "DATE"}, [(d,) for d in days])
    assert failure(db, prog) == (
        "assertion failed: range(due, min 2024-01-01, max 2024-12-31): 2 rows out of range:"
        " row 2: 2023-12-31, row 3: 2025-01-01"
    )
    listed = program(
        {"due": "date"},
        [{"kind": "accepted_values", "field": "due", "values": ["2024-01-01", "2025-01-01"]}],
    )
    assert failure(db, listed) == (
        "assertion failed: accepted_values(due): 1 row has a value not accepted: row 2: 2023-12-31"
    )


# -- row_count -----------------------------------------------------------------------------


def test_row_count_fewer_and_more() -> None:
    fewer = program({"id": "string"}, [{"kind": "row_count", "min": 3}])
    more = program({"id": "string"}, [{"kind": "row_count", "min": 1, "max": 1}])
    within = program({"id": "string"}, [{"kind": "row_count", "min": 2, "max": 2}])
    db = table("source", {"id": "VARCHAR"}, [("a",), ("b",)])
    assert failure(db, fewer) == "assertion failed: row_count(min 3): 2 rows, fewer than 3"
    assert failure(db, more) == "assertion failed: row_count(min 1, max 1): 2 rows, more than 1"
    assert check_assertions(db, within, "source") == []
    empty = table("source", {"id": "VARCHAR"}, [])
    assert failure(empty, fewer) == "assertion failed: row_count(min 3): 0 rows, fewer than 3"


# -- severities, names, tables -------------------------------------------------------------


def test_every_failed_assertion_is_a_line_of_one_error() -> None:
    prog = program(
        {"id": "string", "rent": "number"},
        [
            {"kind": "unique", "field": "id"},
            {"kind": "not_missing", "fields": ["id"]},  # holds
            {"kind": "range", "field": "rent", "min": 0},
        ],
    )
    db = table("source", {"id": "VARCHAR", "rent": "DOUBLE"}, [("a", 1.0), ("a", -2.0)])
    with pytest.raises(AssertionFailed) as info:
        check_assertions(db, prog, "source")
    assert info.value.failures == [
        "assertion failed: unique(id): 2 rows share a value: 'a' (row 1, row 2)",
        "assertion failed: range(rent, min 0): 1 row out of range: row 2: -2.0",
    ]
    assert str(info.value) == "\n".join(info.value.failures)
    # bad data: the runtime's data error, exit code 1
    assert isinstance(info.value, ProgramError) and info.value.exit_code == 1


def test_a_warning_is_logged_and_the_run_goes_on(warnings_logged: list[str]) -> None:
    prog = program(
        {"id": "string"},
        [{"kind": "unique", "field": "id", "severity": "warn", "name": "one row per id"}],
    )
    db = table("source", {"id": "VARCHAR"}, [("a",), ("a",)])
    line = "assertion failed: one row per id (unique(id)): 2 rows share a value: 'a' (row 1, row 2)"
    assert check_assertions(db, prog, "source") == [line]
    assert warnings_logged == [line]


def test_warnings_and_errors_together(warnings_logged: list[str]) -> None:
    prog = program(
        {"id": "string"},
        [
            {"kind": "row_count", "max": 1, "severity": "warn"},
            {"kind": "unique", "field": "id"},
        ],
    )
    db = table("source", {"id": "VARCHAR"}, [("a",), ("a",)])
    assert failure(db, prog) == (
        "assertion failed: unique(id): 2 rows share a value: 'a' (row 1, row 2)"
    )
    assert warnings_logged == ["assertion failed: row_count(max 1): 2 rows, more than 1"]


def test_each_assertion_runs_on_its_own_table() -> None:
    prog = program(
        {"id": "string", "dscr": "number"},
        [
            {"kind": "unique", "field": "id"},  # an input field: source
            {"kind": "not_missing", "fields": ["id", "dscr"]},  # a computed one: results
        ],
        ["dscr"],
    )
    assert [(a.kind, a.on) for a in prog.assertions] == [
        ("unique", "source"),
        ("not_missing", "results"),
    ]
    source = table("source", {"id": "VARCHAR"}, [("a",), ("b",)])
    assert check_assertions(source, prog, "source") == []  # not_missing is not run here
    results = table("results", {"id": "VARCHAR", "dscr": "DOUBLE"}, [("a", None), ("b", 1.0)])
    assert failure(results, prog, "results") == (
        "assertion failed: not_missing(id, dscr): 1 row has a missing value: row 1 (dscr)"
    )


def test_no_assertions_run_no_query() -> None:
    prog = program({"id": "string"}, [])
    db = duckdb.connect(":memory:")  # no table at all: a query would fail
    assert check_assertions(db, prog, "source") == []


# -- hostile names and labels --------------------------------------------------------------


def test_names_with_quotes_are_quoted() -> None:
    weird = 'we"ird'
    prog = program(
        {weird: "string", "it's": "number"},
        [
            {"kind": "unique", "field": weird},
            {"kind": "not_missing", "fields": [weird, "it's"]},
            {"kind": "range", "field": "it's", "max": 0},
        ],
    )
    db = table("source", {weird: "VARCHAR", "it's": "DOUBLE"}, [("x", 1.0), ("x", None)])
    with pytest.raises(AssertionFailed) as info:
        check_assertions(db, prog, "source")
    assert info.value.failures == [
        """assertion failed: unique(we"ird): 2 rows share a value: 'x' (row 1, row 2)""",
        "assertion failed: not_missing(we\"ird, it's): 1 row has a missing value: row 2 (it's)",
        "assertion failed: range(it's, max 0): 1 row out of range: row 1: 1.0",
    ]


def test_labels_of_repeated_rows_are_separated_by_semicolons() -> None:
    prog = program({"amount": "number"}, [{"kind": "range", "field": "amount", "min": 0}])
    labels = ["row 1, period 1", "row 1, period 2", "row 2, period 1"]
    db = table("source", {"amount": "DOUBLE"}, [(-1.0,), (-2.0,), (3.0,)], labels)
    assert failure(db, prog) == (
        "assertion failed: range(amount, min 0): 2 rows out of range:"
        " row 1, period 1: -1.0; row 1, period 2: -2.0"
    )


def test_a_long_value_is_cut_in_the_message() -> None:
    prog = program(
        {"kind": "string"}, [{"kind": "accepted_values", "field": "kind", "values": ["a"]}]
    )
    db = table("source", {"kind": "VARCHAR"}, [("x" * 100,)])
    # as the runtime shows any value: its repr cut at 40 characters, 37 and "..."
    shown = "'" + "x" * 36 + "..."
    assert failure(db, prog) == (
        f"assertion failed: accepted_values(kind): 1 row has a value not accepted: row 1: {shown}"
    )


def test_from_dict_reads_the_pairs_of_app_py() -> None:
    prog = Program.from_dict(
        {
            "name": "t",
            "inputs": [],
            "columns": ["a"],
            "queries": {"source": ["", []], "rows": ["", []], "summary": ["", []]},
            "assertions": [
                ["SELECT 1", {"kind": "unique", "on": "source", "field": "a"}],
                [
                    "SELECT 2",
                    {"kind": "not_missing", "on": "results", "fields": ["a", "b"]},
                ],
                [
                    "SELECT 3",
                    {"kind": "row_count", "on": "source", "max": 9, "severity": "warn"},
                ],
            ],
        }
    )
    assert prog.assertions == (
        Assertion("unique", "SELECT 1", "source", ("a",)),
        Assertion("not_missing", "SELECT 2", "results", ("a", "b")),
        Assertion("row_count", "SELECT 3", "source", (), max=9, severity="warn"),
    )
