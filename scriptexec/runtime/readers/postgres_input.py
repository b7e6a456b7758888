"""postgres inputs, through psycopg (imported only when a program has one)."""

from __future__ import annotations

import os

from ..errors import ProgramError
from ..program import Input
from .convert import Record, max_rows
from .sqlite_input import as_records, select_sql


def source_name(inp: Input) -> str:
    return f"input {inp.name} (postgres)"


def read_postgres(inp: Input) -> list[Record]:
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise ProgramError(f"input {inp.name} reads from postgres: set DATABASE_URL")
    try:
        import psycopg
    except ImportError:
        hint = "pip install -r requirements.txt"
        raise ProgramError(f"postgres needs psycopg: {hint}") from None
    sql = select_sql(inp)
    try:
        with psycopg.connect(url, connect_timeout=15) as connection:
            cursor = connection.execute(sql)
            names = [d.name for d in cursor.description or []]
            rows = cursor.fetchmany(max_rows() + 1)
    except psycopg.Error as exc:
        first = (str(exc).strip() or type(exc).__name__).splitlines()[0]
        raise ProgramError(f"{source_name(inp)}: {first}") from None
    return as_records(names, rows)
