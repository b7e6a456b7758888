"""The results table as files: CSV, JSON and parquet written by DuckDB straight from table
"results" (no row passes through Python), and the whole result as one JSON document.

The CSV keeps what the Python writer of earlier versions wrote, cell for cell, so that a
spreadsheet or a script reading it sees no change:
- booleans `true`/`false`, dates `2024-03-31`, datetimes `2024-03-31T12:00:00` (ISO 8601
  with a T, as JSON has them too), numbers as Python's repr (DuckDB 2 formats doubles the same
  shortest round-trip way, 1e+16 and 1e-05 included), an empty cell for NULL;
- text starting with = + - @ tab or CR gets a leading single quote (CSV injection: a
  spreadsheet runs such a cell as a formula; OWASP's advice). JSON and parquet stay exact;
- quotes only where a value needs them (a comma, a quote, CR or LF inside), lines ending
  in LF. DuckDB would also quote an empty string and any text with '#' (its comment
  character): NULLIF and COMMENT '' turn both off.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from .errors import ProgramError
from .files import atomic
from .values import iso, to_json

if TYPE_CHECKING:
    from .execute import Result

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
COPY_OPTIONS = {
    "csv": "FORMAT csv, HEADER true, COMMENT ''",
    "json": "FORMAT json, ARRAY true",
    "parquet": "FORMAT parquet",
}


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A SQL string literal (COPY takes no parameter for its file name)."""
    return "'" + text.replace("'", "''") + "'"


def column_types(db: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return {row[0]: row[1] for row in db.execute("DESCRIBE results").fetchall()}


def _neutralised(column: str) -> str:
    starts = ", ".join(f"chr({ord(c)})" for c in FORMULA_STARTS)
    return (
        f"CASE WHEN left({column}, 1) IN ({starts}) THEN '''' || {column}"
        f" ELSE NULLIF({column}, '') END"
    )


def _cell(column: str, sql_type: str, fmt: str) -> str:
    """The SQL for one column of the file: CSV text is neutralised, JSON numbers that
    are not finite are null (as JSON has them: see values.clean)."""
    name = quote(column)
    if fmt == "csv" and sql_type == "VARCHAR":
        return f"{_neutralised(name)} AS {name}"
    if fmt in ("csv", "json") and sql_type == "TIMESTAMP":
        return f"{iso_timestamp(name)} AS {name}"
    if fmt == "json" and sql_type in ("DOUBLE", "FLOAT"):
        return f"CASE WHEN isfinite({name}) THEN {name} END AS {name}"
    return name


def iso_timestamp(name: str) -> str:
    """A TIMESTAMP as values.iso writes it: `2024-03-31T12:00:00`, with six digits of a
    fraction of a second only when there is one (DuckDB's own text has a space and as
    few digits as it needs)."""
    whole = f"strftime({name}, '%Y-%m-%dT%H:%M:%S')"
    fraction = f"strftime({name}, '.%f')"
    return f"CASE WHEN epoch_us({name}) % 1000000 = 0 THEN {whole} ELSE {whole} || {fraction} END"


def rows_query(result: Result, fmt: str) -> str:
    """The SELECT that a `fmt` file of the result's rows is written from, in row order."""
    types = column_types(result.db)
    cells = ", ".join(_cell(c, types.get(c, "VARCHAR"), fmt) for c in result.columns)
    # No ORDER BY: "results" is written in row order (evaluate) and DuckDB keeps a
    # table's insertion order in a plain scan, while sorting a million rows again would
    # cost a second and a copy of the table in memory.
    return f"SELECT {cells} FROM results"


def copy_rows(result: Result, path: Path, fmt: str) -> None:
    """Every row of `result` into `path` as csv, json (an array of objects) or parquet."""
    sql = f"COPY ({rows_query(result, fmt)}) TO {{}} ({COPY_OPTIONS[fmt]}, USE_TMP_FILE false)"
    with atomic(path) as partial:
        try:
            result.db.execute(sql.format(literal(str(partial))))
        except duckdb.Error as exc:  # a full disk, a file that went away
            raise ProgramError(f"cannot write {path}: {exc}") from None


def write_document(result: Result, path: Path, rows_json: Path | None = None) -> None:
    """The whole result as one JSON document (an export set's .json, the JSON download):
    what `run --json` prints. Its rows are spliced in from `rows_json`, a results.json
    that DuckDB already wrote, or from one written for it here."""
    if rows_json is None:
        scratch = path.with_name(f".{path.name}.rows")
        try:
            copy_rows(result, scratch, "json")
            write_document(result, path, scratch)
        finally:
            scratch.unlink(missing_ok=True)
        return
    head = to_json(result.document(rows=False))  # "{\n  ...\n}"
    with atomic(path) as partial, partial.open("wb") as out:
        out.write(head[: head.rindex("}")].rstrip().encode("utf-8") + b',\n  "rows": ')
        with rows_json.open("rb") as rows:
            shutil.copyfileobj(rows, out, 1024 * 1024)
        out.write(b"}\n")


def summary_document(result: Result) -> dict[str, Any]:
    """summary.json: the figures of a run, without its rows."""
    return {
        "name": result.program.name,
        "title": result.program.title,
        "parameters": result.parameters,
        "summary": result.summary,
        "summary_errors": result.summary_errors,
        "row_count": result.row_count,
        "error_count": result.error_count,
        "left_out": result.left_out,
        "warnings": result.warnings,
    }


def cell(value: Any) -> str:
    """One CSV cell of a small table written by Python (groups.csv), as DuckDB writes
    the rows' cells."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)  # a number, negative ones too, stays a number
    if isinstance(value, dt.date):
        return iso(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def to_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    # The writer quotes a value holding a character of its line terminator; with "\n"
    # alone, a bare "\r" in a value would go out unquoted and split the row. So rows are
    # written with "\r\n", and end in "\n" all the same.
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    lines = []
    for values in [list(columns), *([cell(row.get(c)) for c in columns] for row in rows)]:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        lines.append(buffer.getvalue()[:-2] + "\n")
    return "".join(lines)
