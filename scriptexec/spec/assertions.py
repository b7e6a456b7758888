"""The spec's `assertions`: checks of the data each run makes (like dbt's tests).

`check_assertions` reports what the schema cannot see: fields that do not exist, values
and bounds of the wrong type, bounds the wrong way round, accepted lists too long to
compile. `canonical_assertions` gives their meaning as plain dicts, for the canonical form
and the program model. The schema has checked the shapes; both read defensively all the
same, so a spec with a schema error still gets the rest of its problems reported.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Mapping
from typing import Any

from scriptexec.spec.suggest import did_you_mean
from scriptexec.spec.yamlload import Path_

KINDS = ("unique", "not_missing", "accepted_values", "range", "row_count")
# Each value is a literal of the compiled SQL and of app.py: a longer list belongs in data.
MAX_ACCEPTED = 1000
NUMERIC = ("number", "integer")
TEMPORAL = ("date", "datetime")

Report = Callable[..., None]  # _Analyzer.problem(path, message, hint="", *, value=False)


def kind_of(item: Mapping[str, Any]) -> str | None:
    """The assertion's kind: its first key that names one."""
    return next((k for k in KINDS if k in item), None)


def check_assertions(items: list[Any], field_types: Mapping[str, str], problem: Report) -> None:
    """Report every problem of `items` (the spec's `assertions` list) through `problem`;
    `field_types` are the row fields (input, computed, step outputs) with their types."""
    for i, item in enumerate(items):
        if isinstance(item, dict) and (kind := kind_of(item)) is not None:
            _Check(("assertions", i, kind), field_types, problem).run(kind, item[kind])


class _Check:
    def __init__(self, base: Path_, field_types: Mapping[str, str], problem: Report) -> None:
        self.base, self.types, self.problem = base, field_types, problem

    def run(self, kind: str, body: Any) -> None:
        if kind == "unique":
            self.field(self.base, body)
        elif kind == "not_missing":
            names = [body] if isinstance(body, str) else body if isinstance(body, list) else []
            for j, name in enumerate(names):
                self.field(self.base if isinstance(body, str) else (*self.base, j), name)
        elif isinstance(body, dict) and kind == "accepted_values":
            self.accepted(body)
        elif isinstance(body, dict) and kind == "range":
            self.range(body)
        elif isinstance(body, dict) and kind == "row_count":
            self.bounds(body, "integer")

    def field(self, path: Path_, name: Any) -> str | None:
        """The type of the field `name` (None when it is not one, which is reported)."""
        if not isinstance(name, str):
            return None
        if name not in self.types:
            self.problem(
                path, f"unknown row field '{name}'", did_you_mean(name, self.types), value=True
            )
            return None
        return self.types[name]

    def accepted(self, body: dict[str, Any]) -> None:
        ftype = self.field((*self.base, "field"), body.get("field"))
        values = body.get("values")
        if not isinstance(values, list):
            return
        path: Path_ = (*self.base, "values")
        if len(values) > MAX_ACCEPTED:
            self.problem(
                path,
                f"{len(values):,} accepted values, more than {MAX_ACCEPTED:,}",
                "put them in a lookup input (join_on the field) and assert not_missing on"
                " one of its fields",
                value=True,
            )
            return
        if ftype is None:
            return
        for j, value in enumerate(values):
            wrong = _not_of_type(value, ftype)
            if wrong:
                self.problem(
                    (*path, j), f"'{body['field']}' is {_a(ftype)} field; {wrong}", value=True
                )

    def range(self, body: dict[str, Any]) -> None:
        name = body.get("field")
        ftype = self.field((*self.base, "field"), name)
        if ftype is not None and ftype not in (*NUMERIC, *TEMPORAL, "unknown"):
            self.problem(
                (*self.base, "field"),
                f"'{name}' is {_a(ftype)} field; range compares numbers, dates and datetimes",
                "for a text field, use accepted_values",
                value=True,
            )
            return
        self.bounds(body, ftype)

    def bounds(self, body: dict[str, Any], ftype: str | None) -> None:
        """min and max: at least one, each of the field's type, min <= max."""
        if set(body) - {"field", "min", "max"}:
            return  # a misspelt key, which the schema reports: perhaps the bound meant
        if "min" not in body and "max" not in body:
            self.problem(self.base, f"{self.base[-1]} needs min, max or both")
            return
        ok = {}
        for key in ("min", "max"):
            if key in body and ftype not in (None, "unknown"):
                wrong = _not_of_type(body[key], "number" if ftype == "integer" else ftype)
                if wrong:
                    self.problem((*self.base, key), wrong, value=True)
                    continue
            ok[key] = _order_key(body.get(key))
        lo, hi = ok.get("min"), ok.get("max")
        if lo is not None and hi is not None and type(lo) is type(hi) and lo > hi:
            self.problem(
                (*self.base, "min"),
                f"min {_shown(body['min'])} is above max {_shown(body['max'])}",
                value=True,
            )


def _a(ftype: str) -> str:
    return f"an {ftype}" if ftype[0] in "aeiou" else f"a {ftype}"


def _not_of_type(value: Any, ftype: str) -> str:
    """What is wrong with `value` as a value of a `ftype` field ("" when nothing is)."""
    shown = _shown(value)
    if ftype == "string":
        return "" if isinstance(value, str) else f"{shown} is not text (quote it)"
    if ftype == "boolean":
        return "" if isinstance(value, bool) else f"{shown} is not true or false"
    if ftype in NUMERIC:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"{shown} is not a number"
        if isinstance(value, float) and not math.isfinite(value):
            return f"{shown} is not a finite number"
        if ftype == "integer" and isinstance(value, float) and not value.is_integer():
            return f"{shown} is not a whole number"
        return ""
    if ftype in TEMPORAL:
        example = "2024-03-31" if ftype == "date" else "2024-03-31T12:00:00"
        if not isinstance(value, str) or _temporal(value, ftype) is None:
            return f"{shown} is not {_a(ftype)} written as {example}"
    return ""


def _temporal(text: str, ftype: str) -> datetime.date | None:
    try:
        if ftype == "date":
            return datetime.date.fromisoformat(text)
        return datetime.datetime.fromisoformat(text)
    except ValueError:
        return None


def _order_key(value: Any) -> Any:
    """A bound as it compares: numbers as floats, ISO dates and datetimes as datetimes."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        parsed = _temporal(value, "datetime")
        return parsed if parsed is not None else None
    return None


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# -- canonical form --------------------------------------------------------------------


def canonical_assertions(items: Any) -> list[dict[str, Any]]:
    """Each assertion as a plain dict: `kind`, its field(s) and bounds or values, and its
    `severity` and `name` (None when not given)."""
    out = []
    for item in items if isinstance(items, list) else []:
        kind = kind_of(item) if isinstance(item, dict) else None
        if kind is None:
            continue
        body = item[kind]
        entry: dict[str, Any] = {"kind": kind}
        if kind == "unique":
            entry["field"] = body
        elif kind == "not_missing":
            entry["fields"] = [body] if isinstance(body, str) else list(body)
        elif kind == "accepted_values":
            entry.update(field=body["field"], values=list(body["values"]))
        elif kind == "range":
            entry.update(field=body["field"], min=body.get("min"), max=body.get("max"))
        else:
            entry.update(min=body.get("min"), max=body.get("max"))
        name = " ".join(str(item.get("name") or "").split())
        entry.update(severity=item.get("severity", "error"), name=name or None)
        out.append(entry)
    return out
