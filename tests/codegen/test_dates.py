"""The date functions (scriptexec/spec/functions/dates.py) compiled to SQL and run on
DuckDB over hand-made input tables; then the shipped lease_expiry spec end to end.

Expected values are worked out by hand in the comments: 2024 is a leap year (February
has 29 days), 2023 is not; 2024-01-01 was a Monday.
"""

from __future__ import annotations

import calendar
import datetime as dt
import string
from pathlib import Path
from typing import Any

import duckdb

from codegen.helpers import render
from codegen.helpers import run as run_program
from codegen.sql_support import connect, run, spec_model
from scriptexec.codegen.model import program_model
from scriptexec.codegen.sql import compile_queries
from scriptexec.spec.functions import dates
from scriptexec.spec.model import load_spec

D = dt.date
T = dt.datetime
SPECS = Path(__file__).resolve().parents[2] / "specs"


def computed(
    tmp_path: Path,
    fields: dict[str, str],
    compute: dict[str, str],
    rows: list[dict[str, Any]],
    **more: Any,
) -> list[dict[str, Any]]:
    """The computed rows."""
    return run(spec_model(tmp_path, fields=fields, compute=compute, **more), rows).rows


def column(rows: list[dict[str, Any]], name: str) -> list[Any]:
    return [r[name] for r in rows]


# -- literals ----------------------------------------------------------------------------


def test_literals_compile_to_typed_constants(tmp_path: Path) -> None:
    compute = {
        "leap": "date('2024-02-29')",
        "noon": "datetime('2024-03-31T12:00:00')",
        "spaced": "datetime('2024-03-31 12:30')",
        "fraction": "datetime('2024-03-31T12:00:00.25')",
    }
    result = run(spec_model(tmp_path, fields={"id": "string"}, compute=compute), [{"id": "a"}])
    (row,) = result.rows
    assert row["leap"] == D(2024, 2, 29) and type(row["leap"]) is D
    assert row["noon"] == T(2024, 3, 31, 12, 0, 0)
    assert row["spaced"] == T(2024, 3, 31, 12, 30)
    assert row["fraction"] == T(2024, 3, 31, 12, 0, 0, 250000)
    sql = result.queries["rows"]["sql"]
    assert "DATE '2024-02-29'" in sql and "TIMESTAMP '2024-03-31 12:00:00'" in sql


# -- parts -------------------------------------------------------------------------------


def test_parts_of_dates_and_datetimes(tmp_path: Path) -> None:
    compute = {
        "y": "year(d)",
        "m": "month(d)",
        "dd": "day(d)",
        "q": "quarter(d)",
        "wd": "weekday(d)",
        "t_wd": "weekday(t)",
        "t_q": "quarter(t)",
        "t_day": "day(t)",
    }
    rows = computed(
        tmp_path,
        {"d": "date", "t": "datetime"},
        compute,
        [
            {"d": D(2024, 2, 29), "t": T(2024, 4, 1, 23, 59)},
            {"d": D(2024, 3, 31), "t": T(2023, 12, 31, 0, 0)},
            {"d": D(2024, 4, 1), "t": T(2024, 2, 29, 12, 0)},
        ],
    )
    # 2024-02-29 is day 31 + 29 = 60 of 2024: (60 - 1) % 7 = 3 days after a Monday, a
    # Thursday (4), in Q1. 2024-03-31 is day 31 + 29 + 31 = 91: 90 % 7 = 6, a Sunday (7).
    # 2024-04-01 is day 92: 91 % 7 = 0, a Monday (1), in Q2.
    assert column(rows, "y") == [2024, 2024, 2024]
    assert column(rows, "m") == [2, 3, 4]
    assert column(rows, "dd") == [29, 31, 1]
    assert column(rows, "q") == [1, 1, 2]
    assert column(rows, "wd") == [4, 7, 1]
    # A datetime's parts are its day's, whatever its time: 2024-04-01 23:59 is a Monday
    # in Q2; 2023-12-31 is a Sunday (2024-01-01 the Monday after) in Q4; 2024-02-29 (Thu).
    assert column(rows, "t_wd") == [1, 7, 4]
    assert column(rows, "t_q") == [2, 4, 1]
    assert column(rows, "t_day") == [1, 31, 29]
    assert all(type(v) is int for r in rows for k, v in r.items() if k in compute)


