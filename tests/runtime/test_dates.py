"""Dates and datetimes through the runtime: read from CSV (both paths), JSON, sqlite and
driver objects; nested JSON fields; date parameters; dates in every output. Values and
messages are worked out by hand."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scriptexec.runtime import parameters, readers
from scriptexec.runtime import settings as runtime_settings
from scriptexec.runtime.display import display
from scriptexec.runtime.errors import ParameterError, ProgramError
from scriptexec.runtime.execute import Result
from scriptexec.runtime.openapi import openapi_document
from scriptexec.runtime.pages import encode
from scriptexec.runtime.program import Field, Input, Parameter, Program, Queries, Query, Value
from scriptexec.runtime.readers import casts, csv_survey
from scriptexec.runtime.readers.convert import check_record, convert
from scriptexec.runtime.report import report_html
from scriptexec.runtime.rowfiles import copy_rows, to_csv
from scriptexec.runtime.values import to_json
from scriptexec.spec import date_values

D = dt.date
T = dt.datetime
SOURCE = "data/leases.csv"


@pytest.fixture
def db() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(runtime_settings, "_home", tmp_path)
    for name in ("LEASES_LOCATION", "LEASES_FIXTURE", "MAX_INPUT_ROWS"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture(params=["fast", "careful"])
def path_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "careful":
        monkeypatch.setattr(csv_survey, "survey", lambda *args: None)
    return str(request.param)


@pytest.fixture
def careful_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files the careful reader was asked to read."""
    calls: list[str] = []
    real = readers.read_csv

    def spy(inp: Input, path: Path, source: str) -> Any:
        calls.append(source)
        return real(inp, path, source)

    monkeypatch.setattr(readers, "read_csv", spy)
    return calls


def lease_input(*fields: Field, fmt: str = "csv", location: str = SOURCE) -> Input:
    return Input(
        name="leases",
        format=fmt,
        fields=(Field("id", "string"), *fields),
        location=location,
        env_var="LEASES_LOCATION",
        fixture_env="LEASES_FIXTURE",
    )


def load(
    db: duckdb.DuckDBPyConnection, home: Path, data: str, *fields: Field, **options: Any
) -> list[tuple[Any, ...]]:
    """The table's declared columns (id first) after reading `data`."""
    inp = lease_input(*fields, **options)
    path = home / str(inp.location)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data, encoding="utf-8")
    readers.load_input(db, inp)
    names = ", ".join(f'"{f.name}"' for f in inp.fields)
    return db.execute(f"SELECT {names} FROM input_leases ORDER BY _ord").fetchall()


def refused(db: duckdb.DuckDBPyConnection, home: Path, data: str, *fields: Field) -> str:
    with pytest.raises(ProgramError) as caught:
        load(db, home, data, *fields)
    assert not db.execute("SELECT table_name FROM information_schema.tables").fetchall()
    message = str(caught.value)
    assert "\n" not in message
    return message


