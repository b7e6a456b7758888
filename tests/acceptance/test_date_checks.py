"""Checks with dates: given dates written into every input format (in a field's declared
format, at a nested field's path), date parameters, expected dates compared with the
program's ISO text. Specs are loaded from YAML, where `2024-03-31` is a date."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from scriptexec.acceptance import (
    DEFAULT_TOLERANCE,
    InputDecl,
    fixture_row,
    input_declarations,
    nested,
    run_checks,
    same,
    write_input,
)
from scriptexec.codegen.model import program_model
from scriptexec.spec.model import load_spec

from .helpers import render

LOCATIONS = {
    "csv": "location: data/leases.csv",
    "json": "location: data/leases.json",
    "sqlite": "location: data/leases.sqlite",
    "http": "location: https://leases.example.com/api",
}
SPEC = """\
version: 1
name: leases
inputs:
  leases:
    format: {fmt}
    {location}
    fields:
      lease_id: string
      lease_end: {end}
      signed: datetime?
      renewal: {{type: date, format: "%d/%m/%Y", required: false}}
parameters:
  as_of: {{type: date, default: today}}
compute:
  expired: lease_end < as_of
  renewed_late: renewal > lease_end
summary:
  expired_count: count(expired)
  last_end: max(lease_end)
checks:
  - name: as of the end of June
    given:
      leases:
        - {{lease_id: L1, lease_end: 2024-03-31, renewal: 2024-04-15}}
        - {{lease_id: L2, lease_end: 2025-01-31, signed: 2025-01-01 09:00:00+01:00}}
    parameters: {{as_of: 2024-06-30}}
    expect:
      rows:
        - {{lease_id: L1, lease_end: 2024-03-31, renewal: 2024-04-15, expired: true, renewed_late: true}}
        - {{lease_id: L2, signed: 2025-01-01 08:00:00, expired: false}}
      summary: {{expired_count: 1, last_end: 2025-01-31}}
  - name: as of New Year 2024
    given:
      leases:
        - {{lease_id: L1, lease_end: 2024-03-31, renewal: 15/04/2024}}
    parameters: {{as_of: 2024-01-01}}
    expect:
      rows: [{{lease_id: L1, signed: null, expired: false}}]
      summary: {{expired_count: 0, last_end: 2024-03-31}}
  - name: a wrong expectation
    given:
      leases: [{{lease_id: L1, lease_end: 2024-03-31}}]
    parameters: {{as_of: 2024-06-30}}
    expect:
      rows: [{{lease_end: 2024-04-01}}]
