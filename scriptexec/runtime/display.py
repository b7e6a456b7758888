"""Values as a person reads them (the run's summary lines, the HTML report), and the
judgements that decide how many decimals a figure gets and whether it is bad news.

The rules are the dashboard's own (its fmt, digitsOf and isBad), so that a figure reads
the same on the page, in the report and on the command line.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from typing import Any

from .values import iso

ACRONYMS = {"id", "noi", "dscr", "ltv", "irr", "npv", "roi", "dti", "ebitda", "sku"}
MAX_DIGITS = 10  # decimals added to tell a value from its threshold stop here


def humanize(name: str) -> str:
    """A field name as a heading: gross_revenue -> Gross revenue, dscr -> DSCR."""
    words = [w.upper() if w.lower() in ACRONYMS else w for w in name.split("_") if w]
    text = " ".join("%" if w == "pct" else w for w in words)
    return text[:1].upper() + text[1:]


def display(value: Any, digits: int | None = None) -> str:
    """`value` for a reader: a float with `digits` decimals, or without them as written
    (a parameter: 1.25, -10, 0.005)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if digits is not None:
            return f"{value:,.{digits}f}"
        text = f"{value:,.6f}".rstrip("0").rstrip(".")
        return "0" if text in ("", "-0") else text
    if isinstance(value, dt.date):
        return iso(value)
    return str(value)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class Judge:
    """What values are measured against, for one result: a column and the threshold it
    is bad below (a parameter or a summary figure), a summary figure and the column it
    is one of, a boolean column whose true is bad (or good) news. `judged` is the
    program's {"thresholds", "related", "flags"} (scriptexec's codegen/thresholds.py)."""

    def __init__(
        self,
        judged: Mapping[str, Mapping[str, str]],
        parameters: Mapping[str, Any],
        summary: Mapping[str, Any],
    ) -> None:
        self.thresholds = judged.get("thresholds", {})
        self.related = judged.get("related", {})
        self.flags = judged.get("flags", {})
        self.parameters = parameters
        self.summary = summary

    def family(self, name: str) -> str:
        """The column whose decimals and threshold a figure shares (lowest_dscr: dscr)."""
        return self.related.get(name, name)

    def threshold(self, family: str) -> Any:
        name = self.thresholds.get(family)
        if name is None:
            return None
        if name in self.parameters:
            return self.parameters[name]
        return self.summary.get(name)

    def has_threshold(self, name: str) -> bool:
        return name in self.thresholds

    def is_bad(self, name: str, value: Any) -> bool:
        """Judged unrounded: under the threshold of its column (or of its kind's column)."""
        limit = self.threshold(self.family(name))
        return is_number(value) and is_number(limit) and value < limit

    def flag(self, name: str, value: Any) -> str | None:
        """ "bad" or "good" for a true whose meaning the spec states, else None."""
        return self.flags.get(name) if value is True else None


def field_digits(judge: Judge, rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Decimals per field, as the dashboard chooses them (its digitsOf), over the rows
    shown and the summary: one number for a column and the figures of its kind, from
    the largest value (125,000 · 1.25 · 0.0345), then more while a value that differs
    from its threshold would read as the threshold."""
    families: dict[str, list[float]] = {}
    for row in rows:
        for key, value in row.items():
            if is_number(value) and math.isfinite(value):
                families.setdefault(key, []).append(value)
    for key, value in judge.summary.items():
        if is_number(value) and math.isfinite(value):
            families.setdefault(judge.family(key), []).append(value)
    return {family: _digits(values, judge.threshold(family)) for family, values in families.items()}


def _digits(values: list[float], limit: Any) -> int:
    size = max(abs(v) for v in values)
    if size >= 1000 or all(float(v).is_integer() for v in values):
        places = 0  # whole numbers stored as floats (650 sq ft) need no decimals
    elif size >= 0.1 or size == 0:
        places = 2
    else:
        places = min(8, 2 - math.floor(math.log10(size)))
    if not is_number(limit):
        return places
    shown = display(float(limit), places)
    while places < MAX_DIGITS and any(
        v != limit and display(float(v), places) == shown for v in values
    ):
        places += 1
        shown = display(float(limit), places)
    return places
