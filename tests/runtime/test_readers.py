"""The input readers: real files, sqlite databases and an HTTP server, read into DuckDB,
against values and messages worked out by hand.

Most CSV cases run twice (the `path_kind` fixture): through DuckDB's fast path and
through the careful reader, which must give the same table or the same message.
"""

from __future__ import annotations

import contextlib
import json
import math
import sqlite3
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from unittest import mock

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scriptexec.runtime import readers
from scriptexec.runtime import settings as runtime_settings
from scriptexec.runtime.errors import ProgramError, UsageError
from scriptexec.runtime.program import Field, Input, Program, Queries, Query
from scriptexec.runtime.readers import casts, csv_survey, http_input
from scriptexec.runtime.readers.convert import BadValue, convert

HEADER = "property_id,name,gross_revenue,operating_expenses,annual_debt_service"
DSCR_CSV = f"""{HEADER}
P1,Harbor Point,200000,75000,100000
P2,Elm Street Lofts,"1,500,000",600000,650000
P3,Mill Yard,90000,70000,0
"""
DSCR_FIELDS = (
    Field("property_id", "string"),
    Field("name", "string"),
    Field("gross_revenue", "number"),
    Field("operating_expenses", "number"),
    Field("annual_debt_service", "number"),
)
SOURCE = "data/properties.csv"  # the location as the spec gives it, as messages name it


# -- helpers -----------------------------------------------------------------------------


@pytest.fixture
def db() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The program's directory, where relative locations start."""
    monkeypatch.setattr(runtime_settings, "_home", tmp_path)
    for name in (
        "PROPERTIES_LOCATION",
        "PROPERTIES_FIXTURE",
        "PROPERTIES_TOKEN",
        "MAX_INPUT_ROWS",
        "DATABASE_URL",
        "HTTP_TIMEOUT",
    ):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture(params=["fast", "careful"])
def path_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test through DuckDB's fast path, then through the careful reader."""
    if request.param == "careful":
        monkeypatch.setattr(csv_survey, "survey", lambda *args: None)
    return str(request.param)


def dscr_input(location: str | None = SOURCE, **changes: Any) -> Input:
    values: dict[str, Any] = {
        "name": "properties",
        "format": "csv",
        "fields": DSCR_FIELDS,
        "location": location,
        "env_var": "PROPERTIES_LOCATION",
        "fixture_env": "PROPERTIES_FIXTURE",
        **changes,
    }
    return Input(**values)


def write(home: Path, data: str | bytes, name: str = SOURCE) -> Path:
    path = home / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_bytes(data.encode("utf-8"))
    else:
        path.write_bytes(data)
    return path


def table(db: duckdb.DuckDBPyConnection, name: str = "input_properties") -> list[dict[str, Any]]:
    cursor = db.execute(f'SELECT * FROM "{name}" ORDER BY _ord')
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def read_dscr(
    db: duckdb.DuckDBPyConnection, home: Path, data: str | bytes, **changes: Any
) -> list[dict[str, Any]]:
    write(home, data)
    readers.load_input(db, dscr_input(**changes))
    return table(db)


def refused(db: duckdb.DuckDBPyConnection, home: Path, data: str | bytes, **changes: Any) -> str:
    """The one-line message for data the reader must refuse; no table is left behind."""
    write(home, data)
    with pytest.raises(ProgramError) as caught:
        readers.load_input(db, dscr_input(**changes))
    assert not db.execute("SELECT table_name FROM information_schema.tables").fetchall()
    message = str(caught.value)
    assert "\n" not in message
    return message


def is_negative_zero(value: float) -> bool:
    return value == 0 and math.copysign(1, value) < 0


# -- the table ---------------------------------------------------------------------------


def test_a_csv_file_becomes_a_typed_table(
    db: duckdb.DuckDBPyConnection, home: Path, path_kind: str
) -> None:
    rows = read_dscr(db, home, DSCR_CSV)
    assert rows == [
        {"property_id": "P1", "name": "Harbor Point", "gross_revenue": 200000.0,
         "operating_expenses": 75000.0, "annual_debt_service": 100000.0, "_ord": 1, "_where": "line 2"},
        {"property_id": "P2", "name": "Elm Street Lofts", "gross_revenue": 1500000.0,
         "operating_expenses": 600000.0, "annual_debt_service": 650000.0, "_ord": 2, "_where": "line 3"},
        {"property_id": "P3", "name": "Mill Yard", "gross_revenue": 90000.0,
         "operating_expenses": 70000.0, "annual_debt_service": 0.0, "_ord": 3, "_where": "line 4"},
    ]  # fmt: skip
    described = db.execute('DESCRIBE "input_properties"').fetchall()
    assert [(name, kind) for name, kind, *_ in described] == [
        ("property_id", "VARCHAR"),
        ("name", "VARCHAR"),
        ("gross_revenue", "DOUBLE"),
        ("operating_expenses", "DOUBLE"),
        ("annual_debt_service", "DOUBLE"),
        ("_ord", "BIGINT"),
        ("_where", "VARCHAR"),
    ]


TYPED_FIELDS = (
    Field("id", "string"),
    Field("count", "integer", required=False),
    Field("active", "boolean", required=False),
    Field("note", "string", required=False),
    Field("ratio", "number", required=False),
)


def test_every_type_and_empty_optional_values(
    db: duckdb.DuckDBPyConnection, home: Path, path_kind: str
) -> None:
    data = "id,count,active,note,ratio,unused\nA,3,yes,hi,0.5,x\nB,,,,,\nC, 7 ,No,  , -2e1 ,\n"
    rows = read_dscr(db, home, data, fields=TYPED_FIELDS)
    assert [(r["id"], r["count"], r["active"], r["note"], r["ratio"]) for r in rows] == [
        ("A", 3, True, "hi", 0.5),
        ("B", None, None, None, None),  # empty optional values are NULL
        ("C", 7, False, None, -20.0),  # padding is not data; blank text is no text
    ]
    described = db.execute('DESCRIBE "input_properties"').fetchall()
    assert [kind for _, kind, *_ in described][:5] == [
        "VARCHAR",
        "BIGINT",
        "BOOLEAN",
        "VARCHAR",
        "DOUBLE",
    ]