# -- differences ---------------------------------------------------------------------------


def test_days_between_counts_b_minus_a(tmp_path: Path) -> None:
    compute = {"days": "days_between(a, b)"}
    pairs = [
        (D(2024, 2, 1), D(2024, 3, 1)),  # February 2024: 29 days
        (D(2023, 2, 1), D(2023, 3, 1)),  # February 2023: 28
        (D(2024, 3, 1), D(2024, 2, 1)),  # backwards: -29
        (D(2024, 3, 1), D(2024, 3, 1)),  # the same day: 0
        (D(2023, 12, 31), D(2024, 1, 1)),  # across a year: 1
        (D(2024, 1, 1), D(2025, 1, 1)),  # a leap year: 366
    ]
    rows = computed(
        tmp_path, {"a": "date", "b": "date"}, compute, [{"a": a, "b": b} for a, b in pairs]
    )
    assert column(rows, "days") == [29, 28, -29, 0, 1, 366]


def test_days_between_datetimes_counts_whole_days(tmp_path: Path) -> None:
    compute = {"days": "days_between(a, b)", "from_date": "days_between(d, b)"}
    rows = computed(
        tmp_path,
        {"a": "datetime", "b": "datetime", "d": "date"},
        compute,
        [
            # 18:00 to 06:00 the next day: 12 hours, no whole day; from midnight: 30 hours
            {"a": T(2024, 3, 1, 18), "b": T(2024, 3, 2, 6), "d": D(2024, 3, 1)},
            # 36 hours: 1 day; from 2024-03-01 00:00 to 03-03 06:00: 54 hours, 2 days
            {"a": T(2024, 3, 1, 18), "b": T(2024, 3, 3, 6), "d": D(2024, 3, 1)},
            # backwards 36 hours: -1 (whole days, toward zero); from 03-04 00:00 back to
            # 03-01 18:00: -54 hours, -2
            {"a": T(2024, 3, 3, 6), "b": T(2024, 3, 1, 18), "d": D(2024, 3, 4)},
        ],
    )
    assert column(rows, "days") == [0, 1, -1]
    assert column(rows, "from_date") == [1, 2, -2]


MONTH_CASES = [
    # (a, b, whole months from a to b): the most n with add_months(a, n) <= b
    (D(2024, 1, 31), D(2024, 2, 29), 1),  # a month from the 31st ends on Feb's last day
    (D(2024, 1, 31), D(2024, 2, 28), 0),  # ... not the day before it
    (D(2024, 1, 30), D(2024, 2, 29), 1),  # the 30th too: there is no Feb 30
    (D(2023, 1, 31), D(2023, 2, 28), 1),  # Feb 28 is the last day in 2023
    (D(2024, 1, 15), D(2024, 2, 14), 0),  # a day short
    (D(2024, 1, 15), D(2024, 2, 15), 1),
    (D(2024, 2, 29), D(2025, 2, 28), 12),  # add_months(2024-02-29, 12) = 2025-02-28
    (D(2024, 2, 29), D(2024, 3, 28), 0),  # a month from the 29th is the 29th
    (D(2024, 2, 29), D(2024, 3, 29), 1),
    (D(2024, 3, 31), D(2024, 4, 30), 1),  # April has 30 days
    (D(2024, 6, 30), D(2029, 6, 30), 60),
    (D(2024, 6, 30), D(2024, 6, 30), 0),
    (D(2024, 2, 29), D(2024, 1, 31), -1),  # backwards: minus the months from b to a
    (D(2024, 3, 15), D(2024, 1, 20), -1),  # 01-20 + 2 months = 03-20 > 03-15: 1 month
    (D(2024, 3, 1), D(2024, 2, 29), 0),  # one day back: no whole month
]


