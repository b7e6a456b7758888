"""Program model -> the DuckDB queries a generated program runs.

`compile_queries(model)` compiles the formulas of a program model (what
`scriptexec.codegen.model.program_model` builds) from their checked source text into four
queries, each `{"sql": str, "params": [parameter names it uses]}`:

- `source`: the primary input (table "input_<name>") LEFT JOIN each lookup on its
  `join_on`, the repeat expanded; the input columns, `_ord`, `_label`.
- `rows`: over table `source`, every column of the model, `"error"` (the row's first
  error in compute order), `_ord`, `_label`.
- `summary`: over table `results`, rows without an error: one row, each summary value and
  its `"_e_<name>"` error.
- `groups` (or None): over `results`, one row per group, the `by` fields first.

Each formula becomes a value and an error. The value is computed the way DuckDB computes
it, with IEEE infinities allowed along the way (as Python's floats allow them); the
error is the first of the checks Python's operations make, in Python's evaluation order
(a check inside an `if` branch or after `and`/`or` counts only when Python would have
evaluated it). A formula's value is kept only when its error is NULL. A sub-expression
the SQL needs twice is written twice only when it is short and calls no macro; otherwise
it becomes a column of an earlier CTE, so the SQL grows linearly with the formula, never
exponentially with its nesting.

How the SQL reads (it is pasted into every generated app.py): each formula is one item
`<expression> AS "<name>"` of a CTE `SELECT *, ...`, its checks beside it as
`"_c_<name>"`, a `-- name = formula` line above it when its parts are columns of CTEs
before (and the line holds it). A CTE holds everything whose inputs the CTEs before it
compute, so the formulas of one dependency level share one; the next keeps each value
only when nothing failed and completes its error, through macros of
scriptexec/runtime/sqlmacros.py (`sx_num(v, e)`, `sx_num_error(v, f, e, m)`, ...) whose
arguments are only columns and constants. A value nothing else reads is kept by the
final SELECT instead, so a summary value that is an aggregate alone reads the
aggregation layer there. Lines are at most WIDTH long: a long expression is broken
before its loosest operators (`_wrap`), never inside a string or a quoted name (a long
string constant is a concatenation of pieces); only a name longer than a line makes a
longer one.

Windows and aggregates in compute (`running_sum(x, order=year)`, `noi / sum(noi)`) are
DuckDB window functions, `OVER (PARTITION BY <per> ORDER BY <order>, "_ord" <frame>)`,
over the columns of the CTEs before: the values as computed (one that failed is NULL, and
skipped). Their arguments' checks go through the same window (`_Formula.windowed`).

Where the answers deliberately differ from the old Python path (`to_python` and the
template's helpers), and why:

- Computed fields that do not depend on a failing one are still computed (issue 15); the
  old path left every field after the first error empty. `"error"` is still the first
  error in compute order.
- Missing values follow SQL: an operation on NULL gives NULL, and a formula whose result
  is NULL is in error, `missing value in f (monthly_rent is empty)` naming the first
  optional (or looked-up) input field the formula names that is empty (issue 15).
  So `x == None` and `x != None` are missing rather than False / True, `not None` is
  missing rather than True, `x if None else y` is missing rather than y, and
  `c and None` / `None or False` are missing where Python gave None without an error;
  `None and False` is False and `None or True` is True (SQL's three-valued logic), and
  the operand after a NULL one is evaluated (Python stopped at the falsy None). Inside
  an aggregate a missing result is skipped, as before: `count(x != 1)` no longer
  counts the rows where x is empty. In summary and group values an aggregate over
  nothing is NULL without an error (as before) when the value is that aggregate alone;
  inside a larger formula it is missing.
- When one formula has both a missing value and another error, the other error is
  reported (Python stopped at whichever came first).
- Messages drop the numbers the old `_pow` put in them: `number too large in f` and
  `invalid value in f: a negative number to a fractional power is not a real number`;
  `round()` to more than 1000 digits is `number too large in f`.
- Arithmetic is done in DOUBLE: integers beyond 2**53 lose their last digits where Python
  computed them exactly (before making the result a float), and integer results (ceil,
  floor, integer fields, counts) must fit BIGINT: beyond 2**63 they are
  `number too large in f` where Python kept a big integer. Comparing an integer with a
  number beyond 2**53 compares the DOUBLE values; the mean of integers is their exact
  sum divided as DOUBLEs.
- `round(x, n)` raised TypeError for digits that were a float in Python; whether they
  were is told from the formula's types (an integer `i ** j` counts as an int).
- A NaN inside a formula compares as DuckDB orders it (larger than any number, equal to
  itself), and min()/max() over one follow DuckDB; Python's comparisons with NaN are
  all false. Only inf - inf and the like make a NaN.
- An `x if c else y` whose branches mix integer and number is a DOUBLE column even when
  the model types it integer (the old path kept floats in such a column too; the runtime
  shows whole values as integers).
- `round(x, n)` with n < 0 and |x| >= 2**52 may differ from Python's in the last bit
  (next to the largest number it may overflow where Python's exact digits did not).
- Sums of floats use DuckDB's fsum (Kahan summation, independent of row order and
  threads); Python 3.11 added left to right, 3.12 compensates: the results agree to the
  rounding of the sum.
- A join matches keys of the two inputs' types as Python's dict did (1 and 1.0 match,
  text never matches a number), and a NULL key matches a NULL key.
"""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from scriptexec.errors import BuildError
from scriptexec.spec import formulas
from scriptexec.spec.functions import REGISTRY, Function, windows

SQL_TYPES = {
    "number": "DOUBLE",
    "integer": "BIGINT",
    "boolean": "BOOLEAN",
    "string": "VARCHAR",
    "date": "DATE",
    "datetime": "TIMESTAMP",
}
# A compiled query longer than this is refused: a formula is at most 2,000 characters
# and the SQL grows linearly with it, so only a pathological spec comes near.
MAX_QUERY_CHARS = 1_000_000
# A sub-expression the SQL names twice is pasted twice up to this length (when it calls
# no macro); a longer one becomes a column of an earlier CTE.
SHARE_CHARS = 60
MAX_ROUND_DIGITS = 1000  # as the old program's _round
# The SQL's lines, as the generated program's (scriptexec/codegen/render.py WIDTH): at
# most this long, unless a single name or number is longer.
WIDTH = 88
STEP = 2  # the indentation of a continued line, deeper by this for each level broken
MAX_INDENT = 40  # ... up to here: deeply nested SQL keeps room on its lines
PIECE_CHARS = 60  # a longer string constant is written as a concatenation of pieces
# An aggregate's column in the aggregation layer is named after its text, up to this long
# (`"sum(noi)"`), else after its function and number (`"sum(#2)"`).
AGGREGATE_NAME_CHARS = 32

# How tightly an SQL expression binds, to parenthesise only where needed.
OR, AND, NOT, COMPARE, ADD, MUL, UNARY, CAST, ATOM = range(1, 10)
_ARITHMETIC = {ast.Add: ("+", ADD), ast.Sub: ("-", ADD), ast.Mult: ("*", MUL), ast.Div: ("/", MUL)}
_COMPARISONS = {
    ast.Eq: "=",
    ast.NotEq: "<>",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
}
# NULL over no values: three of the first five, and the registry's that say so.
_NULLABLE_AGGREGATES = (
    "mean",
    "min",
    "max",
    *(f.name for f in REGISTRY.functions.values() if f.kind == "aggregate" and f.nullable),
)


def quote(name: str) -> str:
    """An SQL identifier, always quoted."""
    return '"' + name.replace('"', '""') + '"'


_UNPRINTABLE = re.compile(r"([\x00-\x1f\x7f\\])")
_UNPRINTABLE_OR_QUOTE = re.compile(r"([\x00-\x1f\x7f\\\"])")  # (when it holds three ")


def literal(text: str) -> str:
    """An SQL string constant, quotes doubled. Control characters and backslashes are
    written as chr(n) (and double quotes, in a constant that holds three in a row), so
    the SQL stays printable text that the generated program's triple-quoted source holds
    as written; a long constant as a concatenation of pieces (in parentheses), so that
    the lines it is on can be broken."""
    parts: list[str] = []
    special = _UNPRINTABLE_OR_QUOTE if '"""' in text else _UNPRINTABLE
    for n, part in enumerate(special.split(text)):
        if n % 2:
            parts.append(f"chr({ord(part)})")
        elif part:
            parts.extend(_pieces(part))
    if len(parts) <= 1:
        return parts[0] if parts else "''"
    return "(" + " || ".join(parts) + ")"