def column_types(db: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return {r[0]: r[1] for r in db.execute("DESCRIBE input_leases").fetchall()}


# -- CSV ---------------------------------------------------------------------------------


def test_iso_dates_and_datetimes_become_date_and_timestamp_columns(
    db: duckdb.DuckDBPyConnection, home: Path, path_kind: str
) -> None:
    data = (
        "id,lease_end,signed,reviewed\n"
        "L1,2024-03-31,2024-03-31T12:00:00,\n"
        "L2,2024-02-29,2024-02-29 08:30,2024-01-02 03:04:05.25\n"
        "L3,0001-01-01,9999-12-31T23:59:59.999999,2024-01-02\n"
    )
    rows = load(
        db,
        home,
        data,
        Field("lease_end", "date"),
        Field("signed", "datetime"),
        Field("reviewed", "datetime", required=False),
    )
    assert rows == [
        ("L1", D(2024, 3, 31), T(2024, 3, 31, 12), None),
        # HH:MM alone has no seconds; .25 is 250,000 microseconds
        ("L2", D(2024, 2, 29), T(2024, 2, 29, 8, 30), T(2024, 1, 2, 3, 4, 5, 250000)),
        # the first and last days Python holds; a date alone is its midnight
        ("L3", D(1, 1, 1), T(9999, 12, 31, 23, 59, 59, 999999), T(2024, 1, 2)),
    ]
    types = column_types(db)
    assert (types["lease_end"], types["signed"]) == ("DATE", "TIMESTAMP")


def test_iso_dates_take_the_fast_path(
    db: duckdb.DuckDBPyConnection, home: Path, careful_calls: list[str]
) -> None:
    data = (
        "id,lease_end,signed\nL1,2024-03-31,2024-03-31T12:00:00\nL2,2025-01-01,2025-01-01 00:00\n"
    )
    load(db, home, data, Field("lease_end", "date"), Field("signed", "datetime"))
    assert careful_calls == []


def test_offsets_are_converted_to_utc(
    db: duckdb.DuckDBPyConnection, home: Path, path_kind: str
) -> None:
    data = (
        "id,signed\n"
        "L1,2024-03-31T12:00:00Z\n"  # UTC already
        "L2,2024-03-31T12:00:00+02:00\n"  # 12:00 at +2 is 10:00 UTC
        "L3,2024-03-31 23:30-05:30\n"  # 23:30 at -5:30 is 05:00 UTC the next day
        "L4,2024-03-31T00:15:00+0100\n"  # back into the day before: 23:15 on the 30th
        "L5,2024-03-31T12:00:00.1234567+02\n"  # 7 digits cut to 6; +02 alone is hours
    )
    rows = load(db, home, data, Field("signed", "datetime"))
    assert [r[1] for r in rows] == [
        T(2024, 3, 31, 12),
        T(2024, 3, 31, 10),
        T(2024, 4, 1, 5, 0),
        T(2024, 3, 30, 23, 15),
        T(2024, 3, 31, 10, 0, 0, 123456),
    ]


def test_padding_around_a_date_is_stripped_as_around_a_number(
    db: duckdb.DuckDBPyConnection, home: Path, path_kind: str
) -> None:
    rows = load(db, home, 'id,d\nL1," 2024-03-31\t"\nL2,   \n', Field("d", "date", required=False))
    assert rows == [("L1", D(2024, 3, 31)), ("L2", None)]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2024-13-01", "expected a date (YYYY-MM-DD), got '2024-13-01'"),
        ("2024-02-30", "expected a date (YYYY-MM-DD), got '2024-02-30'"),
        ("2023-02-29", "expected a date (YYYY-MM-DD), got '2023-02-29'"),  # not a leap year
        ("2024-3-1", "expected a date (YYYY-MM-DD), got '2024-3-1'"),  # DuckDB's cast reads it
        ("20240331", "expected a date (YYYY-MM-DD), got '20240331'"),  # Python's fromisoformat
        ("2024-W13-1", "expected a date (YYYY-MM-DD), got '2024-W13-1'"),
        ("31/03/2024", "expected a date (YYYY-MM-DD), got '31/03/2024'"),
        ("0000-01-01", "expected a date (YYYY-MM-DD), got '0000-01-01'"),  # DuckDB: 1 BC
        ("99999-01-01", "expected a date (YYYY-MM-DD), got '99999-01-01'"),
        ("2024-03-31T12:00:00", "expected a date (YYYY-MM-DD), got '2024-03-31T12:00:00'"),
        ("2024-03-31 (BC)", "expected a date (YYYY-MM-DD), got '2024-03-31 (BC)'"),
        ("9" * 10_000, "expected a date (YYYY-MM-DD), got '" + "9" * 36 + "..."),
        ("", "missing value"),
    ],
)
def test_a_bad_date_names_file_line_field_and_value(
    db: duckdb.DuckDBPyConnection, home: Path, path_kind: str, value: str, message: str
) -> None:
    data = f"id,lease_end\nL1,2024-01-31\nL2,2024-02-29\nL3,{value}\n"
    said = refused(db, home, data, Field("lease_end", "date"))
    assert said == f"{SOURCE}, line 4, field lease_end: {message}"