def test_numbers_in_ordinary_notations(
    db: duckdb.DuckDBPyConnection, home: Path, path_kind: str
) -> None:
    data = (
        HEADER
        + "\nA,plain,300,100,100"
        + "\nB,signs,+300,-100,200"
        + "\nC,decimals,3.0e2,.1e3,100.00"
        + '\nD,grouped,"1,300",100,"1,234.5"'
        + "\nE,spaces, 300 ,\u3000100\u2000,1."
        + "\nF,zeros,0,-0,-0.0\n"
    )
    rows = read_dscr(db, home, data)
    values = [(r["gross_revenue"], r["operating_expenses"], r["annual_debt_service"]) for r in rows]
    assert values == [
        (300.0, 100.0, 100.0),
        (300.0, -100.0, 200.0),
        (300.0, 100.0, 100.0),
        (1300.0, 100.0, 1234.5),
        (300.0, 100.0, 1.0),
        (0.0, 0.0, 0.0),
    ]
    # "-0" is a whole number (0, as Python's int() reads it); "-0.0" is a float's -0.0
    zeros = rows[-1]
    assert not is_negative_zero(zeros["operating_expenses"])
    assert is_negative_zero(zeros["annual_debt_service"])


INTEGERS = (Field("id", "string"), Field("n", "integer"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", 42),
        ("-42", -42),
        ("+7", 7),
        ("007", 7),
        ("-0", 0),
        ("4.0", 4),
        ("2.5e1", 25),
        ('"1,000"', 1000),
        ('"1,000.0"', 1000),
        ("9223372036854775807", 2**63 - 1),  # the largest BIGINT
        ("-9223372036854775808", -(2**63)),
    ],
)
def test_integers(
    db: duckdb.DuckDBPyConnection, home: Path, path_kind: str, text: str, expected: int
) -> None:
    rows = read_dscr(db, home, f"id,n\nA,{text}\n", fields=INTEGERS)
    assert rows[0]["n"] == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("2.5", "expected a whole number, got '2.5'"),
        ("9223372036854775808", "number too large: '9223372036854775808'"),
        ("-9223372036854775809", "number too large: '-9223372036854775809'"),
        ("1e20", "number too large: '1e20'"),
        ("0x1F", "expected a number, got '0x1F'"),
        ("1_000", "expected a number, got '1_000'"),
    ],
)
def test_integers_that_are_refused(
    db: duckdb.DuckDBPyConnection, home: Path, path_kind: str, text: str, problem: str
) -> None:
    message = refused(db, home, f"id,n\nA,{text}\n", fields=INTEGERS)
    assert message == f"{SOURCE}, line 2, field n: {problem}"


BOOLEANS = (Field("id", "string"), Field("flag", "boolean"))


def test_booleans(db: duckdb.DuckDBPyConnection, home: Path, path_kind: str) -> None:
    words = ["true", "Yes", "Y", "t", "1", "FALSE", "no", "n", " F ", "0"]
    data = "id,flag\n" + "".join(f"{n},{w}\n" for n, w in enumerate(words))
    rows = read_dscr(db, home, data, fields=BOOLEANS)
    assert [r["flag"] for r in rows] == [True] * 5 + [False] * 5


def test_a_bad_boolean(db: duckdb.DuckDBPyConnection, home: Path, path_kind: str) -> None:
    message = refused(db, home, "id,flag\nA,true\nB,maybe\n", fields=BOOLEANS)
    assert message == f"{SOURCE}, line 3, field flag: expected true or false, got 'maybe'"


def test_text_is_kept_as_written(db: duckdb.DuckDBPyConnection, home: Path, path_kind: str) -> None:
    data = f'{HEADER}\nP1,  two spaces first,1,1,1\nP2,"quoted, with a comma",1,1,1\nÉ1,x"y,1,1,1\n'
    rows = read_dscr(db, home, data)
    assert [(r["property_id"], r["name"]) for r in rows] == [
        ("P1", "  two spaces first"),
        ("P2", "quoted, with a comma"),
        ("É1", 'x"y'),  # a quote inside an unquoted value is only a character
    ]


def test_lines_are_named_after_blank_lines_and_multiline_records(
    db: duckdb.DuckDBPyConnection, home: Path, path_kind: str
) -> None:
    # line 1 is blank, the header is line 2, P1 spans lines 3-4, line 5 is blank
    data = f'\n{HEADER}\nP1,"Harbor\nPoint",1,1,1\n\nP2,B,1,1,1\n'
    rows = read_dscr(db, home, data)
    assert [(r["name"], r["_ord"], r["_where"]) for r in rows] == [
        ("Harbor\nPoint", 1, "line 3"),
        ("B", 2, "line 6"),
    ]


def test_crlf_lines(db: duckdb.DuckDBPyConnection, home: Path, path_kind: str) -> None:
    rows = read_dscr(db, home, DSCR_CSV.replace("\n", "\r\n"))
    assert [(r["property_id"], r["_where"]) for r in rows] == [
        ("P1", "line 2"),
        ("P2", "line 3"),
        ("P3", "line 4"),
    ]


def test_a_header_only_file_is_an_empty_table(
    db: duckdb.DuckDBPyConnection, home: Path, path_kind: str
) -> None:
    assert read_dscr(db, home, HEADER + "\n") == []
    assert len(db.execute('DESCRIBE "input_properties"').fetchall()) == 7


def test_a_short_record_lacks_its_last_values(
    db: duckdb.DuckDBPyConnection, home: Path, path_kind: str
) -> None:
    message = refused(db, home, f"{HEADER}\nP1,Harbor Point,1,1\n")
    assert message == f"{SOURCE}, line 2, field annual_debt_service: missing value"


