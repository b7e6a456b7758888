"""Inputs that read another spec's results (`from:` in the spec): its program's
results.parquet, results.csv or results.json, where that program writes them.

The CSV is read like any CSV, then the quote the upstream program put before text that
starts like a spreadsheet formula (= + - @ tab CR: see rowfiles.py) is taken off again,
so a value arrives as the upstream computed it. (A text that itself began with that
quote and such a character cannot be told apart; parquet keeps every value exactly.)
Parquet is read by DuckDB with its types checked against the declared ones.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from ..errors import ProgramError
from ..program import Input
from ..rowfiles import FORMULA_STARTS
from .convert import check_count
from .table import SQL_TYPES, drop_input, ident, literal, table_name

# The parquet types a declared type takes as they are (an integer column is a number).
TAKES = {"DOUBLE": ("DOUBLE", "FLOAT", "BIGINT", "INTEGER", "SMALLINT", "TINYINT")}


def check_present(inp: Input, path: Path, source: str) -> None:
    """A missing upstream file says which program writes it."""
    if not path.is_file():
        raise ProgramError(
            f"{source}: no such file: {inp.name} reads the results of {inp.upstream};"
            f" run its program first, or set {inp.env_var}"
        )


def restore_text(db: duckdb.DuckDBPyConnection, inp: Input) -> None:
    """Take the CSV injection quote off the text fields of a loaded upstream CSV."""
    texts = {f.name for f in inp.fields if f.type == "string"}
    if not texts:
        return
    starts = ", ".join(literal("'" + c) for c in FORMULA_STARTS)
    items = []
    for field in inp.fields:
        name = ident(field.name)
        if field.name in texts:
            items.append(
                f"CASE WHEN left({name}, 2) IN ({starts}) THEN substr({name}, 2)"
                f" ELSE {name} END AS {name}"
            )
        else:
            items.append(name)
    table = table_name(inp)
    staged = ident(f"_restored_{inp.name}")
    db.execute(
        f"CREATE TABLE {staged} AS SELECT {', '.join(items)}, _ord, _where"
        f" FROM {ident(table)} ORDER BY _ord"
    )
    drop_input(db, inp)
    db.execute(f"ALTER TABLE {staged} RENAME TO {ident(table)}")


def load_parquet(db: duckdb.DuckDBPyConnection, inp: Input, path: Path, source: str) -> None:
    """A parquet file into the input's table: the declared fields, typed, numbered."""
    scan = f"read_parquet({literal(str(path))}, file_row_number = true)"
    try:
        described = db.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()
    except duckdb.Error as exc:
        raise ProgramError(f"{source}: not a parquet file DuckDB can read: {exc}") from None
    have = {str(row[0]): str(row[1]) for row in described}
    items = []
    for field in inp.fields:
        wanted = SQL_TYPES[field.type]
        found = have.get(field.name)
        if found is None:
            raise ProgramError(f"{source}: no column {field.name}")
        if found != wanted and found not in TAKES.get(wanted, ()):
            raise ProgramError(
                f"{source}: column {field.name} is {found}, expected {field.type} ({wanted})"
            )
        items.append(f"CAST({ident(field.name)} AS {wanted}) AS {ident(field.name)}")
    count = db.execute(f"SELECT count(*) FROM {scan}").fetchone()
    check_count(source, count[0] if count else 0)
    for field in (f for f in inp.fields if f.required):
        missing = db.execute(
            f"SELECT min(file_row_number) FROM {scan} WHERE {ident(field.name)} IS NULL"
        ).fetchone()
        if missing and missing[0] is not None:
            row = int(missing[0]) + 1
            raise ProgramError(f"{source}, row {row}, field {field.name}: missing value")
    drop_input(db, inp)
    db.execute(
        f"CREATE TABLE {ident(table_name(inp))} AS SELECT {', '.join(items)},"
        f" file_row_number + 1 AS _ord, 'row ' || (file_row_number + 1) AS _where"
        f" FROM {scan} ORDER BY file_row_number"
    )
