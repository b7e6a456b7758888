"""Running the compiled queries (scriptexec.codegen.sql) on hand-made input tables, and
the old Python path (the template's helpers, copied) as the oracle they are compared to."""

from __future__ import annotations

import ast
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import yaml

from scriptexec.codegen.model import program_model
from scriptexec.codegen.sql import SQL_TYPES, compile_queries, quote
from scriptexec.runtime import sqlmacros
from scriptexec.spec import formulas
from scriptexec.spec.model import load_spec


def spec_model(directory: Path, **sections: Any) -> dict[str, Any]:
    """The program model of a spec made of `sections` (inputs default to one csv input
    `data` with the given `fields`)."""
    fields = sections.pop("fields", None)
    doc: dict[str, Any] = {"version": 1, "name": "t"}
    if fields is not None:
        doc["inputs"] = {"data": {"format": "csv", "location": "data.csv", "fields": fields}}
    doc.update(sections)
    path = directory / "t.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return program_model(load_spec(path))


@dataclass
class Run:
    rows: list[dict[str, Any]]
    summary: dict[str, Any]
    groups: list[dict[str, Any]] | None
    queries: dict[str, Any]


def connect() -> duckdb.DuckDBPyConnection:
    db = duckdb.connect(":memory:")
    sqlmacros.install(db)
    return db


def create_inputs(
    db: duckdb.DuckDBPyConnection, model: dict[str, Any], data: dict[str, list[dict[str, Any]]]
) -> None:
    """Tables "input_<name>" as the readers make them: declared fields, _ord, _where."""
    for inp in model["inputs"]:
        fields = inp["fields"]
        columns = [f"{quote(f['name'])} {SQL_TYPES[f['type']]}" for f in fields]
        table = quote(f"input_{inp['name']}")
        db.execute(f"CREATE TABLE {table} ({', '.join(columns)}, _ord BIGINT, _where VARCHAR)")
        records = data.get(inp["name"], [])
        values = [
            (*(r.get(f["name"]) for f in fields), n, f"record {n}")
            for n, r in enumerate(records, 1)
        ]
        if values:
            marks = ", ".join("?" for _ in range(len(fields) + 2))
            db.executemany(f"INSERT INTO {table} VALUES ({marks})", values)