@pytest.mark.parametrize(
    "value",
    [
        "2024-03-31 24:00:00",  # DuckDB's cast reads it as the next day
        "2024-03-31 23:59:60",  # a leap second: Python has none
        "2024-03-31T12:60",
        "2024-03-31T12",  # an hour needs its minutes
        "2024-03-31T12:00:00+24:00",  # offsets stop at 23:59
        "2024-03-31T12:00:00 +02:00",
        "2024-03-31t12:00:00",
        "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
        "9999-12-31T23:00:00-01:00",  # after 9999 in UTC
        "2024-03-31T12:00:00.",
        "2024-03-31T12:00:00.1234567890",  # ten digits
    ],
)
def test_bad_datetimes(
    db: duckdb.DuckDBPyConnection, home: Path, path_kind: str, value: str
) -> None:
    said = refused(db, home, f"id,signed\nL1,{value}\n", Field("signed", "datetime"))
    expected = f"expected a datetime (YYYY-MM-DDTHH:MM:SS), got {value!r}"
    assert said == f"{SOURCE}, line 2, field signed: {expected}"


def test_a_nul_in_a_date_is_refused(db: duckdb.DuckDBPyConnection, home: Path) -> None:
    said = refused(db, home, "id,d\nL1,2024-03-31\x00\n", Field("d", "date"))
    assert said == f"{SOURCE}, line 2, field d: expected a date (YYYY-MM-DD), got '2024-03-31\\x00'"


def test_a_declared_format(db: duckdb.DuckDBPyConnection, home: Path, path_kind: str) -> None:
    data = "id,d,t\nL1,31/03/2024,03/31/2024 13:45\nL2,1/3/2024,12/01/2023 00:00\n"
    rows = load(
        db,
        home,
        data,
        Field("d", "date", format="%d/%m/%Y"),
        Field("t", "datetime", format="%m/%d/%Y %H:%M"),
    )
    # 1/3/2024 is the 1st of March: strptime reads a day without its zero
    assert rows == [
        ("L1", D(2024, 3, 31), T(2024, 3, 31, 13, 45)),
        ("L2", D(2024, 3, 1), T(2023, 12, 1)),
    ]


def test_text_in_a_format_is_read_by_duckdb_when_it_gives_the_text_back(
    db: duckdb.DuckDBPyConnection, home: Path, careful_calls: list[str]
) -> None:
    load(db, home, "id,d\nL1,31/03/2024\nL2,01/02/2024\n", Field("d", "date", format="%d/%m/%Y"))
    assert careful_calls == []
    db.execute("DROP VIEW input_leases")
    db.execute("DROP TABLE _rows_leases")
    load(db, home, "id,d\nL1,1/3/2024\n", Field("d", "date", format="%d/%m/%Y"))
    assert careful_calls == [SOURCE]  # a day without its zero: strptime is Python's


def test_a_format_only_python_reads_goes_to_the_careful_reader(
    db: duckdb.DuckDBPyConnection, home: Path, careful_calls: list[str]
) -> None:
    rows = load(db, home, 'id,d\nL1,"Mar 31, 2024"\n', Field("d", "date", format="%b %d, %Y"))
    assert rows == [("L1", D(2024, 3, 31))]
    assert careful_calls == [SOURCE]


@pytest.mark.parametrize(
    ("value", "fmt", "message"),
    [
        ("2024-03-31", "%d/%m/%Y", "expected a date as %d/%m/%Y, got '2024-03-31'"),
        ("31/02/2024", "%d/%m/%Y", "expected a date as %d/%m/%Y, got '31/02/2024'"),
        ("31/03/99999", "%d/%m/%Y", "expected a date as %d/%m/%Y, got '31/03/99999'"),
        ("31/03/2024 extra", "%d/%m/%Y", "expected a date as %d/%m/%Y, got '31/03/2024 extra'"),
    ],
)
def test_text_not_in_the_format(
    db: duckdb.DuckDBPyConnection, home: Path, path_kind: str, value: str, fmt: str, message: str
) -> None:
    said = refused(db, home, f"id,d\nL1,{value}\n", Field("d", "date", format=fmt))
    assert said == f"{SOURCE}, line 2, field d: {message}"


