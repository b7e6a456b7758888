"""The program a generated app.py describes: typed, built once from its plain data.

app.py writes its spec's decisions as JSON-like literals (easy to read and to diff);
`Program.from_dict` turns them into these frozen dataclasses, so that the rest of the
runtime reads attributes that mypy checks rather than string keys.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import ProgramError

StepFunction = Callable[[dict[str, Any], dict[str, Any]], Any]


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # number | integer | boolean | string | date | datetime
    required: bool = True
    format: str | None = None  # a date's or datetime's strptime format (None: ISO 8601)
    path: tuple[str, ...] | None = None  # JSON: the keys leading to the value (None: name)


@dataclass(frozen=True)
class Input:
    name: str
    format: str  # csv | json | sqlite | postgres | http
    fields: tuple[Field, ...]
    location: str | None = None
    env_var: str = ""
    fixture_env: str = ""
    auth_env: str | None = None
    table: str | None = None
    query: str | None = None
    sql: str | None = None  # the SELECT a sqlite or postgres input runs
    records: str | None = None
    encoding: str = "utf-8"
    primary: bool = False
    join_on: str | None = None
    repeat: Mapping[str, str] | None = None  # {"count": field, "as": field}
    upstream: str | None = None  # the spec whose results this reads (`from`)


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    default: Any
    min: float | str | None = None  # a date parameter's bounds are ISO dates
    max: float | str | None = None
    step: float | None = None
    unit: str | None = None
    label: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Value:
    """A summary or group value: its formula is in the compiled SQL."""

    name: str
    type: str


@dataclass(frozen=True)
class Step:
    name: str
    function: StepFunction
    produces: Mapping[str, str]  # field: type


@dataclass(frozen=True)
class Query:
    sql: str
    params: tuple[str, ...] = ()

    def bind(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters this query names, and only those (DuckDB refuses extras)."""
        return {name: values[name] for name in self.params}


@dataclass(frozen=True)
class Queries:
    source: Query
    rows: Query
    summary: Query
    groups: Query | None = None


@dataclass(frozen=True)
class Assertion:
    """A check of the data (see assertions.py): its query returns the offending rows."""

    kind: str  # unique | not_missing | accepted_values | range | row_count
    sql: str
    on: str  # the table it reads: "source" (the inputs as read) or "results"
    fields: tuple[str, ...] = ()
    min: Any = None  # range and row_count: the bounds, as the spec writes them
    max: Any = None
    severity: str = "error"  # error | warn
    name: str | None = None


@dataclass(frozen=True)
class Program:
    name: str
    title: str
    inputs: tuple[Input, ...]
    columns: tuple[str, ...]  # the result columns in order, "error" excluded
    queries: Queries
    description: str = ""
    parameters: tuple[Parameter, ...] = ()
    summary: tuple[Value, ...] = ()
    group_by: tuple[str, ...] = ()
    group_summary: tuple[Value, ...] = ()
    steps: tuple[Step, ...] = ()
    assertions: tuple[Assertion, ...] = ()
    outputs: tuple[str, ...] = ("results.csv", "summary.json")
    on_error: str = "report"  # report | skip | fail
    error_rows: str = "exclude"  # exclude | include: rows in error in the aggregates
    web: Mapping[str, Any] | None = None  # {"port": int, "charts": [...]}
    # The dashboard's and report's judgements (see scriptexec/codegen/thresholds.py):
    # {"thresholds": {column: parameter}, "related": {figure: column}, "flags": {...}}
    judged: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @property
    def primary(self) -> Input:
        return next(i for i in self.inputs if i.primary)

    @property
    def result_columns(self) -> list[str]:
        return [*self.columns, "error"]

    @property
    def error_rows_left_out(self) -> bool:
        """Whether the rows in error are left out of the summary (reported, not removed,
        and not counted by the spec's choice)."""
        return self.on_error == "report" and self.error_rows == "exclude"

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], functions: Mapping[str, StepFunction] | None = None
    ) -> Program:
        """The program from app.py's literals; `functions` are the prose steps' code."""
        functions = functions or {}
        try:
            steps = tuple(
                Step(s["name"], functions[s["function"]], dict(s["produces"]))
                for s in data.get("steps", ())
            )
        except KeyError as exc:
            raise ProgramError(f"app.py names step function {exc} that steps.py lacks") from None
        queries = data["queries"]
        groups = data.get("groups") or {}
        return cls(
            name=data["name"],
            title=data.get("title") or data["name"],
            description=data.get("description") or "",
            inputs=tuple(_input(i) for i in data["inputs"]),
            parameters=tuple(Parameter(**p) for p in data.get("parameters", ())),
            columns=tuple(data["columns"]),
            summary=_values(data.get("summary", {})),
            group_by=tuple(groups.get("by", ())),
            group_summary=_values(groups.get("summary", {})),
            steps=steps,
            assertions=tuple(_assertion(a) for a in data.get("assertions", ())),
            outputs=tuple(data.get("outputs", cls.outputs)),
            on_error=data.get("on_error", "report"),
            error_rows=data.get("error_rows", "exclude"),
            web=data.get("web"),
            judged=data.get("judged", {}),
            queries=Queries(
                source=_query(queries["source"]),
                rows=_query(queries["rows"]),
                summary=_query(queries["summary"]),
                groups=_query(queries["groups"]) if queries.get("groups") else None,
            ),
        )


def _input(data: Mapping[str, Any]) -> Input:
    """An input; its fields are {name: type}, `type?` for an optional one, or {name:
    {"type": type, "format": ..., "path": "a.b"}} for one with a format or a JSON path;
    its settings default to NAME_LOCATION and NAME_FIXTURE."""
    values = dict(data)
    upper = values["name"].upper()
    values.setdefault("env_var", f"{upper}_LOCATION")
    values.setdefault("fixture_env", f"{upper}_FIXTURE")
    values["fields"] = tuple(_field(name, decl) for name, decl in values["fields"].items())
    return Input(**values)


def _field(name: str, decl: str | Mapping[str, str]) -> Field:
    ftype = decl if isinstance(decl, str) else decl["type"]
    options = {} if isinstance(decl, str) else decl
    path = options.get("path")
    return Field(
        name,
        ftype.rstrip("?"),
        not ftype.endswith("?"),
        format=options.get("format"),
        path=tuple(path.split(".")) if path else None,
    )


def _values(types: Mapping[str, str]) -> tuple[Value, ...]:
    return tuple(Value(name, vtype) for name, vtype in types.items())


def _assertion(data: Sequence[Any]) -> Assertion:
    """An assertion from app.py's [SQL, {kind, on, field or fields, min, max, ...}]."""
    sql, spec = data
    values = dict(spec)
    fields = values.pop("fields", None) or [values.pop(k) for k in ("field",) if k in values]
    return Assertion(sql=sql, fields=tuple(fields), **values)


def _query(data: Sequence[Any]) -> Query:
    """A query from app.py's [SQL, [parameters it binds]]."""
    sql, params = data
    return Query(sql, tuple(params))