def _pieces(text: str) -> list[str]:
    """`text` as quoted constants of at most PIECE_CHARS characters, cut after spaces
    where it can be."""
    pieces: list[str] = []
    while len(text) > PIECE_CHARS:
        cut = text.rfind(" ", PIECE_CHARS // 2, PIECE_CHARS) + 1 or PIECE_CHARS
        pieces.append(text[:cut])
        text = text[cut:]
    pieces.append(text)
    return ["'" + piece.replace("'", "''") + "'" for piece in pieces]


def coalesce(items: Sequence[str]) -> str:
    """The first of `items` that is not NULL (one written again is left out: the SQL the
    compiler writes gives the same answer each time)."""
    items = list(dict.fromkeys(items))
    return items[0] if len(items) == 1 else f"COALESCE({', '.join(items)})"


@dataclass(frozen=True)
class Rules:
    """What the spec chose in its `rules:` block (the schema describes each)."""

    missing: str = "propagate"  # or "error": a missing result fails the row
    division_by_zero: str = "error"  # or "missing": the result is missing, with a warning
    error_rows: str = "exclude"  # or "include": rows in error still count in aggregates

    @classmethod
    def of(cls, model: Mapping[str, Any]) -> Rules:
        chosen = model.get("rules") or {}
        return cls(**{k: v for k, v in chosen.items() if v is not None})

    def left_missing(self, name: str) -> str:
        """The warning of a division by zero left missing (it travels as the formula's
        check, in Python's order, and is then taken out of its error)."""
        return literal(f"division by zero in {name} (left missing)")


@dataclass(frozen=True)
class Symbol:
    """A name a formula may use, as the SQL sees it."""

    kind: str  # "field", "param" or "summary"
    type: str  # number, integer, boolean, string
    nullable: bool = False  # may be NULL in a row
    empty_field: bool = False  # an input field that may be empty: missing values name it


@dataclass(frozen=True)
class Expr:
    """A compiled sub-expression."""

    sql: str
    type: str  # the formula language's type: number, integer, boolean, string
    rep: str  # its SQL type (an integer may be a DOUBLE holding a whole number)
    prec: int = ATOM
    nullable: bool = False
    heavy: bool = False  # calls a macro: DuckDB expands it into more than its text
    pyint: bool = False  # the old path computed a Python int here (round()'s digits)

    @property
    def cheap(self) -> bool:
        """Whether writing it twice costs little: a column, or short and macro-free."""
        if self.prec == ATOM and self.sql.startswith('"'):
            return True
        return len(self.sql) <= SHARE_CHARS and not self.heavy


def operand(expr: Expr, prec: int) -> str:
    """`expr` as an operand of an operator that binds with `prec`."""
    return expr.sql if expr.prec >= prec else f"({expr.sql})"


def as_double(expr: Expr) -> Expr:
    if expr.rep == "DOUBLE":
        return expr
    return replace(expr, sql=f"{operand(expr, ATOM)}::DOUBLE", rep="DOUBLE", prec=CAST)


def combine(parts: Sequence[Expr], sql: str, typ: str, rep: str, prec: int = ATOM) -> Expr:
    """An expression made of `parts`: NULL and heavy when any of them is."""
    return Expr(
        sql,
        typ,
        rep,
        prec,
        nullable=any(p.nullable for p in parts),
        heavy=any(p.heavy for p in parts),
    )


class _Temps:
    """Columns computed in CTEs before the formula that reads them (each in the first
    CTE after the columns it reads), in the order they were made."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.columns: list[tuple[str, str]] = []  # (SQL, quoted name)

    def add(self, sql: str) -> str:
        """A temporary column of `sql`; its quoted name."""
        # '#' is in no spec's names, so a temporary column cannot hide a field.
        name = quote(f"{self.prefix}#{len(self.columns) + 1}")
        self.columns.append((sql, name))
        return name


class _Aggregates:
    """The aggregation layer of a summary or groups query: one column per aggregate."""

    def __init__(self, row_filter: str | None) -> None:
        self.row_filter = row_filter  # groups keep the rows in error: each aggregate skips them
        self.columns: dict[str, tuple[str, str]] = {}  # its text -> (quoted name, SQL)

    def add(self, key: str, name: str, sql: str) -> str:
        """The column computing `sql` (its quoted name), one for each `key`."""
        if key not in self.columns:
            self.columns[key] = (quote(name), sql)
        return self.columns[key][0]

    def name(self, text: str, fname: str) -> str:
        """An aggregate's column name: its text when that is short and plain, else its
        function and a number (`"sum(#2)"`, which no temporary column can be named)."""
        if len(text) <= AGGREGATE_NAME_CHARS and not re.search(r'["\\#]', text):
            return text
        known = self.columns.get(text)
        return known[0][1:-1] if known else f"{fname}(#{len(self.columns) + 1})"

    def filtered(self, condition: str | None = None) -> str:
        conditions = [c for c in (self.row_filter, condition) if c]
        return f" FILTER (WHERE {' AND '.join(conditions)})" if conditions else ""


class _Formula:
    """Compiles one formula tree to an Expr, collecting its checks in `checks`: SQL
    expressions that are an error message or NULL, in Python's evaluation order."""

    def __init__(
        self,
        name: str,
        scope: Mapping[str, Symbol],
        params: list[str],
        temps: _Temps,
        *,
        row_scope: Mapping[str, Symbol] | None = None,
        aggregates: _Aggregates | None = None,
        row_temps: _Temps | None = None,
        rules: Rules = Rules(),
    ) -> None:
        self.name = name
        self.rules = rules
        self.skipped: list[str] = []  # conditions of rows an aggregate left out (missing)
        self.scope = scope
        self.params = params  # the query's, in order of first use
        self.temps = temps
        self.row_scope = row_scope
        self.aggregates = aggregates
        self.row_temps = row_temps
        self.checks: list[str] = []

    # -- helpers ------------------------------------------------------------------------

    def message(self, kind: str, detail: str = "") -> str:
        return literal(f"{kind} in {self.name}" + (f": {detail}" if detail else ""))

    def check(self, condition: str, message: str) -> None:
        self.checks.append(f"CASE WHEN {condition} THEN {message} END")

    def guard(self, condition: str, checks: Sequence[str]) -> None:
        """`checks` count only where `condition` holds (Python evaluated them there)."""
        if checks:
            self.check(condition, coalesce(checks))

    def share(self, expr: Expr) -> Expr:
        """`expr`, to be written more than once: itself when cheap, else a column."""
        if expr.cheap:
            return expr
        return replace(expr, sql=self.temps.add(expr.sql), prec=ATOM, heavy=False)

    def isolated(self, node: ast.expr) -> tuple[Expr, list[str]]:
        """`node` compiled with its checks kept apart, to be guarded."""
        saved, self.checks = self.checks, []
        try:
            return self.visit(node), self.checks
        finally:
            self.checks = saved

    def visit(self, node: ast.expr) -> Expr:
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:  # the spec checker lets nothing else through
            raise BuildError(f"{self.name}: cannot compile {ast.unparse(node)!r} to SQL")
        result: Expr = method(node)
        return result

    # -- leaves -------------------------------------------------------------------------

    def visit_Constant(self, node: ast.Constant) -> Expr:
        value = node.value
        if isinstance(value, bool):
            return Expr("TRUE" if value else "FALSE", "boolean", "BOOLEAN")
        if isinstance(value, int):
            if value < 2**63:
                return Expr(str(value), "integer", "BIGINT", pyint=True)
            return Expr(f"{float(value)!r}::DOUBLE", "integer", "DOUBLE", CAST, pyint=True)
        if isinstance(value, float):
            # A decimal literal is a DECIMAL in DuckDB; made a DOUBLE it is Python's float.
            return Expr(f"{value!r}::DOUBLE", "number", "DOUBLE", CAST)
        return Expr(literal(str(value)), "string", "VARCHAR")

    def visit_Name(self, node: ast.Name) -> Expr:
        if node.id in formulas.CONSTANTS:
            return self.visit_Constant(ast.Constant(formulas.CONSTANTS[node.id]))
        sym = self.scope[node.id]
        rep = SQL_TYPES[sym.type]
        pyint = sym.type == "integer"
        if sym.kind == "param":
            if node.id not in self.params:
                self.params.append(node.id)
            # Cast: DuckDB would otherwise type a parameter by the value bound to it.
            return Expr(f"${node.id}::{rep}", sym.type, rep, CAST, pyint=pyint)
        return Expr(quote(node.id), sym.type, rep, nullable=sym.nullable, pyint=pyint)

    # -- operators ----------------------------------------------------------------------

    def visit_BinOp(self, node: ast.BinOp) -> Expr:
        left, right = self.visit(node.left), self.visit(node.right)
        if isinstance(node.op, ast.Pow):
            return self.power(node, left, right)
        pyint = left.pyint and right.pyint and not isinstance(node.op, ast.Div)
        if isinstance(node.op, ast.Div | ast.FloorDiv | ast.Mod):
            right = self.divisor(node.right, right)
        if isinstance(node.op, ast.FloorDiv | ast.Mod):
            left, right = self.share(as_double(left)), as_double(right)
            macro = "sx_floordiv" if isinstance(node.op, ast.FloorDiv) else "sx_mod"
            result = combine([left, right], f"{macro}({left.sql}, {right.sql})", "number", "DOUBLE")
            return replace(result, heavy=True, pyint=pyint)
        symbol, prec = _ARITHMETIC[type(node.op)]
        if left.rep != "DOUBLE" and right.rep != "DOUBLE":
            left = as_double(left)  # BIGINT arithmetic would overflow for the whole query
        # The right operand is parenthesised at equal precedence: a - (b - c), and
        # a + (b + c) too, since DOUBLE addition is not associative.
        sql = f"{operand(left, prec)} {symbol} {operand(right, prec + 1)}"
        return replace(combine([left, right], sql, "number", "DOUBLE", prec), pyint=pyint)

    def divisor(self, node: ast.expr, divisor: Expr) -> Expr:
        """`divisor`, checked for zero unless it is a non-zero literal."""
        known = _literal_number(node)
        message = self.message("division by zero")
        if self.rules.division_by_zero == "missing":
            message = self.rules.left_missing(self.name)
        if known is None:
            divisor = self.share(divisor)
            self.check(f"{operand(divisor, COMPARE + 1)} = 0", message)
        elif known == 0:
            self.checks.append(message)
        return divisor

    def power(self, node: ast.BinOp, base: Expr, exponent: Expr) -> Expr:
        # int ** int is an int unless the exponent is negative (taken as not, unless it
        # is written out)
        written = _literal_number(node.right)
        pyint = base.pyint and exponent.pyint and (written is None or written >= 0)
        if formulas.constant(node):  # folded and accepted when the spec was checked
            sql = f"pow({base.sql}, {exponent.sql})"
            return replace(combine([base, exponent], sql, "number", "DOUBLE"), pyint=pyint)
        base, exponent = self.share(as_double(base)), self.share(as_double(exponent))
        self.checks.append(f"sx_pow_error({base.sql}, {exponent.sql}, {literal(self.name)})")
        sql = f"pow({base.sql}, {exponent.sql})"
        return replace(combine([base, exponent], sql, "number", "DOUBLE"), pyint=pyint)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Expr:
        inner = self.visit(node.operand)
        if isinstance(node.op, ast.Not):
            return replace(inner, sql=f"NOT {operand(inner, NOT)}", prec=NOT)
        inner = replace(as_double(inner), type="number")
        if isinstance(node.op, ast.UAdd):
            return inner
        # The operand of a minus binds tighter than it: never "--", which starts a comment.
        return replace(inner, sql=f"-{operand(inner, UNARY + 1)}", prec=UNARY)

    def visit_BoolOp(self, node: ast.BoolOp) -> Expr:
        word, decided = ("AND", "FALSE") if isinstance(node.op, ast.And) else ("OR", "TRUE")
        prec = AND if word == "AND" else OR
        compiled = [self.isolated(v) for v in node.values]
        # Python evaluates an operand only when the ones before it did not decide (SQL
        # also uses it when one before is NULL): its checks are guarded by them.
        guarded = max((i for i, (_, checks) in enumerate(compiled) if checks and i), default=0)
        values = [self.share(v) if i < guarded else v for i, (v, _) in enumerate(compiled)]
        for i, (_, checks) in enumerate(compiled):
            before = [f"{operand(v, COMPARE + 1)} IS NOT {decided}" for v in values[:i]]
            if before:
                self.guard(" AND ".join(before), checks)
            else:
                self.checks.extend(checks)
        sql = f" {word} ".join(operand(v, prec + 1) for v in values)
        return combine(values, sql, "boolean", "BOOLEAN", prec)

    def visit_Compare(self, node: ast.Compare) -> Expr:
        compiled = [self.isolated(n) for n in [node.left, *node.comparators]]
        last = len(compiled) - 1
        # Python stops a chain at its first false comparison: the checks of a later
        # operand are guarded by the comparisons before it, which name their operands
        # again; the middle operands are compared twice anyway.
        guarded = max((i for i, (_, checks) in enumerate(compiled) if checks and i > 1), default=0)
        values = [
            self.share(v) if 0 < i < last or i < guarded else v for i, (v, _) in enumerate(compiled)
        ]
        parts = [
            f"{operand(a, COMPARE + 1)} {_COMPARISONS[type(op)]} {operand(b, COMPARE + 1)}"
            for op, a, b in zip(node.ops, values, values[1:], strict=False)
        ]
        for i, (_, checks) in enumerate(compiled):
            before = [f"({p}) IS NOT FALSE" for p in parts[: max(i - 1, 0)]]
            if before:
                self.guard(" AND ".join(before), checks)
            else:
                self.checks.extend(checks)
        if len(parts) == 1:
            return combine(values, parts[0], "boolean", "BOOLEAN", COMPARE)
        return combine(values, " AND ".join(f"({p})" for p in parts), "boolean", "BOOLEAN", AND)

    def visit_IfExp(self, node: ast.IfExp) -> Expr:
        test = self.visit(node.test)
        body, body_checks = self.isolated(node.body)
        orelse, else_checks = self.isolated(node.orelse)
        if test.nullable or body_checks or else_checks:
            test = self.share(test)
        # A NULL condition takes neither branch: the result is missing, not `orelse`.
        otherwise = f"WHEN NOT {operand(test, NOT)} THEN" if test.nullable else "ELSE"
        if body_checks or else_checks:
            branches = f"WHEN {test.sql} THEN {coalesce(body_checks or ['NULL'])}"
            if else_checks:
                branches += f" {otherwise} {coalesce(else_checks)}"
            self.checks.append(f"CASE {branches} END")
        sql = f"CASE WHEN {test.sql} THEN {body.sql} {otherwise} {orelse.sql} END"
        # Integer and number branches make a number (DuckDB makes the CASE a DOUBLE).
        typ = body.type if body.type == orelse.type else "number"
        rep = body.rep if body.rep == orelse.rep else "DOUBLE"
        return replace(
            combine([test, body, orelse], sql, typ, rep), pyint=body.pyint and orelse.pyint
        )

    # -- functions ----------------------------------------------------------------------

    def visit_Call(self, node: ast.Call) -> Expr:
        assert isinstance(node.func, ast.Name)
        fname, args = node.func.id, node.args
        function = REGISTRY.get(fname)
        first_five = fname in formulas.AGGREGATES and len(args) <= 1  # min(x), not min(a, b)
        if first_five and self.aggregates is not None:
            return self.aggregate(node, fname)
        if function is not None and function.kind == "aggregate" and self.aggregates is not None:
            return self.registry_aggregate(node, function)
        if first_five or (function is not None and function.kind != "scalar"):
            return self.windowed(node, fname, function)  # in compute
        if function is not None:
            return self.registry_call(node, function)
        if fname in ("min", "max"):
            return self.extreme(fname, [self.visit(a) for a in args])
        if fname == "round":
            return self.round(args)
        value = self.visit(args[0])
        if fname == "abs":
            value = as_double(value)
            return replace(value, sql=f"abs({value.sql})", prec=ATOM, type="number")
        if fname == "sqrt":
            value = self.share(as_double(value))
            domain = self.message("invalid value", "math domain error")
            self.check(f"{operand(value, COMPARE + 1)} < 0", domain)
            return replace(value, sql=f"sqrt({value.sql})", type="number", pyint=False)
        # ceil() and floor(): Python's int of a float; a DOUBLE holding it here
        if value.rep == "BIGINT":
            return replace(value, type="integer")
        value = self.share(value)
        self.integral_checks(value)
        return replace(value, sql=f"{fname}({value.sql})", type="integer", pyint=True)

    def registry_call(self, node: ast.Call, function: Function) -> Expr:
        """A registry function (scriptexec/spec/functions): its SQL template over the
        arguments. Such functions never fail a row (but for a `whole` argument that is
        not): DuckDB computes them for every value, and a missing argument gives a
        missing result unless the entry says."""
        args = [self.visit(a) for a in node.args]
        typ = function.result
        if typ == "same":
            types = {a.type for a in args}
            typ = "number" if types <= set(formulas.NUMERIC) and len(types) > 1 else args[0].type
        if typ == "number" and function.result == "same":
            args = [as_double(a) for a in args]  # COALESCE(BIGINT, DOUBLE): one type
        constants = [a.value if isinstance(a, ast.Constant) else None for a in node.args]
        # An argument the template writes more than once is shared (so the SQL grows
        # linearly with nesting: regex_extract(regex_extract(...)), add_days(add_days(...)).
        marks = [f"\x00{i}\x00" for i in range(len(args))]
        uses = function.sql(marks, constants)
        args = [self.share(a) if uses.count(m) > 1 else a for a, m in zip(args, marks, strict=True)]
        for i, arg in enumerate(args):
            if function.arg_type(i) == "whole" and not arg.pyint:  # add_days(d, x * 1.5)
                args[i] = arg = self.share(arg)
                wrong = self.message("invalid value", f"{function.name}() takes a whole number")
                self.check(f"{operand(arg, COMPARE + 1)} <> trunc({arg.sql})", wrong)
        sql = function.sql([operand(a, ATOM) for a in args], constants)
        if function.result == "same" and typ in formulas.TEMPORAL:
            # DuckDB's date arithmetic makes a TIMESTAMP of a DATE (DATE + INTERVAL)
            sql = f"CAST({sql} AS {SQL_TYPES[typ]})"
        nullable = any(a.nullable for a in args) if function.nullable is None else function.nullable
        result = combine(args, sql, typ, SQL_TYPES[typ])
        return replace(result, nullable=nullable, pyint=typ == "integer")

    def integral_checks(self, value: Expr) -> None:
        """What Python raises making an int of a float (ceil, floor, round(x))."""
        # invalid value in f: cannot convert float NaN to integer; number too large in f
        self.checks.append(f"sx_integral_error({value.sql}, {literal(self.name)})")

    def extreme(self, fname: str, args: list[Expr]) -> Expr:
        """min(a, b, ...), max(...): NULL when an argument is (least() would skip it)."""
        args = [self.share(a) if a.nullable else a for a in map(as_double, args)]
        function = "least" if fname == "min" else "greatest"
        sql = f"{function}({', '.join(a.sql for a in args)})"
        missing = [f"{operand(a, COMPARE + 1)} IS NULL" for a in args if a.nullable]
        if missing:
            sql = f"CASE WHEN {' OR '.join(missing)} THEN NULL ELSE {sql} END"
        result = combine(args, sql, "number", "DOUBLE")
        return replace(result, pyint=all(a.pyint for a in args))

    def round(self, args: list[ast.expr]) -> Expr:
        value = self.visit(args[0])
        if len(args) == 1:
            if value.rep == "BIGINT":  # round() of an int is the int itself
                return replace(as_double(value), type="number")
            value = self.share(value)
            self.integral_checks(value)
            return replace(value, sql=f"round_even({value.sql}, 0)", type="number", pyint=True)
        digits = self.visit(args[1])
        value, digits = self.share(as_double(value)), self.share(digits)
        if not digits.pyint:  # round(x, 2.0) raised TypeError, whatever the numbers
            self.check(
                f"{operand(value, COMPARE + 1)} IS NOT NULL"
                f" AND {operand(digits, COMPARE + 1)} IS NOT NULL",
                literal(
                    f"TypeError in {self.name}: 'float' object cannot be interpreted as an integer"
                ),
            )
        elif _literal_number(args[1]) is None:
            self.check(f"abs({digits.sql}) > {MAX_ROUND_DIGITS}", self.message("number too large"))
        whole = digits.sql if digits.rep == "BIGINT" else f"TRY_CAST({digits.sql} AS BIGINT)"
        result = combine([value, digits], f"sx_round({value.sql}, {whole})", "number", "DOUBLE")
        return replace(result, heavy=True, pyint=value.pyint)

    # -- aggregates ---------------------------------------------------------------------

    def aggregate(self, node: ast.Call, fname: str) -> Expr:
        """An aggregate: its argument per row, itself a column of the aggregation layer;
        a check failing on any counted row is this value's error (the first by _ord)."""
        assert self.aggregates is not None and self.row_temps is not None
        assert self.row_scope is not None
        rows = _Formula(self.name, self.row_scope, self.params, self.row_temps, rules=self.rules)
        text = ast.unparse(node)
        where = self.where(node, text)
        arg = rows.visit(node.args[0]) if node.args else None
        if arg is not None and arg.nullable:
            self.skipped.append(_left_out(arg.sql, where))
        named = self.aggregates.name(text, fname)
        column = self.aggregates.add(text, named, self.aggregate_sql(fname, arg, where))
        self.row_errors(rows.checks, text, named, where)
        if fname == "count":
            return Expr(column, "integer", "BIGINT", pyint=True)
        nullable = fname in _NULLABLE_AGGREGATES
        if arg is not None and arg.type in formulas.TEMPORAL:  # min, max: the earliest, latest
            return Expr(column, arg.type, arg.rep, nullable=nullable)
        pyint = arg is not None and arg.pyint and fname != "mean"
        return Expr(column, "number", "DOUBLE", nullable=nullable, pyint=pyint)

    def where(self, node: ast.Call, text: str) -> str | None:
        """An aggregate's `where=` condition over the row's fields, as the FILTER it adds
        (rows where it is true). A check of the condition counts on every row."""
        assert self.row_scope is not None and self.row_temps is not None
        for kw in node.keywords:
            if kw.arg == "where":
                rows = _Formula(
                    self.name, self.row_scope, self.params, self.row_temps, rules=self.rules
                )
                condition = operand(rows.visit(kw.value), AND + 1)
                self.row_errors(rows.checks, f"{text} where", self.aggregates_name(text))
                return condition
        return None

    def aggregates_name(self, text: str) -> str:
        assert self.aggregates is not None
        return self.aggregates.name(text, "where")

    def aggregate_sql(self, fname: str, arg: Expr | None, condition: str | None = None) -> str:
        assert self.aggregates is not None
        if arg is None:  # count()
            return "count(*)" + self.aggregates.filtered(condition)
        if fname == "count":
            counted = " AND ".join(c for c in (condition, operand(arg, AND + 1)) if c)
            return "count(*)" + self.aggregates.filtered(counted)
        where = self.aggregates.filtered(condition)
        exact = arg.rep == "BIGINT"  # integers are summed exactly (HUGEINT), as in Python
        if fname == "sum":
            if exact:
                return f"COALESCE(sum({arg.sql}){where}, 0)::DOUBLE"
            return f"COALESCE(fsum({arg.sql}){where}, 0)"
        if fname == "mean":
            return f"{'avg' if exact else 'favg'}({arg.sql}){where}"
        return f"{fname}({arg.sql}){where}" + ("::DOUBLE" if exact else "")

    def row_errors(
        self, checks: Sequence[str], text: str, named: str, where: str | None = None
    ) -> None:
        """An aggregate's argument's checks, per row: the first failing on a counted row
        (by _ord; with `where`, a row where it holds) is this value's error, a column of
        the aggregation layer."""
        assert self.aggregates is not None and self.row_temps is not None
        if checks:
            error = self.row_temps.add(coalesce(checks))
            first = f'arg_min({error}, "_ord"){self.aggregates.filtered(where)}'
            key = f"{text} in {self.name}: error"
            self.checks.append(self.aggregates.add(key, f"{named} in {self.name}", first))

    def registry_aggregate(self, node: ast.Call, function: Function) -> Expr:
        """A registry aggregate (scriptexec/spec/functions/aggregates.py) in summary or
        groups: as aggregate(), its arguments per row and the call a column of the
        aggregation layer, skipping the rows in error."""
        assert self.aggregates is not None and self.row_temps is not None
        assert self.row_scope is not None
        rows = _Formula(self.name, self.row_scope, self.params, self.row_temps, rules=self.rules)
        text = ast.unparse(node)
        where = self.where(node, text)
        args = [rows.visit(a) for a in node.args]
        self.skipped.extend(_left_out(a.sql, where) for a in args if a.nullable)
        named = self.aggregates.name(text, function.name)
        call = function.sql([operand(a, ATOM) for a in args], _constants(node.args))
        column = self.aggregates.add(text, named, call + self.aggregates.filtered(where))
        self.row_errors(rows.checks, text, named, where)
        return _over_rows(function, args, column)

    # -- windows, and aggregates in compute ---------------------------------------------

    def windowed(self, node: ast.Call, fname: str, function: Function | None) -> Expr:
        """A window, or an aggregate in compute: a window function over the rows of the
        row's partition (per=), in order for a window (order=, ties by input order).
        Its arguments' checks go through the same window: a row whose argument failed
        fails the values that read it (the first such row in input order, for a window
        over many rows)."""
        compiled = [self.isolated(a) for a in node.args]
        args = [arg for arg, _ in compiled]
        checks = [check for _, arg_checks in compiled for check in arg_checks]
        window = fname if function is not None and function.kind == "window" else None
        over = _over({kw.arg or "": kw.value for kw in node.keywords}, window)
        constants = _constants(node.args)
        if checks:
            error = self.temps.add(coalesce(checks))
            if function is not None and fname in windows.ONE_ROW:
                rest = [operand(a, ATOM) for a in args[1:]]
                self.checks.append(f"{function.sql([error, *rest], constants)} {over}")
            else:
                self.checks.append(f'arg_min({error}, "_ord") {over}')
        if function is None:  # sum mean count min max
            value = self.windowed_aggregate(fname, args[0] if args else None, over)
        else:
            value = self.window_value(function, args, constants, over)
        # (a window sorts or scans its partition: worth a column when read twice)
        return replace(value, heavy=True)

    def window_value(
        self, function: Function, args: Sequence[Expr], constants: Sequence[object], over: str
    ) -> Expr:
        """A registry window or aggregate over `over`."""
        exact = args and args[0].rep == "BIGINT" and windows.EXACT_FOR_INTEGERS.get(function.name)
        if exact == "sum":  # a HUGEINT, which must fit an integer
            summed = f"COALESCE(sum({args[0].sql}) {over}, 0)"
            total = self.share(Expr(summed, "integer", "HUGEINT"))
            self.check(
                f"{total.sql} NOT BETWEEN {-(2**63)} AND {2**63 - 1}",
                self.message("number too large"),
            )
            return Expr(f"TRY_CAST({total.sql} AS BIGINT)", "integer", "BIGINT", pyint=True)
        if exact == "avg":
            return Expr(f"avg({args[0].sql}) {over}", "number", "DOUBLE", CAST, nullable=True)
        sql = f"{function.sql([operand(a, ATOM) for a in args], constants)} {over}"
        if function.name == "running_sum":  # 0 before any value, as sum() over no rows
            sql = f"COALESCE({sql}, 0)"
        return replace(_over_rows(function, args, sql), prec=CAST)

    def windowed_aggregate(self, fname: str, arg: Expr | None, over: str) -> Expr:
        """sum mean count min max in compute: of the values as computed, the same types
        as in summary."""
        if arg is None:  # count()
            return Expr(f"count(*) {over}", "integer", "BIGINT", CAST, pyint=True)
        if fname == "count":
            sql = f"count(*) FILTER (WHERE {operand(arg, AND + 1)}) {over}"
            return Expr(sql, "integer", "BIGINT", CAST, pyint=True)
        exact = arg.rep == "BIGINT"  # integers are summed exactly (HUGEINT), as in Python
        if fname == "sum":
            sql = f"COALESCE({'sum' if exact else 'fsum'}({arg.sql}) {over}, 0)"
            return Expr(sql + ("::DOUBLE" if exact else ""), "number", "DOUBLE", CAST)
        if fname == "mean":
            sql = f"{'avg' if exact else 'favg'}({arg.sql}) {over}"
            return Expr(sql, "number", "DOUBLE", CAST, nullable=True)
        sql = f"{fname}({arg.sql}) {over}"
        if arg.type in formulas.TEMPORAL:  # min, max: the earliest, latest
            return Expr(sql, arg.type, arg.rep, CAST, nullable=True)
        sql = f"({sql})::DOUBLE" if exact else sql
        return Expr(sql, "number", "DOUBLE", CAST, nullable=True, pyint=arg.pyint)


def _over_rows(function: Function, args: Sequence[Expr], sql: str) -> Expr:
    """The value of a registry aggregate or window: its registry type ("first": exactly
    its first argument's), missing as its entry says."""
    nullable = function.nullable is not False
    if function.result == "first":
        first = args[0]
        return Expr(sql, first.type, first.rep, nullable=nullable, pyint=first.pyint)
    typ = function.result
    return Expr(sql, typ, SQL_TYPES[typ], nullable=nullable, pyint=typ == "integer")


def _over(keywords: Mapping[str, ast.expr], window: str | None) -> str:
    """The OVER clause of a window (`window` its name) or of an aggregate in compute
    (None): its partition, and for a window its order (a missing value last, either
    way; ties by input order, but for rank) and its frame."""
    parts = []
    per = _keyword_fields(keywords.get("per"))
    if per:
        parts.append("PARTITION BY " + ", ".join(quote(name) for name, _ in per))
    if window is not None:
        keys = [
            f"{quote(name)}{' DESC' if descending else ''} NULLS LAST"
            for name, descending in _keyword_fields(keywords.get("order"))
        ]
        if window not in windows.UNTIED:
            keys.append('"_ord"')
        parts.append("ORDER BY " + ", ".join(keys))
        frame = windows.FRAMES[window]
        if frame:
            parts.append(frame)
    return f"OVER ({' '.join(parts)})"


def _keyword_fields(node: ast.expr | None) -> list[tuple[str, bool]]:
    """The fields of `order=` or `per=` (checked), each with whether it is `-field`."""
    items = [] if node is None else node.elts if isinstance(node, ast.List) else [node]
    fields = []
    for item in items:
        descending = isinstance(item, ast.UnaryOp)
        name = item.operand if isinstance(item, ast.UnaryOp) else item
        assert isinstance(name, ast.Name)
        fields.append((name.id, descending))
    return fields


def _constants(nodes: Sequence[ast.expr]) -> list[object]:
    """The arguments written as constants (text, or a number with its sign), else None."""
    return [formulas.written(node) for node in nodes]


def _left_out(arg: str, where: str | None) -> str:
    """The condition of a row an aggregate leaves out for a missing argument (among the
    rows its `where` counts)."""
    missing = f"{operand_sql(arg)} IS NULL"
    return f"{where} IS TRUE AND {missing}" if where else missing


def operand_sql(sql: str) -> str:
    """An SQL expression of unknown precedence as an operand: parenthesised unless it is
    a name or a call."""
    return sql if re.fullmatch(r'"(?:[^"]|"")*"|\w+\([^()]*\)', sql) else f"({sql})"


def _literal_number(node: ast.expr) -> float | None:
    """The value of a number written as a literal (`100`, `-2`), else None."""
    sign = 1
    while isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        sign = -sign if isinstance(node.op, ast.USub) else sign
        node = node.operand
    value = node.value if isinstance(node, ast.Constant) else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(sign * value)
    return None


def _empty_fields(tree: ast.expr, scope: Mapping[str, Symbol]) -> list[str]:
    """The input fields that may be empty which a formula names, in evaluation order."""
    found: list[str] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name):
            sym = scope.get(node.id)
            if sym is not None and sym.empty_field and node.id not in found:
                found.append(node.id)
        stack.extend(reversed(list(ast.iter_child_nodes(node))))
    return found


