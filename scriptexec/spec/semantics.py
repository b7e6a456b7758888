"""Checks the schema cannot express: names, formulas, types, cycles and checks.

Runs after (and alongside) the schema: it reads the document defensively, so a spec with a
schema error in `runtime` still gets its formula errors reported in the same run.
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scriptexec.errors import Problem
from scriptexec.spec import date_values, formulas
from scriptexec.spec.assertions import check_assertions
from scriptexec.spec.encodings import encoding_problem
from scriptexec.spec.formulas import Checked, Symbol
from scriptexec.spec.locations import FILE_FORMATS, file_location, is_copied, location_problem
from scriptexec.spec.suggest import did_you_mean
from scriptexec.spec.upstream import UpstreamRead, quiet_after_unresolved, resolve_inputs
from scriptexec.spec.yamlload import Located, Path_, dotted


@dataclass
class Resolved:
    """What the checks worked out, for the compiler and the canonical form."""

    row_source: str | None = None
    fields: dict[str, str] = field(default_factory=dict)  # row fields from inputs -> type
    compute: dict[str, Checked] = field(default_factory=dict)  # in dependency order
    produced: dict[str, str] = field(default_factory=dict)  # prose step outputs -> type
    summary: dict[str, Checked] = field(default_factory=dict)  # in dependency order
    group_summary: dict[str, Checked] = field(default_factory=dict)
    scope: dict[str, Symbol] = field(default_factory=dict)
    # inputs read from another spec (`from`) -> upstream.UpstreamRead
    upstream: dict[str, UpstreamRead] = field(default_factory=dict)


_TYPES = ("string", "number", "integer", "boolean", "date", "datetime")


def _dict(x: Any) -> dict[str, Any]:
    return x if isinstance(x, dict) else {}


def _list(x: Any) -> list[Any]:
    return x if isinstance(x, list) else []


EXCERPT_CHARS = 76  # of a formula's line shown under its problem


def _caret(source: str, issue: formulas.FormulaIssue) -> str:
    """The formula's line the issue is on and a caret under its column, indented; a long
    line is cut to the part around the caret."""
    lines = source.strip().split("\n")
    if not 1 <= issue.line <= len(lines):
        return ""
    text, col = lines[issue.line - 1], issue.col
    start = max(0, min(col - EXCERPT_CHARS // 2, len(text) - EXCERPT_CHARS))
    shown = text[start : start + EXCERPT_CHARS]
    if not shown.strip() or "\x00" in shown:
        return ""
    return f"    {shown}\n    {' ' * (col - start)}^"


def field_type(decl: Any) -> tuple[str, bool] | None:
    """('number', required) from `number`, `number?` or {type: number, required: false}."""
    if isinstance(decl, str):
        return (decl[:-1], False) if decl.endswith("?") else (decl, True)
    if isinstance(decl, dict) and isinstance(decl.get("type"), str):
        return decl["type"], bool(decl.get("required", True))
    return None


class _Analyzer:
    def __init__(
        self, doc: Located, display: str, base_dir: Path | None, root: Path | None
    ) -> None:
        self.doc = doc
        # The spec's directory and the project root, when the files on disk are checked.
        self.base_dir, self.root = base_dir, root
        self.data = _dict(doc.data)
        self.display = display
        self.problems: list[Problem] = []
        self.r = Resolved()
        self.owner: dict[str, Path_] = {}  # every formula-visible name -> where it is declared

    def problem(self, path: Path_, message: str, hint: str = "", *, value: bool = False) -> None:
        if value and path in self.doc.value_pos:
            line, col, _ = self.doc.value_pos[path]
        else:
            line, col = self.doc.pos(path)
        self.problems.append(Problem(self.display, line, col, dotted(path), message, hint))

    def declare(self, name: str, path: Path_) -> bool:
        if keyword.iskeyword(name) or name in formulas.RESERVED:
            self.problem(path, f"'{name}' is a reserved word and cannot be used as a name")
            return False
        first = self.owner.get(name)
        if first is not None:
            line, _ = self.doc.pos(first)
            self.problem(path, f"name '{name}' is already used by {dotted(first)} (line {line})")
            return False
        self.owner[name] = path
        return True

    # -- inputs -------------------------------------------------------------------------

    def _fields(self, iname: str) -> dict[str, Any]:
        """An input's fields as declared, or as read from another spec's results."""
        read = self.r.upstream.get(iname)
        if read is not None:
            return dict(read.declarations())
        return _dict(_dict(_dict(self.data.get("inputs")).get(iname)).get("fields"))

    def inputs(self) -> None:
        inputs = _dict(self.data.get("inputs"))
        for name in inputs:
            if name in formulas.RESERVED or keyword.iskeyword(name):
                self.problem(("inputs", name), f"'{name}' is a reserved word")
        self.r.upstream, self.unresolved_upstream = resolve_inputs(
            self.data, self.display, self.base_dir, self.root, self.problem
        )
        self.r.row_source = self._row_source(inputs)
        source = self._fields(self.r.row_source) if self.r.row_source else {}
        for iname, spec in inputs.items():
            spec = _dict(spec)
            if "from" not in spec:
                self._input_options(iname, spec)
            joined = iname != self.r.row_source
            join_on = spec.get("join_on")
            for fname, decl in self._fields(iname).items():
                ft = field_type(decl)
                if ft is None:
                    continue
                path: Path_ = ("inputs", iname, "fields", fname)
                if "from" not in spec and isinstance(decl, dict):
                    self._field_options(path, decl, ft[0], spec.get("format"))
                if joined and fname == join_on:
                    continue  # the join key is the row source's field
                if self.declare(fname, path):
                    # A misspelt type is reported by the schema; the field still exists.
                    self.r.fields[fname] = ft[0] if ft[0] in _TYPES else "unknown"
            if joined and isinstance(join_on, str):
                if join_on not in self._fields(iname):
                    self.problem(
                        ("inputs", iname, "join_on"),
                        f"join field '{join_on}' is not a field of input '{iname}'",
                        did_you_mean(join_on, self._fields(iname)),
                        value=True,
                    )
                elif join_on not in source:
                    self.problem(
                        ("inputs", iname, "join_on"),
                        f"join field '{join_on}' is not a field of the row source "
                        f"'{self.r.row_source}'",
                        value=True,
                    )
            elif joined and isinstance(self.r.row_source, str):
                self.problem(
                    ("inputs", iname),
                    f"input '{iname}' is not the row source ('{self.r.row_source}'), so it "
                    "needs join_on: the field its rows are looked up by",
                )
            repeat = _dict(spec.get("repeat"))
            if repeat:
                self._repeat(iname, spec, repeat, joined)

    def _row_source(self, inputs: dict[str, Any]) -> str | None:
        rows = self.data.get("rows")
        if isinstance(rows, str):
            if rows not in inputs:
                self.problem(
                    ("rows",), f"unknown input '{rows}'", did_you_mean(rows, inputs), value=True
                )
                return None
            return rows
        candidates = [n for n, s in inputs.items() if not _dict(s).get("join_on")]
        if len(candidates) > 1:
            self.problem(
                ("inputs",),
                "several inputs could be the row source: " + ", ".join(candidates),
                "set rows: NAME, or give the others join_on",
            )
        return candidates[0] if candidates else None

    def _input_options(self, iname: str, spec: dict[str, Any]) -> None:
        fmt = spec.get("format")
        base: Path_ = ("inputs", iname)
        if fmt in ("sqlite", "postgres"):
            if "table" in spec and "query" in spec:
                self.problem((*base, "query"), "give either table or query, not both")
            elif "table" not in spec and "query" not in spec:
                self.problem(base, f"a {fmt} input needs table or query")
        else:
            for key in ("table", "query"):
                if key in spec:
                    self.problem((*base, key), f"'{key}' only applies to sqlite and postgres")
        if "records" in spec and fmt not in ("json", "http"):
            self.problem((*base, "records"), "'records' only applies to json and http")
        encoding = spec.get("encoding")
        if "encoding" in spec and fmt not in ("csv", "json"):
            self.problem((*base, "encoding"), "'encoding' only applies to csv and json")
        elif isinstance(encoding, str) and (bad := encoding_problem(encoding)):
            hint = "e.g. utf-8, latin-1, cp1252, utf-16"
            self.problem((*base, "encoding"), bad, hint, value=True)
        loc = spec.get("location")
        if fmt == "postgres" and loc is not None:
            self.problem((*base, "location"), "postgres inputs read DATABASE_URL, not a location")
        if fmt == "http" and isinstance(loc, str) and not loc.startswith(("http://", "https://")):
            self.problem(
                (*base, "location"), "an http input's location must be an http(s) URL", value=True
            )
        if fmt in ("csv", "json", "sqlite") and isinstance(loc, str) and "://" in loc:
            self.problem((*base, "location"), f"a {fmt} location is a file path", value=True)
        outside = spec.get("outside_project") is True
        if "outside_project" in spec and fmt not in FILE_FORMATS:
            self.problem(
                (*base, "outside_project"),
                "'outside_project' only applies to file inputs (csv, json, sqlite)",
            )
        path = file_location(spec)
        if path and is_copied(path, outside) and self.base_dir and self.root:
            found = location_problem(path, self.base_dir, self.root, outside_project=outside)
            if found is not None:
                self.problem((*base, "location"), found[0], found[1], value=True)

    def _field_options(
        self, path: Path_, decl: dict[str, Any], typ: str, input_format: Any
    ) -> None:
        """A field's `format` (dates only, codes the program reads) and `path` (JSON)."""
        fmt, json_path = decl.get("format"), decl.get("path")
        if "format" in decl and typ not in ("date", "datetime"):
            self.problem((*path, "format"), "'format' only applies to date and datetime fields")
        elif isinstance(fmt, str) and (bad := date_values.format_problem(fmt)):
            self.problem((*path, "format"), bad[0], bad[1], value=True)
        if "path" in decl and input_format not in ("json", "http"):
            self.problem((*path, "path"), "'path' only applies to json and http inputs")
        elif isinstance(json_path, str) and (problem := date_values.path_problem(json_path)):
            self.problem((*path, "path"), problem, value=True)

    def _repeat(
        self, iname: str, spec: dict[str, Any], repeat: dict[str, Any], joined: bool
    ) -> None:
        path: Path_ = ("inputs", iname, "repeat")
        if joined:
            self.problem(path, "only the row source can repeat its rows")
            return
        count, as_ = repeat.get("count"), repeat.get("as")
        fields = self._fields(iname)
        if isinstance(count, str):
            ft = field_type(fields.get(count))
            if ft is None:
                self.problem(
                    (*path, "count"),
                    f"'{count}' is not a field of input '{iname}'",
                    did_you_mean(count, fields),
                    value=True,
                )
            elif ft[0] != "integer":
                self.problem((*path, "count"), f"'{count}' must be an integer field", value=True)
        if isinstance(as_, str) and self.declare(as_, (*path, "as")):
            self.r.fields[as_] = "integer"

    # -- parameters ---------------------------------------------------------------------

    def parameters(self) -> None:
        for name, spec in _dict(self.data.get("parameters")).items():
            spec = _dict(spec)
            path: Path_ = ("parameters", name)
            typ = spec.get("type")
            if not self.declare(name, path) or typ not in ("number", "integer", "boolean", "date"):
                continue
            self.r.scope[name] = Symbol("param", typ)
            default, lo, hi = spec.get("default"), spec.get("min"), spec.get("max")
            if typ == "date":
                self._date_parameter(path, spec)
                continue
            if typ == "boolean":
                if not isinstance(default, bool) and default is not None:
                    self.problem(
                        (*path, "default"),
                        "the default of a boolean parameter must be true or false",
                        value=True,
                    )
                for key in ("min", "max", "step"):
                    if key in spec:
                        self.problem((*path, key), f"a boolean parameter has no {key}")
                continue
            if isinstance(default, bool | str):
                self.problem(
                    (*path, "default"),
                    f"the default of this {typ} parameter must be a number",
                    value=True,
                )
                continue
            for key in ("min", "max"):
                if isinstance(spec.get(key), str):  # the schema lets dates through
                    self.problem(
                        (*path, key),
                        f"the {key} of this {typ} parameter must be a number",
                        value=True,
                    )
            if typ == "integer" and isinstance(default, float) and not default.is_integer():
                self.problem(
                    (*path, "default"),
                    "the default of an integer parameter must be a whole number",
                    value=True,
                )
            nums = [v for v in (lo, hi, default) if isinstance(v, int | float)]
            if len(nums) != len([v for v in (lo, hi, default) if v is not None]):
                continue
            if lo is not None and hi is not None and lo > hi:
                self.problem((*path, "min"), f"min {lo} is above max {hi}", value=True)
            if isinstance(default, int | float):
                if lo is not None and default < lo:
                    self.problem(
                        (*path, "default"), f"default {default} is below min {lo}", value=True
                    )
                if hi is not None and default > hi:
                    self.problem(
                        (*path, "default"), f"default {default} is above max {hi}", value=True
                    )

    def _date_parameter(self, path: Path_, spec: dict[str, Any]) -> None:
        """A date parameter: its default a date or `today`, its bounds dates."""
        shape = date_values.DATE_SHAPE
        days: dict[str, Any] = {}
        for key in ("default", "min", "max"):
            value = spec.get(key)
            if value is None or (key == "default" and value == "today"):
                continue
            days[key] = date_values.as_date(value)
            if days[key] is None:
                today = " or today" if key == "default" else ""
                self.problem(
                    (*path, key),
                    f"the {key} of a date parameter must be a date ({shape}){today}, got {value!r}",
                    value=True,
                )
        if "step" in spec:
            self.problem((*path, "step"), "a date parameter has no step")
        lo, hi, default = days.get("min"), days.get("max"), days.get("default")
        if lo and hi and lo > hi:
            self.problem((*path, "min"), f"min {lo} is after max {hi}", value=True)
        if default and lo and default < lo:
            self.problem((*path, "default"), f"default {default} is before min {lo}", value=True)
        if default and hi and default > hi:
            self.problem((*path, "default"), f"default {default} is after max {hi}", value=True)

    # -- formulas -----------------------------------------------------------------------

    def formula(
        self,
        path: Path_,
        text: Any,
        scope: dict[str, Symbol],
        aggregate: bool,
        row_scope: dict[str, Symbol] | None = None,
    ) -> Checked | None:
        source = str(text).lower() if isinstance(text, bool) else str(text)
        checked, issues = formulas.check(
            source, scope, aggregate_context=aggregate, row_scope=row_scope
        )
        for issue in issues:
            line, col = self._formula_position(path, issue)
            excerpt = _caret(source, issue)
            self.problems.append(
                Problem(self.display, line, col, dotted(path), issue.message, issue.hint, excerpt)
            )
        return checked

    def _formula_position(self, path: Path_, issue: formulas.FormulaIssue) -> tuple[int, int]:
        """Where in the file a formula issue is: the value's position plus the offset."""
        if path not in self.doc.value_pos:
            return self.doc.pos(path)
        line, col, style = self.doc.value_pos[path]
        if style in ("|", ">"):
            return line + issue.line, issue.col + 1  # block scalars start on the next line
        if issue.line > 1:
            return line + issue.line - 1, issue.col + 1
        quote = 1 if style in ("'", '"') else 0
        return line, col + quote + issue.col

    def compute(self) -> None:
        compute = _dict(self.data.get("compute"))
        for name in compute:
            if self.declare(name, ("compute", name)):
                # Types are provisional (number) until the formula is checked; a formula's
                # type depends on others', so check in two passes: declare, then infer.
                self.r.scope[name] = Symbol("field", "number")
        for fname, typ in self.r.fields.items():
            self.r.scope[fname] = Symbol("field", typ)  # type: ignore[arg-type]
        parsed: dict[str, Checked] = {}
        # Infer types in rounds so a boolean defined later is known as boolean where used.
        for _ in range(2):
            parsed = {}
            for name, text in compute.items():
                if name not in self.r.scope or self.owner.get(name) != ("compute", name):
                    continue
                checked, _issues = formulas.check(
                    str(text).lower() if isinstance(text, bool) else str(text),
                    self.r.scope,
                    aggregate_context=False,
                )
                if checked is not None:
                    parsed[name] = checked
                    self.r.scope[name] = Symbol("field", checked.type)
        for name, text in compute.items():
            if self.owner.get(name) == ("compute", name):
                self.formula(("compute", name), text, self.r.scope, aggregate=False)
        order, cycles = formulas.dependency_order({n: c.refs for n, c in parsed.items()})
        for cycle in cycles:
            self.problem(
                ("compute", cycle[0]),
                "formulas depend on each other in a cycle: " + " -> ".join(cycle),
            )
        if not cycles:
            self.r.compute = {n: parsed[n] for n in order}

    def steps(self) -> None:
        names: dict[str, Path_] = {}
        steps = _list(self.data.get("steps"))
        if steps and _dict(self.data.get("generator")).get("provider") == "none":
            # Caught here, not at build time: `validate` would otherwise call it valid.
            self.problem(
                ("generator", "provider"),
                f"provider none, but {len(steps)} prose step{'s' if len(steps) != 1 else ''}"
                " need an LLM to write their code",
                "set generator.provider to ollama or openai, or state the logic as compute"
                " formulas",
                value=True,
            )
        for i, step in enumerate(steps):
            step = _dict(step)
            sname = step.get("name")
            if isinstance(sname, str):
                if sname in names:
                    self.problem(("steps", i, "name"), f"duplicate step name '{sname}'", value=True)
                names[sname] = ("steps", i)
            for pname, ptype in _dict(step.get("produces")).items():
                if ptype in ("string", "number", "integer", "boolean") and self.declare(
                    pname, ("steps", i, "produces", pname)
                ):
                    self.r.produced[pname] = ptype
                    self.r.scope[pname] = Symbol("field", ptype)

    def _ambiguous_group_refs(
        self, base: Path_, parsed: dict[str, Checked], names: list[str]
    ) -> None:
        """A group value that names another group value which is also an overall summary
        value (`share: count() / days` with `days` in both) means the group's own; a reader
        may well mean the overall one. Never pick silently: ask for distinct names."""
        overall = set(self.r.summary)
        for name, checked in parsed.items():
            for ref in sorted(checked.refs & overall & set(names)):
                self.problem(
                    (*base, name),
                    f"'{ref}' here means this group's own value ({dotted((*base, ref))}),"
                    f" but summary.{ref} has the same name",
                    "rename one of them, so that a group value never silently stands for the"
                    " overall one",
                )

    def summary(self) -> None:
        self.r.summary = self._aggregates(
            ("summary",), _dict(self.data.get("summary")), declare=True
        )
        groups = _dict(self.data.get("groups"))
        if not groups:
            return
        by = groups.get("by")
        for i, f in enumerate([by] if isinstance(by, str) else _list(by)):
            path: Path_ = ("groups", "by") if isinstance(by, str) else ("groups", "by", i)
            sym = self.r.scope.get(f) if isinstance(f, str) else None
            if sym is None or sym.kind != "field":
                self.problem(
                    path,
                    f"unknown row field '{f}'",
                    did_you_mean(str(f), self._row_names()),
                    value=True,
                )
        self.r.group_summary = self._aggregates(
            ("groups", "summary"), _dict(groups.get("summary")), declare=False
        )

    def _aggregates(
        self, base: Path_, items: dict[str, Any], *, declare: bool
    ) -> dict[str, Checked]:
        """Check summary-like formulas. Inside an aggregate, names are row fields and
        parameters; outside, parameters and the other values of this block. Group values
        have a namespace of their own (a group's `order_value` may sum the field
        `order_value`), while overall summary names must not repeat any other name."""
        row_scope = {n: s for n, s in self.r.scope.items() if s.kind in ("field", "param")}
        scope = {n: s for n, s in row_scope.items() if s.kind == "param"}
        names = []
        for name in items:
            path = (*base, name)
            if declare:
                if not self.declare(name, path):
                    continue
            elif name in scope or name in formulas.RESERVED or keyword.iskeyword(name):
                self.problem(
                    path,
                    f"name '{name}' is already used by "
                    f"{dotted(self.owner.get(name, ('parameters', name)))}",
                )
                continue
            scope[name] = Symbol("summary", "number")
            names.append(name)
        parsed: dict[str, Checked] = {}
        for _ in range(2):  # a value's type may depend on one defined later
            for name in names:
                checked, _ = formulas.check(
                    str(items[name]), scope, aggregate_context=True, row_scope=row_scope
                )
                if checked is not None:
                    parsed[name] = checked
                    scope[name] = Symbol("summary", checked.type)
        for name in names:
            self.formula((*base, name), items[name], scope, aggregate=True, row_scope=row_scope)
        if not declare:
            self._ambiguous_group_refs(base, parsed, names)
        order, cycles = formulas.dependency_order(
            {n: frozenset(r for r in c.refs if r in names) for n, c in parsed.items()}
        )
        for cycle in cycles:
            self.problem(
                (*base, cycle[0]), "values depend on each other in a cycle: " + " -> ".join(cycle)
            )
        if declare:
            for name, checked in parsed.items():
                self.r.scope[name] = Symbol("summary", checked.type)
        return {} if cycles else {n: parsed[n] for n in order}

    def _row_names(self) -> list[str]:
        return [n for n, s in self.r.scope.items() if s.kind == "field"]

    # -- interface and checks -----------------------------------------------------------

    def charts(self) -> None:
        web = _dict(_dict(self.data.get("interface")).get("web"))
        rows = self._row_names()
        for i, chart in enumerate(_list(web.get("charts"))):
            chart = _dict(chart)
            base: Path_ = ("interface", "web", "charts", i)
            for key in ("x", "y"):
                f = chart.get(key)
                if isinstance(f, str) and f not in rows:
                    self.problem(
                        (*base, key), f"unknown row field '{f}'", did_you_mean(f, rows), value=True
                    )
            y = chart.get("y")
            sym = self.r.scope.get(y) if isinstance(y, str) else None
            if sym is not None and sym.type not in formulas.NUMERIC:
                self.problem(
                    (*base, "y"), f"'{y}' is {sym.type}; a chart plots numbers", value=True
                )
            t = chart.get("threshold")
            if isinstance(t, str):
                tsym = self.r.scope.get(t)
                if tsym is None or tsym.kind == "field":
                    known = [n for n, s in self.r.scope.items() if s.kind != "field"]
                    self.problem(
                        (*base, "threshold"),
                        f"threshold '{t}' is not a parameter or summary value",
                        did_you_mean(t, known),
                        value=True,
                    )

    def rules(self) -> None:
        rules = _dict(self.data.get("rules"))
        if rules.get("division_by_zero") == "missing" and rules.get("missing") == "error":
            self.problem(
                ("rules", "division_by_zero"),
                "division_by_zero: missing makes a missing result, which missing: error"
                " makes a row error",
                "set missing: propagate, or division_by_zero: error",
                value=True,
            )

    def assertions(self) -> None:
        types = {n: s.type for n, s in self.r.scope.items() if s.kind == "field"}
        check_assertions(_list(self.data.get("assertions")), types, self.problem)

    def outputs(self) -> None:
        outs = _list(self.data.get("outputs"))
        if "groups.csv" in outs and not self.data.get("groups"):
            self.problem(("outputs", outs.index("groups.csv")), "groups.csv needs a groups section")

    def checks(self) -> None:
        inputs = _dict(self.data.get("inputs"))
        params = _dict(self.data.get("parameters"))
        rows = [*self._row_names(), "error"]
        summary_names = list(self.r.summary) or [
            n for n, s in self.r.scope.items() if s.kind == "summary"
        ]
        for i, check in enumerate(_list(self.data.get("checks"))):
            check = _dict(check)
            base: Path_ = ("checks", i)
            for iname, given_rows in _dict(check.get("given")).items():
                if iname not in inputs:
                    self.problem(
                        (*base, "given", iname),
                        f"unknown input '{iname}'",
                        did_you_mean(iname, inputs),
                    )
                    continue
                fields = self._fields(iname)
                for j, row in enumerate(_list(given_rows)):
                    for key, value in _dict(row).items():
                        path: Path_ = (*base, "given", iname, j, key)
                        if key not in fields:
                            self.problem(
                                path,
                                f"unknown field '{key}' of input '{iname}'",
                                did_you_mean(key, fields),
                            )
                            continue
                        fmt = _dict(fields[key]).get("format")
                        self._value_type(path, value, field_type(fields[key]), fmt)
            for pname, value in _dict(check.get("parameters")).items():
                path = (*base, "parameters", pname)
                if pname not in params:
                    self.problem(path, f"unknown parameter '{pname}'", did_you_mean(pname, params))
                    continue
                self._param_value(path, _dict(params[pname]), value)
            expect = _dict(check.get("expect"))
            for j, row in enumerate(_list(expect.get("rows"))):
                for key in _dict(row):
                    if key not in rows:
                        self.problem(
                            (*base, "expect", "rows", j, key),
                            f"unknown result field '{key}'",
                            did_you_mean(key, rows),
                        )
            for key in _dict(expect.get("summary")):
                if key not in summary_names:
                    self.problem(
                        (*base, "expect", "summary", key),
                        f"unknown summary value '{key}'",
                        did_you_mean(key, summary_names),
                    )

    def _value_type(
        self, path: Path_, value: Any, ft: tuple[str, bool] | None, fmt: Any = None
    ) -> None:
        if ft is None:
            return
        typ, required = ft
        if typ not in _TYPES:
            return
        if value is None:
            if required:
                self.problem(path, "a required field is null", value=True)
            return
        if typ in ("date", "datetime"):
            self._date_value(path, value, typ, fmt)
            return
        ok = {
            "string": isinstance(value, str),
            "number": isinstance(value, int | float) and not isinstance(value, bool),
            "integer": isinstance(value, int) and not isinstance(value, bool),
            "boolean": isinstance(value, bool),
        }[typ]
        if not ok:
            self.problem(path, f"expected a {typ}, got {value!r}", value=True)

    def _date_value(self, path: Path_, value: Any, typ: str, fmt: Any) -> None:
        """A check's date: ISO text (which the check writes in the field's format), or
        text in that format."""
        iso = date_values.as_date if typ == "date" else date_values.is_datetime
        if iso(value) or (isinstance(fmt, str) and date_values.matches_format(value, fmt)):
            return
        shape = date_values.DATE_SHAPE if typ == "date" else "YYYY-MM-DDTHH:MM:SS"
        said = f"{shape} or {fmt}" if isinstance(fmt, str) else shape
        self.problem(path, f"expected a {typ} ({said}), got {value!r}", value=True)

    def _param_value(self, path: Path_, spec: dict[str, Any], value: Any) -> None:
        typ = spec.get("type")
        if typ == "boolean" and not isinstance(value, bool):
            self.problem(path, f"expected true or false, got {value!r}", value=True)
            return
        if typ == "date":
            day = date_values.as_date(value)
            low, high = date_values.as_date(spec.get("min")), date_values.as_date(spec.get("max"))
            if day is None:
                shape = date_values.DATE_SHAPE
                self.problem(path, f"expected a date ({shape}), got {value!r}", value=True)
            elif low and day < low:
                self.problem(path, f"{day} is before the parameter's min {low}", value=True)
            elif high and day > high:
                self.problem(path, f"{day} is after the parameter's max {high}", value=True)
            return
        if typ in ("number", "integer"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                self.problem(path, f"expected a number, got {value!r}", value=True)
                return
            lo, hi = spec.get("min"), spec.get("max")
            if isinstance(lo, int | float) and value < lo:
                self.problem(path, f"{value} is below the parameter's min {lo}", value=True)
            if isinstance(hi, int | float) and value > hi:
                self.problem(path, f"{value} is above the parameter's max {hi}", value=True)


def analyze(
    doc: Located, display: str, base_dir: Path | None = None, root: Path | None = None
) -> tuple[Resolved, list[Problem]]:
    """Every problem in the document; with `root`, also input files that are missing or
    outside the project (relative locations are read from `base_dir`)."""
    a = _Analyzer(doc, display, base_dir, root)
    a.inputs()
    a.parameters()
    a.compute()
    a.steps()  # after compute: a step's function sees the computed fields, not vice versa
    a.summary()
    a.charts()
    a.assertions()
    a.outputs()
    a.checks()
    a.rules()
    if a.unresolved_upstream:
        a.problems = quiet_after_unresolved(a.problems)
    return a.r, a.problems
