"""An input's DuckDB table: its name, its columns, and loading it from checked rows.

`"input_<name>"` holds the declared fields in spec order, typed, NULL for an empty
optional value, then `_ord` (the record's 1-based number in its source) and `_where`
(how messages name the record: `line 3`, `record 2`, `row 4`). It is a table, or, for a
CSV file DuckDB read itself, a view that numbers the rows of `"_rows_<name>"`.
"""

from __future__ import annotations

import contextlib
import csv
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import duckdb

from ..program import Input
from .convert import Row

SQL_TYPES = {
    "number": "DOUBLE",
    "integer": "BIGINT",
    "boolean": "BOOLEAN",
    "string": "VARCHAR",
    "date": "DATE",
    "datetime": "TIMESTAMP",
}
# For the rows this module writes: DuckDB's default is 2 MB, and a longer record (a
# long text in a JSON file, say) is rare but data. (The fast CSV path keeps the default,
# which reads faster; a longer line sends the file to the careful reader.)
MAX_LINE_SIZE = 1 << 30


def table_name(inp: Input) -> str:
    return f"input_{inp.name}"


def rows_table(inp: Input) -> str:
    """Where the fast CSV path keeps the rows its view numbers (see csv_fast.load); no
    input's table can have this name ("input_" comes first in every one)."""
    return f"_rows_{inp.name}"


def drop_input(db: duckdb.DuckDBPyConnection, inp: Input) -> None:
    """Remove what a previous load of `inp` made (a table, or a view and its rows)."""
    for name in (table_name(inp), rows_table(inp)):
        found = db.execute(
            "SELECT table_type FROM information_schema.tables"
            " WHERE table_schema = current_schema() AND table_name = $name",
            {"name": name},
        ).fetchone()
        if found:
            kind = "VIEW" if found[0] == "VIEW" else "TABLE"
            db.execute(f"DROP {kind} {ident(name)}")


def ident(name: str) -> str:
    """A quoted SQL identifier (a field's name is never pasted in bare)."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A SQL string literal, for the reader's own constants (data is bound instead)."""
    return "'" + text.replace("'", "''") + "'"


def struct(columns: Sequence[tuple[str, str]]) -> str:
    """read_csv's `columns` argument: {'name': 'TYPE', ...}."""
    return "{" + ", ".join(f"{literal(n)}: {literal(t)}" for n, t in columns) + "}"


def csv_options(columns: Sequence[tuple[str, str]], skip: int = 0) -> str:
    """read_csv options that read exactly RFC 4180 with the columns given: no sniffing,
    no header of its own, `"` quoting with `""` inside, an error for a row too long."""
    return (
        f"header = false, skip = {skip}, columns = {struct(columns)}, auto_detect = false,"
        " delim = ',', quote = '\"', escape = '\"', strict_mode = true"
    )


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    """A private directory for files handed to DuckDB, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="scriptexec-input-") as name:
        yield Path(name)


def create_from_rows(
    db: duckdb.DuckDBPyConnection, inp: Input, rows: Sequence[tuple[str, Row]]
) -> None:
    """Load checked rows (the careful readers' output) into the input's table.

    Through a CSV file DuckDB reads with declared types: the Python client can only
    insert Python objects one statement at a time (about a millisecond a row), and a
    checked row survives the trip exactly (repr of a float reads back as the same
    float; no value is an empty string, so an empty quoted value can stand for NULL)."""
    names = [f.name for f in inp.fields]
    columns = [(f.name, SQL_TYPES[f.type]) for f in inp.fields]
    columns += [("_ord", "BIGINT"), ("_where", "VARCHAR")]
    with scratch() as directory:
        path = directory / "rows.csv"
        with path.open("w", encoding="utf-8", newline="") as stream:
            writer = csv.writer(stream, quoting=csv.QUOTE_ALL, lineterminator="\n")
            for number, (where, row) in enumerate(rows, 1):
                writer.writerow([*(row[n] for n in names), number, where])
        db.execute(
            f"CREATE TABLE {ident(table_name(inp))} AS"
            f" SELECT * FROM read_csv($path, {csv_options(columns)}, allow_quoted_nulls = true,"
            # said, not sniffed: a value's CR inside quotes can look like the line end
            f" new_line = '\\n', max_line_size = {MAX_LINE_SIZE})",
            {"path": str(path)},
        )
