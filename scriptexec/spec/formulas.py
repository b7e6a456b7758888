"""The formula language: a small, safe subset of Python expressions.

Formulas are parsed with `ast` and checked against a whitelist of node types, names and
functions; they are then compiled to plain Python source for the generated program. No
formula is ever `eval`ed, here or in the generated program (constants are folded by walking
the checked tree, below).

Types are checked where they can be told: arithmetic wants numbers, `and`/`or`/`not` and
conditions want booleans, ordering comparisons want numbers.

What a formula may cost is bounded too. Its nesting depth is limited (the checker and the
compiler recurse over the tree). Constant sub-expressions are folded, with the same guards
the generated program applies at run time, so that `10 ** 10 ** 10` is a spec error
rather than a program that computes for hours; a power or a `round` that depends on the
data compiles to the program's guarded `_pow` and `_round`, which refuse a result that
would be too large before computing it.
"""

from __future__ import annotations

import ast
import itertools
import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from scriptexec import pyparse
from scriptexec.spec.functions import REGISTRY, Function
from scriptexec.spec.functions.dates import INSTEAD
from scriptexec.spec.functions.windows import NEEDS_ORDER
from scriptexec.spec.suggest import did_you_mean

Type = Literal["number", "integer", "boolean", "string", "date", "datetime"]
TYPES: tuple[Type, ...] = ("number", "integer", "boolean", "string", "date", "datetime")
NUMERIC = ("number", "integer")
TEMPORAL = ("date", "datetime")
# How a message names a value of each type.
_A = {
    "number": "a number",
    "integer": "a whole number",
    "boolean": "a boolean",
    "string": "text",
    "date": "a date",
    "datetime": "a datetime",
}
# What a registry function's argument may be (see scriptexec/spec/functions).
_ACCEPTS: dict[str, tuple[str, ...]] = {
    "numeric": NUMERIC,
    "number": NUMERIC,
    "integer": ("integer",),
    "boolean": ("boolean",),
    "string": ("string",),
    "date": ("date",),
    "datetime": ("datetime",),
    "temporal": TEMPORAL,
    "orderable": (*NUMERIC, *TEMPORAL, "string"),
    "whole": ("integer", "number"),  # a whole number, checked per row unless an integer
}
_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth")
MAX_FORMULA_CHARS = 2000
# Levels of nesting in a formula's tree: the checker and the compiler recurse about three
# frames per level, well inside Python's default limit of 1000 even at this depth.
MAX_DEPTH = 100
# A formula's results are floats in the generated program: nothing larger is kept, so
# nothing larger need ever be computed. The program defines the same three bounds.
LARGEST = sys.float_info.max
MAX_DIGITS = math.log10(LARGEST)  # 308.25...
MAX_ROUND_DIGITS = 1000  # round(x, n): int.__round__ computes 10 ** |n|

SCALAR_FUNCTIONS = {
    # name: (min args, max args)
    "min": (2, 16),
    "max": (2, 16),
    "abs": (1, 1),
    "round": (1, 2),
    "sqrt": (1, 1),
    "ceil": (1, 1),
    "floor": (1, 1),
}
AGGREGATES = {"sum": (1, 1), "mean": (1, 1), "count": (0, 1), "min": (1, 1), "max": (1, 1)}
CONSTANTS = {"true": True, "false": False, "True": True, "False": False}
RESERVED = {"row", "rows", "params", "summary", "group", "error", "math", "none", "None"}
RESERVED |= set(SCALAR_FUNCTIONS) | set(AGGREGATES) | set(CONSTANTS)

_BINOPS = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
}
_ORDERING = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)
_EQUALITY = (ast.Eq, ast.NotEq)


@dataclass(frozen=True)
class Symbol:
    kind: Literal["field", "param", "summary"]
    type: Type


_KIND_NAMES = {"summary": "summary value", "param": "parameter", "field": "row field"}


@dataclass(frozen=True)
class FormulaIssue:
    line: int  # 1-based, within the formula text
    col: int  # 0-based character offset within that line
    message: str
    hint: str = ""


@dataclass(frozen=True)
class Checked:
    """A formula that passed: its type, what it refers to, and its canonical text."""

    type: Type
    refs: frozenset[str]  # names of fields, params and summary values it uses
    canonical: str
    tree: ast.expr


