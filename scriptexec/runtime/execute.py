"""Running a program: inputs into DuckDB, then the compiled queries with the parameters.

`load` reads the inputs once (a batch run, or the server at start); `evaluate` computes
the rows, the summary and the groups for one set of parameters. Each evaluation writes
its tables as TEMP tables of the connection it is given, so that the web server can run
one evaluation per request, each on its own cursor, at the same time.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import duckdb

from . import deadline, sqlmacros
from .assertions import check_assertions
from .errors import ProgramError
from .logs import log
from .program import Input, Program
from .settings import setting
from .values import show

STEP_BATCH = 10_000  # rows fetched at a time for the prose steps' pass
MAX_REPEAT = 100_000  # copies of one row made by a repeat


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass
class Result:
    """One evaluation: the rows stay in the database (table "results"), the rest is small."""

    program: Program
    db: duckdb.DuckDBPyConnection
    parameters: dict[str, Any]
    row_count: int
    summary: dict[str, Any]
    summary_errors: list[str]
    groups: list[dict[str, Any]]
    errors: list[dict[str, Any]] = field(default_factory=list)
    # summary value -> rows its aggregates skipped for a missing value (when any did)
    left_out: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # e.g. divisions by zero left missing

    @property
    def error_count(self) -> int:
        return len(self.errors)

    @property
    def columns(self) -> list[str]:
        return self.program.result_columns

    def rows(self, offset: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        """The result rows in order, a page of them when `limit` is given."""
        columns = self.columns
        sql = f"SELECT {', '.join(map(quote, columns))} FROM results ORDER BY _ord"
        if limit is not None:
            sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
        elif offset:
            sql += f" OFFSET {int(offset)}"
        return [
            dict(zip(columns, values, strict=True)) for values in self.db.execute(sql).fetchall()
        ]

    def document(self, rows: bool = True) -> dict[str, Any]:
        """Everything as one JSON-able document (what `run --json` prints)."""
        doc: dict[str, Any] = {
            "name": self.program.name,
            "title": self.program.title,
            "parameters": self.parameters,
            "columns": self.columns,
            "row_count": self.row_count,
            "summary": self.summary,
            "summary_errors": self.summary_errors,
            "groups": self.groups,
            "errors": self.errors,
            "error_count": self.error_count,
            "left_out": self.left_out,
            "warnings": self.warnings,
        }
        if rows:
            doc["rows"] = self.rows()
        return doc


# -- the database ----------------------------------------------------------------------


def open_database() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB, limited by DUCKDB_MEMORY_LIMIT / DUCKDB_THREADS when set
    (DuckDB reads the container's memory limit itself otherwise)."""
    # Spilling goes to the temporary directory (a container's root is read-only, and
    # DuckDB would otherwise use .tmp in the working directory).
    config: dict[str, Any] = {"temp_directory": os.path.join(tempfile.gettempdir(), "duckdb")}
    memory = setting("DUCKDB_MEMORY_LIMIT", "")
    if memory:
        config["memory_limit"] = memory
    threads = setting("DUCKDB_THREADS", "")
    if threads:
        config["threads"] = threads
    try:
        db = duckdb.connect(":memory:", config=config)
    except duckdb.Error as exc:
        raise ProgramError(f"cannot start DuckDB: {exc}") from None
    sqlmacros.install(db)
    return db


def load(program: Program) -> duckdb.DuckDBPyConnection:
    """The program's inputs read and checked, joined and expanded: table "source"."""
    from .readers import load_inputs

    db = open_database()
    deadline.phase("reading the inputs")
    load_inputs(db, program)
    for inp in program.inputs:
        if inp.join_on:
            _check_lookup(db, program.primary, inp)
    if program.primary.repeat:
        _check_repeat(db, program.primary)
    deadline.phase("joining and expanding the inputs")
    # A view: each evaluation reads the inputs through it once, so a table would only
    # cost a copy of every row in memory (and the time to make it).
    db.execute(f"CREATE VIEW source AS {program.queries.source.sql}")
    count = _scalar(db, "SELECT count(*) FROM source")
    log.info("loaded %d rows", count, extra={"data": {"rows": count}})
    check_assertions(db, program, "source")  # before any formula: bad data stops here
    return db


