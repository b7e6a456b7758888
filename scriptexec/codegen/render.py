"""Render a program model (the compiler's JSON-able dict) into the files of a program.

The templates under templates/program/ write everything; this module only prepares values
for them and formats Python source so that the result is lint-clean at ruff's default line
length (88), whatever lengths the spec's names, descriptions and formulas have.
"""

from __future__ import annotations

import ast
import io
import itertools
import keyword
import math
import re
import textwrap
import tokenize
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from scriptexec.codegen import fixture_env
from scriptexec.codegen.assertions import compile_assertions
from scriptexec.codegen.sql import compile_queries
from scriptexec.codegen.thresholds import judgements
from scriptexec.codegen.vendor import runtime_files
from scriptexec.errors import BuildError
from scriptexec.pyparse import parse

if TYPE_CHECKING:
    from scriptexec.project import Project

WIDTH = 88  # ruff's default line length: generated code is linted without our pyproject
INDENT = 4

APP = "program/app.py.j2"
REQUIREMENTS = "program/requirements.txt.j2"
ENV_EXAMPLE = "program/env.example.j2"
DASHBOARD = "program/dashboard.html.j2"
STEPS = "program/steps.py.j2"

# Operators a long expression may be broken before (inside parentheses any break is legal;
# these make the result read like hand-wrapped code).
_BREAK_BEFORE = {"+", "-", "*", "/", "//", "%", "**", "<", "<=", ">", ">=", "==", "!="}
_BREAK_BEFORE_WORDS = {"and", "or", "if", "else"}
_SIGNIFICANT = (tokenize.OP, tokenize.NAME, tokenize.NUMBER, tokenize.STRING)


def template_names() -> list[str]:
    """Every template file render_program reads, for the generate stage's key."""
    return [APP, REQUIREMENTS, ENV_EXAMPLE, DASHBOARD, STEPS]


def render_program(model: dict[str, Any], project: Project) -> dict[str, bytes]:
    """The program's files: app.py, requirements.txt, .env.example (+ dashboard.html)."""
    _check_model(model)
    env = _environment(project)
    ctx = _context(model)
    files = {
        "app.py": env.get_template(APP).render(ctx),
        "requirements.txt": env.get_template(REQUIREMENTS).render(ctx),
        ".env.example": env.get_template(ENV_EXAMPLE).render(ctx),
    }
    if ctx["web"]:
        files["dashboard.html"] = env.get_template(DASHBOARD).render(ctx)
    if ctx["steps"]:
        files["steps.py"] = env.get_template(STEPS).render(ctx)
    encoded = {name: text.encode("utf-8") for name, text in files.items()}
    return {**encoded, **runtime_files()}


def _environment(project: Project) -> jinja2.Environment:
    def load(name: str) -> tuple[str, str, Any]:
        path: Path = project.template(name)
        try:
            source = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise BuildError(f"cannot read template {path}: {exc.strerror}") from None
        mtime = path.stat().st_mtime
        return source, str(path), lambda: path.stat().st_mtime == mtime

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(load),
        autoescape=lambda name: bool(name and name.endswith((".html.j2", ".html"))),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["py"] = py_literal
    env.filters["pyexpr"] = py_expression
    env.filters["docstring"] = _docstring
    env.filters["comment"] = _comment
    env.filters["pysql"] = py_sql
    return env


def split_imports(code: str) -> tuple[list[str], str]:
    """An LLM writes each step with its own imports; steps.py gathers them at the top
    (once each), so the module stays lint-clean. Code that does not parse is kept whole:
    the validate stage reports it."""
    try:
        tree = parse(code)
    except SyntaxError:
        return [], code
    imports, spans = [], []
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            if not (isinstance(node, ast.ImportFrom) and node.module == "__future__"):
                imports.append(ast.unparse(node))
            spans.append((node.lineno, node.end_lineno or node.lineno))
    lines = code.splitlines()
    kept = [line for n, line in enumerate(lines, 1) if not any(a <= n <= b for a, b in spans)]
    return imports, "\n".join(kept).strip() + "\n"


