"""Read rows from PostgreSQL; the connection string comes from DATABASE_URL."""

from __future__ import annotations

import logging
import os
from typing import Any

import psycopg2

log = logging.getLogger(__name__)


def properties(min_revenue: float) -> list[tuple[Any, ...]]:
    with psycopg2.connect(os.environ["DATABASE_URL"]) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT property_id, gross_revenue FROM properties WHERE gross_revenue >= %s",
            (min_revenue,),
        )
        return cur.fetchall()


def connection_url(user: str, password: str, host: str, database: str) -> str:
    return f"postgresql://{user}:{password}@{host}/{database}"