def _scalar(db: duckdb.DuckDBPyConnection, sql: str) -> Any:
    row = db.execute(sql).fetchone()
    return row[0] if row else None


def _check_lookup(db: duckdb.DuckDBPyConnection, primary: Input, inp: Input) -> None:
    """A lookup's key must not repeat (which record would a row get?); rows that find no
    record are worth a warning."""
    key, table = quote(inp.join_on or ""), quote(f"input_{inp.name}")
    repeat = db.execute(
        f"SELECT k, _where, first_where FROM (SELECT {key} AS k, _where, _ord,"
        f" first_value(_where) OVER (PARTITION BY {key} ORDER BY _ord) AS first_where,"
        f" row_number() OVER (PARTITION BY {key} ORDER BY _ord) AS n FROM {table})"
        " WHERE n = 2 ORDER BY _ord LIMIT 1"
    ).fetchone()
    if repeat is not None:
        value, where, first = repeat
        raise ProgramError(
            f"input {inp.name}, {where}: {inp.join_on} {show(value)} repeats {first}"
        )
    if inp.join_on not in {f.name for f in primary.fields}:
        return  # the key comes from another lookup: counted nowhere cheaper
    unmatched = _scalar(
        db,
        f"SELECT count(*) FROM {quote(f'input_{primary.name}')} p WHERE NOT EXISTS"
        f" (SELECT 1 FROM {table} l WHERE l.{key} IS NOT DISTINCT FROM p.{key})",
    )
    if unmatched:
        log.warning("%d row(s) have no match in input %s (on %s)", unmatched, inp.name, inp.join_on)


def _check_repeat(db: duckdb.DuckDBPyConnection, primary: Input) -> None:
    count_field = (primary.repeat or {})["count"]
    if count_field not in {f.name for f in primary.fields}:
        return
    bad = db.execute(
        f"SELECT _ord, {quote(count_field)} FROM {quote(f'input_{primary.name}')}"
        f" WHERE {quote(count_field)} IS NULL OR {quote(count_field)} < 0"
        f" OR {quote(count_field)} > {MAX_REPEAT} ORDER BY _ord LIMIT 1"
    ).fetchone()
    if bad is not None:
        number, count = bad
        where = f"row {number}, field {count_field}"
        if count is not None and count > MAX_REPEAT:
            raise ProgramError(f"{where}: {count} is over {MAX_REPEAT}")
        raise ProgramError(f"{where}: expected a count >= 0, got {show(count)}")


# -- evaluation ------------------------------------------------------------------------


def evaluate(db: duckdb.DuckDBPyConnection, program: Program, params: Mapping[str, Any]) -> Result:
    """Compute every row, the summary and the groups for one set of parameters, in TEMP
    tables of `db` (give each concurrent evaluation its own cursor)."""
    queries = program.queries
    deadline.phase("computing the rows (compute)")
    db.execute(
        # In row order, once: the outputs and pages then read the table in its order.
        f"CREATE OR REPLACE TEMP TABLE results AS SELECT * FROM ({queries.rows.sql}) ORDER BY _ord",
        queries.rows.bind(params),
    )
    if program.steps:
        deadline.phase("running the prose steps")
        _run_steps(db, program, params)
    errors = _error_rows(db, program)
    check_assertions(db, program, "results")
    warnings = _row_warnings(db)
    deadline.phase("computing the summary")
    summary, summary_errors, left_out, summary_warnings = _summary(db, program, params)
    if summary_errors and program.on_error == "fail":
        raise ProgramError(f"summary: {'; '.join(summary_errors)}")
    deadline.phase("computing the groups (groups.summary)")
    groups = _groups(db, program, params)
    return Result(
        program=program,
        db=db,
        parameters=dict(params),
        row_count=_scalar(db, "SELECT count(*) FROM results"),
        summary=summary,
        summary_errors=summary_errors,
        groups=groups,
        errors=errors,
        left_out=left_out,
        warnings=warnings + summary_warnings,
    )