def _context(model: dict[str, Any]) -> dict[str, Any]:
    inputs = [dict(i) for i in model["inputs"]]
    for inp in inputs:
        upper = inp["name"].upper()
        inp.setdefault("env_var", f"{upper}_LOCATION")
        inp["fixture_env"] = fixture_env(inp["name"])
        inp["auth_env"] = f"{upper}_TOKEN" if inp["format"] == "http" else None
        inp["sql"] = _select_sql(inp) if inp["format"] in ("sqlite", "postgres") else None
        for key in ("table", "query", "records", "join_on", "repeat", "location", "upstream"):
            inp.setdefault(key, None)
        inp.setdefault("encoding", "utf-8")
    steps = [dict(s) for s in model.get("steps") or []]
    columns = list(model["columns"])
    step_imports: list[str] = []
    for step in steps:
        step["produces_types"] = {p["name"]: p["type"] for p in step["produces"]}
        imports, step["code"] = split_imports(step.get("code") or "")
        step_imports += [i for i in imports if i not in step_imports]
        columns += [p["name"] for p in step["produces"] if p["name"] not in columns]
    groups = dict(model["groups"]) if model.get("groups") else None
    if groups and isinstance(groups["by"], str):
        groups["by"] = [groups["by"]]
    web = model.get("web") or None
    formats = {i["format"] for i in inputs}
    summary = model.get("summary") or []
    parameters = model.get("parameters") or []
    charts = (web or {}).get("charts") or []
    column_types = _column_types(inputs, model.get("compute") or [], steps)
    judged = judgements(charts, model.get("compute") or [], summary)
    dashboard_config = {
        **judged,
        "parameters": parameters,
        "charts": charts,
        "columns": columns,
        "column_types": column_types,
        "summary": [{k: s[k] for k in ("name", "type", "formula")} for s in summary],
        "group_by": groups["by"] if groups else [],
        "group_fields": [{k: s[k] for k in ("name", "type", "formula")} for s in groups["summary"]]
        if groups
        else [],
    }
    queries = compile_queries({**model, "columns": columns})  # step outputs included
    assertions = [
        {
            **a,
            "constant": f"ASSERTION_{n}_SQL",
            "comment": f"Assertion {n} ({a['spec']['kind']}), over {_OVER[a['spec']['on']]}.",
        }
        for n, a in enumerate(compile_assertions(model), 1)
    ]
    program = {
        "name": model["name"],
        "title": model.get("title") or model["name"],
        "description": model.get("description") or "",
        "inputs": [
            {**_stated(inp, _INPUT_KEYS, _input_defaults(inp)), "fields": _field_types(inp)}
            for inp in inputs
        ],
        "parameters": [_stated(p, _PARAMETER_KEYS, {}) for p in parameters],
        "columns": columns,
        "summary": _types(summary),
        "groups": {"by": groups["by"], "summary": _types(groups["summary"])} if groups else None,
        "steps": [
            {"name": s["name"], "function": s["function"], "produces": s["produces_types"]}
            for s in steps
        ],
        "outputs": model.get("outputs") or ["results.csv", "summary.json"],
        "on_error": model.get("on_error") or "report",
        "error_rows": (model.get("rules") or {}).get("error_rows") or "exclude",
        "web": web,
        "judged": judged,
    }
    # What is empty or the runtime's default says nothing: app.py leaves it out.
    program = {k: v for k, v in program.items() if v not in (None, [], {}, "")}
    if program.get("on_error") == "report":
        del program["on_error"]
    if program.get("error_rows") == "exclude":
        del program["error_rows"]
    return {
        "program": program,
        "queries": [
            {"key": key, "constant": f"{key.upper()}_SQL", "comment": comment, **queries[key]}
            for key, comment in _QUERY_COMMENTS.items()
            if queries.get(key)
        ],
        "assertions": assertions,
        "name": model["name"],
        "title": model.get("title") or model["name"],
        "description": model.get("description") or "",
        "inputs": inputs,
        "parameters": parameters,
        "compute": model.get("compute") or [],
        "steps": steps,
        "step_imports": step_imports,
        "columns": columns,
        "summary": summary,
        "groups": groups,
        "outputs": model.get("outputs") or ["results.csv", "summary.json"],
        "web": web,
        "charts": charts,
        "dashboard_config": dashboard_config,
        "judged": judged,
        "on_error": model.get("on_error") or "report",
        "has_postgres": "postgres" in formats,
        "has_http": "http" in formats,
        "has_sqlite": "sqlite" in formats,
    }