def fetch(db: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    cursor = db.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def run(
    model: dict[str, Any],
    data: dict[str, list[dict[str, Any]]] | list[dict[str, Any]],
    params: dict[str, Any] | None = None,
    db: duckdb.DuckDBPyConnection | None = None,
) -> Run:
    """source, rows, summary and groups, as the runtime runs them. `data` is the records
    of each input, or of the primary one. On a `db` given, in a transaction rolled back
    after (a connection costs more than the queries: hypothesis runs many)."""
    if isinstance(data, list):
        primary = next(i["name"] for i in model["inputs"] if i["primary"])
        data = {primary: data}
    values = {p["name"]: p["default"] for p in model["parameters"]}
    values.update(params or {})
    queries = compile_queries(model)

    def bind(query: dict[str, Any]) -> dict[str, Any]:
        return {name: values[name] for name in query["params"]}

    borrowed = db is not None
    if db is None:
        db = connect()
    else:
        db.execute("BEGIN TRANSACTION")
    try:
        create_inputs(db, model, data)
        db.execute(f"CREATE TABLE source AS {queries['source']['sql']}")
        rows = queries["rows"]
        db.execute(f"CREATE TABLE results AS {rows['sql']}", bind(rows))
        columns = ", ".join(quote(c) for c in [*model["columns"], "error", "_label"])
        result_rows = fetch(db, f"SELECT {columns} FROM results ORDER BY _ord", {})
        (summary,) = fetch(db, queries["summary"]["sql"], bind(queries["summary"]))
        groups = None
        if queries["groups"] is not None:
            groups = fetch(db, queries["groups"]["sql"], bind(queries["groups"]))
    finally:
        if borrowed:
            db.execute("ROLLBACK")
    return Run(result_rows, summary, groups, queries)


# -- the old path: the template's Python, evaluated here as the oracle -------------------
# (The product never evaluates formulas; a test may. These helpers are copied from
# templates/program/app.py.j2: _agg_*, _pow, _round, coerce, describe, compute_row,
# compute_summary, compute_groups, join and expand.)

LARGEST = sys.float_info.max
MAX_DIGITS = math.log10(LARGEST)
MAX_ROUND_DIGITS = 1000


class TooLarge(ArithmeticError):
    pass


class NotFinite(ArithmeticError):
    pass


def _agg_values(rows: list[dict[str, Any]], fn: Callable[[dict[str, Any]], Any]) -> list[Any]:
    values = []
    for row in rows:
        if row.get("error"):
            continue
        try:
            value = fn(row)
        except TypeError:
            value = None
        if value is not None:
            values.append(value)
    return values


def _agg_sum(rows: list[dict[str, Any]], fn: Callable[[dict[str, Any]], Any]) -> Any:
    return sum(_agg_values(rows, fn))


def _agg_mean(rows: list[dict[str, Any]], fn: Callable[[dict[str, Any]], Any]) -> Any:
    values = _agg_values(rows, fn)
    return sum(values) / len(values) if values else None


def _agg_min(rows: list[dict[str, Any]], fn: Callable[[dict[str, Any]], Any]) -> Any:
    values = _agg_values(rows, fn)
    return min(values) if values else None


def _agg_max(rows: list[dict[str, Any]], fn: Callable[[dict[str, Any]], Any]) -> Any:
    values = _agg_values(rows, fn)
    return max(values) if values else None


def _agg_count(rows: list[dict[str, Any]], fn: Callable[[dict[str, Any]], Any]) -> int:
    return sum(1 for value in _agg_values(rows, fn) if value)


def _pow(base: Any, exponent: Any) -> Any:
    if base < 0 and isinstance(exponent, float) and not exponent.is_integer():
        # (the old message began with the numbers: "(-8.0) ** 0.5: ...")
        raise ValueError("a negative number to a fractional power is not a real number")
    size = abs(base)
    if size not in (0, 1):
        scale = math.log10(size)
        limit = (MAX_DIGITS + 1) / scale
        if exponent > limit if scale > 0 else exponent < limit:
            raise TooLarge(f"{base} ** {exponent}")
    result = base**exponent
    if isinstance(result, int) and abs(result) > LARGEST:
        raise TooLarge(f"{result}")
    return result


def _round(value: Any, ndigits: Any) -> Any:
    if isinstance(ndigits, int) and abs(ndigits) > MAX_ROUND_DIGITS:
        raise TooLarge(f"round() to {ndigits} digits")
    return round(value, ndigits)


def coerce(value: Any, ftype: str) -> Any:
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


def describe(exc: Exception, name: str) -> str:
    if isinstance(exc, ZeroDivisionError):
        return f"division by zero in {name}"
    if isinstance(exc, TypeError) and "NoneType" in str(exc):
        return f"missing value in {name}"
    if isinstance(exc, TooLarge):
        return f"number too large in {name}"  # (the old message went on with numbers)
    if isinstance(exc, (OverflowError, NotFinite)):
        return f"number too large in {name}"
    if isinstance(exc, ValueError):
        return f"invalid value in {name}: {exc}"
    return f"{type(exc).__name__} in {name}: {exc}"


NAMESPACE: dict[str, Any] = {
    "math": math,
    "_pow": _pow,
    "_round": _round,
    "_agg_sum": _agg_sum,
    "_agg_mean": _agg_mean,
    "_agg_min": _agg_min,
    "_agg_max": _agg_max,
    "_agg_count": _agg_count,
}


def _tree(text: str) -> ast.expr:
    tree, issues = formulas.parse(text)
    assert tree is not None, issues
    return tree


def _old_function(tree: ast.expr, scope: Any, row_scope: Any = None) -> Callable[..., Any]:
    source = formulas.to_python(tree, scope, row_scope)
    code = compile(source, "<formula>", "eval")
    namespace = dict(NAMESPACE)
    return lambda **names: eval(code, namespace, names)  # the oracle: a test may


def _old_scopes(model: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    fields: dict[str, Any] = {}
    for inp in model["inputs"]:
        for f in inp["fields"]:
            fields.setdefault(f["name"], formulas.Symbol("field", f["type"]))
        if inp["repeat"]:
            fields[inp["repeat"]["as"]] = formulas.Symbol("field", "integer")
    for item in model["compute"]:
        fields[item["name"]] = formulas.Symbol("field", item["type"])
    for step in model["steps"]:
        for f in step["produces"]:
            fields[f["name"]] = formulas.Symbol("field", f["type"])
    params = {p["name"]: formulas.Symbol("param", p["type"]) for p in model["parameters"]}
    return {**fields, **params}, params


def _old_rows(
    model: dict[str, Any], data: dict[str, list[dict[str, Any]]]
) -> list[tuple[str, dict[str, Any]]]:
    """load_rows: the primary's records, lookups merged (join), repeats expanded."""
    primary = next(i for i in model["inputs"] if i["primary"])
    names = [f["name"] for f in primary["fields"]]
    rows: list[tuple[str, dict[str, Any]]] = [
        (f"row {n}", {k: r.get(k) for k in names}) for n, r in enumerate(data[primary["name"]], 1)
    ]
    for inp in model["inputs"]:
        if inp["primary"]:
            continue
        key = inp["join_on"]
        fields = [f["name"] for f in inp["fields"]]
        index = {r.get(key): {k: r.get(k) for k in fields} for r in data.get(inp["name"], [])}
        blank = dict.fromkeys(fields)
        merged = []
        for label, row in rows:
            combined = dict(row)
            for fname, value in index.get(row.get(key), blank).items():
                combined.setdefault(fname, value)
            merged.append((label, combined))
        rows = merged
    repeat = primary["repeat"]
    if repeat:
        rows = [
            (f"{label}, {repeat['as']} {number}", {**row, repeat["as"]: number})
            for label, row in rows
            for number in range(1, row[repeat["count"]] + 1)
        ]
    return rows


@dataclass
class OldResult:
    rows: list[dict[str, Any]]
    summary: dict[str, Any]
    summary_errors: dict[str, str]
    groups: list[dict[str, Any]] | None


def old_evaluate(
    model: dict[str, Any],
    data: dict[str, list[dict[str, Any]]],
    params: dict[str, Any] | None = None,
) -> OldResult:
    """The old program's evaluate(): compute_row per row (stopping at the first error),
    compute_summary over the rows without one, compute_groups."""
    values = {p["name"]: p["default"] for p in model["parameters"]}
    values.update(params or {})
    row_scope, param_scope = _old_scopes(model)
    compute = [
        (i["name"], i["type"], _old_function(_tree(i["formula"]), row_scope))
        for i in model["compute"]
    ]
    rows = []
    for _label, source in _old_rows(model, data):
        row = dict(source)
        for c in model["columns"]:
            row.setdefault(c, None)
        row["error"] = None
        for name, ftype, function in compute:
            try:
                row[name] = coerce(function(row=row, params=values), ftype)
            except (ArithmeticError, TypeError, ValueError) as exc:
                row["error"] = describe(exc, name)
                break
        rows.append(row)
    valid = [r for r in rows if not r["error"]]

    def summarize(
        items: list[dict[str, Any]], counted: list[dict[str, Any]]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        scope = dict(param_scope)
        scope.update({i["name"]: formulas.Symbol("summary", i["type"]) for i in items})
        found: dict[str, Any] = {}
        problems: dict[str, str] = {}
        for item in items:
            function = _old_function(_tree(item["formula"]), scope, row_scope)
            try:
                found[item["name"]] = coerce(
                    function(rows=counted, params=values, summary=found), item["type"]
                )
            except (ArithmeticError, TypeError, ValueError) as exc:
                found[item["name"]] = None
                problems[item["name"]] = describe(exc, item["name"])
        return found, problems

    summary, problems = summarize(model["summary"], valid)
    groups = None
    if model.get("groups"):
        by = model["groups"]["by"]
        buckets: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        for row in rows:
            buckets.setdefault(tuple(row.get(f) for f in by), []).append(row)
        groups = []
        order = sorted(buckets, key=lambda k: tuple((v is None, "" if v is None else v) for v in k))
        for key in order:
            found, errs = summarize(
                model["groups"]["summary"], [r for r in buckets[key] if not r["error"]]
            )
            groups.append({**dict(zip(by, key, strict=True)), **found, "errors": errs})
    return OldResult(rows, summary, problems, groups)
