"""Values as messages and JSON show them."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any


def show(value: Any) -> str:
    """A value for a one-line message: its repr, cut at 40 characters."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def iso(value: dt.date) -> str:
    """A date as `2024-03-31`, a datetime as `2024-03-31T12:00:00` (with `.500000` when
    it has a fraction of a second): how every output writes them (rowfiles.py in SQL)."""
    return value.isoformat()


def clean(value: Any) -> Any:
    """JSON-safe: non-finite floats (which never leave evaluate) become null, dates and
    datetimes ISO text."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.date):
        return iso(value)
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


def to_json(value: Any) -> str:
    return json.dumps(clean(value), indent=2, allow_nan=False)