def parse(text: str) -> tuple[ast.expr | None, list[FormulaIssue]]:
    if len(text) > MAX_FORMULA_CHARS:
        return None, [FormulaIssue(1, 0, f"formula is longer than {MAX_FORMULA_CHARS} characters")]
    if not text.strip():
        return None, [FormulaIssue(1, 0, "formula is empty")]
    # Parenthesised, so a formula may span lines (YAML folded scalars keep indented breaks).
    try:
        tree = pyparse.parse(f"({text.strip()}\n)", mode="eval")
    except SyntaxError as exc:
        msg = (exc.msg or "invalid syntax").replace("invalid syntax. ", "")
        hint = "use ** for powers" if "^" in text else ""
        line = exc.lineno or 1
        col = max((exc.offset or 1) - 1 - (1 if line == 1 else 0), 0)
        lines = text.strip().split("\n")
        if line > len(lines):
            # At the closing parenthesis we added: the formula stopped short (`amount *`).
            # Point at its own last character, not at the line after it.
            line, col = len(lines), len(lines[-1]) - 1
            if len(lines) == 1:
                col += len(text) - len(text.lstrip())
            msg = f"{msg}: the formula ends unfinished after {lines[-1].split()[-1]!r}"
        return None, [FormulaIssue(line, col, msg, hint)]
    except (RecursionError, MemoryError, ValueError):
        return None, [FormulaIssue(1, 0, "formula is nested too deeply")]
    deepest = _deepest(tree.body)
    if deepest is not None:
        line, col = deepest.lineno, max(deepest.col_offset - (1 if deepest.lineno == 1 else 0), 0)
        message = f"formula is nested too deeply (more than {MAX_DEPTH} levels)"
        return None, [FormulaIssue(line, col, message, "split it into several values")]
    _unshift(tree.body)
    return tree.body, []


