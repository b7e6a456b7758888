"""The date functions' spec errors, exactly: constant dates and formats checked when the
spec is, argument types, date arithmetic refused, names other languages use."""

from __future__ import annotations

from pathlib import Path

import pytest

from scriptexec.spec import formulas
from scriptexec.spec.formulas import Symbol

SCOPE = {
    "d": Symbol("field", "date"),
    "e": Symbol("field", "date"),
    "t": Symbol("field", "datetime"),
    "n": Symbol("field", "integer"),
    "x": Symbol("field", "number"),
    "s": Symbol("field", "string"),
}


def issues(text: str, *, aggregate: bool = False) -> list[tuple[int, str, str]]:
    """(column, message, hint) of each issue."""
    checked, found = formulas.check(
        text, {} if aggregate else SCOPE, aggregate_context=aggregate, row_scope=SCOPE
    )
    assert (checked is None) == bool(found)
    return [(i.col, i.message, i.hint) for i in found]


def type_of(text: str, *, aggregate: bool = False) -> str:
    checked, found = formulas.check(
        text, {} if aggregate else SCOPE, aggregate_context=aggregate, row_scope=SCOPE
    )
    assert found == [] and checked is not None
    return checked.type


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("date('2024-02-29')", "date"),
        ("datetime('2024-03-31T12:00:00')", "datetime"),
        ("datetime('2024-03-31 12:00')", "datetime"),
        ("year(d)", "integer"),
        ("weekday(t)", "integer"),
        ("days_between(d, t)", "integer"),
        ("months_between(t, d)", "integer"),
        ("add_days(d, n)", "date"),
        ("add_days(d, -1)", "date"),  # a sign makes a number to the checker: accepted
        ("add_months(d, n * 12)", "date"),
        ("add_months(t, 1)", "datetime"),
        ("month_end(t)", "date"),
        ("quarter_start(d)", "date"),
        ("to_date(s)", "date"),
        ("to_date(s, '%d/%m/%Y')", "date"),
        ("d if d > e else e", "date"),
        ("coalesce(d, date('2024-01-01'))", "date"),
        ("d < t", "boolean"),
        ("d == date('2024-03-31')", "boolean"),
    ],
)
def test_types(formula: str, expected: str) -> None:
    assert type_of(formula) == expected


def test_min_and_max_of_dates_are_dates() -> None:
    assert type_of("min(d)", aggregate=True) == "date"
    assert type_of("max(t)", aggregate=True) == "datetime"
    assert type_of("days_between(min(d), max(d))", aggregate=True) == "integer"
    assert type_of("max(x)", aggregate=True) == "number"


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("date('2024-02-30')", [(5, "date(): not a date: '2024-02-30'", "")]),
        ("date('2023-02-29')", [(5, "date(): not a date: '2023-02-29'", "")]),
        (
            "d < date('31/03/2024')",
            [(9, "date(): not a date: '31/03/2024' (write it as YYYY-MM-DD)", "")],
        ),
        ("date('0000-01-01')", [(5, "date(): not a date: '0000-01-01'", "")]),
        ("date(s)", [(5, "date()'s first argument must be written as text", "")]),
        ("date('2024-03-31', 1)", [(0, "date() takes 1 argument, got 2", "")]),
        (
            "datetime('2024-03-31')",
            [
                (
                    9,
                    "datetime(): not a datetime: '2024-03-31' (write it as YYYY-MM-DDTHH:MM:SS)",
                    "",
                )
            ],
        ),
        (
            "datetime('2024-03-31T24:00:00')",
            [(9, "datetime(): not a datetime: '2024-03-31T24:00:00'", "")],
        ),
    ],
)
def test_literals_are_checked_with_the_spec(formula: str, expected: list[tuple]) -> None:
    assert issues(formula) == expected


@pytest.mark.parametrize(
    ("fmt", "message"),
    [
        (
            "%Q/%m/%Y",
            "unknown format code '%Q' (strptime's codes: %Y year, %m month, %d day, "
            "%b month name, %H:%M:%S time, %% a percent sign)",
        ),
        (
            "%-b %Y",
            "unknown format code '%-b' (strptime's codes: %Y year, %m month, %d day, "
            "%b month name, %H:%M:%S time, %% a percent sign)",
        ),
        ("%d/%m", "the format has no year (%Y, or %y for two digits)"),
        ("%Y-%m-%d %z", "time zones (%z) are not supported in a date's format"),
        ("%Y%", "the format ends with a lone % (write %% for a percent sign)"),
    ],
)
def test_to_date_formats_are_checked_with_the_spec(fmt: str, message: str) -> None:
    assert issues(f"to_date(s, '{fmt}')") == [(11, f"to_date(): {message}", "")]


def test_a_format_must_be_constant() -> None:
    assert issues("to_date(s, s)") == [
        (11, "to_date()'s second argument must be written as text", "")
    ]


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        (
            "year(x)",
            [(5, "year() takes a date or datetime as its first argument, got a number", "")],
        ),
        (
            "days_between(d, '2024-03-31')",
            [(16, "days_between() takes a date or datetime as its second argument, got text", "")],
        ),
        (
            "add_days(d, d)",
            [(12, "add_days() takes a whole number as its second argument, got a date", "")],
        ),
        (
            "to_date(d)",
            [(8, "to_date() takes text as its first argument, got a date", "")],
        ),
        (
            "d + 1",
            [(0, "a date used as a number in '+'", "use add_days(d, n) or days_between(a, b)")],
        ),
        (
            "e - d",
            [
                (0, "a date used as a number in '-'", "use add_days(d, n) or days_between(a, b)"),
                (4, "a date used as a number in '-'", "use add_days(d, n) or days_between(a, b)"),
            ],
        ),
        ("d < 5", [(4, "comparing a date with a whole number", "")]),
        (
            "d if n > 0 else t",
            [(0, "the branches of 'if' have different types (date and datetime)", "")],
        ),
        (
            "date_diff(d, e)",
            [(0, "unknown function 'date_diff'", "use days_between(a, b) or months_between(a, b)")],
        ),
        (
            "days_between(today(), d)",
            [
                (
                    13,
                    "unknown function 'today'",
                    "the run's date is a parameter's default: as_of: {type: date, default: today}",
                )
            ],
        ),
    ],
)
def test_type_errors(formula: str, expected: list[tuple]) -> None:
    assert issues(formula) == expected


def test_mean_of_dates_is_refused() -> None:
    assert issues("mean(d)", aggregate=True) == [
        (5, "a date used as a number in mean()", "use add_days(d, n) or days_between(a, b)")
    ]


def test_an_invalid_date_is_a_spec_error_with_file_line_and_column(tree, cli) -> None:
    root: Path = tree(
        {
            "t.yaml": (
                "version: 1\n"
                "name: t\n"
                "inputs:\n"
                "  leases:\n"
                "    format: csv\n"
                "    location: leases.csv\n"
                "    fields: {id: string, start_text: string}\n"
                "compute:\n"
                "  start: to_date(start_text, '%d/%m')\n"
                "  late: days_between(date('2024-02-30'), to_date(start_text))\n"
            ),
            "leases.csv": "id,start_text\nA,2024-01-01\n",
        }
    )
    result = cli("validate", "t.yaml", cwd=root, expect=2)
    problems = [line for line in result.output.splitlines() if line.startswith("t.yaml:")]
    assert problems == [
        "t.yaml:9:30: compute.start: to_date(): the format has no year (%Y, or %y for two digits)",
        "t.yaml:10:27: compute.late: date(): not a date: '2024-02-30'",
    ]
