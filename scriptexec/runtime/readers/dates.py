"""Dates and datetimes from the data: ISO 8601 text, a declared strptime format, or the
date objects a database driver gives.

The careful reader's rules (casts.py takes the common ISO forms in SQL and must agree):
- a date is `YYYY-MM-DD` exactly (after stripping whitespace, as numbers are): no week
  or ordinal dates, no `20240331`, years 0001 to 9999 (what Python's date holds);
- a datetime is a date, then `T` or a space and `HH:MM`, optional `:SS` and a fraction
  of up to 9 digits (cut to microseconds, which is what DuckDB's TIMESTAMP keeps), and an
  optional offset `Z`, `+HH`, `+HH:MM` or `+HHMM`; a date alone is its midnight;
- a value with an offset is converted to UTC and kept without it (TIMESTAMP holds no
  zone): `2024-03-31T12:00:00+02:00` is `2024-03-31T10:00:00`. A value without an offset
  is kept as written: the data's own clock;
- with a declared format the text must match it as Python's strptime reads it (`%z`
  offsets converted to UTC as above).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from ..values import show

DATE_SHAPE = "YYYY-MM-DD"
DATETIME_SHAPE = "YYYY-MM-DDTHH:MM:SS"
ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
ISO_DATETIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,9}))?)?"
    r"(Z|[+-][0-9]{2}(?::?[0-9]{2})?)?)?"
)


class BadDate(ValueError):
    """Text or a value that is not a date (or datetime) of the field's form."""


def expected(ftype: str, fmt: str | None) -> str:
    """What a message says the field wanted: `a date (YYYY-MM-DD)`, `a date as %d/%m/%Y`."""
    what = "a date" if ftype == "date" else "a datetime"
    if fmt:
        return f"{what} as {fmt}"
    return f"{what} ({DATE_SHAPE if ftype == 'date' else DATETIME_SHAPE})"


def to_date(value: Any, fmt: str | None = None) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            if fmt:
                return utc(dt.datetime.strptime(text, fmt)).date()
            found = ISO_DATE.fullmatch(text)
            if found:
                return dt.date(*map(int, found.groups()))
        except (ValueError, OverflowError):
            pass
    raise BadDate(f"expected {expected('date', fmt)}, got {show(value)}")


def to_datetime(value: Any, fmt: str | None = None) -> dt.datetime:
    try:
        if isinstance(value, dt.datetime):
            return utc(value)
        if isinstance(value, dt.date):
            return dt.datetime(value.year, value.month, value.day)
        if isinstance(value, str):
            text = value.strip()
            if fmt:
                return utc(dt.datetime.strptime(text, fmt))
            found = ISO_DATETIME.fullmatch(text)
            if found:
                return iso_datetime(found)
    except (ValueError, OverflowError):  # no such day or time; beyond years 1 to 9999
        pass
    raise BadDate(f"expected {expected('datetime', fmt)}, got {show(value)}")


def iso_datetime(found: re.Match[str]) -> dt.datetime:
    year, month, day, hour, minute, second, fraction, offset = found.groups()
    micros = int((fraction or "0").ljust(6, "0")[:6])
    moment = dt.datetime(
        int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micros
    )
    if offset is None or offset == "Z":
        return moment
    digits = offset[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError("offset out of range")
    shift = dt.timedelta(hours=hours, minutes=minutes)
    return moment - shift if offset[0] == "+" else moment + shift


def utc(moment: dt.datetime) -> dt.datetime:
    """An aware datetime in UTC without its zone; a naive one as it is."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