# -- the fast path's SQL agrees with dates.py --------------------------------------------

TRICKY = [
    "2024-03-31", "2024-02-29", "2023-02-29", "2024-13-01", "2024-00-10", "2024-01-00",
    "0000-01-01", "0001-01-01", "9999-12-31", "10000-01-01", "2024-3-1", " 2024-03-31 ",
    "\u20032024-03-31", "2024-03-31T00:00:00", "2024-03-31 23:59:59", "2024-03-31 24:00:00",
    "2024-03-31 23:59:60", "2024-03-31T12:00", "2024-03-31T12:00:00.5", "2024-03-31T12:00:00.",
    "2024-03-31T12:00:00.1234567", "2024-03-31T12:00:00Z", "2024-03-31T12:00:00+02:00",
    "2024-03-31T1:00", "2024-03-31 (BC)", "31/03/2024", "3/31/2024", "01/02/2024",
    "29/02/2023", "31/03/2024 ", "31/03/0999", "31/03/99999", "", "  ", "x", "20240331",
]  # fmt: skip


def sql_value(db: duckdb.DuckDBPyConnection, text: str, field: Field) -> tuple[bool, Any]:
    column = casts.Column('"c"', '"d"', '"g"')
    taken = casts.taken_sql(field, column)
    computed = "".join(", " + item for item in casts.cast_items(field, column))
    sql = (
        f"SELECT {taken}, CASE WHEN {taken} THEN {casts.value_sql(field, column)} END"
        f" FROM (SELECT c{computed} FROM (SELECT $v AS c))"
    )
    row = db.execute(sql, {"v": text, "ws": casts.WHITESPACE}).fetchone()
    assert row is not None
    return bool(row[0]), row[1]


def python_value(text: str, field: Field) -> tuple[bool, Any]:
    if not text.strip():
        return not field.required, None
    try:
        return True, convert(text, field.type, field.format)
    except ValueError:
        return False, None


DATE_FIELDS = [
    Field("x", "date"),
    Field("x", "date", required=False),
    Field("x", "datetime"),
    Field("x", "date", format="%d/%m/%Y"),
    Field("x", "datetime", format="%d/%m/%Y"),
]


@pytest.mark.parametrize("field", DATE_FIELDS, ids=repr)
def test_sql_takes_only_what_dates_py_takes_and_gives_the_same_value(
    db: duckdb.DuckDBPyConnection, field: Field
) -> None:
    for text in TRICKY:
        taken, value = sql_value(db, text, field)
        good, expected = python_value(text, field)
        if taken:  # refusing a good value only costs time; taking a bad one is a bug
            assert good and value == expected and type(value) is type(expected), (text, value)


def test_sql_takes_the_dates_data_usually_holds(db: duckdb.DuckDBPyConnection) -> None:
    for text, field in [
        ("2024-03-31", Field("x", "date")),
        ("2024-03-31T12:00:00", Field("x", "datetime")),
        ("2024-03-31 12:00:00.123456", Field("x", "datetime")),
        ("31/03/2024", Field("x", "date", format="%d/%m/%Y")),
    ]:
        assert sql_value(db, text, field)[0], text


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.text(alphabet="0123456789-:T .Z+/", min_size=8, max_size=26),
    field=st.sampled_from(DATE_FIELDS),
)
def test_sql_and_dates_py_agree_on_generated_text(
    db: duckdb.DuckDBPyConnection, text: str, field: Field
) -> None:
    taken, value = sql_value(db, text, field)
    good, expected = python_value(text, field)
    if taken:
        assert good and value == expected, (text, value, expected)


def test_the_formats_the_fast_path_reads() -> None:
    assert casts.fast_format(None)
    assert casts.fast_format("%d/%m/%Y %H:%M:%S")
    assert casts.fast_format("%Y%%%m")  # %% is a percent sign
    assert not casts.fast_format("%b %d, %Y")  # month names: Python's locale
    assert not casts.fast_format("%y-%m-%d")  # two-digit years: each has its own century
    assert not casts.fast_format("%Y-%m-%d%")  # a lone % at the end