_INPUT_KEYS = (
    "name",
    "format",
    "location",
    "env_var",
    "fixture_env",
    "auth_env",
    "table",
    "query",
    "sql",
    "records",
    "encoding",
    "primary",
    "join_on",
    "repeat",
    "upstream",
    "fields",
)
_PARAMETER_KEYS = ("name", "type", "default", "min", "max", "step", "unit", "label", "description")
_OVER = {"source": "the inputs as read", "results": "the computed rows"}
_QUERY_COMMENTS = {
    "source": "The rows to compute: the inputs, joined and expanded (table source).",
    "rows": 'Every row\'s formulas in dependency order; "error" is its first failure.',
    "summary": "The summary, over the rows without an error.",
    "groups": "The figures of each group, over its rows without an error.",
}


def _input_defaults(inp: dict[str, Any]) -> dict[str, Any]:
    """What the runtime assumes when app.py leaves a key of `inp` out (runtime/program.py)."""
    upper = inp["name"].upper()
    return {
        "encoding": "utf-8",
        "primary": False,
        "env_var": f"{upper}_LOCATION",
        "fixture_env": f"{upper}_FIXTURE",
    }


def _stated(
    item: dict[str, Any], keys: tuple[str, ...], defaults: dict[str, Any]
) -> dict[str, Any]:
    """`item`'s `keys` that say something: app.py leaves out what is empty or the
    runtime's default, so that it reads as the spec's decisions only."""
    return {
        k: item[k]
        for k in keys
        if item.get(k) not in (None, "") and not (k in defaults and item[k] == defaults[k])
    }


def _field_types(inp: dict[str, Any]) -> dict[str, Any]:
    """{field: type} as the spec writes it: `number?` for an optional one, and
    {"type": ..., "format": ..., "path": ...} for one with a date format or a JSON path."""
    types: dict[str, Any] = {}
    for f in inp["fields"]:
        typ = f["type"] + ("" if f["required"] else "?")
        options = {k: f[k] for k in ("format", "path") if f.get(k)}
        types[f["name"]] = {"type": typ, **options} if options else typ
    return types


def _types(items: list[dict[str, Any]]) -> dict[str, str]:
    """{value: type} of summary values (their formulas are in the compiled SQL)."""
    return {item["name"]: item["type"] for item in items}


def py_sql(sql: str) -> str:
    """SQL as a Python string literal: triple-quoted, one clause a line, when that can
    hold it exactly; else a plain literal."""
    body = sql.strip("\n")
    if '"""' in body or "\\" in body or "\r" in body:
        return py_literal(sql)
    return '"""\n' + body + '\n"""'


def _column_types(
    inputs: list[dict[str, Any]], compute: list[dict[str, Any]], steps: list[dict[str, Any]]
) -> dict[str, str]:
    types: dict[str, str] = {}
    for inp in inputs:
        for field in inp["fields"]:
            types.setdefault(field["name"], field["type"])
        if inp.get("repeat"):
            types[inp["repeat"]["as"]] = "integer"
    types.update({c["name"]: c["type"] for c in compute})
    for step in steps:
        types.update(step["produces_types"])
    types["error"] = "string"
    return types


