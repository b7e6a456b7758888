"""Query a SQLite database whose location comes from DATABASE_PATH."""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterator

log = logging.getLogger(__name__)


def connect() -> sqlite3.Connection:
    conn = sqlite3.connect(os.getenv("DATABASE_PATH", "data/app.db"))
    conn.row_factory = sqlite3.Row
    return conn


def sales_for(conn: sqlite3.Connection, region: str) -> Iterator[sqlite3.Row]:
    yield from conn.execute("SELECT id, amount FROM sales WHERE region = ?", (region,))


def in_memory() -> sqlite3.Connection:
    return sqlite3.connect(":memory:")
