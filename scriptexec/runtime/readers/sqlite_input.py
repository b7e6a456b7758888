"""sqlite inputs: Python's sqlite3, read-only (DuckDB's sqlite extension would have to be
downloaded at run time, and a program runs offline)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..errors import ProgramError
from ..program import Input
from .convert import Record, max_rows


def read_sqlite(inp: Input, path: Path, source: str) -> list[Record]:
    if not path.is_file():
        raise ProgramError(f"{source}: no such database file")
    sql = select_sql(inp)
    uri = f"{path.as_uri()}?mode=ro"  # read-only: never create or change the database
    try:
        connection = sqlite3.connect(uri, uri=True)
        try:
            cursor = connection.execute(sql)
            names = [d[0] for d in cursor.description]
            # One more than the limit: enough to say there are too many.
            rows = cursor.fetchmany(max_rows() + 1)
        finally:
            connection.close()
    except sqlite3.Error as exc:
        raise ProgramError(f"{source}: {exc}") from None
    return as_records(names, rows)


def select_sql(inp: Input) -> str:
    """The SELECT app.py compiled for a database input (its table's, or its query)."""
    if not inp.sql:
        raise ProgramError(f"input {inp.name}: app.py gives no query to run")
    return inp.sql


def as_records(names: list[str], rows: list[tuple[object, ...]]) -> list[Record]:
    """Database rows as [(where, record)]."""
    return [(f"row {n}", dict(zip(names, row, strict=True))) for n, row in enumerate(rows, 1)]
