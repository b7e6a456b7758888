"""Dangerous code: running strings as code or shell, unsafe deserialisation, debug servers,
binding every interface by literal, disabled TLS checks, SQL and templates built from strings.

Everything is matched on qualified names from `checks.names`, so aliases, `getattr`,
`__import__` and `__builtins__[...]` spellings are caught like the plain call. Functions that
are dangerous whatever their arguments (eval, os.system, pickle.loads) are flagged wherever
they are *referenced*, not only called: `map(eval, rows)` and `run = os.system` run code too.
"""

from __future__ import annotations

import ast

from scriptexec.checks.issues import Issue, Severity
from scriptexec.checks.names import (
    AssignmentVisitor,
    Names,
    const_str,
    is_false,
    is_true,
    kwarg,
    name_of,
)

_SHELL = "runs a shell command; use subprocess.run([...]) with an argument list"
_PICKLE = "deserialises arbitrary objects, which runs code from the data; use json or csv"
_DEBUGGER = "stops the program in a debugger, which hangs a container with no terminal"
_TLS = "disables TLS certificate verification"

# qualified name -> (code, severity, message): flagged wherever referenced.
REFERENCES: dict[str, tuple[str, Severity, str]] = {
    "builtins.eval": ("SEC001", "error", "eval() runs arbitrary code; parse values instead"),
    "builtins.exec": ("SEC002", "error", "exec() runs arbitrary code"),
    "builtins.compile": ("SEC003", "error", "compile() builds code at run time"),
    "builtins.__import__": ("SEC004", "error", "__import__() hides what is imported"),
    **{
        name: ("SEC005", "error", f"{name}() {_SHELL}")
        for name in (
            "os.system",
            "os.popen",
            "platform.popen",
            "subprocess.getoutput",
            "subprocess.getstatusoutput",
            "commands.getoutput",
            "commands.getstatusoutput",
            "asyncio.create_subprocess_shell",
        )
    },
    "yaml.unsafe_load": ("SEC007", "error", "yaml.unsafe_load() can build any Python object"),
    "yaml.unsafe_load_all": ("SEC007", "error", "yaml.unsafe_load_all() can build any object"),
    "yaml.full_load": ("SEC007", "warning", "yaml.full_load(); use yaml.safe_load()"),
    "yaml.full_load_all": ("SEC007", "warning", "yaml.full_load_all(); use yaml.safe_load_all()"),
    **{
        f"{module}.{func}": ("SEC008", "error", f"{module}.{func} {_PICKLE}")
        for module, funcs in (
            ("pickle", ("load", "loads", "Unpickler")),
            ("_pickle", ("load", "loads", "Unpickler")),
            ("cPickle", ("load", "loads", "Unpickler")),
            ("dill", ("load", "loads")),
            ("cloudpickle", ("load", "loads")),
            ("marshal", ("load", "loads")),
            ("shelve", ("open",)),
            ("jsonpickle", ("decode",)),
            ("joblib", ("load",)),
            ("pandas", ("read_pickle",)),
        )
        for func in funcs
    },
    "werkzeug.debug.DebuggedApplication": ("SEC009", "error", "serves the interactive debugger"),
    **{
        name: ("SEC010", "error", f"{name.removeprefix('builtins.')}() {_DEBUGGER}")
        for name in ("builtins.breakpoint", "pdb.set_trace", "ipdb.set_trace", "pudb.set_trace")
    },
    "tempfile.mktemp": ("SEC012", "error", "tempfile.mktemp() races; use mkstemp()/mkdtemp()"),
    "ssl._create_unverified_context": ("SEC013", "error", _TLS),
    "ssl.CERT_NONE": ("SEC013", "error", _TLS),
}

