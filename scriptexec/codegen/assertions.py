"""The spec's assertions compiled to DuckDB queries (the runtime's assertions.py runs them).

`compile_assertions(model)` gives, for each assertion of a program model, the query and
what the runtime needs to run it and word its message: `{"sql": ..., "spec": {...}}`. A
query returns nothing when the assertion holds; else up to EXAMPLES offending rows in
input order, each with `"_count"` (how many rows offend in all), `"_label"` (`row 3`)
and `"_value"` (the offending value). `unique` returns one row per shared value instead,
with `"_rows"` (rows sharing it), `"_labels"` (the first EXAMPLES of them) and
`"_values"` (how many values are shared); `row_count` one row, `"_count"`.

An assertion whose fields are all input fields runs on table "source", right after the
inputs are read (before any formula); the others on "results", the computed rows.
`row_count` counts "source". Names are quoted and values written as SQL literals
(scriptexec.codegen.sql), never formatted into the SQL as they come.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from scriptexec.codegen.sql import WIDTH, literal, quote
from scriptexec.errors import BuildError

EXAMPLES = 5  # offending rows a message shows (the runtime's EXAMPLES)
INDENT = "  "


def compile_assertions(model: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each assertion of `model` as {"sql": its query, "spec": the runtime's description}."""
    inputs = _input_columns(model)
    types = _column_types(model)
    compiled = []
    for item in model.get("assertions") or []:
        kind = item["kind"]
        fields = _fields(item)
        on = "source" if kind == "row_count" or set(fields) <= inputs else "results"
        spec: dict[str, Any] = {"kind": kind, "on": on}
        if kind == "not_missing":
            spec["fields"] = fields
        elif fields:
            spec["field"] = fields[0]
        for key in ("min", "max"):
            if item.get(key) is not None:
                spec[key] = item[key]
        if item.get("severity", "error") != "error":
            spec["severity"] = item["severity"]
        if item.get("name"):
            spec["name"] = item["name"]
        sql = _COMPILERS[kind](item, quote(on), types)
        compiled.append({"sql": sql, "spec": spec})
    return compiled


def _fields(item: Mapping[str, Any]) -> list[str]:
    if item["kind"] == "not_missing":
        return list(item["fields"])
    return [item["field"]] if item.get("field") else []


def _input_columns(model: Mapping[str, Any]) -> set[str]:
    """The columns of "source": every input's fields and the repeat's number."""
    columns = {f["name"] for inp in model["inputs"] for f in inp["fields"]}
    columns |= {inp["repeat"]["as"] for inp in model["inputs"] if inp.get("repeat")}
    return columns


def _column_types(model: Mapping[str, Any]) -> dict[str, str]:
    types: dict[str, str] = {}
    for inp in model["inputs"]:
        for f in inp["fields"]:
            types.setdefault(f["name"], f["type"])
        if inp.get("repeat"):
            types[inp["repeat"]["as"]] = "integer"
    types.update({c["name"]: c["type"] for c in model.get("compute") or []})
    for step in model.get("steps") or []:
        types.update({p["name"]: p["type"] for p in step["produces"]})
    return types


# -- one compiler per kind -------------------------------------------------------------


def _unique(item: Mapping[str, Any], table: str, types: Mapping[str, str]) -> str:
    # Shared values are found by one aggregation, which is all a passing run pays; the
    # rows of the few values shown are read again only when some are.
    field = quote(item["field"])
    return "\n".join(
        [
            'WITH "duplicates" AS (',
            f'  SELECT {field} AS "_value", count(*) AS "_rows", min("_ord") AS "_first"',
            f"  FROM {table}",
            f"  WHERE {field} IS NOT NULL",
            "  GROUP BY 1",
            "  HAVING count(*) > 1",
            "),",
            '"shown" AS (',
            '  SELECT *, sum("_rows") OVER () AS "_count", count(*) OVER () AS "_values"',
            '  FROM "duplicates"',
            '  ORDER BY "_first"',
            f"  LIMIT {EXAMPLES}",
            "),",
            '"labels" AS (',
            f'  SELECT t.{field} AS "_value",',
            f'    arg_min(t."_label", t."_ord", {EXAMPLES}) AS "_labels"',
            f"  FROM {table} AS t",
            f'  WHERE t.{field} IN (SELECT "_value" FROM "shown")',
            f"  GROUP BY t.{field}",
            ")",
            'SELECT s."_count", s."_values", s."_value", s."_rows", l."_labels"',
            'FROM "shown" AS s',
            'JOIN "labels" AS l ON l."_value" = s."_value"',
            'ORDER BY s."_first"',
        ]
    )