def test_the_spec_and_the_runtime_read_the_same_dates() -> None:
    for text in TRICKY:
        for ftype in ("date", "datetime"):
            good, value = python_value(text, Field("x", ftype))
            spec_side = (
                date_values.as_date(text) if ftype == "date" else date_values.parse_datetime(text)
            )
            if text.strip():
                assert (spec_side is not None) == good and (not good or spec_side == value), text


# -- JSON, nested fields, sqlite and driver objects --------------------------------------


def read_json(
    db: duckdb.DuckDBPyConnection, home: Path, records: Any, *fields: Field
) -> list[tuple[Any, ...]]:
    return load(db, home, json.dumps(records), *fields, fmt="json", location="data/leases.json")


def json_refused(db: duckdb.DuckDBPyConnection, home: Path, records: Any, *fields: Field) -> str:
    with pytest.raises(ProgramError) as caught:
        read_json(db, home, records, *fields)
    return str(caught.value)


def test_json_dates_are_iso_text(db: duckdb.DuckDBPyConnection, home: Path) -> None:
    records = [
        {"id": "L1", "end": "2024-03-31", "signed": "2024-03-31T12:00:00Z"},
        {"id": "L2", "end": None, "signed": "2024-03-31 12:00:00-01:00"},  # 13:00 UTC
    ]
    rows = read_json(
        db, home, records, Field("end", "date", required=False), Field("signed", "datetime")
    )
    assert rows == [("L1", D(2024, 3, 31), T(2024, 3, 31, 12)), ("L2", None, T(2024, 3, 31, 13))]


def test_a_json_number_is_no_date(db: duckdb.DuckDBPyConnection, home: Path) -> None:
    said = json_refused(db, home, [{"id": "L1", "end": 20240331}], Field("end", "date"))
    assert (
        said == "data/leases.json, record 1, field end: expected a date (YYYY-MM-DD), got 20240331"
    )


def test_nested_fields_are_read_at_their_path(db: duckdb.DuckDBPyConnection, home: Path) -> None:
    records = [
        {"id": "L1", "contact": {"email": "a@x.org", "phone": {"mobile": "555"}}},
        {"id": "L2", "contact": {"email": "b@x.org"}},  # no phone object: a missing value
        {"id": "L3", "contact": {"email": "c@x.org", "phone": None}},  # a null one: the same
    ]
    rows = read_json(
        db,
        home,
        records,
        Field("email", "string", path=("contact", "email")),
        Field("mobile", "string", required=False, path=("contact", "phone", "mobile")),
    )
    assert rows == [("L1", "a@x.org", "555"), ("L2", "b@x.org", None), ("L3", "c@x.org", None)]


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"id": "L1"}, "no such field contact.email"),
        ({"id": "L1", "contact": {}}, "no such field contact.email"),
        ({"id": "L1", "contact": None}, "missing value"),
        ({"id": "L1", "contact": {"email": None}}, "missing value"),
        ({"id": "L1", "contact": {"email": " "}}, "missing value"),
        ({"id": "L1", "contact": "n/a"}, "expected an object at contact, got 'n/a'"),
        (
            {"id": "L1", "contact": [{"email": "a@x.org"}]},
            "expected an object at contact, got [{'email': 'a@x.org'}]",
        ),
        ({"id": "L1", "contact": {"email": ["a@x.org"]}}, "expected text, got ['a@x.org']"),
    ],
)
def test_a_required_nested_field(
    db: duckdb.DuckDBPyConnection, home: Path, record: dict[str, Any], message: str
) -> None:
    said = json_refused(db, home, [record], Field("email", "string", path=("contact", "email")))
    assert said == f"data/leases.json, record 1, field email: {message}"