def _is_plain_aggregate(tree: ast.expr) -> bool:
    """A value that is one aggregate or one name: NULL is its answer (the mean of no
    rows, another value's NULL), not an error, as in the old path."""
    if isinstance(tree, ast.Name):
        return True
    return (
        isinstance(tree, ast.Call)
        and isinstance(tree.func, ast.Name)
        and tree.func.id in _NULLABLE_AGGREGATES
        and (len(tree.args) == 1 or tree.func.id in REGISTRY)  # min(x), percentile(x, p)
    )


def _missing(name: str, empties: Sequence[str]) -> str:
    """The message of a value that is missing: naming the first empty input field the
    formula names, if one is."""
    plain = literal(f"missing value in {name}")
    if not empties:
        return plain
    whens = " ".join(
        f"WHEN {quote(f)} IS NULL THEN {literal(f'missing value in {name} ({f} is empty)')}"
        for f in empties
    )
    return f"CASE {whens} ELSE {plain} END"


def _missing_whens(name: str, value: str, empties: Sequence[str]) -> list[str]:
    """The WHEN clauses naming what is missing when `value` is NULL: the first empty
    input field the formula names, else nothing more."""
    whens = [
        f"WHEN {value} IS NULL AND {quote(f)} IS NULL"
        f" THEN {literal(f'missing value in {name} ({f} is empty)')}"
        for f in empties
    ]
    return [*whens, f"WHEN {value} IS NULL THEN {literal(f'missing value in {name}')}"]