def test_months_between_counts_whole_months_clamped_to_month_ends(tmp_path: Path) -> None:
    rows = computed(
        tmp_path,
        {"a": "date", "b": "date"},
        {"months": "months_between(a, b)"},
        [{"a": a, "b": b} for a, b, _ in MONTH_CASES],
    )
    assert column(rows, "months") == [n for _, _, n in MONTH_CASES]


def test_months_between_datetimes_counts_the_time_of_day(tmp_path: Path) -> None:
    rows = computed(
        tmp_path,
        {"a": "datetime", "b": "datetime"},
        {"months": "months_between(a, b)", "back": "months_between(b, a)"},
        [
            # add_months(01-31 12:00, 1) = 02-29 12:00: an hour short, then an hour past
            {"a": T(2024, 1, 31, 12), "b": T(2024, 2, 29, 11)},
            {"a": T(2024, 1, 31, 12), "b": T(2024, 2, 29, 13)},
        ],
    )
    assert column(rows, "months") == [0, 1]
    assert column(rows, "back") == [0, -1]


def _add_months(day: dt.date, n: int) -> dt.date:
    """The oracle's add_months: the same day n months on, clamped to the month's end."""
    year, month0 = divmod(day.month - 1 + n, 12)
    year += day.year
    last = calendar.monthrange(year, month0 + 1)[1]
    return day.replace(year=year, month=month0 + 1, day=min(day.day, last))


def _months_between(a: dt.date, b: dt.date) -> int:
    """The definition: the most n with add_months(a, n) <= b; minus b to a backwards."""
    if b < a:
        return -_months_between(b, a)
    n = (b.year - a.year) * 12 + b.month - a.month
    while _add_months(a, n) > b:
        n -= 1
    return n


def test_months_between_is_its_definition_over_every_pair_of_days(tmp_path: Path) -> None:
    # Every pair of days around an ordinary February (2023) and a leap one (2024), month
    # ends of 28, 29, 30 and 31 days among them: DuckDB's date_sub('month') against the
    # definition in Python (22,500 pairs); and add_months(a, months) against the oracle's.
    spans = [(D(2023, 1, 20), 50), (D(2023, 11, 25), 100)]
    days = [start + dt.timedelta(n) for start, count in spans for n in range(count)]
    model = spec_model(
        tmp_path,
        fields={"a": "date", "b": "date"},
        compute={"months": "months_between(a, b)", "later": "add_months(a, months)"},
    )
    queries = compile_queries(model)
    db = connect()
    db.execute(
        "CREATE TABLE input_data AS SELECT a, b, row_number() OVER (ORDER BY a, b) AS _ord,"
        " 'x' AS _where FROM (SELECT unnest($days::DATE[]) AS a)"
        " CROSS JOIN (SELECT unnest($days::DATE[]) AS b)",
        {"days": days},
    )
    db.execute(f"CREATE TABLE source AS {queries['source']['sql']}")
    db.execute(f"CREATE TABLE results AS {queries['rows']['sql']}")
    found = db.execute('SELECT a, b, months, later FROM results ORDER BY "_ord"').fetchall()
    assert len(found) == len(days) ** 2
    assert [(a, b, n) for a, b, n, _ in found if n != _months_between(a, b)] == []
    assert [(a, n, m) for a, _, n, m in found if m != _add_months(a, n)] == []


# -- shifts --------------------------------------------------------------------------------