SUBPROCESS_CALLS = frozenset(
    f"subprocess.{f}" for f in ("run", "call", "check_call", "check_output", "Popen")
)
SAFE_YAML_LOADERS = frozenset(
    f"yaml.{n}" for n in ("SafeLoader", "CSafeLoader", "BaseLoader", "CBaseLoader")
)
# Modules where a computed attribute name hides a dangerous call: getattr(os, name)(...).
DYNAMIC_LOOKUP_MODULES = frozenset(
    ("builtins", "os", "subprocess", "pickle", "marshal", "importlib", "shutil", "pty")
)
ALL_INTERFACES = frozenset(("0.0.0.0", "::", "", "*", "[::]"))
HOST_KEYWORDS = frozenset(("host", "bind", "listen", "address"))
SQL_METHODS = frozenset(("execute", "executemany", "executescript", "read_sql", "read_sql_query"))
TEMPLATE_FROM_STRING = frozenset(("render_template_string", "from_string"))
TEMPLATE_CLASSES = frozenset(("jinja2.Template", "mako.template.Template"))


class _Visitor(AssignmentVisitor):
    def __init__(self, file: str, names: Names, tree: ast.AST) -> None:
        self.file = file
        self.names = names
        self.issues: dict[tuple[int, int, str], Issue] = {}
        self.safe_loaders: set[str] = set()  # classes derived from a safe YAML loader
        self.built: set[str] = set()  # variables assigned a string built at run time
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and any(
                names.qualname(base) in SAFE_YAML_LOADERS for base in node.bases
            ):
                self.safe_loaders.add(node.name)
            elif isinstance(node, ast.Assign) and _built_string(node.value):
                self.built.update(t.id for t in node.targets if isinstance(t, ast.Name))

    def report(self, node: ast.AST, code: str, severity: Severity, message: str) -> None:
        line, col = getattr(node, "lineno", 0), getattr(node, "col_offset", 0)
        issue = Issue(self.file, line, col, severity, code, message)
        self.issues.setdefault((line, col, code), issue)

    # -- references -------------------------------------------------------------------------
    def reference(self, node: ast.AST) -> None:
        qualname = self.names.qualname(node)
        if qualname in REFERENCES:
            self.report(node, *REFERENCES[qualname])

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.reference(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.ctx, ast.Load):
            self.reference(node)
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if isinstance(node.ctx, ast.Load):
            self.reference(node)
        self.generic_visit(node)

    # -- calls ------------------------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        self.reference(node)  # getattr(os, "system"), __import__("pickle").loads ...
        func = self.names.qualname(node.func)
        attr = node.func.attr if isinstance(node.func, ast.Attribute) else None
        short = func.rsplit(".", 1)[-1] if func else attr
        self.dynamic(node, func)
        if func in SUBPROCESS_CALLS:
            self.shell(node)
        if func in ("yaml.load", "yaml.load_all"):
            self.yaml_load(node, func)
        if func == "numpy.load" and is_true(kwarg(node, "allow_pickle")):
            self.report(node, "SEC008", "error", f"numpy.load(allow_pickle=True) {_PICKLE}")
        if short in ("run", "run_simple") and func != "asyncio.run":  # asyncio's debug is logs
            for flag in ("debug", "use_debugger"):
                if is_true(kwarg(node, flag)):
                    self.report(node, "SEC009", "error", f"{short}({flag}=True) serves a debugger")
        if attr == "update" and is_true(kwarg(node, "DEBUG")):
            self.report(node, "SEC009", "error", "DEBUG=True turns on the debug server")
        self.binds_all(node, short)
        if is_false(kwarg(node, "verify")):
            self.report(node, "SEC013", "error", f"verify=False {_TLS}")
        if short in SQL_METHODS and node.args and self.built_string(node.args[0]):
            msg = "SQL built from strings invites injection; pass values as parameters"
            self.report(node, "SEC014", "warning", msg)
        template = short in TEMPLATE_FROM_STRING or func in TEMPLATE_CLASSES
        if template and node.args and self.built_string(node.args[0]):
            msg = f"{short}() of a string built at run time allows template injection"
            self.report(node, "SEC015", "error", msg)
        self.generic_visit(node)

    def built_string(self, node: ast.AST) -> bool:
        return _built_string(node) or (isinstance(node, ast.Name) and node.id in self.built)

    def dynamic(self, node: ast.Call, func: str | None) -> None:
        args = node.args
        if func == "builtins.getattr" and len(args) >= 2 and const_str(args[1]) is None:
            base = self.names.qualname(args[0])
            if base in DYNAMIC_LOOKUP_MODULES:
                msg = f"getattr({base}, <computed>) hides which function runs"
                self.report(node, "SEC004", "error", msg)
        if func == "importlib.import_module" and args and const_str(args[0]) is None:
            self.report(node, "SEC004", "error", "import_module(<computed>) imports by name")

    def shell(self, node: ast.Call) -> None:
        value = kwarg(node, "shell")
        if value is None or is_false(value):
            return
        if is_true(value):
            msg = "shell=True runs the command through a shell; pass an argument list"
            self.report(node, "SEC006", "error", msg)
        else:
            msg = "subprocess with a computed shell= argument may run a shell"
            self.report(node, "SEC006", "warning", msg)

    def yaml_load(self, node: ast.Call, func: str) -> None:
        loader = kwarg(node, "Loader")
        if loader is None and len(node.args) > 1:
            loader = node.args[1]
        loader_name = self.names.qualname(loader) if loader is not None else None
        if loader_name in SAFE_YAML_LOADERS:
            return
        if isinstance(loader, ast.Name) and loader.id in self.safe_loaders:
            return
        safe = "yaml.safe_load()" if func == "yaml.load" else "yaml.safe_load_all()"
        self.report(node, "SEC007", "error", f"{func}() without a safe Loader; use {safe}")

    def literal(self, node: ast.AST) -> str | None:
        text = const_str(node)
        if text is None and isinstance(node, ast.Name):
            value = self.names.constants.get(node.id)
            text = value if isinstance(value, str) else None
        return text

    def all_interfaces(self, node: ast.AST, *, empty: bool = True) -> bool:
        text = self.literal(node)
        if text is None or (text == "" and not empty):
            return False
        host = text.rsplit(":", 1)[0] if text.count(":") == 1 or text.startswith("[") else text
        return text in ALL_INTERFACES or host in ALL_INTERFACES

    def binds_all(self, node: ast.Call, short: str | None) -> None:
        hosts = [kw.value for kw in node.keywords if kw.arg in HOST_KEYWORDS]
        found = any(self.all_interfaces(h) for h in hosts)
        first = node.args[0] if node.args else None
        if isinstance(first, ast.Tuple) and len(first.elts) == 2:
            # sock.bind(("", 80)), HTTPServer(("", PORT), Handler)
            found = found or (
                const_str(first.elts[1]) is None and self.all_interfaces(first.elts[0])
            )
        elif first is not None and short in ("run", "make_server", "run_simple"):
            # app.run("0.0.0.0"), make_server("", 80, app)
            found = found or self.all_interfaces(first, empty=short != "run")
        if found:
            msg = "binds every network interface by a literal; read the host from the environment"
            self.report(node, "SEC011", "error", msg)

    # -- assignments ------------------------------------------------------------------------
    def assigned(self, target: ast.AST, value: ast.AST) -> None:
        name = name_of(target)
        if isinstance(target, ast.Name) or name is None:
            return  # plain variables are the program's own business
        if name in ("debug", "DEBUG") and is_true(value):
            self.report(target, "SEC009", "error", f"{name} = True turns on the debug server")
        if name == "FLASK_DEBUG" and const_str(value) not in (None, "", "0", "false", "False"):
            self.report(target, "SEC009", "error", "FLASK_DEBUG turns on the debug server")
        if name in ("verify", "check_hostname") and is_false(value):
            self.report(target, "SEC013", "error", f"{name} = False {_TLS}")


def _built_string(node: ast.AST) -> bool:
    """A string made at run time from pieces: f"..{x}", "..." % x, "..." + x, "...".format(x)."""
    if const_str(node) is not None:
        return False
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
        # "..." % x formats when the left side is text; + builds text when either side is.
        sides = (node.left, node.right) if isinstance(node.op, ast.Add) else (node.left,)
        return any(const_str(side) is not None or _built_string(side) for side in sides)
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
        and const_str(node.func.value) is not None
    )


def check(tree: ast.AST, file: str, names: Names | None = None) -> list[Issue]:
    visitor = _Visitor(file, names or Names(tree), tree)
    visitor.visit(tree)
    return list(visitor.issues.values())