# -- layout: lines of at most WIDTH --------------------------------------------------------

# The tokens of the SQL the compiler writes: a string constant, a quoted name, a
# parameter, a number, a word, an operator (an expression is only ever broken between two).
_TOKEN = re.compile(
    r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\$\w+|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\w+"
    r"|::|:=|<>|<=|>=|\|\||\S"
)
# Where a line is best broken: before the loosest of these (after a comma first); the
# clauses of a CASE one a line.
_LOOSENESS = {
    "WHEN": 1,
    "ELSE": 1,
    "THEN": 2,
    "ON": 2,
    "OR": 3,
    "AND": 4,
    **dict.fromkeys(["=", "<>", "<", "<=", ">", ">=", "IS", "FILTER"], 5),
    "||": 6,
    **dict.fromkeys(["+", "-"], 7),
    **dict.fromkeys(["*", "/", "%"], 8),
}
_CLAUSE = 1
_ANYWHERE = 9  # before any other word or bracket
# Brackets and operators broken inside one another, at most (deeper, the tokens just fill
# the lines): the layout recurses, two frames a level.
MAX_WRAP_DEPTH = 200
MAX_DRIFT = 20  # what follows an opening bracket this far right of its indent: next line


@dataclass
class _Group:
    """A bracketed part of an expression, `( ... )` or `CASE ... END`."""

    open: str
    nodes: list[tuple[bool, str | _Group]] = field(default_factory=list)  # (spaced, node)
    close: str = ""
    close_spaced: bool = False
    text: str = ""  # on one line