def test_add_days_and_add_months(tmp_path: Path) -> None:
    compute = {
        "next_day": "add_days(d, 1)",
        "back_day": "add_days(d, -1)",
        "plus": "add_days(d, n)",
        "next_month": "add_months(d, 1)",
        "back_month": "add_months(d, -1)",
        "plus_months": "add_months(d, n)",
    }
    rows = computed(
        tmp_path,
        {"d": "date", "n": "integer"},
        compute,
        [
            {"d": D(2024, 2, 28), "n": 2},
            {"d": D(2023, 2, 28), "n": 12},
            {"d": D(2024, 1, 31), "n": 13},
            {"d": D(2024, 3, 31), "n": -25},
            {"d": D(2023, 12, 31), "n": 0},
        ],
    )
    # 2024-02-28 + 1 = 02-29 (leap), - 1 = 02-27, + 2 days = 03-01; + 1 month = 03-28;
    # - 1 month = 01-28; + 2 months = 04-28
    # 2023-02-28 + 1 = 03-01; - 1 = 02-27; + 12 days = 03-12; + 1 month = 03-28,
    # - 1 = 01-28, + 12 months = 2024-02-28
    # 2024-01-31 + 1 = 02-01; - 1 = 01-30; + 13 days = 02-13; + 1 month = 02-29 (clamped);
    # - 1 month = 2023-12-31; + 13 months = 2025-02-28 (clamped, 2025 is not leap)
    # 2024-03-31 + 1 = 04-01; - 1 = 03-30; - 25 days = 03-06; + 1 month = 04-30 (clamped);
    # - 1 month = 02-29 (clamped); - 25 months = 2022-02-28 (clamped)
    # 2023-12-31 + 1 = 2024-01-01; - 1 = 12-30; + 0 = itself; + 1 month = 2024-01-31;
    # - 1 month = 11-30 (clamped); + 0 months = itself
    assert column(rows, "next_day") == [
        D(2024, 2, 29),
        D(2023, 3, 1),
        D(2024, 2, 1),
        D(2024, 4, 1),
        D(2024, 1, 1),
    ]
    assert column(rows, "back_day") == [
        D(2024, 2, 27),
        D(2023, 2, 27),
        D(2024, 1, 30),
        D(2024, 3, 30),
        D(2023, 12, 30),
    ]
    assert column(rows, "plus") == [
        D(2024, 3, 1),
        D(2023, 3, 12),
        D(2024, 2, 13),
        D(2024, 3, 6),
        D(2023, 12, 31),
    ]
    assert column(rows, "next_month") == [
        D(2024, 3, 28),
        D(2023, 3, 28),
        D(2024, 2, 29),
        D(2024, 4, 30),
        D(2024, 1, 31),
    ]
    assert column(rows, "back_month") == [
        D(2024, 1, 28),
        D(2023, 1, 28),
        D(2023, 12, 31),
        D(2024, 2, 29),
        D(2023, 11, 30),
    ]
    assert column(rows, "plus_months") == [
        D(2024, 4, 28),
        D(2024, 2, 28),
        D(2025, 2, 28),
        D(2022, 2, 28),
        D(2023, 12, 31),
    ]
    # dates stay dates (DuckDB's DATE + INTERVAL is a TIMESTAMP: cast back)
    assert all(type(v) is D for r in rows for k, v in r.items() if k in compute)


def test_shifting_a_datetime_keeps_its_time(tmp_path: Path) -> None:
    rows = computed(
        tmp_path,
        {"t": "datetime"},
        {"later": "add_days(t, 1)", "next_month": "add_months(t, 1)"},
        [{"t": T(2024, 1, 31, 8, 30)}],
    )
    # 2024-01-31 08:30 + 1 day = 02-01 08:30; + 1 month = 02-29 08:30 (clamped)
    assert rows[0]["later"] == T(2024, 2, 1, 8, 30)
    assert rows[0]["next_month"] == T(2024, 2, 29, 8, 30)


def test_counts_computed_by_arithmetic_must_be_whole(tmp_path: Path) -> None:
    compute = {"later": "add_months(d, years * 12)", "weeks_on": "add_days(d, x * 7)"}
    rows = computed(
        tmp_path,
        {"d": "date", "years": "integer", "x": "number"},
        compute,
        [{"d": D(2024, 2, 29), "years": 2, "x": 2.0}, {"d": D(2024, 2, 29), "years": 1, "x": 0.5}],
    )
    # 2024-02-29 + 24 months = 2026-02-28 (clamped); + 14 days = 03-14. Then + 12 months
    # = 2025-02-28; 0.5 * 7 = 3.5 days: not a whole number, the row's error
    assert column(rows, "later") == [D(2026, 2, 28), D(2025, 2, 28)]
    assert column(rows, "weeks_on") == [D(2024, 3, 14), None]
    assert column(rows, "error") == [
        None,
        "invalid value in weeks_on: add_days() takes a whole number",
    ]


