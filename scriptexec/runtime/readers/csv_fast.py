"""The fast CSV path: DuckDB's read_csv, with the declared types checked in SQL.

csv_survey.py decides which files it may read. Any doubt after that (a record that
spans lines, a value no SQL tier takes) returns False: the caller then reads the file
carefully, which also words every error, so a message never depends on which path ran.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import duckdb

from ..errors import ProgramError
from ..program import Input
from .casts import WHITESPACE, Column, cast_items, fast_format, taken_sql, value_sql
from .convert import check_count, check_record
from .csv_input import check_header
from .csv_survey import Layout, Numbering
from .table import csv_options, drop_input, ident, rows_table, table_name


def load(db: duckdb.DuckDBPyConnection, inp: Input, layout: Layout, source: str) -> bool:
    """Read the file into the input's table; False when the careful reader must."""
    check_header(inp, layout.header, source, 1)
    if not all(fast_format(f.format) for f in inp.fields):
        return False  # a date format only Python's strptime reads as the spec means
    query = FastQuery(inp, layout)
    try:
        with insertion_order(db):
            query.run(db, query.create())
    except duckdb.Error:
        locate(db, inp, query, layout, source)  # raises the error, if it is in the data
        return False
    found = db.execute(f"SELECT count(*) FROM {ident(rows_table(inp))}").fetchone()
    numbering = layout.numbering(found[0] if found else -1)
    if numbering is None:
        drop_input(db, inp)
        return False
    try:
        check_count(source, numbering.rows)
    except ProgramError:
        drop_input(db, inp)
        raise
    # A view numbers the rows: a row number computed in the load itself (WITH
    # ORDINALITY) takes the parallel reader down to one thread, half its speed.
    db.execute(
        f"CREATE VIEW {ident(table_name(inp))} AS SELECT *, rowid + 1 AS _ord,"
        f" {numbering.where('rowid')} AS _where FROM {ident(rows_table(inp))}"
    )
    return True


@contextlib.contextmanager
def insertion_order(db: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Rows stored in the file's order (DuckDB's default), so that rowid numbers them."""
    row = db.execute("SELECT current_setting('preserve_insertion_order')").fetchone()
    kept = bool(row and row[0])
    if not kept:
        db.execute("SET preserve_insertion_order = true")
    try:
        yield
    finally:
        if not kept:
            db.execute("SET preserve_insertion_order = false")


def locate(
    db: duckdb.DuckDBPyConnection, inp: Input, query: FastQuery, layout: Layout, source: str
) -> None:
    """Raise the careful reader's error for a load that failed, if the data has one
    the fast path can name: in its order (the file's structure, the row count, then
    values in order). Return when the careful reader must look instead."""
    try:
        counted = query.run(db, query.count()).fetchone()
    except duckdb.Error:
        return  # the file's structure: the careful reader words it
    numbering = layout.numbering(counted[0] if counted else -1)
    if numbering is None:
        return
    check_count(source, numbering.rows)
    cursor = query.run(db, query.untaken(numbering))
    names = [f.name for f in inp.fields]
    while batch := cursor.fetchmany(1000):
        for where, *values in batch:
            check_record(inp.fields, source, where, dict(zip(names, values, strict=True)))
    # Every value was good, only not one the SQL takes: the careful reader loads it.


class FastQuery:
    """The SQL over read_csv for one input: its columns are c0, c1, ... in the header's
    order, with each declared number's and integer's casts computed once (d<i>, g<i>)."""

    def __init__(self, inp: Input, layout: Layout) -> None:
        self.inp = inp
        self.layout = layout
        # A name's first column: a later one of the same name is unnamed (check_header).
        position = {name: i for i, name in reversed(list(enumerate(layout.header)))}
        self.columns = {f.name: column(position[f.name], layout.marks) for f in inp.fields}
        # Only the declared fields' columns (and their casts) leave the reader.
        picked = [self.columns[f.name].text for f in inp.fields]
        for f in inp.fields:
            picked += cast_items(f, self.columns[f.name])
        raw = [(f"c{i}", "VARCHAR") for i in range(len(layout.header))]
        # Padding marks a short record's missing values NULL, as zip_longest does, and
        # only those: an empty value is '' (the file has no NUL to take for one), so that
        # DuckDB also refuses a record with empty values beyond the header's columns
        # (it drops those in silence when they would be NULL).
        options = (
            f"{csv_options(raw, skip=1)}, null_padding = true, nullstr = chr(0),"
            " allow_quoted_nulls = false"
        )
        self.read = f"read_csv($path, {options})"
        self.picked = ", ".join(picked)

    def source(self, numbered: bool = False) -> str:
        if numbered:
            return f"(SELECT ordinality, {self.picked} FROM {self.read} WITH ORDINALITY)"
        return f"(SELECT {self.picked} FROM {self.read})"

    def create(self) -> str:
        values = ", ".join(
            f"{value_sql(f, self.columns[f.name])} AS {ident(f.name)}" for f in self.inp.fields
        )
        table = ident(rows_table(self.inp))
        return f"CREATE TABLE {table} AS SELECT {values} FROM {self.source()}"

    def count(self) -> str:
        return f"SELECT count(*) FROM {self.read}"

    def untaken(self, numbering: Numbering) -> str:
        """The rows with a value no tier takes, in order: where they are, their text."""
        taken = " AND ".join(taken_sql(f, self.columns[f.name]) for f in self.inp.fields)
        texts = ", ".join(self.columns[f.name].text for f in self.inp.fields)
        where = numbering.where("(ordinality - 1)")
        return (
            f"SELECT {where}, {texts} FROM {self.source(numbered=True)}"
            f" WHERE NOT ({taken}) ORDER BY ordinality"
        )

    def params(self, sql: str) -> dict[str, Any]:
        """The parameters `sql` uses (DuckDB refuses one it does not)."""
        params: dict[str, Any] = {"path": str(self.layout.path)}
        if "$ws" in sql:
            params["ws"] = WHITESPACE
        return params

    def run(self, db: duckdb.DuckDBPyConnection, sql: str) -> duckdb.DuckDBPyConnection:
        return db.execute(sql, self.params(sql))


def column(index: int, marks: frozenset[str]) -> Column:
    return Column(ident(f"c{index}"), ident(f"d{index}"), ident(f"g{index}"), marks)