def _tree(sql: str) -> list[tuple[bool, str | _Group]]:
    """`sql` as tokens and groups, each with whether a space came before it."""
    root = _Group("")
    stack = [root]
    end = 0
    for match in _TOKEN.finditer(sql):
        token, spaced, end = match.group(), match.start() > end, match.end()
        if token in ("(", "CASE"):
            group = _Group(token)
            stack[-1].nodes.append((spaced, group))
            stack.append(group)
        elif len(stack) > 1 and token == {"(": ")", "CASE": "END"}[stack[-1].open]:
            group = stack.pop()
            group.close, group.close_spaced = token, spaced
            group.text = _group_text(group)
        else:
            stack[-1].nodes.append((spaced, token))
    while len(stack) > 1:  # (the compiler closes every bracket it opens)
        group = stack.pop()
        group.text = _group_text(group)
    return root.nodes


def _text(nodes: Sequence[tuple[bool, str | _Group]], lead: bool = False) -> str:
    """`nodes` on one line (with the space before the first when `lead`)."""
    return "".join(
        (" " if spaced and (lead or n) else "") + (node if isinstance(node, str) else node.text)
        for n, (spaced, node) in enumerate(nodes)
    )


def _group_text(group: _Group) -> str:
    inner = _text(group.nodes, lead=True)
    return f"{group.open}{inner}{' ' if group.close_spaced else ''}{group.close}"


def _looseness(nodes: Sequence[tuple[bool, str | _Group]], n: int) -> int:
    """How good a place to break a line the space before nodes[n] is (lower: better)."""
    if nodes[n - 1][1] == ",":
        return 0
    node = nodes[n][1]
    if not isinstance(node, str) or node not in _LOOSENESS:
        return _ANYWHERE
    if node in ("+", "-") and not (n + 1 < len(nodes) and nodes[n + 1][0]):
        return _ANYWHERE  # a sign, not a subtraction
    return _LOOSENESS[node]