def test_a_shift_beyond_the_year_9999_is_missing_not_a_failed_query(tmp_path: Path) -> None:
    compute = {
        "later": "add_days(d, n)",
        "months_later": "add_months(d, n)",
        "written": "add_days(d, 4000000)",  # a constant too large is bounded too
    }
    rows = computed(
        tmp_path,
        {"d": "date", "n": "integer"},
        compute,
        [
            {"d": D(9999, 12, 31), "n": 1},  # 10000-01-01: beyond what outputs hold
            {"d": D(2024, 1, 1), "n": 3_000_000_000},  # beyond an INTEGER: DuckDB raises
            {"d": D(1, 1, 1), "n": -1},  # before the year 1
            {"d": D(2024, 1, 1), "n": -9_223_372_036_854_775_808},  # the least BIGINT
            {"d": D(1, 1, 1), "n": dates.MOST_DAYS},  # 9999-12-31 exactly, in days
        ],
    )
    assert column(rows, "later") == [None, None, None, None, D(9999, 12, 31)]
    # months: 9999-12 + 1 = 10000-01 (missing); 3e9 (missing); 0001-01 - 1 (missing);
    # the least BIGINT (missing); 3,652,058 months from the year 1: beyond 9999 (missing)
    assert column(rows, "months_later") == [None, None, None, None, None]
    assert column(rows, "written") == [None] * 5  # 4,000,000 days is about 10,951 years


# -- periods -------------------------------------------------------------------------------


def test_month_quarter_and_year_boundaries(tmp_path: Path) -> None:
    compute = {
        "end": "month_end(d)",
        "start": "month_start(d)",
        "q_start": "quarter_start(d)",
        "y_start": "year_start(d)",
        "t_end": "month_end(t)",
        "t_q_start": "quarter_start(t)",
    }
    rows = computed(
        tmp_path,
        {"d": "date", "t": "datetime"},
        compute,
        [
            {"d": D(2024, 2, 10), "t": T(2024, 4, 15, 12)},
            {"d": D(2023, 2, 10), "t": T(2023, 12, 31, 23, 59)},
            {"d": D(2024, 12, 31), "t": T(2024, 1, 1, 0, 0)},
            {"d": D(2024, 5, 1), "t": T(2024, 6, 30, 6)},
        ],
    )
    # Feb 2024 ends on the 29th, Feb 2023 on the 28th; December on the 31st, May on the
    # 31st. Quarters start in January, April, July and October.
    assert column(rows, "end") == [D(2024, 2, 29), D(2023, 2, 28), D(2024, 12, 31), D(2024, 5, 31)]
    assert column(rows, "start") == [D(2024, 2, 1), D(2023, 2, 1), D(2024, 12, 1), D(2024, 5, 1)]
    assert column(rows, "q_start") == [D(2024, 1, 1), D(2023, 1, 1), D(2024, 10, 1), D(2024, 4, 1)]
    assert column(rows, "y_start") == [D(2024, 1, 1), D(2023, 1, 1), D(2024, 1, 1), D(2024, 1, 1)]
    # a datetime's period boundaries are days (dates)
    assert column(rows, "t_end") == [
        D(2024, 4, 30),
        D(2023, 12, 31),
        D(2024, 1, 31),
        D(2024, 6, 30),
    ]
    assert column(rows, "t_q_start") == [
        D(2024, 4, 1),
        D(2023, 10, 1),
        D(2024, 1, 1),
        D(2024, 4, 1),
    ]
    assert all(type(v) is D for r in rows for k, v in r.items() if k in compute)


# -- text to date --------------------------------------------------------------------------