def _row_warnings(db: duckdb.DuckDBPyConnection) -> list[str]:
    """What the rows' formulas left missing on the spec's say (a division by zero under
    `rules.division_by_zero: missing`), one line per kind, counted."""
    columns = [d[0] for d in db.execute("SELECT * FROM results LIMIT 0").description]
    if "_warning" not in columns:
        return []
    found = db.execute(
        'SELECT "_warning", count(*) FROM results WHERE "_warning" IS NOT NULL'
        ' GROUP BY "_warning" ORDER BY min(_ord)'
    ).fetchall()
    return [f"{count} row{'s' if count != 1 else ''}: {warning}" for warning, count in found]


def _error_rows(db: duckdb.DuckDBPyConnection, program: Program) -> list[dict[str, Any]]:
    """The rows in error, as the run reports them; `fail` stops at the first, `skip`
    leaves them out of the results (and so out of everything after)."""
    first = quote(program.columns[0])
    found = db.execute(
        f'SELECT _label, {first}, "error" FROM results WHERE "error" IS NOT NULL ORDER BY _ord'
    ).fetchall()
    skipped = program.on_error == "skip"
    errors = []
    for label, ident_value, problem in found:
        ident = f"{label} ({program.columns[0]}={ident_value})"
        if program.on_error == "fail":
            raise ProgramError(f"{ident}: {problem}")
        if skipped:
            log.warning("skipped %s: %s", ident, problem)
        errors.append({"row": ident, "error": problem, "skipped": skipped})
    if skipped and errors:
        db.execute('DELETE FROM results WHERE "error" IS NOT NULL')
    return errors


def _summary(
    db: duckdb.DuckDBPyConnection, program: Program, params: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str], dict[str, int], list[str]]:
    """The summary values, their errors, the rows each left out for a missing value,
    and the divisions by zero it left missing."""
    query = program.queries.summary
    cursor = db.execute(query.sql, query.bind(params))
    names = [d[0] for d in cursor.description]
    values = dict(zip(names, cursor.fetchone() or [None] * len(names), strict=True))
    summary: dict[str, Any] = {}
    problems: list[str] = []
    left_out: dict[str, int] = {}
    warnings: list[str] = []
    for item in program.summary:
        problem = values.get(f"_e_{item.name}")
        summary[item.name] = None if problem else _typed(values.get(item.name), item.type)
        if problem:
            problems.append(problem)
        if values.get(f"_n_{item.name}"):
            left_out[item.name] = values[f"_n_{item.name}"]
        if values.get(f"_w_{item.name}"):
            warnings.append(f"summary: {values[f'_w_{item.name}']}")
    return summary, problems, left_out, warnings


def _groups(
    db: duckdb.DuckDBPyConnection, program: Program, params: Mapping[str, Any]
) -> list[dict[str, Any]]:
    query = program.queries.groups
    if query is None or not program.group_by:
        return []
    cursor = db.execute(query.sql, query.bind(params))
    names = [d[0] for d in cursor.description]
    groups = []
    for values in cursor.fetchall():
        found = dict(zip(names, values, strict=True))
        problems = [found[f"_e_{g.name}"] for g in program.group_summary if found[f"_e_{g.name}"]]
        key = tuple(found[b] for b in program.group_by)
        if problems and program.on_error == "fail":
            raise ProgramError(f"group {show(key)}: {'; '.join(problems)}")
        group = {b: found[b] for b in program.group_by}
        for item in program.group_summary:
            problem = found[f"_e_{item.name}"]
            group[item.name] = None if problem else _typed(found[item.name], item.type)
        group["error"] = "; ".join(problems) or None
        groups.append(group)
    return groups


def _typed(value: Any, ftype: str) -> Any:
    """A value from DuckDB as the program's outputs show its type."""
    if value is None:
        return None
    if ftype == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    if ftype == "number" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