def _wrap(
    nodes: Sequence[tuple[bool, str | _Group]],
    col: int,
    indent: int,
    tail: int,
    depth: int = 0,
    opened: bool = False,
    case: bool = False,
) -> list[str]:
    """`nodes` written from column `col` of a line and continued on lines indented by
    `indent`, `tail` more characters following the last: the lines (the first without
    what comes before `col`). Broken before the loosest operators, filling each line;
    inside the largest bracket when there are none; never inside a token. `opened`: they
    follow an opening bracket, and may start on the next line (the first line empty):
    when that makes them fit, or when `col` is far right (only then after a CASE)."""
    flat = _text(nodes)
    if col + len(flat) + tail <= WIDTH:
        return [flat]
    if depth > MAX_WRAP_DEPTH:
        return _fill(_tokens(nodes), col, indent, tail)
    fits = indent + len(flat) + tail <= WIDTH
    if opened and ((fits and not case) or col - indent > MAX_DRIFT):
        more = _wrap(nodes, indent, indent, tail, depth + 1)  # (far right: back left)
        return ["", " " * indent + more[0], *more[1:]]
    breaks = [(_looseness(nodes, n), n) for n in range(1, len(nodes)) if nodes[n][0]]
    loosest = min((looseness for looseness, _ in breaks), default=_ANYWHERE)
    groups = [n for n, (_, node) in enumerate(nodes) if isinstance(node, _Group)]
    if loosest == _ANYWHERE and groups:
        largest = max(groups, key=lambda n: len(_text(nodes[n : n + 1])))  # (its text)
        return _wrap_inside(nodes, largest, col, indent, tail, depth)
    cuts = [0, *(n for looseness, n in breaks if looseness == loosest), len(nodes)]
    if len(cuts) == 2:
        return [flat]  # one token, or one run of them without a space: it stays whole
    inner = min(indent + STEP, MAX_INDENT)
    lines: list[str] = []
    for start, stop in itertools.pairwise(cuts):
        part = nodes[start:stop]
        end = tail if stop == len(nodes) else 0
        if not lines:
            text = _text(part)
            if opened and not case and col + len(text) + end > WIDTH >= indent + len(text) + end:
                lines = ["", " " * indent + text]
            else:
                lines = _wrap(part, col, inner, end, depth + 1)
            continue
        used = len(lines[-1]) + (col if len(lines) == 1 else 0)
        text = _text(part)
        if loosest != _CLAUSE and used + 1 + len(text) + end <= WIDTH:
            lines[-1] += " " + text
        else:
            more = _wrap(part, indent, inner, end, depth + 1)
            lines += [" " * indent + more[0], *more[1:]]
    return lines


def _tokens(nodes: Sequence[tuple[bool, str | _Group]]) -> list[tuple[bool, str]]:
    """The tokens of `nodes`, brackets and all (without recursing)."""
    tokens: list[tuple[bool, str]] = []
    stack: list[tuple[Sequence[tuple[bool, str | _Group]], int, _Group | None]] = [(nodes, 0, None)]
    while stack:
        items, n, group = stack.pop()
        if n == len(items):
            if group is not None:
                tokens.append((group.close_spaced, group.close))
            continue
        stack.append((items, n + 1, group))
        spaced, node = items[n]
        if isinstance(node, str):
            tokens.append((spaced, node))
        else:
            tokens.append((spaced, node.open))
            stack.append((node.nodes, 0, node))
    return tokens


def _fill(tokens: Sequence[tuple[bool, str]], col: int, indent: int, tail: int) -> list[str]:
    """`tokens` on as few lines as they fit, broken at any space, after an opening
    bracket or before a closing one: for brackets nested too deeply to lay out."""
    runs: list[tuple[bool, str]] = []  # (spaced, tokens that stay together)
    for n, (spaced, token) in enumerate(tokens):
        if n and not (spaced or tokens[n - 1][1] == "(" or token == ")"):
            runs[-1] = (runs[-1][0], runs[-1][1] + token)
        else:
            runs.append((spaced and n > 0, token))
    lines = [""]
    used = col
    for n, (spaced, run) in enumerate(runs):
        space = " " if spaced else ""
        end = tail if n == len(runs) - 1 else 0
        if n and used + len(space) + len(run) + end > WIDTH and used > indent:
            lines.append(" " * indent + run)
            used = indent + len(run)
        else:
            lines[-1] += space + run
            used += len(space) + len(run)
    return lines


def _wrap_inside(
    nodes: Sequence[tuple[bool, str | _Group]],
    n: int,
    col: int,
    indent: int,
    tail: int,
    depth: int,
) -> list[str]:
    """`nodes` broken inside the group nodes[n]: its brackets stay on the first and last
    lines, what comes before and after it beside them."""
    spaced, group = nodes[n]
    assert isinstance(group, _Group)
    first = group.nodes[0][0] if group.nodes else False
    head = _text(nodes[:n]) + (" " if spaced and n else "") + group.open + (" " if first else "")
    rest = (" " if group.close_spaced else "") + group.close + _text(nodes[n + 1 :], lead=True)
    case = group.open == "CASE"  # (which keeps its first clause beside it)
    lines = _wrap(group.nodes, col + len(head), indent, len(rest) + tail, depth + 1, True, case)
    lines[0] = (head + lines[0]).rstrip()
    used = len(lines[-1]) + (col if len(lines) == 1 else 0)
    if used + len(rest) + tail > WIDTH and len(lines) > 1:
        lines.append(" " * indent + rest.lstrip())  # (closing what is nested too deeply)
    else:
        lines[-1] += rest
    return lines


def _item(sql: str, name: str | None, indent: int, end: str = "") -> list[str]:
    """`<sql> AS <name>` (or `<sql>`) on lines indented by `indent`, `end` after it."""
    alias = f" AS {name}" if name else ""
    pad, inner = " " * indent, min(indent + STEP, MAX_INDENT)
    if indent + len(sql) + len(alias) + len(end) <= WIDTH:
        return [pad + sql + alias + end]
    if alias and indent + len(sql) <= WIDTH and inner + len(alias) + len(end) <= WIDTH + 1:
        return [pad + sql, " " * inner + alias[1:] + end]  # the name on a line of its own
    lines = _wrap(_tree(sql), indent, inner, len(alias) + len(end))
    lines[0] = pad + lines[0]
    lines[-1] += alias + end
    return lines


def _listing(groups: Sequence[Sequence[tuple[str, str | None]]], indent: int) -> list[str]:
    """The items of a SELECT, comma-separated: each group from a new line, as many of its
    items on a line as fit, an item with a bracket on lines of its own."""
    count = sum(len(group) for group in groups)
    lines: list[str] = []
    done = 0
    for group in groups:
        packing = False
        for sql, name in group:
            done += 1
            end = "," if done < count else ""
            text = sql + (f" AS {name}" if name else "") + end
            bracketed = "(" in _TOKEN.findall(sql)
            if packing and not bracketed and len(lines[-1]) + 1 + len(text) <= WIDTH:
                lines[-1] += " " + text
                continue
            more = _item(sql, name, indent, end)
            lines += more
            packing = len(more) == 1 and not bracketed
    return lines


def _names(sql: str) -> set[str]:
    """The quoted names `sql` reads (a string constant is no name)."""
    return {t for t in _TOKEN.findall(sql) if t.startswith('"')}


def _is_column(sql: str) -> bool:
    return re.fullmatch(r'"(?:[^"]|"")*"', sql) is not None


def _statement(
    ctes: Sequence[Sequence[str]], select: Sequence[str], source: str, after: Sequence[str] = ()
) -> str:
    """WITH the CTEs (each its lines), the SELECT of `select` lines FROM `source`."""
    lines = ["WITH"] if ctes else []
    for n, cte in enumerate(ctes, 1):
        lines += [*cte[:-1], cte[-1] + ("," if n < len(ctes) else "")]
    return "\n".join([*lines, "SELECT", *select, f"FROM {source}", *after])


# -- the CTEs ------------------------------------------------------------------------------


@dataclass
class _Unit:
    """Columns computed side by side: a formula's value and its checks, a temporary
    column, or a value kept (and its error completed) when nothing failed."""

    columns: list[tuple[str, str]]  # (SQL, quoted name)
    finish: str | None = None  # the value it finishes, which the final SELECT may do
    comment: str | None = None
    reads: set[str] = field(default_factory=set)


class _Plan:
    """A query's CTEs over table `base`, each `SELECT *` and more columns (or the same
    ones REPLACEd): every unit of columns goes into the first CTE after the ones that
    compute what it reads."""

    def __init__(self, prefix: str, base: str) -> None:
        self.prefix = prefix
        self.base = base
        self.units: list[_Unit] = []
        self.folded: set[str] = set()  # values the final SELECT finishes (see build)

    def add(
        self,
        columns: Sequence[tuple[str, str]],
        *,
        finish: str | None = None,
        comment: str | None = None,
    ) -> None:
        reads = set().union(*(_names(sql) for sql, _ in columns))
        self.units.append(_Unit(list(columns), finish, comment, reads))

    def build(self) -> tuple[list[list[str]], str]:
        """The CTEs (each its lines) and the name of the last (the base when there are
        none). A value's finishing unit whose columns nothing else reads is left to the
        final SELECT (`folded`): it reads only columns, so it costs nothing there, and a
        CTE less."""
        readers: dict[str, int] = {}
        for unit in self.units:
            for name in unit.reads:
                readers[name] = readers.get(name, 0) + 1
        ready: dict[str, int] = {}  # column -> the CTE that computes it (0: the base)
        layers: list[list[tuple[_Unit, list[bool]]]] = []
        for unit in self.units:
            names = [name for _, name in unit.columns]
            others = [readers.get(name, 0) - (name in unit.reads) for name in names]
            if unit.finish is not None and not any(others):
                self.folded.add(unit.finish)
                continue
            after = [ready.get(name, 0) for name in [*unit.reads, *names]]
            at = max(after, default=0)
            while len(layers) <= at:
                layers.append([])
            layers[at].append((unit, [name in ready for name in names]))
            ready.update(dict.fromkeys(names, at + 1))
        ctes: list[list[str]] = []
        source = self.base
        for n, layer in enumerate(layers, 1):
            name = f"{self.prefix}{n}"
            ctes.append(_cte(name, layer, source))
            source = name
        return ctes, source