def test_to_date_reads_iso_dates_and_is_missing_otherwise(tmp_path: Path) -> None:
    texts = [
        "2024-03-31",
        " 2024-02-29 ",  # spaces around: trimmed
        "2023-02-29",  # no such day
        "31/03/2024",  # not ISO
        "2024-03-31 12:00",  # a datetime: not a date
        "epoch",  # DuckDB's cast takes it; a date it is not
        "0000-01-01",  # no year 0
        "",
        None,
    ]
    rows = computed(tmp_path, {"s": "string?"}, {"d": "to_date(s)"}, [{"s": s} for s in texts])
    assert column(rows, "d") == [D(2024, 3, 31), D(2024, 2, 29), *[None] * 7]


def test_to_date_with_a_format(tmp_path: Path) -> None:
    compute = {
        "dmy": "to_date(s, '%d/%m/%Y')",
        "named": "to_date(s, '%b %d %Y')",
        "period": "to_date(s, '%Y-%m')",
    }
    rows = computed(
        tmp_path,
        {"s": "string"},
        compute,
        [{"s": "31/03/2024"}, {"s": "31/02/2024"}, {"s": "Mar 5 2024"}, {"s": "2024-03"}],
    )
    # 31/02 is no day; a month without a day is its first
    assert column(rows, "dmy") == [D(2024, 3, 31), None, None, None]
    assert column(rows, "named") == [None, None, D(2024, 3, 5), None]
    assert column(rows, "period") == [None, None, None, D(2024, 3, 1)]


def test_a_format_with_quotes_and_backslashes(tmp_path: Path) -> None:
    compute = {"quoted": 'to_date(s, "%b \'%y")', "slashed": "to_date(t, '%d\\\\%m\\\\%Y')"}
    rows = computed(
        tmp_path, {"s": "string", "t": "string"}, compute, [{"s": "Mar '24", "t": "31\\03\\2024"}]
    )
    assert (rows[0]["quoted"], rows[0]["slashed"]) == (D(2024, 3, 1), D(2024, 3, 31))


def test_the_format_codes_are_duckdbs() -> None:
    # Every code DuckDB's strptime knows is one dates.py accepts, but the time zones.
    db = duckdb.connect()
    known = set()
    for dash in ("", "-"):
        for code in string.ascii_letters + "%":
            try:
                db.execute("SELECT try_strptime('x', ?)", [f"%{dash}{code}"]).fetchall()
            except duckdb.Error:
                continue
            known.add(dash + code)
    accepted = {c for c in known if dates.check_format(0, f"%Y %{c}") is None}
    assert known - accepted == {"z", "Z"}
    assert {c for c in known if c.startswith("-")} == {f"-{c}" for c in "djmyHIMS"}


# -- missing values, comparisons, text -----------------------------------------------------


def test_missing_dates_give_missing_results(tmp_path: Path) -> None:
    compute = {
        "y": "year(d)",
        "days": "days_between(d, e)",
        "months": "months_between(e, d)",
        "later": "add_months(d, 1)",
        "end": "month_end(d)",
        "known": "is_missing(d)",
        "either": "coalesce(d, e)",
    }
    rows = computed(
        tmp_path,
        {"d": "date?", "e": "date"},
        compute,
        [{"d": None, "e": D(2024, 3, 1)}, {"d": D(2024, 1, 31), "e": D(2024, 3, 1)}],
    )
    missing, present = rows
    assert [missing[k] for k in compute] == [None] * 5 + [True, D(2024, 3, 1)]
    # 2024-01-31 to 03-01: 30 days; 03-01 back to 01-31: -(1 month: 01-31 + 1 = 02-29 <=
    # 03-01, + 2 = 03-31 > 03-01) = -1
    assert [present[k] for k in compute] == [
        2024,
        30,
        -1,
        D(2024, 2, 29),
        D(2024, 1, 31),
        False,
        D(2024, 1, 31),
    ]


def test_a_missing_date_fails_the_row_when_the_rules_say_so(tmp_path: Path) -> None:
    rows = computed(
        tmp_path,
        {"d": "date?"},
        {"next": "add_days(d, 1)", "y": "year(d)"},
        [{"d": None}, {"d": D(2024, 2, 28)}],
        rules={"missing": "error"},
    )
    assert column(rows, "next") == [None, D(2024, 2, 29)]
    assert column(rows, "error") == ["missing value in next (d is empty)", None]


