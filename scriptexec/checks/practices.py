"""Habits that decide whether a failing program can be diagnosed: logging, error handling that
does not hide errors, type hints, and logging instead of print outside the entry point.

Severities follow the harm: swallowing every exception hides failures (warning); a missing
type hint or a stray print is a smell (info, capped in the score so a long file of small
smells cannot fail a build on its own).

    PRA001  warning  an entry point (`if __name__ == "__main__":`) and no module uses logging
    PRA002  warning  bare `except:` (also catches KeyboardInterrupt and SystemExit)
    PRA003  warning  a broad handler whose body only passes: every error disappears
    PRA004  info     a specific handler whose body only passes
    PRA005  info     a broad handler that neither logs, re-raises, exits nor uses the error
    PRA006  info     a function without type hints on its parameters or return
    PRA007  info     print() in a module without an entry point (a library); use logging

A program's entry module may print: that is its output. A module without one is a library,
where print() bypasses the program's logging setup.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping

from scriptexec.checks.issues import Issue, Severity
from scriptexec.checks.names import Names

BROAD = frozenset(("builtins.Exception", "builtins.BaseException"))
LOG_METHODS = frozenset(("exception", "error", "warning", "warn", "critical", "fatal", "log"))
LOGGING_MODULES = frozenset(("logging", "loguru", "structlog"))


def _is_main_guard(node: ast.AST) -> bool:
    if not (isinstance(node, ast.If) and isinstance(node.test, ast.Compare)):
        return False
    parts = [node.test.left, *node.test.comparators]
    return any(isinstance(p, ast.Name) and p.id == "__name__" for p in parts) and any(
        isinstance(p, ast.Constant) and p.value == "__main__" for p in parts
    )


def has_entry_point(tree: ast.Module) -> bool:
    return any(_is_main_guard(stmt) for stmt in tree.body)


def uses_logging(names: Names) -> bool:
    return any(q.split(".")[0] in LOGGING_MODULES for q in names.aliases.values())


def _only_passes(body: list[ast.stmt]) -> bool:
    return all(
        isinstance(s, ast.Pass | ast.Continue)
        or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))  # ... or a docstring
        for s in body
    )


class _Visitor(ast.NodeVisitor):
    def __init__(self, file: str, names: Names, library: bool) -> None:
        self.file = file
        self.names = names
        self.library = library
        self.issues: list[Issue] = []

    def report(self, node: ast.AST, severity: Severity, code: str, message: str) -> None:
        line, col = getattr(node, "lineno", 0), getattr(node, "col_offset", 0)
        self.issues.append(Issue(self.file, line, col, severity, code, message))

    def broad(self, handler: ast.ExceptHandler) -> bool:
        if handler.type is None:
            return True
        types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        return any(self.names.qualname(t) in BROAD for t in types)

    def handles(self, handler: ast.ExceptHandler) -> bool:
        """The handler re-raises, exits, logs, or passes the error on (uses `as exc`)."""
        for node in ast.walk(ast.Module(body=handler.body, type_ignores=[])):
            if isinstance(node, ast.Raise):
                return True
            if isinstance(node, ast.Name) and handler.name and node.id == handler.name:
                return True
            if isinstance(node, ast.Call):
                func = self.names.qualname(node.func) or ""
                attr = node.func.attr if isinstance(node.func, ast.Attribute) else ""
                if attr in LOG_METHODS or func.split(".")[0] in LOGGING_MODULES:
                    return True
                if func in ("sys.exit", "builtins.exit", "os._exit", "flask.abort"):
                    return True
        return False

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        broad = self.broad(node)
        if node.type is None:
            self.report(node, "warning", "PRA002", "bare except: also catches Ctrl-C and exit")
        if _only_passes(node.body):
            if broad:
                self.report(node, "warning", "PRA003", "broad except that only passes hides errors")
            else:
                self.report(node, "info", "PRA004", "except that only passes; log why it is safe")
        elif broad and not self.handles(node):
            msg = "broad except neither logs, re-raises nor uses the error"
            self.report(node, "info", "PRA005", msg)
        self.generic_visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        a = node.args
        params = [*a.posonlyargs, *a.args, *a.kwonlyargs]
        if params and params[0].arg in ("self", "cls"):
            params = params[1:]
        params += [p for p in (a.vararg, a.kwarg) if p is not None]
        missing = [p.arg for p in params if p.annotation is None]
        if node.returns is None and node.name != "__init__":
            missing.append("return")
        if missing:
            msg = f"{node.name}() has no type hints for {', '.join(missing)}"
            self.report(node, "info", "PRA006", msg)
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Call(self, node: ast.Call) -> None:
        if self.library and self.names.qualname(node.func) == "builtins.print":
            self.report(node, "info", "PRA007", "print() in a library module; use logging")
        self.generic_visit(node)


def check(tree: ast.Module, file: str, names: Names | None = None) -> list[Issue]:
    visitor = _Visitor(file, names or Names(tree), library=not has_entry_point(tree))
    visitor.visit(tree)
    return visitor.issues


def check_program(modules: Mapping[str, tuple[ast.Module, Names]]) -> list[Issue]:
    """Program-wide: an entry point exists but nothing logs."""
    entries = [f for f, (tree, _) in modules.items() if has_entry_point(tree)]
    if not entries or any(uses_logging(names) for _, names in modules.values()):
        return []
    msg = "the program never uses logging; configure it in the entry point (LOG_DIR, LOG_LEVEL)"
    return [Issue(entries[0], 0, 0, "warning", "PRA001", msg)]