def _check_model(model: dict[str, Any]) -> None:
    """Refuse a model the templates would turn into broken Python (a compiler bug)."""
    problems = []
    names: list[str] = [i["name"] for i in model["inputs"]]
    names += [c["name"] for c in model.get("compute") or []]
    names += [s["name"] for s in model.get("summary") or []]
    names += [s["function"] for s in model.get("steps") or []]
    for name in names:
        if not name.isidentifier() or keyword.iskeyword(name):
            problems.append(f"{name!r} is not a Python identifier")
    primaries = [i["name"] for i in model["inputs"] if i.get("primary")]
    if len(primaries) != 1:
        problems.append(f"exactly one input must be primary, found {primaries or 'none'}")
    for inp in model["inputs"]:
        if not inp.get("primary") and not inp.get("join_on"):
            problems.append(f"input {inp['name']!r} is neither primary nor joined (join_on)")
        if inp["format"] in ("csv", "json", "sqlite", "http") and not inp.get("location"):
            problems.append(f"input {inp['name']!r} ({inp['format']}) has no location")
    if problems:
        raise BuildError("cannot render the program model:\n  " + "\n  ".join(problems))


def _select_sql(inp: dict[str, Any]) -> str:
    if inp.get("query"):
        return str(inp["query"])
    table = inp.get("table") or inp["name"]
    columns = ", ".join(_quote_ident(f["name"]) for f in inp["fields"])
    return f"SELECT {columns} FROM {_quote_ident(table)}"


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# -- Python source formatting ------------------------------------------------------------


def py_literal(value: Any, indent: int = 0, used: int | None = None, tail: int = 0) -> str:
    """`value` (JSON-like data) as Python source that starts at column `used` on a line
    indented by `indent`, followed by `tail` more characters; wrapped to fit WIDTH."""
    start = indent if used is None else used
    flat = _flat(value)
    if start + len(flat) + tail <= WIDTH:
        return flat
    inner = " " * (indent + INDENT)
    close = " " * indent
    if isinstance(value, dict) and value:
        if all(_scalar(v) for v in value.values()):  # a record: its items fill lines
            return "{\n" + "\n".join(_filled(value, indent)) + "\n" + close + "}"
        lines = []
        for key, item in value.items():
            head = f"{inner}{_flat(key)}: "
            lines.append(head + py_literal(item, indent + INDENT, len(head), 1) + ",")
        return "{\n" + "\n".join(lines) + "\n" + close + "}"
    if isinstance(value, (list, tuple)) and len(value) == 1 and isinstance(value[0], dict):
        # one record in a list: [{ ... }], without a level of indentation for the list
        inside = py_literal(value[0], indent, start + 1, tail + 1)
        return "[" + inside + "]"
    if isinstance(value, (list, tuple)) and value:
        if all(_scalar(v) for v in value):  # a list of names: they fill lines
            return "[\n" + "\n".join(_filled(value, indent)) + "\n" + close + "]"
        items = [inner + py_literal(v, indent + INDENT, None, 1) + "," for v in value]
        return "[\n" + "\n".join(items) + "\n" + close + "]"
    if isinstance(value, str) and " " in value:
        chunks = _split_words(value, WIDTH - len(inner) - 2)
        body = "\n".join(inner + _flat(c) for c in chunks)
        return "(\n" + body + "\n" + close + ")"
    return flat


def _scalar(value: Any) -> bool:
    return not isinstance(value, (dict, list, tuple))


def _filled(value: dict[str, Any] | list[Any] | tuple[Any, ...], indent: int) -> list[str]:
    """The items of a dict or list of plain values, as many to a line as fit in WIDTH
    (an item too long for a line of its own is wrapped on lines of its own)."""
    inner = " " * (indent + INDENT)
    if isinstance(value, dict):
        pieces = [(f"{_flat(k)}: ", v) for k, v in value.items()]
    else:
        pieces = [("", v) for v in value]
    lines: list[str] = []
    line = ""
    for head, item in pieces:
        piece = head + _flat(item) + ","
        if len(inner) + len(piece) > WIDTH:  # alone on its lines
            if line:
                lines.append(inner + line)
                line = ""
            start = len(inner) + len(head)
            lines.append(inner + head + py_literal(item, indent + INDENT, start, 1) + ",")
        elif line and len(inner) + len(line) + 1 + len(piece) > WIDTH:
            lines.append(inner + line)
            line = piece
        else:
            line = f"{line} {piece}" if line else piece
    if line:
        lines.append(inner + line)
    return lines


