"""What a name in a module refers to, so checks see through aliases.

`import subprocess as sp`, `from os import system as run`, `run = os.system`,
`getattr(builtins, "exec")`, `__import__("os").system` and `globals()["__builtins__"]["eval"]`
all resolve to the qualified name a check looks for ("subprocess", "os.system",
"builtins.exec"...). The resolution is flow-insensitive: an alias made anywhere in a module
counts everywhere in it. That over-approximates on purpose: a checker that can be dodged by
moving an assignment is worse than one that sometimes names a shadowed alias.
"""

from __future__ import annotations

import ast
import builtins
import re

BUILTIN_NAMES = frozenset(dir(builtins))
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def words(identifier: str) -> tuple[str, ...]:
    """`DB_PASSWORD` -> ("db", "password"), `apiKey` -> ("api", "key"); trailing digits dropped."""
    parts = [w.lower() for w in _WORD.findall(identifier)]
    while parts and parts[-1].isdigit():
        parts.pop()
    return tuple(parts)


def const_str(node: ast.AST | None) -> str | None:
    """A string literal's value, also when spelt `"ev" + "al"` or as an f-string of literals."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = const_str(node.left), const_str(node.right)
        if left is not None and right is not None:
            return left + right
    if isinstance(node, ast.JoinedStr):
        pieces = [const_str(v) for v in node.values]
        if all(p is not None for p in pieces):
            return "".join(p for p in pieces if p is not None)
    return None


def name_of(node: ast.AST) -> str | None:
    """The name a value is stored under: `x`, `obj.x`, `d["x"]`; None otherwise."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript):
        return const_str(node.slice)
    return None


def kwarg(call: ast.Call, name: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    return None


def is_true(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and bool(node.value) and node.value is not Ellipsis


def is_false(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and node.value in (False, None, 0)


class Names:
    """The aliases, bound names and module-level literal constants of one module."""

    def __init__(self, tree: ast.AST) -> None:
        self.aliases: dict[str, str] = {}
        self.bound: set[str] = set()
        self.star_modules: list[str] = []
        self.constants: dict[str, object] = {}
        assigns: list[ast.Assign] = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        self.aliases[a.asname] = a.name
                    else:
                        top = a.name.split(".")[0]
                        self.aliases[top] = top
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative imports are the program's own modules
                    for a in node.names:
                        self.bound.add(a.asname or a.name)
                    continue
                for a in node.names:
                    if a.name == "*":
                        self.star_modules.append(node.module or "")
                    else:
                        self.aliases[a.asname or a.name] = f"{node.module}.{a.name}"
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                self.bound.add(node.name)
            elif isinstance(node, ast.arg):
                self.bound.add(node.arg)
            elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                self.bound.add(node.id)
            elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
                self.bound.add(node.name)
            elif isinstance(node, ast.MatchMapping) and node.rest:
                self.bound.add(node.rest)
            if isinstance(node, ast.Assign):
                assigns.append(node)
        # `run = os.system`: twice, so that `a = os.system; b = a` resolves too.
        for _ in range(2):
            for assign in assigns:
                target = self.qualname(assign.value)
                if target is None:
                    continue
                for t in assign.targets:
                    if isinstance(t, ast.Name) and t.id != target:
                        self.aliases[t.id] = target
        if isinstance(tree, ast.Module):
            for stmt in tree.body:
                if isinstance(stmt, ast.Assign):
                    targets, value = stmt.targets, stmt.value
                elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                    targets, value = [stmt.target], stmt.value
                else:
                    continue
                for t in targets:
                    if isinstance(t, ast.Name) and isinstance(value, ast.Constant):
                        self.constants[t.id] = value.value

    def qualname(self, node: ast.AST) -> str | None:
        """The dotted name `node` refers to ("os.system", "builtins.eval"), or None."""
        if isinstance(node, ast.Name):
            return self._name(node.id)
        if isinstance(node, ast.Attribute):
            base = self.qualname(node.value)
            if base is None:
                return None
            return base if node.attr == "__dict__" else f"{base}.{node.attr}"
        if isinstance(node, ast.Subscript):
            base, key = self.qualname(node.value), const_str(node.slice)
            if base is None or key is None:
                return None
            if base == "<globals>":
                return "builtins" if key == "__builtins__" else self._name(key)
            return f"{base}.{key}"
        if isinstance(node, ast.Call):
            return self._call(node)
        return None

    def _name(self, name: str) -> str | None:
        if name in self.aliases:
            return self.aliases[name]
        if name in self.bound:
            return None
        if name == "__builtins__":
            return "builtins"
        if name in BUILTIN_NAMES:
            return f"builtins.{name}"
        if self.star_modules:
            return f"{self.star_modules[-1]}.{name}"
        return None

    def _call(self, call: ast.Call) -> str | None:
        func = self.qualname(call.func)
        args = call.args
        if func == "builtins.getattr" and len(args) >= 2:
            base, attr = self.qualname(args[0]), const_str(args[1])
            return f"{base}.{attr}" if base and attr else None
        if func in ("builtins.__import__", "importlib.import_module") and args:
            module = const_str(args[0])
            if module and func == "builtins.__import__":
                return module.split(".")[0]
            return module
        if func == "builtins.vars" and len(args) == 1:
            return self.qualname(args[0])
        if func == "builtins.globals":
            return "<globals>"
        return None


class AssignmentVisitor(ast.NodeVisitor):
    """A visitor that sees every assignment (plain or annotated) as `assigned(target, value)`."""

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self.assigned(target, node.value)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.assigned(node.target, node.value)
        self.generic_visit(node)

    def assigned(self, target: ast.AST, value: ast.AST) -> None:
        raise NotImplementedError