def _deepest(tree: ast.expr) -> ast.expr | None:
    """The first expression nested more than MAX_DEPTH levels deep, found without
    recursion (the point is to avoid it)."""
    stack: list[tuple[ast.AST, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH and isinstance(node, ast.expr):
            return node
        below = depth + 1 if isinstance(node, ast.expr) else depth
        stack.extend((child, below) for child in ast.iter_child_nodes(node))
    return None


def _unshift(tree: ast.expr) -> None:
    """Undo the opening parenthesis in the columns of line 1."""
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) == 1 and hasattr(node, "col_offset"):
            node.col_offset -= 1


def check(
    text: str,
    scope: Mapping[str, Symbol],
    *,
    aggregate_context: bool,
    row_scope: Mapping[str, Symbol] | None = None,
) -> tuple[Checked | None, list[FormulaIssue]]:
    """Parse and type-check `text`.

    In an aggregate context (summary, groups) row fields may only appear inside aggregate
    functions, where names mean the row's fields (`row_scope`); outside them names mean
    parameters and summary values (`scope`). Elsewhere aggregates are not allowed at all.
    """
    tree, issues = parse(text)
    if tree is None:
        return None, issues
    checker = _Checker(scope, aggregate_context, row_scope)
    typ = checker.infer(tree)
    if checker.issues:
        return None, checker.issues
    cost = _Folder()
    cost.value(tree)
    if cost.issues:
        return None, cost.issues
    return Checked(typ or "number", frozenset(checker.refs), ast.unparse(tree), tree), []


class _Checker:
    def __init__(
        self,
        scope: Mapping[str, Symbol],
        aggregate_context: bool,
        row_scope: Mapping[str, Symbol] | None = None,
    ) -> None:
        self.scope = scope
        self.row_scope = row_scope if row_scope is not None else scope
        self.aggregate_context = aggregate_context
        self.in_aggregate = False
        self.over_rows: str | None = None  # the window or aggregate a compute formula is in
        self.issues: list[FormulaIssue] = []
        self.refs: set[str] = set()

    def issue(self, node: ast.AST, message: str, hint: str = "") -> None:
        self.issues.append(
            FormulaIssue(getattr(node, "lineno", 1), getattr(node, "col_offset", 0), message, hint)
        )

    def expect(
        self, node: ast.expr, want: tuple[str, ...], role: str, also: tuple[str, ...] = ()
    ) -> Type | None:
        """The type of `node`; an issue unless it is one of `want` (or of `also`)."""
        got = self.infer(node)
        if got is None or got in want or got in also:
            return got
        if want == NUMERIC:
            hint = "use add_days(d, n) or days_between(a, b)" if got in TEMPORAL else ""
            self.issue(node, f"{_A.get(got, got)} used as a number in {role}", hint)
        elif want == ("boolean",):
            what = "a number" if got in NUMERIC else _A.get(got, got)
            self.issue(node, f"{what} used as a boolean in {role}", "compare it, e.g. x > 0")
        return got

    def infer(self, node: ast.expr) -> Type | None:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool):
                return "boolean"
            if isinstance(node.value, int | float):
                return "integer" if isinstance(node.value, int) else "number"
            if isinstance(node.value, str):
                return "string"
            self.issue(node, f"constant {node.value!r} is not allowed")
            return None
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.BinOp):
            op = _BINOPS.get(type(node.op))
            if op is None:
                hint = "use ** for powers" if isinstance(node.op, ast.BitXor) else ""
                self.issue(node, "operator not allowed in a formula", hint)
                return None
            left = self.expect(node.left, NUMERIC, f"'{op}'")
            right = self.expect(node.right, NUMERIC, f"'{op}'")
            return _arithmetic_type(node, left, right)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                self.expect(node.operand, ("boolean",), "'not'")
                return "boolean"
            if isinstance(node.op, ast.USub | ast.UAdd):
                inner = self.expect(node.operand, NUMERIC, "a sign")
                return "integer" if inner == "integer" else "number"
            self.issue(node, "operator not allowed in a formula")
            return None
        if isinstance(node, ast.BoolOp):
            word = "and" if isinstance(node.op, ast.And) else "or"
            for value in node.values:
                self.expect(value, ("boolean",), f"'{word}'")
            return "boolean"
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.IfExp):
            self.expect(node.test, ("boolean",), "the condition of 'if'")
            a, b = self.infer(node.body), self.infer(node.orelse)
            if a and b and a != b and not (a in NUMERIC and b in NUMERIC):
                self.issue(node, f"the branches of 'if' have different types ({a} and {b})")
            if a in NUMERIC and b in NUMERIC and a != b:
                return "number"  # an integer in one branch, a number in the other
            return a or b
        if isinstance(node, ast.Call):
            return self.call(node)
        what = {
            ast.Attribute: "attribute access",
            ast.Subscript: "indexing",
            ast.Lambda: "lambda",
            ast.List: "a list",
            ast.Tuple: "a tuple",
            ast.Dict: "a dict",
            ast.ListComp: "a comprehension",
            ast.GeneratorExp: "a comprehension",
            ast.JoinedStr: "an f-string",
            ast.NamedExpr: "assignment",
        }.get(type(node), type(node).__name__)
        self.issue(node, f"{what} is not allowed in a formula")
        return None

    def name(self, node: ast.Name) -> Type | None:
        if node.id in CONSTANTS:
            return "boolean"
        sym = (self.row_scope if self.in_aggregate else self.scope).get(node.id)
        if sym is None and self.aggregate_context and not self.in_aggregate:
            sym = self.row_scope.get(node.id)  # a field outside an aggregate: said below
        if sym is None:
            funcs = set(SCALAR_FUNCTIONS) | set(AGGREGATES)
            outer = self.scope.get(node.id) if self.in_aggregate else None
            if node.id in funcs:
                self.issue(node, f"'{node.id}' is a function; call it: {node.id}(...)")
            elif outer is not None:
                # Known, but not per row: the aggregate's argument is evaluated row by row.
                self.issue(
                    node,
                    f"'{node.id}' is a {_KIND_NAMES.get(outer.kind, outer.kind)}, not a row"
                    " field, so it cannot be used inside an aggregate",
                    f"use it outside, e.g. sum(x) / {node.id} instead of sum(x / {node.id})",
                )
            else:
                visible = self.row_scope if self.in_aggregate else self.scope
                self.issue(node, f"unknown name '{node.id}'", did_you_mean(node.id, visible))
            return None
        if sym.kind == "field" and self.aggregate_context and not self.in_aggregate:
            self.issue(
                node,
                f"row field '{node.id}' used outside an aggregate",
                f"wrap it, e.g. sum({node.id}) or mean({node.id})",
            )
        if sym.kind == "summary" and self.in_aggregate:
            self.issue(node, f"summary value '{node.id}' used inside an aggregate")
        if not self.in_aggregate:
            # Dependencies between values of one block; fields inside aggregates are not.
            self.refs.add(node.id)
        return sym.type if sym.type in TYPES else None

    def compare(self, node: ast.Compare) -> Type:
        operands = [node.left, *node.comparators]
        types = [self.infer(o) for o in operands]
        for op, (a, b), (ta, tb) in zip(
            node.ops, itertools.pairwise(operands), itertools.pairwise(types), strict=True
        ):
            if isinstance(op, _ORDERING):
                # Numbers, dates (a date against a datetime too) or texts, of one kind.
                kinds = {_kind(t) for t in (ta, tb) if t}
                if "boolean" in kinds:
                    bad = a if ta == "boolean" else b
                    self.issue(bad, "a boolean used as a number in a comparison")
                elif len(kinds) > 1:
                    self.issue(b, f"comparing {_A[ta or '']} with {_A[tb or '']}")
            elif isinstance(op, _EQUALITY):
                kinds = {_kind(t) for t in (ta, tb) if t}
                if len(kinds) > 1:
                    self.issue(b, f"comparing {ta} with {tb} is always unequal")
            else:
                self.issue(node, "only < <= > >= == != comparisons are allowed")
        return "boolean"

    def call(self, node: ast.Call) -> Type | None:
        if not isinstance(node.func, ast.Name):
            self.issue(node, "only the formula functions can be called")
            return None
        fname, nargs = node.func.id, len(node.args)
        over_rows = is_aggregate_call(fname, nargs, self.aggregate_context)
        if any(isinstance(a, ast.Starred) for a in node.args) or (
            node.keywords and fname not in REGISTRY and not over_rows
        ):
            self.issue(node, "functions take plain positional arguments")
            return None
        if over_rows:
            return self.aggregate(node, fname)
        if fname in SCALAR_FUNCTIONS:
            lo, hi = SCALAR_FUNCTIONS[fname]
            if not lo <= nargs <= hi:
                want = f"{lo}" if lo == hi else f"{lo} to {hi}"
                self.issue(node, f"{fname}() takes {want} arguments, got {nargs}")
                return None
            types = [self.expect(arg, NUMERIC, f"{fname}()") for arg in node.args]
            # As Python: ceil, floor and round(x) make ints; min, max, abs keep them.
            if fname in ("ceil", "floor") or (fname == "round" and nargs == 1):
                return "integer"
            whole = all(t == "integer" for t in types)
            return "integer" if fname in ("min", "max", "abs") and whole else "number"
        function = REGISTRY.get(fname)
        if function is not None:
            return self.registry_call(node, function)
        known = {*SCALAR_FUNCTIONS, *REGISTRY.names(), *AGGREGATES}
        hint = INSTEAD.get(fname) or did_you_mean(fname, known)
        self.issue(node, f"unknown function '{fname}'", hint)
        return None

    def registry_call(self, node: ast.Call, function: Function) -> Type | None:
        """A call of a registry function: its arity, keywords, argument types and
        constant arguments; its type."""
        fname, nargs = function.name, len(node.args)
        if function.kind == "window" and self.aggregate_context:
            self.issue(node, f"{fname}() is per row: use it in compute")
            return None
        if not function.least <= nargs <= function.most:
            lo, hi = function.least, function.most
            want = f"{lo}" if lo == hi else f"{lo} to {hi}" if hi < 16 else f"at least {lo}"
            noun = "argument" if want == "1" else "arguments"
            self.issue(node, f"{fname}() takes {want} {noun}, got {nargs}")
            return None
        if self.unknown_keyword(node, fname, function.keywords):
            return None
        if fname in NEEDS_ORDER and not any(kw.arg == "order" for kw in node.keywords):
            self.issue(node, f"{fname}() needs order=: the field (or fields) to rank by")
            return None
        over_rows = function.kind != "scalar"
        if over_rows and not self.enter(node, fname):
            return None
        try:
            types = [self.argument(node, function, i) for i in range(nargs)]
            self.keyword_arguments(node, fname)
        finally:
            if over_rows:
                self.leave()
        if function.result == "first":
            return types[0] if types else None
        if function.result == "same":
            known = [t for t in types if t]
            if all(t in NUMERIC for t in known) and "number" in known:
                return "number"
            return known[0] if known else None
        return function.result  # type: ignore[return-value]

    def argument(self, node: ast.Call, function: Function, i: int) -> Type | None:
        arg, want = node.args[i], function.arg_type(i)
        ordinal = _ORDINALS[i] if i < len(_ORDINALS) else f"#{i + 1}"
        if i in function.constant:
            value = written(arg)
            numeric = want in ("numeric", "number", "integer")
            if value is None or isinstance(value, str) == numeric:
                what = "a number" if numeric else "text"
                self.issue(arg, f"{function.name}()'s {ordinal} argument must be written as {what}")
                return None
            problem = function.check_constant and function.check_constant(i, value)
            if problem:
                self.issue(arg, f"{function.name}(): {problem}")
            if isinstance(value, str):
                return "string"
            return "integer" if isinstance(value, int) else "number"
        got = self.infer(arg)
        if got is None:
            return None
        if want == "same":
            first = self.infer(node.args[0]) if i else got
            if first and _kind(first) != _kind(got):
                self.issue(
                    arg,
                    f"{function.name}()'s arguments must be of one type: {_A[first]}, then"
                    f" {_A[got]}",
                )
            return got
        accepted = _ACCEPTS.get(want)
        if accepted is not None and got not in accepted:
            wanted = "a number" if want in ("numeric", "number") else _A[accepted[0]]
            if want == "temporal":
                wanted = "a date or datetime"
            elif want == "orderable":
                wanted = "a number, a date or text"
            self.issue(
                arg,
                f"{function.name}() takes {wanted} as its {ordinal} argument, got {_A[got]}",
            )
        return got

    def unknown_keyword(self, node: ast.Call, fname: str, allowed: tuple[str, ...]) -> bool:
        """Whether the call has a keyword its function does not take (an issue if so)."""
        for kw in node.keywords:
            if kw.arg not in allowed:
                # (where= is for summary and groups: not offered in compute)
                shown = [k for k in allowed if k != "where" or self.aggregate_context]
                listed = ", ".join(f"{k}=" for k in shown)
                more = f"; it takes {listed}" if listed else ""
                self.issue(kw.value, f"{fname}() has no keyword '{kw.arg}'{more}")
                return True
        return False

    def keyword_arguments(self, node: ast.Call, fname: str) -> None:
        """`order=` and `per=`: a row field, `-field` (descending, for order), or a list
        of them. Windows are per row: only compute formulas may use them; so is `per=`
        (an aggregate in summary is over all rows, in groups over the group's). The
        fields named are dependencies of a compute formula, as its other names are."""
        for kw in node.keywords:
            if kw.arg == "where":
                self.where(kw.value, fname)
                continue
            if kw.arg == "per" and self.aggregate_context:
                self.issue(
                    kw.value,
                    f"{fname}(..., per=) is for compute: in summary an aggregate is over all"
                    " rows, in groups.summary over the group's",
                )
                continue
            items = kw.value.elts if isinstance(kw.value, ast.List) else [kw.value]
            for item in items:
                name = item
                if kw.arg == "order" and isinstance(item, ast.UnaryOp):
                    name = item.operand if isinstance(item.op, ast.USub) else item
                if not isinstance(name, ast.Name):
                    self.issue(item, f"{kw.arg}= takes a row field or a list of them")
                    continue
                sym = self.row_scope.get(name.id)
                if sym is None or sym.kind != "field":
                    self.issue(
                        name,
                        f"unknown row field '{name.id}' in {kw.arg}=",
                        did_you_mean(
                            name.id, [n for n, s in self.row_scope.items() if s.kind == "field"]
                        ),
                    )
                elif not self.in_aggregate:
                    self.refs.add(name.id)

    def where(self, condition: ast.expr, fname: str) -> None:
        """`where=`: the rows an aggregate in summary or groups counts (SQL's FILTER), a
        condition of the row's fields."""
        if not self.aggregate_context:
            self.issue(
                condition,
                f"{fname}(..., where=) is for summary and groups; in compute, use"
                f" {fname}(x if condition else ...) or a field of its own",
            )
            return
        self.expect(condition, ("boolean",), "where=")

    def enter(self, node: ast.Call, fname: str) -> bool:
        """Into the arguments of a call over rows (an aggregate, a window), unless it is
        inside another (an issue). In summary and groups the names in there are row
        fields; in compute (over the input, or the row's partition) they are what they
        are outside, and one window or aggregate cannot be inside another: DuckDB computes
        them all at once, over the row values of the query before."""
        if self.aggregate_context:
            if self.in_aggregate:
                self.issue(node, f"aggregate '{fname}' inside another aggregate")
                return False
            self.in_aggregate = True
        elif self.over_rows is not None:
            self.issue(
                node,
                f"{fname}() inside {self.over_rows}(): compute it as a field of its own first",
            )
            return False
        else:
            self.over_rows = fname
        return True

    def leave(self) -> None:
        self.in_aggregate = False
        self.over_rows = None

    def aggregate(self, node: ast.Call, fname: str) -> Type | None:
        """sum mean count min max over rows: in summary and groups the block's rows (or
        the group's); in compute every row of the input, or of the row's per= partition."""
        if not self.enter(node, fname):
            return None
        try:
            lo, hi = AGGREGATES[fname]
            if not lo <= len(node.args) <= hi:
                many = "one argument" if lo else "at most one argument"
                self.issue(node, f"{fname}() takes {many}")
                return None
            if self.unknown_keyword(node, fname, ("per", "where")):
                return None
            self.keyword_arguments(node, fname)
            if fname == "count":
                if node.args:
                    self.expect(node.args[0], ("boolean",), "count()")
                return "integer"
            also = TEMPORAL if fname in ("min", "max") else ()
            got = self.expect(node.args[0], NUMERIC, f"{fname}()", also)
            if got in TEMPORAL:  # the earliest or latest date
                return got
            # the sum, smallest or largest of integers is one (the first year paid back)
            return "integer" if got == "integer" and fname != "mean" else "number"
        finally:
            self.leave()