def _flat(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_flat(k)}: {_flat(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_flat(v) for v in value) + "]"
    if isinstance(value, float) and not math.isfinite(value):
        raise BuildError(f"cannot write the non-finite number {value!r} into a program")
    return repr(value)


def _split_words(text: str, width: int) -> list[str]:
    """Cut `text` after spaces into pieces whose reprs fit in `width` (a word longer than
    that stays whole); the pieces add up to `text` exactly."""
    pieces: list[str] = []
    current = ""
    for token in re.findall(r"\S*\s*", text):
        if current and len(repr(current + token)) > width:
            pieces.append(current)
            current = token
        else:
            current += token
    pieces.append(current)
    return pieces


def py_expression(expr: str, indent: int, used: int, tail: int = 0) -> str:
    """A (compiled formula) expression placed at column `used`, wrapped in parentheses and
    broken before operators when the line would be longer than WIDTH."""
    expr = " ".join(expr.split("\n"))
    if used + len(expr) + tail <= WIDTH:
        return expr
    pieces = _expression_pieces(expr)
    room = WIDTH - indent - INDENT
    lines: list[str] = []
    for piece in pieces:
        if lines and len(lines[-1]) + len(piece) + 1 <= room:
            lines[-1] += " " + piece
        else:
            lines.append(piece)
    inner = " " * (indent + INDENT)
    return "(\n" + "\n".join(inner + line for line in lines) + "\n" + " " * indent + ")"


def _expression_pieces(expr: str) -> list[str]:
    """Cut `expr` before binary operators and after commas, at any bracket depth."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(expr).readline))
    except (tokenize.TokenError, SyntaxError) as exc:
        raise BuildError(f"compiled formula is not valid Python: {expr!r}: {exc}") from None
    cuts = {0, len(expr)}
    after_operand = False  # did the previous token end an operand? (else +/- is unary)
    for tok in tokens:
        if tok.start[0] != 1 or tok.type not in _SIGNIFICANT:
            continue
        text = tok.string
        operator = tok.type == tokenize.OP and text in _BREAK_BEFORE and after_operand
        word = tok.type == tokenize.NAME and text in _BREAK_BEFORE_WORDS
        if operator or word:
            cuts.add(tok.start[1])
        if text == ",":
            cuts.add(tok.end[1])
        after_operand = text in (")", "]", "}") or (
            tok.type != tokenize.OP and not keyword.iskeyword(text)
        )
    bounds = sorted(cuts)
    pieces = [expr[a:b].strip() for a, b in itertools.pairwise(bounds)]
    return [p for p in pieces if p]


def _docstring(text: str, indent: int = 0, used: int = 0) -> str:
    """Prose made safe for a triple-quoted docstring, wrapped to WIDTH; the first line
    starts at column `used` (after the opening quotes) and 3 columns stay free for the
    closing ones."""
    safe = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"').strip()
    width = WIDTH - indent - 3
    lead = " " * max(used - indent, 0)
    paragraphs = [" ".join(p.split()) for p in safe.split("\n\n") if p.strip()]
    wrapped = []
    for number, paragraph in enumerate(paragraphs):
        first = lead if number == 0 else ""
        lines = textwrap.wrap(paragraph, width=width, initial_indent=first) or [first]
        lines[0] = lines[0][len(first) :]
        wrapped.append("\n".join(lines))
    return "\n\n".join(wrapped).replace("\n", "\n" + " " * indent)


def _comment(text: str, indent: int = 0) -> str:
    """Prose as `#` comment lines wrapped to WIDTH."""
    width = WIDTH - indent - 2
    lines = []
    for paragraph in text.strip().split("\n"):
        lines += textwrap.wrap(paragraph, width=width) or [""]
    pad = " " * indent
    return "\n".join(f"{pad}# {line}".rstrip() for line in lines)