def test_dates_compare_with_dates_and_datetimes(tmp_path: Path) -> None:
    compute = {
        "before": "d < date('2024-03-31')",
        "same": "d == date('2024-03-31')",
        "by_noon": "d <= datetime('2024-03-31T12:00:00')",
        "later": "d if d > e else e",
        "in_window": "as_date <= d <= add_months(as_date, 12)",
    }
    rows = computed(
        tmp_path,
        {"d": "date", "e": "date", "as_date": "date"},
        compute,
        [
            {"d": D(2024, 3, 31), "e": D(2024, 4, 1), "as_date": D(2023, 3, 31)},
            {"d": D(2024, 3, 30), "e": D(2024, 1, 1), "as_date": D(2024, 3, 31)},
        ],
    )
    # 03-31 is not before itself; it is the day; its midnight is before noon; 04-01 is
    # later; 2023-03-31 <= 2024-03-31 <= 2024-03-31. 03-30 is before 03-31 (and noon),
    # later than 01-01, before 2024-03-31 (outside the window).
    assert [rows[0][k] for k in compute] == [False, True, True, D(2024, 4, 1), True]
    assert [rows[1][k] for k in compute] == [True, False, True, D(2024, 3, 30), False]


def test_a_date_parameter_compiles_to_a_date(tmp_path: Path) -> None:
    model = spec_model(
        tmp_path,
        fields={"end": "date"},
        parameters={"as_of": {"type": "date", "default": "2024-06-30"}},
        compute={"left": "days_between(as_of, end)", "window": "add_months(as_of, 6)"},
    )
    result = run(model, [{"end": D(2024, 9, 30)}], params={"as_of": "2024-06-30"})
    # Jul 31 + Aug 31 + Sep 30 = 92; 06-30 + 6 months = 12-30
    assert result.rows[0]["left"] == 92 and result.rows[0]["window"] == D(2024, 12, 30)
    assert "$as_of::DATE" in result.queries["rows"]["sql"]


def test_dates_as_text(tmp_path: Path) -> None:
    rows = computed(
        tmp_path,
        {"d": "date", "t": "datetime"},
        {"day": "to_text(d)", "moment": "to_text(t)", "label": "concat('due ', d)"},
        [{"d": D(2024, 3, 31), "t": T(2024, 3, 31, 12)}],
    )
    assert (rows[0]["day"], rows[0]["moment"]) == ("2024-03-31", "2024-03-31 12:00:00")
    assert rows[0]["label"] == "due 2024-03-31"


def test_a_failing_formula_around_a_date_keeps_no_date(tmp_path: Path) -> None:
    # a date formula with a check (a division): its value is kept only when nothing
    # failed (sx_val over a DATE)
    rows = computed(
        tmp_path,
        {"d": "date", "a": "number", "b": "number"},
        {"due": "d if a / b > 1 else add_days(d, 7)"},
        [{"d": D(2024, 3, 1), "a": 1.0, "b": 0.0}, {"d": D(2024, 3, 1), "a": 1.0, "b": 2.0}],
    )
    assert column(rows, "due") == [None, D(2024, 3, 8)]
    assert column(rows, "error") == ["division by zero in due", None]


# -- aggregates ----------------------------------------------------------------------------


def test_min_and_max_of_dates_are_dates_in_summary_and_groups(tmp_path: Path) -> None:
    model = spec_model(
        tmp_path,
        fields={"id": "string", "end": "date?"},
        compute={"end_year": "year(end)"},
        summary={
            "next_end": "min(end)",
            "last_end": "max(end)",
            "span": "days_between(min(end), max(end))",
        },
        groups={"by": "end_year", "summary": {"first": "min(end)", "leases": "count()"}},
    )
    result = run(
        model,
        [
            {"id": "a", "end": D(2025, 3, 31)},
            {"id": "b", "end": D(2024, 9, 30)},
            {"id": "c", "end": None},
            {"id": "d", "end": D(2024, 12, 31)},
        ],
    )
    # the missing end is skipped: 2024-09-30 .. 2025-03-31, 182 days apart (Oct 31 +
    # Nov 30 + Dec 31 + Jan 31 + Feb 28 + Mar 31 = 182)
    assert result.summary["next_end"] == D(2024, 9, 30)
    assert result.summary["last_end"] == D(2025, 3, 31)
    assert result.summary["span"] == 182
    assert result.groups is not None
    found = [(g["end_year"], g["first"], g["leases"]) for g in result.groups]
    assert found == [(2024, D(2024, 9, 30), 2), (2025, D(2025, 3, 31), 1), (None, None, 1)]