def is_aggregate_call(fname: str, nargs: int, aggregate_context: bool = True) -> bool:
    """Whether a call of one of the first five aggregates' names is the aggregate: min(x)
    over rows is, min(a, b) is the scalar function; min() is the aggregate's arity error
    in summary and groups, the scalar's in compute."""
    if fname not in AGGREGATES:
        return False
    if fname in SCALAR_FUNCTIONS:
        return nargs == 1 or (nargs == 0 and aggregate_context)
    return True


def written(node: ast.expr) -> str | int | float | None:
    """The value of a constant as a formula writes it: text, or a number with its sign
    (`-2`); None for anything else."""
    sign, signed = 1, False
    while isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        sign, signed = -sign if isinstance(node.op, ast.USub) else sign, True
        node = node.operand
    if not isinstance(node, ast.Constant) or isinstance(node.value, bool):
        return None
    if isinstance(node.value, str):
        return None if signed else node.value
    if isinstance(node.value, int | float):
        return sign * node.value
    return None


def _arithmetic_type(node: ast.BinOp, left: Type | None, right: Type | None) -> Type:
    """Integers make integers, as in Python, except through `/` and a power whose
    exponent is not written as a whole number of at least 0 (`2 ** -1` is 0.5)."""
    if left != "integer" or right != "integer" or isinstance(node.op, ast.Div):
        return "number"
    if isinstance(node.op, ast.Pow):
        exponent = node.right
        if not (isinstance(exponent, ast.Constant) and isinstance(exponent.value, int)):
            return "number"
    return "integer"