def test_reading_again_replaces_the_table(
    db: duckdb.DuckDBPyConnection, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_dscr(db, home, DSCR_CSV)  # the fast path: a view over its rows
    monkeypatch.setattr(csv_survey, "survey", lambda *args: None)
    rows = read_dscr(db, home, f"{HEADER}\nQ1,Solo,4,3,2\n")  # the careful reader: a table
    assert [r["property_id"] for r in rows] == ["Q1"]
    rows = read_dscr(db, home, f'{HEADER}\nQ2,"Two, Lofts",4,3,2\n')
    assert [r["property_id"] for r in rows] == ["Q2"]


# -- which path reads a file -------------------------------------------------------------


@pytest.fixture
def careful_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    original = readers.read_csv

    def spy(inp: Input, path: Path, source: str) -> Any:
        calls.append(source)
        return original(inp, path, source)

    monkeypatch.setattr(readers, "read_csv", spy)
    return calls


@pytest.mark.parametrize(
    "data",
    [
        DSCR_CSV,  # with a quoted, grouped number
        DSCR_CSV.replace("\n", "\r\n"),
        DSCR_CSV.replace("Elm Street Lofts", "Café Lofts").encode("cp1252"),
    ],
    ids=["plain", "crlf", "cp1252"],
)
def test_ordinary_files_take_the_fast_path(
    db: duckdb.DuckDBPyConnection, home: Path, careful_calls: list[str], data: str | bytes
) -> None:
    encoding = "utf-8" if isinstance(data, str) else "cp1252"
    rows = read_dscr(db, home, data, encoding=encoding)
    assert len(rows) == 3 and careful_calls == []


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_blank_lines_on_the_fast_path(
    db: duckdb.DuckDBPyConnection, home: Path, careful_calls: list[str], newline: str
) -> None:
    # line 3 and lines 5-6 are blank (DuckDB skips them); so are the two at the end
    lines = [HEADER, "P1,A,1,1,1", "", "P2,B,1,1,1", "", "", "P3,C,1,1,1", "P4,D,x,1,1", "", ""]
    data = newline.join(lines) + newline
    message = refused(db, home, data)
    assert message == f"{SOURCE}, line 8, field gross_revenue: expected a number, got 'x'"
    rows = read_dscr(db, home, data.replace(",x,", ",4,"))
    assert [(r["property_id"], r["_ord"], r["_where"]) for r in rows] == [
        ("P1", 1, "line 2"),
        ("P2", 2, "line 4"),
        ("P3", 3, "line 7"),
        ("P4", 4, "line 8"),
    ]
    assert careful_calls == []


@pytest.mark.parametrize(
    ("data", "outcome"),
    [
        # DuckDB would drop the space and the quotes; Python's csv keeps both
        (
            DSCR_CSV.replace("P2,Elm Street Lofts,", 'P2, "Elm Street Lofts",'),
            ' "Elm Street Lofts"',
        ),
        (
            DSCR_CSV.replace("Mill Yard", "Mill\r Yard"),  # a lone CR ends a record for Python
            f"{SOURCE}, line 4, field gross_revenue: missing value",
        ),
        (
            DSCR_CSV.replace("Harbor Point", "Harbor\x00Point"),  # DuckDB would keep it
            f"{SOURCE}, line 2, field name: contains a NUL character (\\x00)",
        ),
    ],
    ids=["space-before-quote", "lone-cr", "nul"],
)
def test_doubtful_files_go_to_the_careful_reader(
    db: duckdb.DuckDBPyConnection, home: Path, careful_calls: list[str], data: str, outcome: str
) -> None:
    try:
        rows = read_dscr(db, home, data)
    except ProgramError as exc:
        assert str(exc) == outcome
    else:
        assert outcome in (rows[1]["name"], rows[2]["name"])
    assert careful_calls == [SOURCE]


@pytest.mark.parametrize(
    "data",
    [
        DSCR_CSV,
        DSCR_CSV.replace("\n", "\r\n"),
        DSCR_CSV + "\n\n",
        DSCR_CSV.replace("P2,Elm", 'P2, "Elm'),
        DSCR_CSV.replace("Mill Yard", "Mill\rYard"),
        DSCR_CSV.replace("\n", "\r\n") + "\r",
        DSCR_CSV.replace("Mill", "Mi_ll+"),
    ],
    ids=["plain", "crlf", "trailing-blank", "space-quote", "lone-cr", "final-cr", "marks"],
)
def test_the_survey_sees_pairs_split_between_chunks(
    home: Path, monkeypatch: pytest.MonkeyPatch, data: str
) -> None:
    path = write(home, data)
    whole = csv_survey.survey(path, "utf-8", SOURCE, home)
    for size in range(1, 9):  # every split of every pair the survey looks for
        monkeypatch.setattr(csv_survey, "CHUNK", size)
        assert csv_survey.survey(path, "utf-8", SOURCE, home) == whole, size


def test_rows_keep_the_file_order_when_duckdb_need_not(
    db: duckdb.DuckDBPyConnection, home: Path
) -> None:
    db.execute("SET preserve_insertion_order = false")  # the setting saves memory
    rows = "".join(f"Q{n},Name {n},{n},1,1\n" for n in range(1, 50001))
    assert [r["property_id"] for r in read_dscr(db, home, f"{HEADER}\n{rows}")] == [
        f"Q{n}" for n in range(1, 50001)
    ]
    assert db.execute("SELECT current_setting('preserve_insertion_order')").fetchone() == (False,)


def test_a_space_before_a_quote_is_kept(
    db: duckdb.DuckDBPyConnection, home: Path, path_kind: str
) -> None:
    # Python's csv reads the quote as part of an unquoted value (DuckDB would drop both)
    rows = read_dscr(db, home, f'{HEADER}\nP1, "Harbor",1,1,1\n')
    assert rows[0]["name"] == ' "Harbor"'


def test_a_path_with_pattern_characters_is_a_file_name(
    db: duckdb.DuckDBPyConnection, home: Path, careful_calls: list[str]
) -> None:
    write(home, DSCR_CSV, "data/[1]*.csv")
    write(home, f"{HEADER}\nX1,Wrong file,1,1,1\n", "data/1.csv")  # what the pattern matches
    readers.load_input(db, dscr_input("data/[1]*.csv"))
    assert [r["property_id"] for r in table(db)] == ["P1", "P2", "P3"]
    assert careful_calls == []


# -- bad data: one line naming the file, the line, the field and the value -----------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            DSCR_CSV.replace(
                "P1,Harbor Point,200000,75000,100000", "P1,Harbor Point,200000,75000,100000,9"
            ),
            "line 2: 6 values but the header has 5 columns",
        ),
        (
            DSCR_CSV.replace("P3,Mill Yard", "P3,Mill Yard, Upper"),
            "line 4: 6 values but the header has 5 columns",
        ),
        (
            HEADER + ",name\nP1,Harbor Point,200000,75000,100000,Other\n",
            "line 1: column 'name' appears twice (columns 2 and 6)",
        ),
        (
            DSCR_CSV.replace(",annual_debt_service", ",debt"),
            ": no column annual_debt_service (found property_id, name, gross_revenue,"
            " operating_expenses, debt)",
        ),
        (
            DSCR_CSV.replace("200000,75000", "abc,75000"),
            "line 2, field gross_revenue: expected a number, got 'abc'",
        ),
        (
            DSCR_CSV.replace("200000,75000", "1_000,75000"),
            "line 2, field gross_revenue: expected a number, got '1_000'",
        ),
        (
            DSCR_CSV.replace("90000,70000,0", "90000,7_0000,0"),
            "line 4, field operating_expenses: expected a number, got '7_0000'",
        ),
        (
            DSCR_CSV.replace("200000,75000", "+-5,75000"),
            "line 2, field gross_revenue: expected a number, got '+-5'",
        ),
        (
            DSCR_CSV.replace("200000,75000", "9" * 400 + ",75000"),
            "line 2, field gross_revenue: number too large: '" + "9" * 36 + "...",
        ),
        (
            DSCR_CSV.replace("200000,75000", "-" + "9" * 5000 + ",75000"),
            "line 2, field gross_revenue: number too large: '-" + "9" * 35 + "...",
        ),
        (
            DSCR_CSV.replace("200000,75000", "1e999,75000"),
            "line 2, field gross_revenue: number too large: '1e999'",
        ),
        (
            DSCR_CSV.replace("90000,70000,0", "90000,70000,inf"),
            "line 4, field annual_debt_service: expected a finite number, got 'inf'",
        ),
        (DSCR_CSV.replace("Elm Street Lofts", ""), "line 3, field name: missing value"),
        (DSCR_CSV.replace("Elm Street Lofts", " \t "), "line 3, field name: missing value"),
        (
            DSCR_CSV.replace("Harbor Point", "Harbor\x00Point"),
            "line 2, field name: contains a NUL character (\\x00)",
        ),
        (
            DSCR_CSV.replace("P3,Mill Yard", 'P3,"Mill Yard'),
            "line 4: unterminated quoted field starting at line 4",
        ),
        (
            DSCR_CSV.replace("P2,Elm Street Lofts", 'P2,"Elm Street Lofts'),
            "line 3: text after the closing quote of a quoted value (a stray quote?)",
        ),
        (
            HEADER + '\nP1,"Harbor\nPoint",1,1,1\nP2,B,1,1,1\nP3,C,1,"1\n',
            "line 5: unterminated quoted field starting at line 5",
        ),
        (
            HEADER + '\nP1,"Harbor\nPoint",1,"1\n1\n',
            "line 2: unterminated quoted field starting at line 3",
        ),
        (
            # P2's record spans lines 3 and 4: a message about it names line 3
            HEADER + '\nP1,A,1,1,1\nP2,"B\nC",x,1,1\n',
            "line 3, field gross_revenue: expected a number, got 'x'",
        ),
        (
            # the structure of the whole file is checked before any value
            DSCR_CSV.replace("200000", "abc") + "P4,D,1,1,1,1\n",
            "line 5: 6 values but the header has 5 columns",
        ),
    ],
    ids=[
        "extra-value",
        "unquoted-comma",
        "duplicate-column",
        "missing-column",
        "not-a-number",
        "underscore-digits",
        "underscore-digits-2",
        "two-signs",
        "400-digits",
        "5000-digits",
        "overflow",
        "infinite",
        "missing-value",
        "blank-value",
        "nul-in-text",
        "unterminated-quote",
        "stray-quote",
        "unterminated-quote-after-multiline",
        "unterminated-quote-inside-record",
        "multiline-record",
        "structure-first",
    ],
)
def test_bad_csv_is_one_line_naming_file_and_line(
    db: duckdb.DuckDBPyConnection, home: Path, path_kind: str, data: str, message: str
) -> None:
    expected = f"{SOURCE}{message}" if message.startswith(":") else f"{SOURCE}, {message}"
    assert refused(db, home, data) == expected