def test_an_object_where_a_value_is_expected_says_how_to_reach_its_fields(
    db: duckdb.DuckDBPyConnection, home: Path
) -> None:
    records = [{"id": "L1", "lease": {"start": "2024-01-01", "monthly_base_rent": 1200}}]
    said = json_refused(db, home, records, Field("lease", "string"))
    assert said == (
        "data/leases.json, record 1, field lease: expected text, got an object; read its"
        " fields with path:, e.g. {type: string, path: lease.start}"
    )
    deeper = [{"id": "L1", "lease": {"terms": {"monthly_base_rent": 1200}}}]
    said = json_refused(db, home, deeper, Field("rent", "number", path=("lease",)))
    assert said == (
        "data/leases.json, record 1, field rent: expected a number, got an object; read its"
        " fields with path:, e.g. {type: number, path: lease.terms.monthly_base_rent}"
    )
    said = json_refused(db, home, [{"id": "L1", "lease": {}}], Field("lease", "date"))
    assert said == "data/leases.json, record 1, field lease: expected a date, got an object"


def test_sqlite_dates_are_text(db: duckdb.DuckDBPyConnection, home: Path) -> None:
    path = home / "data" / "leases.sqlite"
    path.parent.mkdir(parents=True)
    connection = sqlite3.connect(path)
    with connection:
        connection.execute("CREATE TABLE leases (id TEXT, d TEXT, t TEXT)")
        connection.executemany(
            "INSERT INTO leases VALUES (?, ?, ?)",
            [
                ("L1", "2024-03-31", "2024-03-31 12:00:00"),
                ("L2", None, "2024-03-31T12:00:00+01:00"),
            ],
        )
    connection.close()
    inp = Input(
        name="leases",
        format="sqlite",
        fields=(Field("id", "string"), Field("d", "date", False), Field("t", "datetime")),
        location="data/leases.sqlite",
        sql='SELECT "id", "d", "t" FROM "leases"',
    )
    readers.load_input(db, inp)
    rows = db.execute("SELECT id, d, t FROM input_leases ORDER BY _ord").fetchall()
    assert rows == [("L1", D(2024, 3, 31), T(2024, 3, 31, 12)), ("L2", None, T(2024, 3, 31, 11))]


def test_driver_date_objects(db: duckdb.DuckDBPyConnection) -> None:
    # what psycopg gives for date, timestamp and timestamptz columns
    plus_two = dt.timezone(dt.timedelta(hours=2))
    fields = (
        Field("d", "date"),
        Field("t", "datetime"),
        Field("z", "datetime"),
        Field("m", "datetime"),
    )
    record = {
        "d": D(2024, 3, 31),
        "t": T(2024, 3, 31, 12),
        "z": T(2024, 3, 31, 12, tzinfo=plus_two),
        "m": D(2024, 3, 31),
    }
    row = check_record(fields, "input leases (postgres)", "row 1", record)
    # 12:00 at +2 is 10:00 UTC; a date for a datetime is its midnight
    assert row == {
        "d": D(2024, 3, 31),
        "t": T(2024, 3, 31, 12),
        "z": T(2024, 3, 31, 10),
        "m": T(2024, 3, 31),
    }
    with pytest.raises(ProgramError) as caught:
        check_record(
            (Field("d", "date"),), "input leases (postgres)", "row 1", {"d": T(2024, 3, 31, 12)}
        )
    assert str(caught.value) == (
        "input leases (postgres), row 1, field d: expected a date (YYYY-MM-DD), got"
        " datetime.datetime(2024, 3, 31, 12, 0)"
    )