def _kind(t: str | None) -> str:
    """What a value compares as: a number, a date (a datetime too), text or a boolean."""
    return "number" if t in NUMERIC else "date" if t in TEMPORAL else str(t)


# -- cost ------------------------------------------------------------------------------


class Refused(ArithmeticError):
    """A result too large to compute, refused before computing it."""


Number = int | float


def digits(value: Number) -> str:
    """How many digits the integer part of `value` has, for a message."""
    return f"{math.floor(math.log10(abs(value))) + 1:,}" if abs(value) >= 1 else "1"


def too_large(size: str = "") -> Refused:
    about = f"about {size} digits, " if size else ""
    return Refused(f"is too large: {about}more than the largest number (about {LARGEST:.2g})")


def bounded(value: Number) -> Number:
    """`value`, or Refused when it is larger than any float."""
    if isinstance(value, float) and not math.isfinite(value):
        raise too_large()
    if isinstance(value, int) and abs(value) > LARGEST:
        raise too_large(digits(value))
    return value


def power(base: Number, exponent: Number) -> Number:
    """`base ** exponent`, refused before it is computed when the result would be larger
    than any float: its size is about exponent * log10(|base|) digits. The program's
    `_pow` is the same function."""
    if base < 0 and isinstance(exponent, float) and not exponent.is_integer():
        raise ValueError("a negative number to a fractional power is not a real number")
    size = abs(base)
    if size not in (0, 1):
        scale = math.log10(size)  # digits per unit of exponent; negative when |base| < 1
        limit = (MAX_DIGITS + 1) / scale  # compared, not multiplied: exponent may be huge
        if exponent > limit if scale > 0 else exponent < limit:
            try:
                size_text = f"{math.floor(exponent * scale) + 1:,}"
            except OverflowError:  # more digits than a float can count
                size_text = ""
            raise too_large(size_text)
    # Within a digit of the largest float: computing it exactly is cheap, and tells.
    try:
        return bounded(base**exponent)
    except OverflowError as exc:  # a float result out of range
        raise too_large() from exc


