"""A rough memory and CPU baseline for a generated program, read from its code alone.

What it is: the resident memory of a CPython process after importing what the program
imports (figures measured once on CPython 3.11/x86-64, rounded up), plus allowances for a web
server's threads and for data read whole into memory, with 25% headroom, rounded up to 32 MB.
What it is not: a measurement of this program, or a bound on its data. Memory for data read
whole (pandas.read_*, json.load, fetchall, .read()) grows with the input, about 2-5x the file
size for pandas; streamed input (iterating csv.reader or a cursor) does not. CPU: one Python
process uses about one core at most (the GIL), so the figure says whether the program is
mostly waiting (0.5) or computing (1.0), or runs worker processes (2.0).

It is read from the code only, never from the spec's `runtime.memory`: validate must not
depend on the limits, so that editing them re-runs only package and image.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Iterable

from scriptexec.checks.issues import ResourceEstimate
from scriptexec.checks.names import Names

INTERPRETER_MB = 20
IMPORT_MB: dict[str, int] = {
    "pandas": 70, "numpy": 25, "scipy": 60, "matplotlib": 45, "sklearn": 120, "polars": 60,
    "pyarrow": 80, "duckdb": 40, "plotly": 40, "torch": 400, "openpyxl": 20, "flask": 15,
    "fastapi": 30, "waitress": 5, "gunicorn": 10, "uvicorn": 15, "sqlalchemy": 20,
    "requests": 10, "httpx": 12, "psycopg2": 5, "psycopg": 8, "pymongo": 10, "jinja2": 5,
    "yaml": 3,
}  # fmt: skip
WEB_MODULES = frozenset(("flask", "fastapi", "waitress", "gunicorn", "uvicorn", "http.server"))
NUMERIC_MODULES = frozenset(("numpy", "pandas", "scipy", "sklearn", "polars", "torch"))
PARALLEL = frozenset(("multiprocessing", "concurrent.futures.ProcessPoolExecutor"))
WEB_SERVER_MB = 20  # worker threads and request buffers
WHOLE_DATA_MB = 64  # a working set for data read whole; see the module docstring
WHOLE_READS = frozenset(("json.load", "json.loads", "pickle.load"))
WHOLE_READ_METHODS = frozenset(("read", "readlines", "fetchall", "read_text", "read_bytes"))


def _reads_whole(tree: ast.AST, names: Names) -> str | None:
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = names.qualname(node.func) or ""
        attr = node.func.attr if isinstance(node.func, ast.Attribute) else ""
        if func.startswith("pandas.read_") or func.startswith("polars.read_"):
            return func
        if func in WHOLE_READS or attr in WHOLE_READ_METHODS:
            return func or f".{attr}()"
    return None


def estimate(modules: Iterable[tuple[ast.AST, Names]]) -> ResourceEstimate:
    imported: set[str] = set()
    whole: str | None = None
    for tree, names in modules:
        for qualname in names.aliases.values():
            parts = qualname.split(".")
            imported.update(".".join(parts[: i + 1]) for i in range(len(parts)))
        whole = whole or _reads_whole(tree, names)
    libraries = sorted(m for m in imported if m in IMPORT_MB)
    memory = INTERPRETER_MB + sum(IMPORT_MB[m] for m in libraries)
    reasons = [f"Python {INTERPRETER_MB} MB"]
    reasons += [f"{m} {IMPORT_MB[m]} MB" for m in libraries]
    web = bool(imported & WEB_MODULES)
    if web:
        memory += WEB_SERVER_MB
        reasons.append(f"web server threads {WEB_SERVER_MB} MB")
    if whole:
        memory += WHOLE_DATA_MB
        reasons.append(f"{whole} reads input whole: {WHOLE_DATA_MB} MB, plus ~3x the input size")
    memory_mb = math.ceil(memory * 1.25 / 32) * 32
    if imported & PARALLEL:
        cpus, why = 2.0, "worker processes"
    elif imported & NUMERIC_MODULES:
        cpus, why = 1.0, "numeric libraries keep a core busy"
    else:
        cpus, why = 0.5, "mostly I/O" if not web else "a web server mostly waits"
    reasons.append(f"{cpus:g} CPU: {why}")
    return ResourceEstimate(memory_mb, cpus, bool(whole), tuple(reasons))