def _cte(name: str, layer: Sequence[tuple[_Unit, list[bool]]], source: str) -> list[str]:
    """`<name> AS (SELECT * REPLACE (...), ... FROM <source>)`: on one line when it fits,
    else one column a line (a unit's comment before its first)."""
    replaced: list[tuple[str, str]] = []
    added: list[tuple[str, str, str | None]] = []
    for unit, replaces_each in layer:
        comment = unit.comment
        for (sql, column), replaces in zip(unit.columns, replaces_each, strict=True):
            if replaces:
                replaced.append((sql, column))
            else:
                added.append((sql, column, comment))
                comment = None
    head = f"  {name} AS (SELECT *"
    listed = ", ".join(f"{sql} AS {column}" for sql, column in replaced)
    replacing = f" REPLACE ({listed})" if replaced else ""
    more = "".join(f", {sql} AS {column}" for sql, column, _ in added)
    one = f"{head}{replacing}{more} FROM {source})"
    if len(one) + 1 <= WIDTH and not any(comment for _, _, comment in added):
        return [one]
    lines: list[str] = []
    if replaced and len(head + replacing) + 1 <= WIDTH:
        lines.append(head + replacing + ("," if added else ""))
    elif replaced:
        lines.append(head + " REPLACE (")
        for n, (sql, column) in enumerate(replaced, 1):
            end = "," if n < len(replaced) else ")" + ("," if added else "")
            lines += _item(sql, column, 6, end)
    else:
        lines.append(head + ",")
    for n, (sql, column, comment) in enumerate(added, 1):
        if comment:
            lines.append("    " + comment)
        lines += _item(sql, column, 4, "," if n < len(added) else "")
    return [*lines, f"  FROM {source})"]


@dataclass
class _Value:
    """A compiled formula: its column's type; its value as kept when nothing failed and
    its error, both over columns, which a finishing unit computes unless the final SELECT
    does (`folded`)."""

    name: str
    type: str
    kept: str
    error: str | None  # None: it never fails
    finished: bool  # a finishing unit computes them (else `kept` is the column itself)
    warning: str | None = None  # a division by zero left missing, over columns
    nullable: bool = True  # may be missing without an error (a missing input, a warning)

    def select(self, plan: _Plan) -> tuple[str, str | None]:
        """The value and its error as the final SELECT reads them."""
        if not self.finished or self.name in plan.folded:
            return self.kept, self.error
        return quote(self.name), quote(f"_e_{self.name}") if self.error else None


def _call(function: str, *args: str | None) -> str:
    """A finishing macro's call: an absent argument (None) left to its default, NULL;
    the last, `m`, named when `e` before it is absent."""
    present = [arg for arg in args if arg is not None]
    if args[-1] is not None and args[-2] is None:
        present[-1] = f"m := {args[-1]}"
    return f"{function}({', '.join(present)})"


def _compile_value(
    plan: _Plan,
    compiler: _Formula,
    tree: ast.expr,
    declared: str,
    empties: Sequence[str] | None,
) -> _Value:
    """One formula into the plan: its temporary columns, its value and checks, the unit
    that finishes it. `empties` are the fields a missing-value message may name; None
    when NULL is an answer, not an error (a summary value that is an aggregate alone)."""
    name, v = compiler.name, quote(compiler.name)
    expr = compiler.visit(tree)
    for column in compiler.temps.columns:
        plan.add([column])
    # An integer of the model's that may not be whole (an if whose branches mix integer
    # and number) is a DOUBLE column.
    # (The checker types integer what Python computes as an int: i * 2, min(i, j).)
    whole = expr.type == "integer" or (expr.pyint and expr.type == "number")
    typ = "integer" if declared == "integer" and whole else expr.type
    if typ == "number":
        expr = as_double(expr)
    value = expr.sql
    if typ == "integer" and expr.rep == "BIGINT" and not value.startswith('"'):
        value = f"{operand(expr, ATOM)}::BIGINT"  # an integer literal is an INTEGER in DuckDB
    # The value as computed and the first of its checks that failed, as columns: an
    # expression becomes one (beside the others of its level), a column stays itself.
    raw = value if _is_column(value) else v
    checks = coalesce(compiler.checks) if compiler.checks else None
    error = checks if checks is None or _is_column(checks) else quote(f"_c_{name}")
    computed = [(value, raw)] if value != raw else []
    if checks is not None and error is not None and checks != error:
        computed.append((checks, error))
    if computed:
        # its parts are columns of the CTEs before: say what it is, if that takes a line
        comment = f"-- {name} = {ast.unparse(tree)}"
        fits = 4 + len(comment) <= WIDTH and not re.search(r'\\|"""', comment)
        plan.add(computed, comment=comment if compiler.temps.columns and fits else None)
    # (An expression of fields that cannot be NULL is never NULL: DuckDB's arithmetic
    # gives inf and NaN, never NULL, so the missing-value check would be dead weight.)
    missing = None
    if empties is not None and expr.nullable and compiler.rules.missing == "error":
        missing = _missing(name, empties)
    f = literal(name)
    failed: str | None
    if typ == "number":  # kept when finite
        kept = _call("sx_num", raw, error)
        failed = _call("sx_num_error", raw, f, error, missing)
    elif typ == "integer" and expr.rep == "DOUBLE":  # ceil() and floor(): a whole DOUBLE
        kept = _call("sx_int", raw, error)
        failed = _call("sx_int_error", raw, f, error, missing)
    elif error:
        kept = _call("sx_val", raw, error)
        failed = _call("sx_val_error", raw, error, missing)
    else:  # nothing to undo: its value is the column
        kept = raw
        whens = _missing_whens(name, raw, empties or ()) if missing else []
        failed = f"CASE {' '.join(whens)} END" if whens else None
    warning = None
    left_missing = compiler.rules.left_missing(name)
    if failed and error and any(left_missing in check for check in compiler.checks):
        # A division by zero the spec leaves missing: a warning, not the row's error.
        warning = f"CASE WHEN {error} = {left_missing} THEN {left_missing} END"
        failed = f"NULLIF({failed}, {left_missing})"
    if kept != v:
        plan.add([(kept, v), *([(failed, quote(f"_e_{name}"))] if failed else [])], finish=name)
    nullable = expr.nullable or warning is not None
    return _Value(name, typ, kept, failed, kept != v, warning, nullable)


# -- the model -----------------------------------------------------------------------------


Field = tuple[Mapping[str, Any], Mapping[str, Any]]  # (its input, its declaration)


def _primary(model: Mapping[str, Any]) -> Mapping[str, Any]:
    return next(i for i in model["inputs"] if i["primary"])


def _input_fields(model: Mapping[str, Any]) -> dict[str, Field]:
    """Each input column with its input: the primary's first (they win a clash), then
    each lookup's others (a lookup's key is the primary's field)."""
    owners: dict[str, Field] = {}
    primary = _primary(model)
    for inp in [primary, *(i for i in model["inputs"] if not i["primary"])]:
        for f in inp["fields"]:
            owners.setdefault(f["name"], (inp, f))
    return owners


def _row_symbols(model: Mapping[str, Any]) -> dict[str, Symbol]:
    """The input fields, the repeat's number and the parameters."""
    scope: dict[str, Symbol] = {}
    for fname, (inp, f) in _input_fields(model).items():
        nullable = not f["required"] or not inp["primary"]  # a lookup may find nothing
        scope[fname] = Symbol("field", f["type"], nullable, empty_field=nullable)
    repeat = _primary(model)["repeat"]
    if repeat:
        scope[repeat["as"]] = Symbol("field", "integer")
    for p in model["parameters"]:
        scope[p["name"]] = Symbol("param", p["type"])
    return scope


def _step_types(model: Mapping[str, Any]) -> dict[str, str]:
    return {f["name"]: f["type"] for s in model["steps"] for f in s["produces"]}


def _parse(name: str, text: str) -> ast.expr:
    tree, issues = formulas.parse(text)
    if tree is None:
        raise BuildError(f"{name}: the formula {text!r} does not parse: {issues[0].message}")
    return tree


def _query(sql: str, params: Sequence[str], what: str) -> dict[str, Any]:
    if len(sql) > MAX_QUERY_CHARS:
        raise BuildError(
            f"the {what} query compiles to {len(sql):,} characters of SQL, more than"
            f" {MAX_QUERY_CHARS:,}: split its formulas into several values"
        )
    return {"sql": sql, "params": list(params)}


def _unique(names: Sequence[str], what: str) -> None:
    """DuckDB's identifiers ignore case: two columns of a query must differ otherwise."""
    seen: dict[str, str] = {}
    for name in names:
        if name.lower() in seen:
            other = seen[name.lower()]
            raise BuildError(f"{what}: the columns {other!r} and {name!r} are one name in DuckDB")
        seen[name.lower()] = name