def rounded(value: Number, ndigits: Number) -> Number:
    """`round(value, ndigits)`, refused when |ndigits| is so large that computing
    10 ** |ndigits| (as int.__round__ does) would take hours. The program's `_round`."""
    if not isinstance(ndigits, int):
        raise TypeError(f"round() to {ndigits!r} digits: it takes a whole number")
    if abs(ndigits) > MAX_ROUND_DIGITS:
        raise Refused(f"round() to {ndigits} digits: at most {MAX_ROUND_DIGITS} either way")
    return round(value, ndigits)


_FOLD_BINOPS: dict[type[ast.operator], Callable[[Number, Number], Number]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.FloorDiv: lambda a, b: a // b,
    ast.Mod: lambda a, b: a % b,
    ast.Pow: power,
}
_FOLD_CALLS: dict[str, Callable[..., Number]] = {
    "abs": abs,
    "min": min,
    "max": max,
    "sqrt": math.sqrt,
    "ceil": math.ceil,
    "floor": math.floor,
}


class _Folder:
    """Folds the constant numeric sub-expressions of a checked formula, with the guards
    of the generated program; what a guard refuses is an issue at that sub-expression.

    Every sub-expression is visited, so a constant inside a data-dependent expression is
    checked too. Nothing is computed that the guards have not bounded: apart from powers
    (guarded), the operations' results grow at most linearly with the formula's length.
    """

    def __init__(self) -> None:
        self.issues: list[FormulaIssue] = []

    def value(self, node: ast.expr) -> Number | None:
        """The constant value of `node`, or None if it depends on the data (or fails)."""
        if isinstance(node, ast.Call):
            args = [self.value(a) for a in node.args]
        else:
            children = ast.iter_child_nodes(node)
            args = [self.value(c) for c in children if isinstance(c, ast.expr)]
        try:
            return self._fold(node, args)
        except Refused as exc:
            shown = ast.unparse(node)
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            if isinstance(node, ast.Call):  # round(): the message names it already
                shown = ""
            message = f"{shown} {exc}".strip()
            self.issues.append(FormulaIssue(node.lineno, node.col_offset, message))
        except (ArithmeticError, ValueError, TypeError):
            return None  # 1 / 0 and the like: not folded; the program reports it per row
        return None

    def _fold(self, node: ast.expr, args: list[Number | None]) -> Number | None:
        if isinstance(node, ast.Constant):
            value = node.value
            return bounded(value) if isinstance(value, int | float) else None
        if isinstance(node, ast.Name):
            return CONSTANTS.get(node.id)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            fname = node.func.id
            if fname == "round" and len(args) == 2 and args[1] is not None:
                if args[0] is None:  # round(x, -10 ** 10): refused whatever x is
                    rounded(0, args[1])
                    return None
                return rounded(args[0], args[1])
            if None in args or len(args) < (2 if fname in ("min", "max") else 1):
                return None  # data-dependent, or an aggregate such as min(x)
            if fname == "round":
                return round(args[0])  # type: ignore[arg-type]
            function = _FOLD_CALLS.get(fname)
            return bounded(function(*args)) if function else None
        if None in args:
            return None
        if isinstance(node, ast.BinOp):
            a, b = args
            return bounded(_FOLD_BINOPS[type(node.op)](a, b))  # type: ignore[arg-type]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            (a,) = args
            return -a if isinstance(node.op, ast.USub) else a  # type: ignore[operator]
        return None  # comparisons, conditions: never large


