"""Spec-time checks of dates, date formats and JSON paths, as the program will read them.

The program's own rules are scriptexec/runtime/readers/dates.py (ISO 8601 text, or a
strptime format); these say the same for the values a spec writes (a date parameter's
default and bounds, a check's rows) without importing the runtime, which loads DuckDB.
A test holds the two to the same answers.
"""

from __future__ import annotations

import datetime as dt
import re

DATE_SHAPE = "YYYY-MM-DD"
ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
ISO_DATETIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,9}))?)?"
    r"(Z|[+-][0-9]{2}(?::?[0-9]{2})?)?)?"
)
# strptime codes a format may use: Python's, as the careful reader reads them; %Z (a
# zone's name, which Python reads only for UTC and the local zone) and the locale's
# %c %x %X are left out, as they read differently from one machine to the next.
FORMAT_CODES = frozenset("aAbBdfHIjmMpSyYz%")
YEAR_CODES = ("%Y", "%y")
MAX_PATH_KEYS = 16


def as_date(value: object) -> dt.date | None:
    """ISO text (`2024-03-31`) as a date, None when it is not one."""
    if not isinstance(value, str):
        return None
    found = ISO_DATE.fullmatch(value.strip())
    try:
        return dt.date(*map(int, found.groups())) if found else None
    except ValueError:
        return None


def is_datetime(value: object) -> bool:
    """ISO 8601 date-and-time text as the program reads it (dates.py's to_datetime)."""
    return parse_datetime(value) is not None


def parse_datetime(value: object) -> dt.datetime | None:
    """ISO 8601 date-and-time text as the program reads it: a datetime in UTC (when the
    text has an offset) without a zone, None when it is not one."""
    if not isinstance(value, str):
        return None
    found = ISO_DATETIME.fullmatch(value.strip())
    if found is None:
        return None
    year, month, day, hour, minute, second, fraction, offset = found.groups()
    digits = (offset or "Z")[1:].replace(":", "")
    hours, minutes = (int(digits[:2]), int(digits[2:] or 0)) if digits else (0, 0)
    if hours > 23 or minutes > 59:
        return None
    micros = int((fraction or "0").ljust(6, "0")[:6])
    try:
        moment = dt.datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
        )
        shift = dt.timedelta(hours=hours, minutes=minutes)
        moment = moment + shift if (offset or "").startswith("-") else moment - shift
    except (ValueError, OverflowError):
        return None
    return moment.replace(microsecond=micros)


def matches_format(value: object, fmt: str) -> bool:
    if not isinstance(value, str):
        return False
    try:
        dt.datetime.strptime(value.strip(), fmt)
    except ValueError:
        return False
    return True


def format_problem(fmt: str) -> tuple[str, str] | None:
    """(message, hint) for a strptime format the program cannot read dates with."""
    hint = "use strptime codes such as %Y %m %d %H %M %S (%% for a percent sign)"
    for code in re.findall(r"%(.?)", fmt, re.DOTALL):
        if code == "":
            return "the format ends with a lone %", hint
        if code not in FORMAT_CODES:
            return f"unknown format code %{code}", hint
    if not any(code in fmt.replace("%%", "") for code in YEAR_CODES):
        return "the format has no year (%Y or %y)", "a date without a year would be in 1900"
    return None


def path_problem(path: str) -> str | None:
    """What is wrong with a JSON field path (`contact.email`), if anything."""
    keys = path.split(".")
    if any(key == "" for key in keys):
        return f"path '{path}' has an empty key (write keys joined by single dots)"
    if len(keys) > MAX_PATH_KEYS:
        return f"path '{path}' has more than {MAX_PATH_KEYS} keys"
    if any(not c.isprintable() for c in path):
        return f"path {path!r} holds a control character"
    return None
