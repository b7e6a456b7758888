"""Bad input data: each case is one line naming the file, the line (and the field), exit code
1, and nothing written. The behaviour is checked from outside (exit code, stderr, files), so
these tests hold for any reader the program uses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .helpers import DSCR_CSV, MARKET_JSON, UNITS_CSV, Run, model, render, run

HEADER = "property_id,name,gross_revenue,operating_expenses,annual_debt_service"


def dscr_program(tmp_path: Path, data: str | bytes, **input_settings: Any) -> Path:
    m = model("dscr")
    m["inputs"][0].update(input_settings)
    return render(m, tmp_path / "p", {"data/properties.csv": data})


def refused(program: Path) -> Run:
    """Run `program` on data it must refuse: exit 1, one line, no traceback, no outputs."""
    result = run(program, "run")
    assert result.code == 1, result
    assert "Traceback" not in result.err and "unexpected failure" not in result.err, result
    assert not (program / "results").exists(), "results written from bad data"
    assert not (program / "exports").exists(), "exports written from bad data"
    return result


def last_line(result: Run) -> str:
    return result.err.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("csv_text", "message"),
    [
        (
            DSCR_CSV.replace(
                "P1,Harbor Point,200000,75000,100000", "P1,Harbor Point,200000,75000,100000,9"
            ),
            "error: data/properties.csv, line 2: 6 values but the header has 5 columns",
        ),
        (
            # a value with an unquoted comma shifts every later value right
            DSCR_CSV.replace("P3,Mill Yard", "P3,Mill Yard, Upper"),
            "error: data/properties.csv, line 4: 6 values but the header has 5 columns",
        ),
        (
            HEADER + ",name\nP1,Harbor Point,200000,75000,100000,Other\n",
            "error: data/properties.csv, line 1: column 'name' appears twice (columns 2 and 6)",
        ),
        (
            DSCR_CSV.replace("200000,75000", "1_000,75000"),
            "error: data/properties.csv, line 2, field gross_revenue: expected a number, got '1_000'",
        ),
        (
            DSCR_CSV.replace("90000,70000,0", "90000,7_0000,0"),
            "error: data/properties.csv, line 4, field operating_expenses: expected a number,"
            " got '7_0000'",
        ),
        (
            DSCR_CSV.replace("200000,75000", "9" * 400 + ",75000"),
            "error: data/properties.csv, line 2, field gross_revenue: number too large: '9999",
        ),
        (
            DSCR_CSV.replace("200000,75000", "-" + "9" * 5000 + ",75000"),
            "error: data/properties.csv, line 2, field gross_revenue: number too large: '-999",
        ),
        (
            # the quote opened on line 4 is never closed: the rest of the file is one value
            DSCR_CSV.replace("P3,Mill Yard", 'P3,"Mill Yard'),
            "error: data/properties.csv, line 4: unterminated quoted field starting at line 4",
        ),
        (
            # the stray quote on line 3 closes again at the next one, before "1,500,000"
            DSCR_CSV.replace("P2,Elm Street Lofts", 'P2,"Elm Street Lofts'),
            "error: data/properties.csv, line 3: text after the closing quote of a quoted value",
        ),
        (
            # a quoted value spanning lines 2-3 is fine; the one opened on line 5 is not
            HEADER + '\nP1,"Harbor\nPoint",1,1,1\nP2,B,1,1,1\nP3,C,1,"1\n',
            "error: data/properties.csv, line 5: unterminated quoted field starting at line 5",
        ),
        (
            # the record starts on line 2, but its open quote is on line 3
            HEADER + '\nP1,"Harbor\nPoint",1,"1\n1\n',
            "error: data/properties.csv, line 2: unterminated quoted field starting at line 3",
        ),
        (
            DSCR_CSV.replace("Harbor Point", "Harbor\x00Point"),
            "error: data/properties.csv, line 2, field name: contains a NUL character",
        ),
    ],
    ids=[
        "extra-value",
        "unquoted-comma",
        "duplicate-column",
        "underscore-digits",
        "underscore-digits-2",
        "400-digits",
        "5000-digits",
        "unterminated-quote",
        "stray-quote",
        "unterminated-quote-after-multiline",
        "unterminated-quote-inside-record",
        "nul-in-text",
    ],
)
def test_bad_csv_is_one_line_naming_file_and_line(
    tmp_path: Path, csv_text: str, message: str
) -> None:
    result = refused(dscr_program(tmp_path, csv_text))
    assert last_line(result).startswith(message), result


def test_a_multiline_record_is_named_by_its_first_line(tmp_path: Path) -> None:
    # P2's record spans lines 3 and 4: a message about it names line 3, where it starts
    csv_text = HEADER + '\nP1,A,1,1,1\nP2,"B\nC",x,1,1\n'
    result = refused(dscr_program(tmp_path, csv_text))
    assert last_line(result).startswith(
        "error: data/properties.csv, line 3, field gross_revenue: expected a number, got 'x'"
    ), result


def test_numbers_in_ordinary_notations_are_still_read(tmp_path: Path) -> None:
    # Each row's DSCR is (revenue - expenses) / debt service = 2, whatever the notation.
    csv_text = (
        HEADER
        + "\nA,plain,300,100,100"
        + "\nB,signs,+300,-100,200"  # (300 - -100) / 200 = 2
        + "\nC,decimals,3.0e2,.1e3,100.00"
        + '\nD,grouped,"1,300",100,600'
        + "\nE,spaces, 300 ,100,100\n"
    )
    result = run(dscr_program(tmp_path, csv_text), "run", "--json")
    assert result.code == 0, result
    assert [r["dscr"] for r in result.json["rows"]] == [2.0] * 5


@pytest.mark.parametrize(
    "record, field, value, expected",
    [
        (1, "market_rent_psf", 10**400, "record 2, field market_rent_psf: number too large: 1000"),
        (2, "unit_type", "Stu\x00dio", "record 3, field unit_type: contains a NUL character"),
    ],
    ids=["huge-number", "nul-in-text"],
)
def test_bad_json_values_name_record_and_field(
    tmp_path: Path, record: int, field: str, value: object, expected: str
) -> None:
    market = json.loads(MARKET_JSON)
    market["data"]["rates"][record][field] = value
    program = render(
        model("rent_roll"),
        tmp_path / "rr",
        {"data/units.csv": UNITS_CSV, "data/market.json": json.dumps(market)},
    )
    result = refused(program)
    assert last_line(result).startswith(f"error: data/market.json, {expected}"), result


# -- encodings ---------------------------------------------------------------------------

LATIN1 = DSCR_CSV.replace("Elm Street Lofts", "Café Lofts").encode("latin-1")


def test_latin1_data_read_as_utf8_names_the_line_and_the_setting(tmp_path: Path) -> None:
    result = refused(dscr_program(tmp_path, LATIN1))
    line = last_line(result)
    # "é" is byte 0xe9 in latin-1, on line 3 (P2); utf-8 cannot decode it
    assert line.startswith("error: data/properties.csv, line 3: not valid utf-8 (byte 0xe9)"), line
    assert "inputs.properties.encoding" in line and "latin-1" in line, line
    assert "position" not in line, line  # no byte offsets into a decode chunk


def test_a_late_bad_byte_is_named_by_its_line(tmp_path: Path) -> None:
    # far past the first decode chunk a streaming reader would use
    rows = "".join(f"Q{n},Name {n},2,1,1\n" for n in range(1, 20001))
    data = (HEADER + "\n" + rows).encode() + b"Q20001,Caf\xe9,2,1,1\n"
    result = refused(dscr_program(tmp_path, data))
    # line 1 is the header and 20,000 rows follow it: the bad row is line 20,002
    assert last_line(result).startswith(
        "error: data/properties.csv, line 20002: not valid utf-8 (byte 0xe9)"
    ), result


def test_utf16_data_read_as_utf8_says_utf16(tmp_path: Path) -> None:
    result = refused(dscr_program(tmp_path, DSCR_CSV.encode("utf-16")))
    line = last_line(result)
    assert line.startswith("error: data/properties.csv, line 1: "), line
    assert "UTF-16" in line and "inputs.properties.encoding: utf-16" in line, line


@pytest.mark.parametrize(
    ("encoding", "data"),
    [
        ("latin-1", LATIN1),
        ("cp1252", DSCR_CSV.replace("Elm Street Lofts", "Café Lofts").encode("cp1252")),
        ("utf-16", DSCR_CSV.replace("Elm Street Lofts", "Café Lofts").encode("utf-16")),
        ("utf-8", b"\xef\xbb\xbf" + DSCR_CSV.replace("Elm Street Lofts", "Café Lofts").encode()),
    ],
    ids=["latin-1", "cp1252", "utf-16", "utf-8-with-bom"],
)
def test_the_encoding_setting_reads_the_file(tmp_path: Path, encoding: str, data: bytes) -> None:
    result = run(dscr_program(tmp_path, data, encoding=encoding), "run", "--json")
    assert result.code == 0, result
    rows = result.json["rows"]
    assert [r["property_id"] for r in rows] == ["P1", "P2", "P3"]  # no BOM left in the header
    assert rows[1]["name"] == "Café Lofts"
    assert rows[1]["gross_revenue"] == 1500000


def test_bad_bytes_in_the_declared_encoding_name_the_line(tmp_path: Path) -> None:
    # 0x81 is one of the five bytes cp1252 leaves undefined
    data = DSCR_CSV.replace("Mill Yard", "Mill-Yard").encode("cp1252").replace(b"-", b"\x81")
    result = refused(dscr_program(tmp_path, data, encoding="cp1252"))
    line = last_line(result)
    assert line.startswith("error: data/properties.csv, line 4: not valid cp1252 (byte 0x81)"), line