def _not_missing(item: Mapping[str, Any], table: str, types: Mapping[str, str]) -> str:
    fields = item["fields"]
    missing = [f"{quote(f)} IS NULL" for f in fields]
    if len(fields) == 1:
        value = ['  NULL AS "_value"']
    else:  # which of them are missing, in the order the spec lists them
        cases = [f"CASE WHEN {quote(f)} IS NULL THEN {literal(f)} END" for f in fields]
        value = ["  concat_ws(", "    ', ',", *_lines(cases, "    ", ","), '  ) AS "_value"']
    where = _lines(missing, INDENT, " OR")
    return _offending(table, value, where)


def _accepted_values(item: Mapping[str, Any], table: str, types: Mapping[str, str]) -> str:
    field = quote(item["field"])
    ftype = types.get(item["field"], "string")
    values = [_value(v, ftype) for v in dict.fromkeys(item["values"])]
    where = [f"  {field} NOT IN (", *_lines(values, INDENT * 2, ","), "  )"]
    return _offending(table, [f'  {field} AS "_value"'], where)


def _range(item: Mapping[str, Any], table: str, types: Mapping[str, str]) -> str:
    field = quote(item["field"])
    ftype = types.get(item["field"], "number")
    outside = []
    if item.get("min") is not None:
        outside.append(f"{field} < {_value(item['min'], ftype)}")
    if item.get("max") is not None:
        outside.append(f"{field} > {_value(item['max'], ftype)}")
    return _offending(table, [f'  {field} AS "_value"'], _lines(outside, INDENT, " OR"))


def _row_count(item: Mapping[str, Any], table: str, types: Mapping[str, str]) -> str:
    outside = []
    if item.get("min") is not None:
        outside.append(f"count(*) < {_value(item['min'], 'integer')}")
    if item.get("max") is not None:
        outside.append(f"count(*) > {_value(item['max'], 'integer')}")
    having = _lines(outside, INDENT, " OR")
    return "\n".join(['SELECT count(*) AS "_count"', f"FROM {table}", "HAVING", *having])


_COMPILERS = {
    "unique": _unique,
    "not_missing": _not_missing,
    "accepted_values": _accepted_values,
    "range": _range,
    "row_count": _row_count,
}


def _offending(table: str, value: list[str], where: list[str]) -> str:
    """The first EXAMPLES rows `where` holds, in input order, with how many there are."""
    return "\n".join(
        [
            "SELECT",
            '  count(*) OVER () AS "_count",',
            '  "_label",',
            *value,
            f"FROM {table}",
            "WHERE",
            *where,
            'ORDER BY "_ord"',
            f"LIMIT {EXAMPLES}",
        ]
    )


def _value(value: Any, ftype: str) -> str:
    """A value of a field of type `ftype` as an SQL literal (the spec checks that it is
    one: semantics reported a value of another type)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise BuildError(f"cannot write the non-finite number {value!r} into an assertion")
        return repr(value)
    text = literal(str(value))
    if ftype == "date":
        return f"CAST({text} AS DATE)"
    if ftype == "datetime":
        return f"CAST({text} AS TIMESTAMP)"
    return text


def _lines(items: list[str], indent: str, joiner: str) -> list[str]:
    """`items` joined by `joiner`, as many to a line as fit in WIDTH; an item too long
    for a line (a long text constant: pieces joined by ||) is broken after its ||s."""
    lines: list[str] = []
    for n, item in enumerate(items):
        piece = item + (joiner if n < len(items) - 1 else "")
        if len(indent) + len(piece) > WIDTH:
            parts = piece.split(" || ")
            lines += [indent + p + " ||" for p in parts[:-1]] + [indent + parts[-1]]
        elif lines and len(lines[-1]) + 1 + len(piece) <= WIDTH and not _broken(lines[-1]):
            lines[-1] += " " + piece.lstrip()
        else:
            lines.append(indent + piece)
    return lines


def _broken(line: str) -> bool:
    return line.endswith(" ||")