def constant(node: ast.expr) -> bool:
    """Whether `node` is a constant number the guards accept (so needs no guard)."""
    folder = _Folder()
    return folder.value(node) is not None and not folder.issues


def to_python(
    tree: ast.expr, scope: Mapping[str, Symbol], row_scope: Mapping[str, Symbol] | None = None
) -> str:
    """Compile a checked formula to a Python expression over `row`, `params`, `summary`.

    Aggregates become `_agg_<name>(rows, lambda row: ...)`; the generated program defines
    them (they skip rows in error and None values).
    """
    return ast.unparse(_Compiler(scope, row_scope).visit(_copy(tree)))


def _copy(tree: ast.expr) -> ast.expr:
    return pyparse.parse(ast.unparse(tree), mode="eval").body


class _Compiler(ast.NodeTransformer):
    def __init__(
        self, scope: Mapping[str, Symbol], row_scope: Mapping[str, Symbol] | None = None
    ) -> None:
        self.scope = scope
        self.row_scope = row_scope if row_scope is not None else scope
        self.in_aggregate = False

    def visit_Name(self, node: ast.Name) -> ast.expr:
        if node.id in CONSTANTS:
            return ast.Constant(CONSTANTS[node.id])
        sym = (self.row_scope if self.in_aggregate else self.scope)[node.id]
        container = {"field": "row", "param": "params", "summary": "summary"}[sym.kind]
        return ast.Subscript(ast.Name(container, ast.Load()), ast.Constant(node.id), ast.Load())

    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        if isinstance(node.op, ast.Pow) and not constant(node):
            args = [self.visit(node.left), self.visit(node.right)]
            return ast.Call(ast.Name("_pow", ast.Load()), args, [])
        node.left, node.right = self.visit(node.left), self.visit(node.right)
        return node

    def visit_Call(self, node: ast.Call) -> ast.expr:
        assert isinstance(node.func, ast.Name)
        fname = node.func.id
        if fname == "round" and len(node.args) == 2 and not constant(node.args[1]):
            args = [self.visit(a) for a in node.args]
            return ast.Call(ast.Name("_round", ast.Load()), args, [])
        # min(x) over rows is the aggregate; min(a, b) is the scalar function.
        is_aggregate = fname in AGGREGATES and len(node.args) <= 1
        self.in_aggregate = is_aggregate or self.in_aggregate
        args = [self.visit(a) for a in node.args]
        if is_aggregate:
            self.in_aggregate = False
            if fname == "count" and not args:
                return ast.Call(ast.Name("len", ast.Load()), [ast.Name("rows", ast.Load())], [])
            lam = ast.Lambda(ast.arguments([], [ast.arg("row")], None, [], [], None, []), args[0])
            return ast.Call(
                ast.Name(f"_agg_{fname}", ast.Load()), [ast.Name("rows", ast.Load()), lam], []
            )
        if fname in ("sqrt", "ceil", "floor"):
            func: ast.expr = ast.Attribute(ast.Name("math", ast.Load()), fname, ast.Load())
            return ast.Call(func, args, [])
        return ast.Call(ast.Name(fname, ast.Load()), args, [])


def dependency_order(
    refs: Mapping[str, frozenset[str]],
) -> tuple[list[str], list[list[str]]]:
    """Order names so each comes after the names it refers to (within `refs` only).

    Returns (order, cycles); each cycle is a list of names ending where it started.
    """
    order: list[str] = []
    state: dict[str, int] = {}  # 1 = visiting, 2 = done
    cycles: list[list[str]] = []

    def visit(name: str, stack: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            start = stack.index(name)
            cycles.append([*stack[start:], name])
            return
        state[name] = 1
        stack.append(name)
        for dep in sorted(refs[name]):
            if dep in refs:
                visit(dep, stack)
        stack.pop()
        state[name] = 2
        order.append(name)

    for name in refs:  # declaration order breaks ties, so output is stable
        visit(name, [])
    return order, cycles