"""


def build(tmp_path: Path, fmt: str) -> tuple[Path, dict[str, Any]]:
    end = "{type: date, path: lease.end}" if fmt in ("json", "http") else "date"
    extra = "\n    table: leases" if fmt == "sqlite" else ""
    text = SPEC.format(fmt=fmt, location=LOCATIONS[fmt] + extra, end=end)
    path = tmp_path / "leases.yaml"
    path.write_text(text, encoding="utf-8")
    spec = load_spec(path)
    return render(program_model(spec), tmp_path / "program"), spec.canonical


@pytest.mark.parametrize("fmt", ["csv", "json", "sqlite", "http"])
def test_checks_with_dates_in_every_input_format(tmp_path: Path, fmt: str) -> None:
    program, canonical = build(tmp_path, fmt)
    checks = canonical["checks"]
    report = run_checks(program, checks, input_declarations(canonical), workdir=tmp_path / "w")
    assert [r.passed for r in report.results] == [True, True, False], report.failure_message()
    assert report.failed[0].failures == [
        "  row 1:",
        '    - lease_end: "2024-04-01"',
        '    + lease_end: "2024-03-31"',
    ]


def test_given_dates_become_text_in_the_fields_format() -> None:
    decl = InputDecl(
        name="leases",
        format="json",
        env_var="LEASES_LOCATION",
        fields=(("lease_end", "date"), ("renewal", "date"), ("signed", "datetime")),
        formats=(("renewal", "%d/%m/%Y"),),
        paths=(("lease_end", "lease.end"),),
    )
    row = {
        "lease_end": dt.date(2024, 3, 31),  # code that builds checks may give date objects
        "renewal": "2024-04-15",  # ISO text in a check: rewritten in the field's format
        "signed": dt.datetime(2024, 1, 15, 9, 30),
        "note": dt.date(2024, 1, 1),  # not a field: ISO text all the same
    }
    written = fixture_row(decl, row)
    assert written == {
        "lease_end": "2024-03-31",
        "renewal": "15/04/2024",
        "signed": "2024-01-15T09:30:00",
        "note": "2024-01-01",
    }
    assert fixture_row(decl, {"renewal": "15/04/2024"}) == {"renewal": "15/04/2024"}
    assert fixture_row(decl, {"renewal": "not a date"}) == {"renewal": "not a date"}
    assert nested(decl, written) == {
        "lease": {"end": "2024-03-31"},
        "renewal": "15/04/2024",
        "signed": "2024-01-15T09:30:00",
        "note": "2024-01-01",
    }


def test_csv_and_sqlite_fixtures_hold_iso_text(tmp_path: Path) -> None:
    fields = (("lease_id", "string"), ("lease_end", "date"), ("signed", "datetime"))
    rows = [
        {
            "lease_id": "L1",
            "lease_end": dt.date(2024, 3, 31),
            "signed": dt.datetime(2024, 1, 2, 3, 4, 5),
        }
    ]
    csv_decl = InputDecl("leases", "csv", "LEASES_LOCATION", fields)
    env = write_input(csv_decl, rows, tmp_path)
    assert Path(env["LEASES_LOCATION"]).read_text(encoding="utf-8").splitlines() == [
        "lease_id,lease_end,signed",
        "L1,2024-03-31,2024-01-02T03:04:05",
    ]
    sqlite_decl = InputDecl("leases", "sqlite", "LEASES_LOCATION", fields, table="leases")
    env = write_input(sqlite_decl, rows, tmp_path)
    connection = sqlite3.connect(env["LEASES_LOCATION"])
    try:
        assert connection.execute("SELECT * FROM leases").fetchall() == [
            ("L1", "2024-03-31", "2024-01-02T03:04:05")
        ]
        declared = [c[2] for c in connection.execute("PRAGMA table_info(leases)").fetchall()]
        assert declared == ["TEXT", "TEXT", "TEXT"]
    finally:
        connection.close()
    http_decl = InputDecl("leases", "http", "LEASES_LOCATION", fields)
    env = write_input(http_decl, rows, tmp_path)
    assert json.loads(Path(env["LEASES_FIXTURE"]).read_text(encoding="utf-8")) == [
        {"lease_id": "L1", "lease_end": "2024-03-31", "signed": "2024-01-02T03:04:05"}
    ]


@pytest.mark.parametrize(
    ("expected", "actual", "equal"),
    [
        ("2024-03-31", "2024-03-31", True),
        (dt.date(2024, 3, 31), "2024-03-31", True),
        (dt.date(2024, 3, 31), "2024-04-01", False),
        (dt.datetime(2024, 3, 31, 12), "2024-03-31T12:00:00", True),
        ("2024-03-31 12:00:00", "2024-03-31T12:00:00", True),  # a space for the T
        ("2024-03-31T14:00:00+02:00", "2024-03-31T12:00:00", True),  # 14:00 at +2 is 12:00 UTC
        ("2024-03-31", "2024-03-31T00:00:00", True),  # a date for its midnight
        ("2024-03-31T12:00:00.5", "2024-03-31T12:00:00.500000", True),
        ("2024-03-31 12:00:01", "2024-03-31T12:00:00", False),
        ("2024-03-31 12:00", "2024-03-31 12:00", True),  # text as text
        ("2024-03-31", "31/03/2024", False),
    ],
)
def test_same_compares_dates_with_the_programs_iso_text(
    expected: Any, actual: Any, equal: bool
) -> None:
    assert same(expected, actual, DEFAULT_TOLERANCE) is equal
