"""The runtime of every program scriptexec builds.

A generated `app.py` holds only what its spec decides (constants and the compiled SQL) and
calls `main(PROGRAM)`; everything else a program does — read its inputs into DuckDB, run
the queries, run the prose steps, write the outputs, serve the dashboard — lives here.
The build copies this package into `build/<name>/scriptexec_runtime/`, so a program and
its image need no scriptexec at run time: the package imports only itself (relatively),
the standard library, `duckdb`, and (lazily, for `serve` and postgres inputs) Flask,
waitress and psycopg.
"""

from __future__ import annotations

from .cli import main
from .program import Program

__all__ = ["Program", "main"]
