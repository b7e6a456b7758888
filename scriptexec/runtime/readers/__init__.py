"""A program's inputs, read into DuckDB tables.

`load_inputs(db, program)` makes one table per input, `"input_<name>"`: the declared
fields in spec order with their SQL types (number DOUBLE, integer BIGINT, boolean
BOOLEAN, string VARCHAR, date DATE, datetime TIMESTAMP; NULL for an empty optional
value), then `_ord` (the record's 1-based number in its source) and `_where` (how
messages name it: `line 3`, `record 2`, `row 4`); a view rather than a table for a
CSV file DuckDB read itself (table.py). Bad data is a ProgramError naming the source,
the record, the field and the value (`data/p.csv, line 3, field gross_revenue:
expected a number, got 'abc'`), raised before any table of that input exists.

CSV files go through DuckDB's read_csv, with the types checked in SQL (csv_fast.py),
unless the file is one only Python's csv module reads as the spec means it
(csv_survey.py); everything else (JSON, fixtures, sqlite, postgres, http, and those CSV
files) is read and checked in Python (convert.py), then handed to DuckDB.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from ..logs import log
from ..program import Input, Program
from ..settings import resolve, setting
from . import csv_fast, csv_survey
from .convert import Record, check_records
from .csv_input import read_csv
from .http_input import read_http
from .json_input import read_fixture, read_json
from .postgres_input import read_postgres, source_name
from .sqlite_input import read_sqlite
from .table import create_from_rows, drop_input, scratch, table_name
from .upstream_input import check_present, load_parquet, restore_text

__all__ = ["load_input", "load_inputs", "table_name"]


def load_inputs(db: duckdb.DuckDBPyConnection, program: Program) -> None:
    """Every input of `program` into its table (see the module's docstring)."""
    for inp in program.inputs:
        load_input(db, inp, agent=program.name)


def load_input(db: duckdb.DuckDBPyConnection, inp: Input, agent: str = "scriptexec") -> None:
    """One input into its table (replacing what an earlier load made), from its fixture
    when <INPUT>_FIXTURE is set (the test stage's checks and offline runs); `agent`
    names the program to http servers."""
    drop_input(db, inp)  # so that a refused input leaves no table behind
    fixture = os.environ.get(inp.fixture_env) if inp.fixture_env else None
    if fixture:
        path = resolve(fixture)
        log.info("input %s: reading the fixture %s", inp.name, path)
        return store(db, inp, fixture, read_fixture(path, fixture))
    if inp.format == "postgres":
        return store(db, inp, source_name(inp), read_postgres(inp))
    location = setting(inp.env_var, inp.location or "") if inp.env_var else inp.location or ""
    if inp.format == "http":
        shown, records = read_http(inp, location, agent)
        return store(db, inp, shown, records)
    path = resolve(location)
    log.debug("input %s: reading %s", inp.name, path)
    if inp.upstream:  # another spec's results, as its program wrote them
        check_present(inp, path, location)
        if inp.format == "parquet":
            return load_parquet(db, inp, path, location)
        if inp.format == "csv":
            load_csv(db, inp, path, location)
            return restore_text(db, inp)
    if inp.format == "csv":
        return load_csv(db, inp, path, location)
    if inp.format == "json":
        return store(db, inp, location, read_json(inp, path, location))
    if inp.format == "sqlite":
        return store(db, inp, location, read_sqlite(inp, path, location))
    raise ValueError(f"input {inp.name}: unknown format {inp.format!r}")  # a bug in app.py


def load_csv(db: duckdb.DuckDBPyConnection, inp: Input, path: Path, source: str) -> None:
    with scratch() as directory:
        layout = csv_survey.survey(path, inp.encoding, source, directory)
        if layout is not None and csv_fast.load(db, inp, layout, source):
            log.debug("input %s: read by DuckDB", inp.name)
            return
    log.debug("input %s: read by the careful reader", inp.name)
    store(db, inp, source, read_csv(inp, path, source))


def store(db: duckdb.DuckDBPyConnection, inp: Input, source: str, records: list[Record]) -> None:
    """Check records read in Python and load them into the input's table."""
    create_from_rows(db, inp, check_records(inp, source, records))