def test_a_fixture_holds_iso_text(
    db: duckdb.DuckDBPyConnection, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixture = home / "leases.fixture.json"
    fixture.write_text(json.dumps([{"id": "L1", "end": "2024-06-30"}]), encoding="utf-8")
    monkeypatch.setenv("LEASES_FIXTURE", str(fixture))
    readers.load_input(db, lease_input(Field("end", "date")))
    assert db.execute('SELECT id, "end" FROM input_leases').fetchall() == [("L1", D(2024, 6, 30))]


# -- date parameters ---------------------------------------------------------------------


def date_program(**changes: Any) -> Program:
    values: dict[str, Any] = {"default": "today", "min": "2020-01-01", "max": "2030-12-31"}
    as_of = Parameter("as_of", "date", **{**values, **changes})
    return Program(
        name="leases",
        title="Leases",
        inputs=(),
        columns=("id",),
        queries=Queries(Query(""), Query(""), Query("")),
        parameters=(as_of,),
    )


def test_today_is_the_local_date_resolved_once() -> None:
    parameters.today.cache_clear()
    try:
        first = parameters.defaults(date_program())["as_of"]
        assert first == dt.date.today()
        assert parameters.today() is first  # the same object: resolved once per run
    finally:
        parameters.today.cache_clear()


def test_a_date_parameter_from_iso_text_a_date_or_today() -> None:
    program = date_program()
    assert parameters.check_parameter(program, "as_of", "2024-06-30") == D(2024, 6, 30)
    assert parameters.check_parameter(program, "as_of", D(2024, 6, 30)) == D(2024, 6, 30)
    assert parameters.check_parameter(program, "as_of", "today") == parameters.today()
    assert parameters.parse_param(program, "as_of=2024-06-30") == ("as_of", "2024-06-30")
    resolved = parameters.resolve_parameters(
        program, dict([parameters.parse_param(program, "as_of= 2025-01-31 ")])
    )
    assert resolved == {"as_of": D(2025, 1, 31)}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2024-13-01", "parameter 'as_of' must be a date (YYYY-MM-DD) or today, got '2024-13-01'"),
        ("30/06/2024", "parameter 'as_of' must be a date (YYYY-MM-DD) or today, got '30/06/2024'"),
        (20240630, "parameter 'as_of' must be a date (YYYY-MM-DD) or today, got 20240630"),
        (None, "parameter 'as_of' must be a date (YYYY-MM-DD) or today, got None"),
        ("2019-12-31", "parameter 'as_of' must be 2020-01-01 or later"),
        ("2031-01-01", "parameter 'as_of' must be 2030-12-31 or earlier"),
    ],
)
def test_a_bad_date_parameter_names_the_parameter_and_the_value(value: Any, message: str) -> None:
    with pytest.raises(ParameterError) as caught:
        parameters.check_parameter(date_program(), "as_of", value)
    assert (caught.value.parameter, str(caught.value)) == ("as_of", message)


def test_openapi_types_a_date_parameter_as_a_date_string() -> None:
    program = date_program(default="2024-06-30", label="As of")
    schema = openapi_document(program)["components"]["schemas"]["Parameters"]["properties"]
    assert schema["as_of"] == {
        "type": "string",
        "format": "date",
        "default": "2024-06-30",
        "description": "As of (from 2020-01-01 to 2030-12-31)",
    }


# -- outputs -----------------------------------------------------------------------------

TABLE = (
    "CREATE OR REPLACE TEMP TABLE results AS SELECT * FROM (VALUES"
    " ('L1', DATE '2024-03-31', TIMESTAMP '2024-03-31 12:00:00', NULL, 1, 'row 1'),"
    " ('L2', DATE '0999-01-02', TIMESTAMP '2024-03-31 12:00:00.5', NULL, 2, 'row 2'),"
    " ('L3', NULL, NULL, NULL, 3, 'row 3'))"
    ' t(id, lease_end, signed, "error", _ord, _label)'
)


@pytest.fixture
def result(db: duckdb.DuckDBPyConnection) -> Result:
    db.execute(TABLE)
    program = Program(
        name="leases",
        title="Leases",
        inputs=(),
        columns=("id", "lease_end", "signed"),
        queries=Queries(Query(""), Query(""), Query("")),
        parameters=(Parameter("as_of", "date", "2024-06-30"),),
        summary=(Value("last_end", "date"),),
        group_by=("lease_end",),
        group_summary=(Value("latest", "datetime"),),
    )
    return Result(
        program=program,
        db=db,
        parameters={"as_of": D(2024, 6, 30)},
        row_count=3,
        summary={"last_end": D(2024, 3, 31)},
        summary_errors=[],
        groups=[{"lease_end": D(2024, 3, 31), "latest": T(2024, 3, 31, 12), "error": None}],
    )


