"""Date functions: literals, parts, differences, shifts, period starts and ends, and text
read as a date.

A datetime is accepted wherever a date makes sense (argument type `temporal`): its parts
are those of its day, a difference counts its time of day (a date is its midnight),
a shift keeps its time of day, and a period's start or end is a day (a date).

Whole months are counted as a lease analyst counts them, consistently with
`add_months`: `months_between(a, b)` is the largest n with `add_months(a, n) <= b`, where
`add_months` clamps to the month's end (2024-01-31 + 1 month = 2024-02-29). So a month
from the 31st (or the 30th) is complete on the last day of a shorter month:
2024-01-31 to 2024-02-29 is 1 month, to 2024-02-28 is 0. Backwards it is the same count,
negative: `months_between(b, a) == -months_between(a, b)`. DuckDB's `date_sub('month', a,
b)` counts exactly so (tests/codegen/test_dates.py compares the two over every pair of
days around an ordinary February and a leap one).

Python and the outputs hold the years 1 to 9999, DuckDB's dates many more: a shift or a
text that would leave those years gives a missing value rather than a date no output can
write.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from scriptexec.spec.functions import Function, SqlTemplate, sql_call

FIRST_YEAR, LAST_YEAR = 1, 9999
# From 0001-01-01 to 9999-12-31: a larger shift leaves the years from any date, and
# DuckDB's conversions of a larger count would fail the whole query (checked first).
MOST_DAYS = (dt.date(LAST_YEAR, 12, 31) - dt.date(FIRST_YEAR, 1, 1)).days  # 3,652,058
MOST_MONTHS = (LAST_YEAR - FIRST_YEAR + 1) * 12  # 119,988

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ISO_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
)
# DuckDB's strptime codes (tests/codegen/test_dates.py asks DuckDB for them), less the
# time zones: a zone makes a TIMESTAMP WITH TIME ZONE, whose day depends on the machine's.
_CODES = set("aAbBcdfgGhHIjmMnpSTuUVwWxXyY%")
_DASHED = set("djmyHIMS")  # %-d: without leading zeros
_YEARS = set("YyGcx")  # codes that read a year (%c and %x read a whole date)
_CODE = re.compile(r"%(-?)(.?)", re.DOTALL)


def parse_date(text: str) -> dt.date | None:
    """The date an ISO text (`2024-03-31`) writes, or None."""
    if not _ISO_DATE.fullmatch(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def parse_datetime(text: str) -> dt.datetime | None:
    """The datetime an ISO text (`2024-03-31T12:00:00`, or with a space) writes, or None."""
    if not _ISO_DATETIME.fullmatch(text):
        return None
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return None


def check_date(_position: int, value: object) -> str | None:
    text = str(value)
    if parse_date(text) is not None:
        return None
    shape = "" if _ISO_DATE.fullmatch(text) else " (write it as YYYY-MM-DD)"
    return f"not a date: {text!r}{shape}"


def check_datetime(_position: int, value: object) -> str | None:
    text = str(value)
    if parse_datetime(text) is not None:
        return None
    shape = "" if _ISO_DATETIME.fullmatch(text) else " (write it as YYYY-MM-DDTHH:MM:SS)"
    return f"not a datetime: {text!r}{shape}"


def check_format(_position: int, value: object) -> str | None:
    """A problem with a strptime format for a date, or None."""
    codes: list[str] = []
    for match in _CODE.finditer(str(value)):
        dash, code = match.groups()
        if code in ("z", "Z"):
            return f"time zones (%{code}) are not supported in a date's format"
        if not code:
            return "the format ends with a lone % (write %% for a percent sign)"
        if code not in _CODES or (dash and code not in _DASHED):
            return (
                f"unknown format code '%{dash}{code}' (strptime's codes: %Y year, %m month,"
                " %d day, %b month name, %H:%M:%S time, %% a percent sign)"
            )
        codes.append(code)
    if not _YEARS.intersection(codes):
        return "the format has no year (%Y, or %y for two digits)"
    return None


def within_years(sql: str) -> str:
    """`sql` (a date or datetime), NULL outside the years 1 to 9999."""
    return f"CASE WHEN year({sql}) BETWEEN {FIRST_YEAR} AND {LAST_YEAR} THEN {sql} END"


def _shift(unit: str, most: int) -> SqlTemplate:
    def sql(args: Sequence[str], constants: Sequence[object]) -> str:
        value, count = args
        written = constants[1]
        if isinstance(written, int) and not isinstance(written, bool) and written <= most:
            return within_years(f"{value} + to_{unit}({written})")  # add_days(d, 30)
        # Bounded before it is converted: to_days() of a count beyond an INTEGER raises
        # (for the whole query); CASE evaluates its THEN only where WHEN held.
        moved = f"{value} + to_{unit}(CAST({count} AS INTEGER))"
        return f"CASE WHEN {count} BETWEEN -{most} AND {most} THEN {within_years(moved)} END"

    return sql


def _to_date(args: Sequence[str], _constants: Sequence[object]) -> str:
    text = f"trim({args[0]})"
    if len(args) == 1:  # ISO, strictly: DuckDB's cast also takes 'epoch' and '2024-03-31 12:00'
        pattern = _ISO_DATE.pattern
        parsed = (
            f"CASE WHEN regexp_full_match({text}, '{pattern}') THEN TRY_CAST({text} AS DATE) END"
        )
    else:
        parsed = f"CAST(try_strptime({text}, {args[1]}) AS DATE)"  # the constant, quoted
    return within_years(parsed)


def _truncated(part: str) -> SqlTemplate:
    # date_trunc gives a TIMESTAMP of a DATE too: the day is the answer.
    return lambda args, _: f"CAST(date_trunc('{part}', {args[0]}) AS DATE)"


def _date_literal(_args: Sequence[str], constants: Sequence[object]) -> str:
    day = parse_date(str(constants[0]))
    assert day is not None  # checked with the spec
    return f"DATE '{day.isoformat()}'"


def _datetime_literal(_args: Sequence[str], constants: Sequence[object]) -> str:
    moment = parse_datetime(str(constants[0]))
    assert moment is not None  # checked with the spec
    return f"TIMESTAMP '{moment.isoformat(' ')}'"


def _part(name: str, sql: str, what: str, example: str) -> Function:
    return Function(name, ("temporal",), "integer", sql_call(sql), what, example)


FUNCTIONS = [
    Function(
        "date",
        ("string",),
        "date",
        _date_literal,
        "the date written YYYY-MM-DD (constant text, checked with the spec)",
        "lease_end <= date('2024-12-31')",
        constant=(0,),
        check_constant=check_date,
    ),
    Function(
        "datetime",
        ("string",),
        "datetime",
        _datetime_literal,
        "the datetime written YYYY-MM-DDTHH:MM:SS (or with a space; constant text)",
        "signed_at < datetime('2024-03-31T12:00:00')",
        constant=(0,),
        check_constant=check_datetime,
    ),
    _part("year", "year", "the year", "year(lease_end)"),
    _part("month", "month", "the month, 1 to 12", "month(lease_end)"),
    _part("day", "day", "the day of the month, 1 to 31", "day(lease_end)"),
    _part("quarter", "quarter", "the quarter, 1 to 4", "quarter(lease_end)"),
    _part(
        "weekday",
        "isodow",
        "the day of the week, 1 (Monday) to 7 (Sunday)",
        "weekday(lease_start) >= 6",
    ),
    Function(
        "days_between",
        ("temporal", "temporal"),
        "integer",
        lambda args, _: f"date_sub('day', {args[0]}, {args[1]})",
        "the days from a to b (b - a; negative when b is earlier; datetimes: whole 24 hours)",
        "days_between(as_of, lease_end)",
    ),
    Function(
        "months_between",
        ("temporal", "temporal"),
        "integer",
        lambda args, _: f"date_sub('month', {args[0]}, {args[1]})",
        "the whole months from a to b: the most n with add_months(a, n) <= b (negative"
        " when b is earlier)",
        "months_between(as_of, lease_end)",
    ),
    Function(
        "add_days",
        ("temporal", "whole"),
        "same",
        _shift("days", MOST_DAYS),
        "the date (or datetime) n days later; earlier for a negative n",
        "add_days(lease_end, 30)",
        nullable=True,  # beyond the year 9999
    ),
    Function(
        "add_months",
        ("temporal", "whole"),
        "same",
        _shift("months", MOST_MONTHS),
        "the date n months later, clamped to the month's end (2024-01-31 + 1: 2024-02-29)",
        "add_months(lease_start, 12)",
        nullable=True,
    ),
    Function(
        "month_end",
        ("temporal",),
        "date",
        sql_call("last_day"),
        "the last day of the month",
        "month_end(lease_end)",
    ),
    Function(
        "month_start",
        ("temporal",),
        "date",
        _truncated("month"),
        "the first day of the month",
        "month_start(lease_start)",
    ),
    Function(
        "quarter_start",
        ("temporal",),
        "date",
        _truncated("quarter"),
        "the first day of the quarter",
        "quarter_start(lease_end)",
    ),
    Function(
        "year_start",
        ("temporal",),
        "date",
        _truncated("year"),
        "the first day of the year",
        "year_start(lease_end)",
    ),
    Function(
        "to_date",
        ("string", "string"),
        "date",
        _to_date,
        "the text as a date (YYYY-MM-DD, or the strptime format); missing when it is not one",
        "to_date(start_text, '%d/%m/%Y')",
        min_args=1,
        constant=(1,),
        check_constant=check_format,
        nullable=True,
    ),
]

# Names other languages use, which this one does not: the hint of an unknown function.
_DIFFERENCE = "use days_between(a, b) or months_between(a, b)"
_TODAY = "the run's date is a parameter's default: as_of: {type: date, default: today}"
INSTEAD = {
    "date_diff": _DIFFERENCE,
    "datediff": _DIFFERENCE,
    "today": _TODAY,
    "now": _TODAY,
}
