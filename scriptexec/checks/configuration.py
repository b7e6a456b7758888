"""Configuration comes from the environment, not from literals in the code.

A generated program runs in a container whose hosts, ports, directories and endpoints are
decided at deploy time, so each must be read from an environment variable. What is fine:
`os.getenv("PORT", "8080")`, `os.environ.get("OUTPUT_DIR", "results")`, `DEFAULT_PORT = 8080`
used as such a default, file names joined to a configured directory
(`Path(OUTPUT_DIR) / "results.csv"`), and relative URL paths (`"/api/results"`). What is
flagged (all warnings: a wrong literal breaks a deployment, it does not endanger one):

    CFG001  host=<literal> in a call                     connect(host="db.internal")
    CFG002  port=<literal> in a call                     serve(app, port=8080)
    CFG003  a literal path opened or written             open("/data/in.csv"), df.to_csv("out.csv")
    CFG004  a literal URL given to a network client      requests.get("https://api.example.com")
    CFG005  a literal assigned to a configuration name   DATABASE_URL = "postgresql://..."

Credentials are not here: a literal password is a secret (checks/secrets.py), an error.
"""

from __future__ import annotations

import ast

from scriptexec.checks.issues import Issue
from scriptexec.checks.names import AssignmentVisitor, Names, const_str, kwarg, name_of, words
from scriptexec.checks.security import ALL_INTERFACES

PATH_CALLS = frozenset(
    (
        "builtins.open",
        "io.open",
        "os.open",
        "pathlib.Path",
        "pathlib.PurePath",
        "sqlite3.connect",
        "logging.FileHandler",
        "logging.handlers.RotatingFileHandler",
        "logging.handlers.TimedRotatingFileHandler",
        "numpy.loadtxt",
        "numpy.genfromtxt",
        *(f"pandas.read_{f}" for f in ("csv", "json", "excel", "parquet", "table", "feather")),
    )
)
PATH_METHODS = frozenset(("to_csv", "to_json", "to_excel", "to_parquet", "savefig"))
NOT_PATHS = frozenset(("", ".", "-", ":memory:", "/dev/null", "/dev/stdout", "/dev/stderr"))
URL_CALLS = frozenset(
    (
        *(f"{m}.{f}" for m in ("requests", "httpx") for f in ("get", "post", "put", "patch")),
        *(f"{m}.{f}" for m in ("requests", "httpx") for f in ("delete", "head", "stream")),
        "urllib.request.urlopen",
        "urllib.request.Request",
        "sqlalchemy.create_engine",
        "psycopg2.connect",
        "psycopg.connect",
        "pymongo.MongoClient",
        "redis.from_url",
        "redis.Redis.from_url",
    )
)
HOST_KEYWORDS = frozenset(("host", "hostname", "server"))
CONFIG_NAME_WORDS = frozenset(("host", "hostname", "port", "url", "uri", "dsn", "endpoint"))
DEFAULT_PREFIXES = frozenset(("default", "fallback"))


def _literal_port(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value > 0
    text = const_str(node)
    return text is not None and text.isdigit() and int(text) > 0


def _is_url(text: str | None) -> bool:
    return text is not None and "://" in text and not any(c.isspace() for c in text)


def _config_name(name: str, value: ast.AST) -> bool:
    w = words(name)
    if not w or w[-1] not in CONFIG_NAME_WORDS or w[0] in DEFAULT_PREFIXES:
        return False
    if w[-1] == "port":
        return _literal_port(value)
    text = const_str(value)
    if w[-1] in ("host", "hostname"):
        return bool(text) and "/" not in (text or "")
    return _is_url(text)


class _Visitor(AssignmentVisitor):
    def __init__(self, file: str, names: Names) -> None:
        self.file = file
        self.names = names
        self.issues: list[Issue] = []

    def report(self, node: ast.AST, code: str, message: str) -> None:
        line, col = getattr(node, "lineno", 0), getattr(node, "col_offset", 0)
        self.issues.append(Issue(self.file, line, col, "warning", code, message))

    def visit_Call(self, node: ast.Call) -> None:
        func = self.names.qualname(node.func)
        attr = node.func.attr if isinstance(node.func, ast.Attribute) else None
        for kw in node.keywords:
            text = const_str(kw.value)
            if kw.arg in HOST_KEYWORDS and text and text not in ALL_INTERFACES:  # those: SEC011
                msg = f"{kw.arg}={text!r} is fixed; read it from the environment"
                self.report(kw.value, "CFG001", msg)
            if kw.arg == "port" and _literal_port(kw.value):
                self.report(kw.value, "CFG002", "port is fixed; read it from the environment")
        first = node.args[0] if node.args else None
        if first is not None and (func in PATH_CALLS or attr in PATH_METHODS):
            path = const_str(first)
            if path is not None and path not in NOT_PATHS:
                msg = f"path {path!r} is fixed; join it to a directory read from the environment"
                self.report(first, "CFG003", msg)
        if func == "logging.basicConfig":
            filename = const_str(kwarg(node, "filename"))
            if filename:
                self.report(node, "CFG003", f"log file {filename!r} is fixed; use LOG_DIR")
        if func in URL_CALLS:
            url = node.args[0] if node.args else kwarg(node, "url")
            if url is not None and _is_url(const_str(url)):
                self.report(url, "CFG004", "URL is fixed; read it from the environment")
        self.generic_visit(node)

    def assigned(self, target: ast.AST, value: ast.AST) -> None:
        name = name_of(target)
        if name and _config_name(name, value):
            self.report(value, "CFG005", f"{name} is a literal; read it from the environment")


def check(tree: ast.AST, file: str, names: Names | None = None) -> list[Issue]:
    visitor = _Visitor(file, names or Names(tree))
    visitor.visit(tree)
    return visitor.issues