def test_csv_and_json_write_iso_text(result: Result, tmp_path: Path) -> None:
    copy_rows(result, tmp_path / "r.csv", "csv")
    assert (tmp_path / "r.csv").read_text(encoding="utf-8") == (
        "id,lease_end,signed,error\n"
        "L1,2024-03-31,2024-03-31T12:00:00,\n"
        "L2,0999-01-02,2024-03-31T12:00:00.500000,\n"  # a year of 3 digits has 4
        "L3,,,\n"
    )
    copy_rows(result, tmp_path / "r.json", "json")
    rows = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert [(r["lease_end"], r["signed"]) for r in rows] == [
        ("2024-03-31", "2024-03-31T12:00:00"),
        ("0999-01-02", "2024-03-31T12:00:00.500000"),
        (None, None),
    ]


def test_parquet_keeps_date_and_timestamp(
    result: Result, tmp_path: Path, db: duckdb.DuckDBPyConnection
) -> None:
    copy_rows(result, tmp_path / "r.parquet", "parquet")
    path = str(tmp_path / "r.parquet")
    types = {
        r[0]: r[1]
        for r in db.execute("DESCRIBE SELECT * FROM read_parquet($p)", {"p": path}).fetchall()
    }
    assert (types["lease_end"], types["signed"]) == ("DATE", "TIMESTAMP")


def test_values_leaving_duckdb_as_python_dates_become_iso_text(result: Result) -> None:
    document = json.loads(to_json(result.document()))
    assert document["parameters"] == {"as_of": "2024-06-30"}
    assert document["summary"] == {"last_end": "2024-03-31"}
    assert document["groups"] == [
        {"lease_end": "2024-03-31", "latest": "2024-03-31T12:00:00", "error": None}
    ]
    assert document["rows"][1] == {
        "id": "L2", "lease_end": "0999-01-02", "signed": "2024-03-31T12:00:00.500000", "error": None,
    }  # fmt: skip
    page = json.loads(encode({"rows": result.rows(0, 1)}))
    assert page == {
        "rows": [
            {"id": "L1", "lease_end": "2024-03-31", "signed": "2024-03-31T12:00:00", "error": None}
        ]
    }


def test_groups_csv_the_report_and_the_console_show_iso_text(result: Result) -> None:
    text = to_csv(result.groups, ["lease_end", "latest", "error"])
    assert list(csv.reader(io.StringIO(text))) == [
        ["lease_end", "latest", "error"],
        ["2024-03-31", "2024-03-31T12:00:00", ""],
    ]
    assert display(D(2024, 3, 31)) == "2024-03-31"
    assert display(T(2024, 3, 31, 12, 0, 0, 500000)) == "2024-03-31T12:00:00.500000"
    page = report_html(result, 10)
    assert "<td>2024-03-31T12:00:00.500000</td>" in page
    assert '<div class="value">2024-03-31</div>' in page  # the summary card
    assert "<td>2024-06-30</td>" in page  # the parameter


def test_a_date_column_survives_the_fast_and_careful_readers_alike(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    data = "id,d,t\nL1,2024-03-31,2024-03-31T12:00:00\nL2, 2024-01-01,2024-01-01T00:00:00+01:00\n"
    path = tmp_path_factory.mktemp("csv") / "f.csv"
    path.write_text(data, encoding="utf-8")
    inp = Input(
        name="t",
        format="csv",
        fields=(Field("id", "string"), Field("d", "date"), Field("t", "datetime")),
        location=str(path),
    )
    outcomes = []
    for careful in (False, True):
        connection = duckdb.connect()
        forced = mock.patch.object(csv_survey, "survey", return_value=None)
        with forced if careful else contextlib.nullcontext():
            readers.load_input(connection, inp)
        outcomes.append(connection.execute('SELECT * FROM "input_t" ORDER BY _ord').fetchall())
        connection.close()
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][1][1:3] == (D(2024, 1, 1), T(2023, 12, 31, 23))  # 00:00 at +1 is 23:00 UTC