def _source_query(model: Mapping[str, Any]) -> dict[str, Any]:
    """The primary input, its lookups joined, its repeat expanded; over "input_<name>"."""
    primary = _primary(model)
    lookups = [i for i in model["inputs"] if not i["primary"]]
    aliases = {primary["name"]: "p", **{i["name"]: f"l{n}" for n, i in enumerate(lookups, 1)}}
    owners = _input_fields(model)
    # (a column read as alias."name" is named name)
    select = [
        f"{aliases[owners[c][0]['name']]}.{quote(c)}" for c in model["columns"] if c in owners
    ]
    tables = [f"FROM {quote('input_' + primary['name'])} AS p"]
    for inp in lookups:
        alias = aliases[inp["name"]]
        join = f"LEFT JOIN {quote('input_' + inp['name'])} AS {alias}"
        tables += _item(f"{join} ON {_join_condition(alias, inp, owners)}", None, 0)
    repeat = primary["repeat"]
    columns: list[tuple[str, str | None]] = [(c, None) for c in select]
    if not repeat:
        items = [*columns, ('p."_ord"', None), ("'row ' || p.\"_ord\"", '"_label"')]
        body = "\n".join(["SELECT", *_listing([items], 2), *tables, 'ORDER BY p."_ord"'])
        return _query(body, [], "source")
    # Each row `count` times, numbered 1..count; then numbered again in that order.
    number, count = quote(repeat["as"]), quote(repeat["count"])
    inner: list[list[tuple[str, str | None]]] = [
        [*columns, ('p."_ord"', '"row#"')],
        [(f"unnest(range(1, p.{count} + 1))", number)],
    ]
    label = f"'row ' || \"row#\" || {literal(', ' + repeat['as'] + ' ')} || {number}"
    listing: list[list[tuple[str, str | None]]] = [
        [(quote(c), None) for c in model["columns"] if c in owners or c == repeat["as"]],
        [(f'row_number() OVER (ORDER BY "row#", {number})', '"_ord"')],
        [(label, '"_label"')],
    ]
    body = "\n".join(
        [
            "SELECT",
            *_listing(listing, 2),
            "FROM (",
            "  SELECT",
            *_listing(inner, 4),
            *(f"  {t}" for t in tables),
            ")",
            'ORDER BY "_ord"',
        ]
    )
    return _query(body, [], "source")


def _join_condition(alias: str, lookup: Mapping[str, Any], owners: Mapping[str, Field]) -> str:
    """The lookup's key matches the primary's as Python's dict lookup did."""
    key = lookup["join_on"]
    mine = next(f["type"] for f in lookup["fields"] if f["name"] == key)
    theirs = owners[key][1]["type"]
    left, right = f"{alias}.{quote(key)}", f"p.{quote(key)}"
    if mine != theirs:
        if "string" in (mine, theirs):
            return "FALSE"  # text never equals a number or a boolean
        left, right = f"{left}::DOUBLE", f"{right}::DOUBLE"  # 1 == 1.0 == True
    return f"{left} IS NOT DISTINCT FROM {right}"


def _rows_query(model: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Symbol]]:
    """Every row's computed fields and its first error, over table "source"; and the
    columns of "results" as aggregates read them (with the parameters)."""
    scope = _row_symbols(model)
    params: list[str] = []
    plan = _Plan("c", "source")
    values: dict[str, _Value] = {}
    rules = Rules.of(model)
    for item in model["compute"]:
        name = item["name"]
        tree = _parse(name, item["formula"])
        compiler = _Formula(name, scope, params, _Temps(name), rules=rules)
        empties = _empty_fields(tree, scope)
        values[name] = _compile_value(plan, compiler, tree, item["type"], empties)
        # NULL exactly when it failed, which the row's error says already.
        scope[name] = Symbol("field", values[name].type, nullable=True)
    ctes, last = plan.build()
    # In "results", as the aggregates see the rows they count: a computed value is
    # missing there when it was missing, or failed in a row that still counts.
    counts_failed = rules.error_rows == "include"
    for name, value in values.items():
        nullable = value.nullable or (counts_failed and value.error is not None)
        scope[name] = Symbol("field", value.type, nullable=nullable)
    steps = _step_types(model)
    scope.update({f: Symbol("field", t, nullable=True) for f, t in steps.items()})
    internal = [f"_{kind}_{name}" for name in values for kind in "ce"]
    _unique([*model["columns"], *internal, "error", "_ord", "_label"], "rows")
    groups: list[list[tuple[str, str | None]]] = [[]]
    for c in model["columns"]:
        if c in steps:
            groups[-1].append((f"NULL::{SQL_TYPES[steps[c]]}", quote(c)))
        elif c in values and values[c].select(plan)[0] != quote(c):
            groups += [[(values[c].select(plan)[0], quote(c))], []]
        else:
            groups[-1].append((quote(c), None))
    errors = [e for value in values.values() if (e := value.select(plan)[1])]
    error = coalesce(errors) if errors else "NULL::VARCHAR"
    groups += [[(error, '"error"')], [('"_ord"', None), ('"_label"', None)]]
    warnings = [value.warning for value in values.values() if value.warning]
    if warnings:  # the run counts them (scriptexec/runtime/execute.py)
        groups.append([(coalesce(warnings), '"_warning"')])
    sql = _statement(ctes, _listing([g for g in groups if g], 2), last)
    return _query(sql, params, "rows"), scope


def _values_query(
    row_scope: Mapping[str, Symbol],
    items: Sequence[Mapping[str, Any]],
    by: Sequence[str],
    what: str,
    rules: Rules = Rules(),
) -> dict[str, Any]:
    """The summary (no `by`) or the groups: the aggregates' per-row temporary columns
    over "results" (whose columns are `row_scope`), the aggregation layer, then each
    value in order. The summary also counts, for each value, the rows its aggregates
    left out for a missing argument (`"_n_<name>"`), and says a division by zero left
    missing (`"_w_<name>"`)."""
    scope = {n: s for n, s in row_scope.items() if s.kind == "param"}
    params: list[str] = []
    counted = None if rules.error_rows == "include" else '"error" IS NULL'
    aggregates = _Aggregates(counted if by else None)
    row_temps = _Temps("row")
    plan = _Plan("v", "aggregates")
    values: list[_Value] = []
    left_out: dict[str, str] = {}  # value -> its "_n_" column
    for item in items:
        name = item["name"]
        tree = _parse(name, item["formula"])
        compiler = _Formula(
            name,
            scope,
            params,
            _Temps(name),
            row_scope=row_scope,
            aggregates=aggregates,
            row_temps=row_temps,
            rules=rules,
        )
        empties: list[str] | None = None if _is_plain_aggregate(tree) else []
        value = _compile_value(plan, compiler, tree, item["type"], empties)
        scope[name] = Symbol("summary", value.type, nullable=True)
        values.append(value)
        if compiler.skipped and not by:
            missing = " OR ".join(compiler.skipped)
            count = f"count(*){aggregates.filtered(missing)}"
            left_out[name] = aggregates.add(f"{name}: left out", f"_n_{name}", count)
    rows = _Plan("r", "results")
    for column in row_temps.columns:
        rows.add([column])
    ctes, source = rows.build()
    keys = [quote(b) for b in by]
    listed = [
        *((k, None) for k in keys),
        *((sql, name) for name, sql in aggregates.columns.values()),
    ]
    if by:
        ctes.append(_aggregation(listed, f"FROM {source} GROUP BY {', '.join(keys)}"))
    elif listed:
        where = f" WHERE {counted}" if counted else ""
        ctes.append(_aggregation(listed, f"FROM {source}{where}"))
    else:  # values of parameters alone: one row all the same
        ctes.append(['  aggregates AS (SELECT NULL AS "_none")'])
    more, last = plan.build()
    select: list[list[tuple[str, str | None]]] = [[(k, None) for k in keys]]
    for value in values:
        kept, failed = value.select(plan)
        v, e = quote(value.name), quote(f"_e_{value.name}")
        select.append(
            [
                (kept, v if kept != v else None),
                (failed or "NULL::VARCHAR", e if failed != e else None),
                *([(left_out[value.name], None)] if value.name in left_out else []),
                *([(value.warning, quote(f"_w_{value.name}"))] if value.warning else []),
            ]
        )
    internal = [f"_{kind}_{v.name}" for v in values for kind in "cenw"]
    _unique([*by, *(v.name for v in values), *internal], what)
    order = [f"ORDER BY {', '.join(k + ' NULLS LAST' for k in keys)}"] if by else []
    listing = _listing([s for s in select if s] or [[('NULL AS "_none"', None)]], 2)
    return _query(_statement([*ctes, *more], listing, last, order), params, what)


def _aggregation(listed: Sequence[tuple[str, str | None]], source: str) -> list[str]:
    """The aggregation layer: the `by` fields and one column per aggregate."""
    texts = ", ".join(sql + (f" AS {name}" if name else "") for sql, name in listed)
    one = f"  aggregates AS (SELECT {texts} {source})"
    if len(one) + 1 <= WIDTH:
        return [one]
    lines = ["  aggregates AS (SELECT"]
    for n, (sql, name) in enumerate(listed, 1):
        lines += _item(sql, name, 4, "," if n < len(listed) else "")
    return [*lines, f"  {source})"]


def compile_queries(model: Mapping[str, Any]) -> dict[str, Any]:
    """The program's four queries (see the module docstring). BuildError when a query
    would be too large, or two of its columns are one name to DuckDB."""
    groups = model.get("groups")
    rules = Rules.of(model)
    rows, results = _rows_query(model)
    return {
        "source": _source_query(model),
        "rows": rows,
        "summary": _values_query(results, model["summary"], (), "summary", rules),
        "groups": _values_query(results, groups["summary"], groups["by"], "groups", rules)
        if groups
        else None,
    }