# -- prose steps: Python functions, run over the query's result ------------------------
# A step is arbitrary Python of the whole row that may produce several fields, so it
# runs here, batch by batch over the rows the formulas left without an error, rather
# than as a DuckDB function (which would be called row by row all the same, and could
# return one value only). Their outputs go back into "results" by row number.


class NotFinite(ArithmeticError):
    """A step's number that is infinite or not a number."""


def _run_steps(db: duckdb.DuckDBPyConnection, program: Program, params: Mapping[str, Any]) -> None:
    produced_types = {f: t for step in program.steps for f, t in step.produces.items()}
    produced = list(produced_types)
    outputs: list[tuple[Any, ...]] = []
    for rows in _batches(db, program):
        for ord_, row in rows:
            problem = _apply_steps(program, row, params)
            outputs.append((ord_, *(row.get(f) for f in produced), problem))
    columns = ["_ord", *produced, "_step_error"]
    types = ["BIGINT", *(_sql_type(produced_types[f]) for f in produced)]
    db.execute(
        "CREATE OR REPLACE TEMP TABLE step_results ("
        + ", ".join(f"{quote(c)} {t}" for c, t in zip(columns, [*types, "VARCHAR"], strict=True))
        + ")"
    )
    if outputs:
        marks = ", ".join("?" for _ in columns)
        db.executemany(f"INSERT INTO step_results VALUES ({marks})", outputs)
    replaced = ", ".join(f"s.{quote(f)} AS {quote(f)}" for f in produced)
    db.execute(
        f"CREATE OR REPLACE TEMP TABLE results AS SELECT r.* REPLACE ({replaced},"
        ' coalesce(r."error", s._step_error) AS "error")'
        " FROM results r LEFT JOIN step_results s USING (_ord) ORDER BY r._ord"
    )
    db.execute("DROP TABLE step_results")


def _batches(
    db: duckdb.DuckDBPyConnection, program: Program
) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    columns = list(program.columns)
    cursor = db.execute(
        f"SELECT _ord, {', '.join(map(quote, columns))} FROM results"
        ' WHERE "error" IS NULL ORDER BY _ord'
    )
    while batch := cursor.fetchmany(STEP_BATCH):
        yield [(values[0], dict(zip(columns, values[1:], strict=True))) for values in batch]


def _apply_steps(program: Program, row: dict[str, Any], params: Mapping[str, Any]) -> str | None:
    """Run the steps on one row (in order: a step sees the fields earlier ones made);
    what failed, or None. A failed step leaves its fields and the later steps' empty."""
    for step in program.steps:
        try:
            produced = step.function(dict(row), dict(params))
            if not isinstance(produced, dict):
                raise TypeError(f"returned {type(produced).__name__}, not a dict")
            values = {f: _step_value(produced.get(f), t) for f, t in step.produces.items()}
        except Exception as exc:  # step code may raise anything: reported like a
            # formula, its traceback logged (DEBUG: one per row) for whoever debugs it
            log.debug("step %s failed", step.name, exc_info=exc)
            return describe(exc, f"step {step.name}")
        row.update(values)
    return None


def _step_value(value: Any, ftype: str) -> Any:
    if value is None:
        return None
    if ftype == "boolean":
        return bool(value)
    if ftype == "string":
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise NotFinite("result is not a finite number")
    if ftype == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    if ftype == "number" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def describe(exc: Exception, field: str) -> str:
    """What went wrong computing `field`, in words an analyst can act on."""
    if isinstance(exc, ZeroDivisionError):
        return f"division by zero in {field}"
    if isinstance(exc, TypeError) and "NoneType" in str(exc):
        return f"missing value in {field}"
    if isinstance(exc, OverflowError | NotFinite):
        return f"number too large in {field}"
    if isinstance(exc, ValueError):
        return f"invalid value in {field}: {exc}"
    return f"{type(exc).__name__} in {field}: {exc}"


def _sql_type(ftype: str) -> str:
    return {"number": "DOUBLE", "integer": "BIGINT", "boolean": "BOOLEAN"}.get(ftype, "VARCHAR")