# -- the SQL ---------------------------------------------------------------------------------


def test_nested_date_functions_grow_the_sql_linearly(tmp_path: Path) -> None:
    # add_days names its arguments several times: each is a column when not short, so
    # 40 levels make SQL of a size linear in them (not 3 ** 40).
    formula = "d"
    for _ in range(40):
        formula = f"add_days({formula}, n)"
    result = run(
        spec_model(tmp_path, fields={"d": "date", "n": "integer"}, compute={"later": formula}),
        [{"d": D(2024, 1, 1), "n": 1}],
    )
    assert result.rows[0]["later"] == D(2024, 2, 10)  # 40 days after Jan 1
    assert len(result.queries["rows"]["sql"]) < 40_000


# -- end to end ------------------------------------------------------------------------------


def test_the_lease_expiry_program_at_a_date(tmp_path: Path) -> None:
    spec = load_spec(SPECS / "lease_expiry.yaml")
    data = (SPECS / "data" / "leases.csv").read_text(encoding="utf-8")
    program = render(program_model(spec), tmp_path / "program", {"data/leases.csv": data})
    result = run_program(program, "run", "--json", "--param", "as_of=2024-06-30")
    assert result.code == 0, result
    out = result.json
    rows = {r["lease_id"]: r for r in out["rows"]}
    # Whole months from 2024-06-30 (06-30 + n months keeps the 30th, clamped in February):
    # L03 to 2025-02-28: + 8 = 2025-02-28: 8; L06 to 2026-03-31: + 21 = 2026-03-30: 21;
    # L10 to 2026-02-28: + 20 = 2026-02-28: 20; L12 to 2030-05-31: + 71 = 2030-05-30: 71
    months = {"L03": 8, "L06": 21, "L10": 20, "L12": 71, "L01": 3, "L04": 12, "L05": 13}
    assert {k: rows[k]["months_remaining"] for k in months} == months
    # the window runs through 2025-06-30: L01, L02, L03, L04 and L09 end in it
    expiring = sorted(k for k, r in rows.items() if r["expiring"])
    assert expiring == ["L01", "L02", "L03", "L04", "L09"]
    assert rows["L03"]["expiry_quarter"] == "2025-Q1" and rows["L03"]["lease_end"] == "2025-02-28"
    assert rows["L01"]["days_to_expiry"] == 92  # Jul 31 + Aug 31 + Sep 30
    # at risk: 12 * (4200 + 3100 + 2850 + 9800 + 3400) = 12 * 23350
    # remaining: 12600 + 18600 + 22800 + 117600 + 33800 + 39900 + 500000 + 972000
    #   + 23800 + 78000 + 130500 + 1079200
    assert out["summary"] == {
        "leases": 12,
        "expiring_leases": 5,
        "rent_at_risk": 280200,
        "total_rent_remaining": 3028800,
        "next_expiry": "2024-09-30",
        "last_expiry": "2030-05-31",
        "expired_leases": 0,
    }
    # 2025: L03, L04, L05, L09: rent 2850 + 9800 + 2600 + 3400, first end 01-31,
    # remaining 22800 + 117600 + 33800 + 23800
    (y2025,) = [g for g in out["groups"] if g["expiry_year"] == 2025]
    assert y2025 == {
        "expiry_year": 2025,
        "leases": 4,
        "monthly_rent": 18650,
        "first_expiry": "2025-01-31",
        "rent_remaining": 198000,
        "error": None,
    }