def test_the_first_bad_value_in_the_file_is_named(
    db: duckdb.DuckDBPyConnection, home: Path, path_kind: str
) -> None:
    # many good rows, then two bad ones: the earlier is named (DuckDB reads in parallel)
    rows = "".join(f"Q{n},Name {n},{n},1,1\n" for n in range(1, 30001))
    data = f"{HEADER}\n{rows}Q30001,Bad,1,oops,1\nQ30002,Worse,x,1,1\n"
    message = refused(db, home, data)
    assert (
        message == f"{SOURCE}, line 30002, field operating_expenses: expected a number, got 'oops'"
    )


def test_too_many_rows(
    db: duckdb.DuckDBPyConnection, home: Path, path_kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_INPUT_ROWS", "2")
    assert refused(db, home, DSCR_CSV) == f"{SOURCE}: more than 2 rows"
    # the count comes before the values, as the careful reader checks them
    assert refused(db, home, DSCR_CSV.replace("200000", "abc")) == f"{SOURCE}: more than 2 rows"
    monkeypatch.setenv("MAX_INPUT_ROWS", "3")
    assert len(read_dscr(db, home, DSCR_CSV)) == 3


def test_a_bad_row_limit_is_a_usage_error(
    db: duckdb.DuckDBPyConnection, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_INPUT_ROWS", "many")
    write(home, DSCR_CSV)
    with pytest.raises(UsageError, match=r"^MAX_INPUT_ROWS=many: expected a whole number above 0$"):
        readers.load_input(db, dscr_input())


def test_a_missing_file(db: duckdb.DuckDBPyConnection, path_kind: str) -> None:
    with pytest.raises(ProgramError, match=r"^data/properties\.csv: no such file$"):
        readers.load_input(db, dscr_input())


def test_a_directory_is_no_file(db: duckdb.DuckDBPyConnection, home: Path, path_kind: str) -> None:
    (home / SOURCE).mkdir(parents=True)
    with pytest.raises(ProgramError, match=r"^data/properties\.csv: cannot read: Is a directory$"):
        readers.load_input(db, dscr_input())


def test_the_location_comes_from_the_environment(
    db: duckdb.DuckDBPyConnection, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = write(home, f"{HEADER}\nQ9,Solo,100,50,25\n", "elsewhere/q.csv")
    monkeypatch.setenv("PROPERTIES_LOCATION", str(other))
    readers.load_input(db, dscr_input())
    assert [r["property_id"] for r in table(db)] == ["Q9"]


# -- encodings ---------------------------------------------------------------------------

CAFE = DSCR_CSV.replace("Elm Street Lofts", "Café Lofts")


def test_latin1_data_read_as_utf8_names_the_line_and_the_setting(
    db: duckdb.DuckDBPyConnection, home: Path, path_kind: str
) -> None:
    # "é" is byte 0xe9 in latin-1, on line 3 (P2); utf-8 cannot decode it
    assert refused(db, home, CAFE.encode("latin-1")) == (
        f"{SOURCE}, line 3: not valid utf-8 (byte 0xe9); if the file is in another encoding,"
        " set inputs.properties.encoding in the spec (e.g. latin-1, cp1252, utf-16)"
    )


def test_a_late_bad_byte_is_named_by_its_line(
    db: duckdb.DuckDBPyConnection, home: Path, path_kind: str
) -> None:
    rows = "".join(f"Q{n},Name {n},2,1,1\n" for n in range(1, 20001))
    data = (HEADER + "\n" + rows).encode() + b"Q20001,Caf\xe9,2,1,1\n"
    # line 1 is the header and 20,000 rows follow it: the bad row is line 20,002
    assert refused(db, home, data).startswith(f"{SOURCE}, line 20002: not valid utf-8 (byte 0xe9)")


def test_utf16_data_read_as_utf8_says_utf16(
    db: duckdb.DuckDBPyConnection, home: Path, path_kind: str
) -> None:
    assert refused(db, home, DSCR_CSV.encode("utf-16")) == (
        f"{SOURCE}, line 1: not valid utf-8 (byte 0xff): the file looks like UTF-16 (it starts"
        " with a byte order mark); set inputs.properties.encoding: utf-16 in the spec"
    )


@pytest.mark.parametrize(
    ("encoding", "data"),
    [
        ("latin-1", CAFE.encode("latin-1")),
        ("cp1252", CAFE.encode("cp1252")),
        ("utf-16", CAFE.encode("utf-16")),
        ("utf-8", b"\xef\xbb\xbf" + CAFE.encode()),
        ("utf-8-sig", b"\xef\xbb\xbf" + CAFE.encode()),
    ],
)
def test_the_encoding_setting_reads_the_file(
    db: duckdb.DuckDBPyConnection, home: Path, path_kind: str, encoding: str, data: bytes
) -> None:
    rows = read_dscr(db, home, data, encoding=encoding)
    assert [r["property_id"] for r in rows] == ["P1", "P2", "P3"]  # no BOM left in the header
    assert rows[1]["name"] == "Café Lofts" and rows[1]["gross_revenue"] == 1500000


def test_bad_bytes_in_the_declared_encoding_name_the_line(
    db: duckdb.DuckDBPyConnection, home: Path, path_kind: str
) -> None:
    # 0x81 is one of the five bytes cp1252 leaves undefined
    data = DSCR_CSV.replace("Mill Yard", "Mill-Yard").encode("cp1252").replace(b"-", b"\x81")
    message = refused(db, home, data, encoding="cp1252")
    assert message.startswith(f"{SOURCE}, line 4: not valid cp1252 (byte 0x81)")


# -- the SQL type rules agree with convert.py --------------------------------------------


def sql_value(db: duckdb.DuckDBPyConnection, text: str | None, field: Field) -> tuple[bool, Any]:
    """(taken, value): what the fast path's SQL makes of one CSV value (never one with a
    NUL: a file with one goes to the careful reader)."""
    assert text is None or "\x00" not in text
    column = casts.Column('"c"', '"d"', '"g"')
    taken = casts.taken_sql(field, column)
    computed = "".join(", " + item for item in casts.cast_items(field, column))
    sql = (  # the value only where taken: elsewhere it is error()
        f"SELECT {taken}, CASE WHEN {taken} THEN {casts.value_sql(field, column)} END"
        f" FROM (SELECT c{computed} FROM (SELECT $v AS c))"
    )
    row = db.execute(sql, {"v": text, "ws": casts.WHITESPACE}).fetchone()
    assert row is not None
    return bool(row[0]), row[1]


def python_value(text: str | None, field: Field) -> tuple[bool, Any]:
    """(good, value) by convert.py, the rules as the careful reader applies them."""
    if text is None or not text.strip():
        return not field.required, None
    try:
        return True, convert(text, field.type)
    except BadValue:
        return False, None


def same_number(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return bool(a == b) and type(a) is type(b)


TRICKY = [
    "0", "-0", "+0", "-0.0", "0.0", "-00", "0e5", "-0e5", "1e-400", "-1e-400", "007", "+7",
    "5.", ".5", "-.5", ".", "-", "+", "e5", "1e", "1e+", "1.5e-3", "1E5", "1,000", "-1,000.50",
    "1,00", "1,0000", ",100", "1,234.5,6", "1,234e5", "1,234.5e2", "+-1,000", "-0,000",
    " 12 ", "\t12", "12\u3000", "\xa0-3", "\x1c4", "1 000", "1_000", "+-5", "-+5", "--5",
    "inf", "-Infinity", "nan", "0x1F", "1e309", "-1e309", "9" * 400, "1" * 20, "9223372036854775807",
    "9223372036854775808", "-9223372036854775808", "-9223372036854775809", "9.2233720368547758e18",
    "true", "YES", " no ", "T", "1.0", "2", "maybe", "", "   ", "\u2003", "\u2003x", "\x7f",
    "x", " x", "\x01", "É", "\u0661\u0662", "\uff11\uff12", "1.5", "12345678901234567890.5", "0.1", "1e22", "4.35",
]  # fmt: skip


@pytest.mark.parametrize("ftype", ["number", "integer", "boolean", "string"])
@pytest.mark.parametrize("required", [True, False])
def test_sql_takes_only_what_convert_takes_and_gives_the_same_value(
    db: duckdb.DuckDBPyConnection, ftype: str, required: bool
) -> None:
    field = Field("x", ftype, required)
    for text in [*TRICKY, None]:
        taken, value = sql_value(db, text, field)
        good, expected_value = python_value(text, field)
        if taken:  # refusing a good value only costs time; taking a bad one is a bug
            assert good, (text, value)
            assert same_number(value, expected_value), (text, value, expected_value)


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.text(alphabet="0123456789.,eE+-_ \t\xa0\u3000xinfINF", max_size=12),
    ftype=st.sampled_from(["number", "integer", "boolean", "string"]),
)
def test_sql_and_convert_agree_on_generated_text(
    db: duckdb.DuckDBPyConnection, text: str, ftype: str
) -> None:
    field = Field("x", ftype)
    taken, value = sql_value(db, text, field)
    good, expected_value = python_value(text, field)
    if taken:
        assert good and same_number(value, expected_value), (text, value, expected_value)


def test_sql_takes_the_values_data_usually_holds(db: duckdb.DuckDBPyConnection) -> None:
    # what the first tiers must take, or every ordinary file would go the slow way
    for text, ftype in [
        ("1250.5", "number"), ("-3", "number"), ("1,250.5", "number"), ("0", "number"),
        ("42", "integer"), ("1,000", "integer"), ("true", "boolean"), ("Harbor Point", "string"),
    ]:  # fmt: skip
        assert sql_value(db, text, Field("x", ftype))[0], (text, ftype)


def test_whitespace_is_what_python_strips() -> None:
    spaces = "".join(c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace())
    assert spaces == casts.WHITESPACE


# -- the fast path and the careful reader agree on any file ------------------------------

CELL = st.one_of(
    st.sampled_from(TRICKY),
    st.text(alphabet='ab1 ,"\n\r\t\x00é', max_size=6),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(st.lists(CELL, min_size=1, max_size=4), max_size=5),
    joiner=st.sampled_from(["\n", "\r\n"]),
    quote_some=st.booleans(),
)
def test_both_paths_give_the_same_table_or_the_same_message(
    tmp_path_factory: pytest.TempPathFactory, rows: list[list[str]], joiner: str, quote_some: bool
) -> None:
    fields = (
        Field("a", "string"),
        Field("b", "number", required=False),
        Field("c", "integer", required=False),
        Field("d", "boolean", required=False),
    )
    lines = ["a,b,c,d"]
    for row in rows:
        cells = [f'"{v}"' if quote_some and '"' not in v else v for v in row]
        lines.append(",".join(cells))
    data = joiner.join(lines) + joiner
    path = tmp_path_factory.mktemp("csv") / "f.csv"
    path.write_bytes(data.encode("utf-8"))
    inp = Input(name="t", format="csv", fields=fields, location=str(path))
    assert outcome(inp, careful=False) == outcome(inp, careful=True), data


def outcome(inp: Input, careful: bool) -> tuple[str, object]:
    """The table's rows (as reprs: -0.0 is not 0.0) or the message, from one reader."""
    connection = duckdb.connect()
    forced = mock.patch.object(csv_survey, "survey", return_value=None)
    try:
        with forced if careful else contextlib.nullcontext():
            readers.load_input(connection, inp)
        rows = connection.execute('SELECT * FROM "input_t" ORDER BY _ord').fetchall()
        return "rows", [tuple(repr(v) for v in row) for row in rows]
    except ProgramError as exc:
        return "error", str(exc)
    finally:
        connection.close()


# -- JSON and fixtures -------------------------------------------------------------------

MARKET = {
    "data": {
        "rates": [
            {"unit_type": "1BR", "market_rent_psf": 2.0, "floor": 1, "view": True},
            {"unit_type": "2BR", "market_rent_psf": "2.25", "floor": "3", "view": "no"},
            {"unit_type": "Studio", "market_rent_psf": 2, "floor": None, "view": 0},
        ]
    }
}
MARKET_FIELDS = (
    Field("unit_type", "string"),
    Field("market_rent_psf", "number"),
    Field("floor", "integer", required=False),
    Field("view", "boolean"),
)


def market_input(**changes: Any) -> Input:
    values: dict[str, Any] = {
        "name": "market",
        "format": "json",
        "fields": MARKET_FIELDS,
        "location": "data/market.json",
        "env_var": "MARKET_LOCATION",
        "fixture_env": "MARKET_FIXTURE",
        "records": "data.rates",
        **changes,
    }
    return Input(**values)


def read_market(
    db: duckdb.DuckDBPyConnection, home: Path, document: Any, **changes: Any
) -> list[dict[str, Any]]:
    write(home, json.dumps(document), "data/market.json")
    readers.load_input(db, market_input(**changes))
    return table(db, "input_market")


def test_json_records_at_a_path(db: duckdb.DuckDBPyConnection, home: Path) -> None:
    assert read_market(db, home, MARKET) == [
        {"unit_type": "1BR", "market_rent_psf": 2.0, "floor": 1, "view": True, "_ord": 1, "_where": "record 1"},
        {"unit_type": "2BR", "market_rent_psf": 2.25, "floor": 3, "view": False, "_ord": 2, "_where": "record 2"},
        {"unit_type": "Studio", "market_rent_psf": 2.0, "floor": None, "view": False, "_ord": 3, "_where": "record 3"},
    ]  # fmt: skip


def test_json_text_survives_the_trip_into_duckdb(db: duckdb.DuckDBPyConnection, home: Path) -> None:
    # quotes, line breaks, commas and a long value: the careful readers' rows reach
    # DuckDB through a CSV file, which must give back exactly what went in
    odd = ['say "hi"', "two\nlines", "a,b", "a\r\nb", " padded ", "x" * 3_000_000, "é\u2028"]
    records = [{"unit_type": t, "market_rent_psf": 1.0 / 3, "view": True} for t in odd]
    rows = read_market(db, home, records, records=None)
    assert [r["unit_type"] for r in rows] == odd
    assert rows[0]["market_rent_psf"] == 1.0 / 3


@pytest.mark.parametrize(
    ("document", "changes", "message"),
    [
        ({"data": {}}, {}, "data/market.json: no list of records at 'data.rates'"),
        (
            {"data": {"rates": {}}},
            {},
            "data/market.json: expected a list of records at 'data.rates'",
        ),
        (
            {"rates": []},
            {"records": None},
            "data/market.json: expected a list of records at the top level",
        ),
        ({"data": {"rates": [5]}}, {}, "data/market.json, record 1: expected an object: 5"),
        (
            {"data": {"rates": [{"unit_type": "1BR", "view": True}]}},
            {},
            "data/market.json, record 1, field market_rent_psf: no such field",
        ),
        (
            {"data": {"rates": [{"unit_type": "1BR", "market_rent_psf": None, "view": True}]}},
            {},
            "data/market.json, record 1, field market_rent_psf: missing value",
        ),
        (
            {"data": {"rates": [{"unit_type": "1BR", "market_rent_psf": True, "view": True}]}},
            {},
            "data/market.json, record 1, field market_rent_psf: expected a number, got True",
        ),
        (
            {"data": {"rates": [{"unit_type": ["1BR"], "market_rent_psf": 1, "view": True}]}},
            {},
            "data/market.json, record 1, field unit_type: expected text, got ['1BR']",
        ),
        (
            {"data": {"rates": [{"unit_type": "1BR", "market_rent_psf": 1, "view": 2}]}},
            {},
            "data/market.json, record 1, field view: expected true or false, got 2",
        ),
        (
            {
                "data": {
                    "rates": [{"unit_type": "1BR", "market_rent_psf": 1, "floor": 1.5, "view": 1}]
                }
            },
            {},
            "data/market.json, record 1, field floor: expected a whole number, got 1.5",
        ),
        (
            {
                "data": {
                    "rates": [{"unit_type": "1BR", "market_rent_psf": 1, "floor": 2**63, "view": 1}]
                }
            },
            {},
            "data/market.json, record 1, field floor: number too large: 9223372036854775808",
        ),
        (
            {"data": {"rates": [{"unit_type": "A\x00", "market_rent_psf": 1, "view": 1}]}},
            {},
            "data/market.json, record 1, field unit_type: contains a NUL character (\\x00)",
        ),
    ],
)
def test_bad_json(
    db: duckdb.DuckDBPyConnection, home: Path, document: Any, changes: dict[str, Any], message: str
) -> None:
    write(home, json.dumps(document), "data/market.json")
    with pytest.raises(ProgramError) as caught:
        readers.load_input(db, market_input(**changes))
    assert str(caught.value) == message


def test_a_huge_json_number(db: duckdb.DuckDBPyConnection, home: Path) -> None:
    write(
        home,
        '[{"unit_type": "1BR", "market_rent_psf": 1' + "0" * 400 + ', "view": true}]',
        "data/market.json",
    )
    with pytest.raises(ProgramError) as caught:
        readers.load_input(db, market_input(records=None))
    assert str(caught.value) == (
        "data/market.json, record 1, field market_rent_psf: number too large: 1" + "0" * 36 + "..."
    )


def test_json_that_does_not_parse(db: duckdb.DuckDBPyConnection, home: Path) -> None:
    write(home, '{"data": ', "data/market.json")
    with pytest.raises(ProgramError) as caught:
        readers.load_input(db, market_input())
    assert str(caught.value) == (
        "data/market.json: not valid JSON: Expecting value: line 1 column 10 (char 9)"
    )


def test_utf16_json_is_recognised(db: duckdb.DuckDBPyConnection, home: Path) -> None:
    write(home, json.dumps(MARKET).encode("utf-16"), "data/market.json")
    readers.load_input(db, market_input())
    assert len(table(db, "input_market")) == 3


def test_a_fixture_replaces_the_source(
    db: duckdb.DuckDBPyConnection, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = {"property_id": "F1", "name": "Fixture", "gross_revenue": "10", "operating_expenses": 4,
              "annual_debt_service": 3}  # fmt: skip
    write(home, json.dumps([record]), "checks/rows.json")
    monkeypatch.setenv("PROPERTIES_FIXTURE", "checks/rows.json")  # relative to the program
    readers.load_input(db, dscr_input(format="http", location="http://127.0.0.1:9/unreachable"))
    assert table(db) == [
        {"property_id": "F1", "name": "Fixture", "gross_revenue": 10.0, "operating_expenses": 4.0,
         "annual_debt_service": 3.0, "_ord": 1, "_where": "record 1"},
    ]  # fmt: skip


def test_a_fixture_that_cannot_be_read(
    db: duckdb.DuckDBPyConnection, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROPERTIES_FIXTURE", "checks/none.json")
    with pytest.raises(ProgramError) as caught:
        readers.load_input(db, dscr_input())
    missing = home / "checks" / "none.json"
    assert str(caught.value) == (
        f"checks/none.json: cannot read: [Errno 2] No such file or directory: '{missing}'"
    )


# -- sqlite ------------------------------------------------------------------------------

STOCK_FIELDS = (
    Field("sku", "string"),
    Field("on_hand", "integer"),
    Field("daily_demand", "number"),
    Field("active", "boolean"),
)


def stock_db(home: Path) -> None:
    path = home / "data" / "inventory.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path)
    with connection:
        connection.execute(
            "CREATE TABLE stock (sku TEXT, on_hand INTEGER, daily_demand REAL, active INTEGER)"
        )
        connection.executemany(
            "INSERT INTO stock VALUES (?, ?, ?, ?)",
            [("S1", 50, 10.0, 1), ("S2", 500, 4, 0), ("S3", "30", "2.5", 1)],
        )
    connection.close()


def stock_input(
    sql: str = 'SELECT "sku", "on_hand", "daily_demand", "active" FROM "stock"',
) -> Input:
    return Input(
        name="stock", format="sqlite", fields=STOCK_FIELDS, location="data/inventory.db",
        env_var="STOCK_LOCATION", fixture_env="STOCK_FIXTURE", table="stock", sql=sql,
    )  # fmt: skip


def test_sqlite_rows(db: duckdb.DuckDBPyConnection, home: Path) -> None:
    stock_db(home)
    readers.load_input(db, stock_input())
    assert table(db, "input_stock") == [
        {"sku": "S1", "on_hand": 50, "daily_demand": 10.0, "active": True, "_ord": 1, "_where": "row 1"},
        {"sku": "S2", "on_hand": 500, "daily_demand": 4.0, "active": False, "_ord": 2, "_where": "row 2"},
        {"sku": "S3", "on_hand": 30, "daily_demand": 2.5, "active": True, "_ord": 3, "_where": "row 3"},
    ]  # fmt: skip


def test_sqlite_errors(
    db: duckdb.DuckDBPyConnection, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ProgramError, match=r"^data/inventory\.db: no such database file$"):
        readers.load_input(db, stock_input())
    stock_db(home)
    with pytest.raises(ProgramError, match=r"^data/inventory\.db: no such table: nothing_here$"):
        readers.load_input(db, stock_input('SELECT "sku" FROM "nothing_here"'))
    with pytest.raises(
        ProgramError, match=r"^data/inventory\.db, row 2, field on_hand: missing value$"
    ):
        readers.load_input(
            db,
            stock_input(
                "SELECT sku, CASE WHEN sku = 'S2' THEN NULL ELSE on_hand END AS on_hand, daily_demand, active FROM stock"
            ),
        )
    monkeypatch.setenv("MAX_INPUT_ROWS", "2")
    with pytest.raises(ProgramError, match=r"^data/inventory\.db: more than 2 rows$"):
        readers.load_input(db, stock_input())


def test_sqlite_is_opened_read_only(db: duckdb.DuckDBPyConnection, home: Path) -> None:
    stock_db(home)
    with pytest.raises(ProgramError, match="readonly database"):
        readers.load_input(db, stock_input("INSERT INTO stock VALUES ('S9', 1, 1, 1) RETURNING *"))


# -- postgres ----------------------------------------------------------------------------


def pg_input() -> Input:
    return dscr_input(
        format="postgres", location=None, table="properties", sql='SELECT * FROM "properties"'
    )


def test_postgres_needs_a_database_url(db: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(
        ProgramError, match=r"^input properties reads from postgres: set DATABASE_URL$"
    ):
        readers.load_input(db, pg_input())


def test_postgres_needs_psycopg(
    db: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://127.0.0.1:9/none")
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg: ImportError
    with pytest.raises(
        ProgramError, match=r"^postgres needs psycopg: pip install -r requirements\.txt$"
    ):
        readers.load_input(db, pg_input())


# -- http --------------------------------------------------------------------------------


class Api(BaseHTTPRequestHandler):
    body = b"{}"
    seen: list[dict[str, str]] = []

    def do_GET(self) -> None:
        Api.seen.append(dict(self.headers))
        ok = self.headers.get("Authorization") == "Bearer s3cret"
        self.send_response(200 if ok else 401)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(Api.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def api() -> Iterator[str]:
    Api.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    # a short poll: shutdown() waits for the loop to look
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/properties"
    server.shutdown()
    server.server_close()


def api_input(url: str) -> Input:
    return dscr_input(format="http", location=url, records="items", auth_env="PROPERTIES_TOKEN")


def serve(records: Any) -> None:
    Api.body = json.dumps({"items": records}).encode()


H1 = {"property_id": "H1", "name": "Via API", "gross_revenue": 300, "operating_expenses": 100,
      "annual_debt_service": 100}  # fmt: skip


def test_http_input_with_a_token(
    db: duckdb.DuckDBPyConnection, api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve([H1])
    monkeypatch.setenv("PROPERTIES_TOKEN", "s3cret")
    readers.load_input(db, api_input(api + "?page=1"), agent="dscr")
    assert [(r["property_id"], r["gross_revenue"], r["_where"]) for r in table(db)] == [
        ("H1", 300.0, "record 1")
    ]
    assert Api.seen[0]["User-Agent"] == "dscr/1" and Api.seen[0]["Accept"] == "application/json"


def test_http_errors(
    db: duckdb.DuckDBPyConnection, api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve([H1])
    with pytest.raises(ProgramError) as caught:  # no token: the server says 401
        readers.load_input(db, api_input(api + "?token=x"))
    assert str(caught.value) == f"{api}: HTTP 401 Unauthorized"  # no query string shown
    with pytest.raises(ProgramError) as caught:
        readers.load_input(db, api_input("file:///etc/passwd"))
    assert str(caught.value) == "input properties: file:///etc/passwd is not an http(s) URL"
    with pytest.raises(ProgramError) as caught:
        readers.load_input(db, api_input("http://127.0.0.1:9/closed"))
    assert (
        str(caught.value)
        == "http://127.0.0.1:9/closed: cannot fetch: [Errno 111] Connection refused"
    )


def test_http_values_are_named_without_the_query(
    db: duckdb.DuckDBPyConnection, api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve([H1, {**H1, "gross_revenue": "lots"}])
    monkeypatch.setenv("PROPERTIES_TOKEN", "s3cret")
    with pytest.raises(ProgramError) as caught:
        readers.load_input(db, api_input(api + "?key=secret"))
    assert (
        str(caught.value) == f"{api}, record 2, field gross_revenue: expected a number, got 'lots'"
    )


def test_http_size_cap_and_bad_json(
    db: duckdb.DuckDBPyConnection, api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROPERTIES_TOKEN", "s3cret")
    monkeypatch.setattr(http_input, "MAX_HTTP_BYTES", 10)
    serve([H1])
    with pytest.raises(ProgramError, match=r": response larger than 10 bytes$"):
        readers.load_input(db, api_input(api))
    monkeypatch.setattr(http_input, "MAX_HTTP_BYTES", 1000)
    Api.body = b"<html>"
    with pytest.raises(ProgramError) as caught:
        readers.load_input(db, api_input(api))
    assert str(caught.value) == f"{api}: not valid JSON: Expecting value: line 1 column 1 (char 0)"


@pytest.mark.parametrize("timeout", ["soon", "0", "-1", "nan"])
def test_a_bad_http_timeout_is_a_usage_error(
    db: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch, timeout: str
) -> None:
    monkeypatch.setenv("HTTP_TIMEOUT", timeout)
    with pytest.raises(UsageError) as caught:
        readers.load_input(db, api_input("http://127.0.0.1:9/x"))
    assert str(caught.value) == f"HTTP_TIMEOUT={timeout}: expected a number of seconds above 0"


# -- all of a program's inputs -----------------------------------------------------------


def test_load_inputs_makes_a_table_per_input(db: duckdb.DuckDBPyConnection, home: Path) -> None:
    write(home, DSCR_CSV)
    write(home, json.dumps(MARKET), "data/market.json")
    query = Query("SELECT 1")
    program = Program(
        name="p", title="P", inputs=(dscr_input(primary=True), market_input(join_on="unit_type")),
        columns=(), queries=Queries(source=query, rows=query, summary=query),
    )  # fmt: skip
    readers.load_inputs(db, program)
    assert len(table(db)) == 3 and len(table(db, "input_market")) == 3
