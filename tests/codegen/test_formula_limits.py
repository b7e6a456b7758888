"""What a formula may cost at run time: a power or a round() that depends on the data and
whose result no number can hold is a row error naming the formula, in no time. (In SQL a
power is a DOUBLE operation, so it cannot compute for hours as Python's exact integers
did; these keep that so.)"""

from __future__ import annotations

import time
from pathlib import Path

from scriptexec.codegen.model import program_model
from scriptexec.spec.model import load_spec

from .helpers import Server, render, run

SPEC = """\
version: 1
name: growth
inputs:
  accounts:
    format: csv
    location: data/accounts.csv
    fields: {account_id: string, base: integer, years: integer, digits: integer}
parameters:
  exponent: {type: integer, default: 2, min: 0, max: 100000000}
compute:
  grown: base ** years
  tidy: round(base, digits)
  root: base ** 0.5
  scaled: base ** exponent
interface:
  web: {port: 8080}
"""

# A2's power would have 100,000,000 * log10(7) = 84,509,804.0 digits: it ran for minutes
# (integers are exact in Python). A3's round() computes 10 ** 10,000,000,000 first.
ACCOUNTS = """account_id,base,years,digits
A1,2,10,1
A2,7,100000000,2
A3,5,2,-10000000000
A4,-8,1,0
"""


def build(tmp_path: Path) -> Path:
    spec_path = tmp_path / "growth.yaml"
    spec_path.write_text(SPEC, encoding="utf-8")
    program = program_model(load_spec(spec_path))
    return render(program, tmp_path / "program", {"data/accounts.csv": ACCOUNTS})


def test_huge_powers_and_roundings_are_row_errors(tmp_path: Path) -> None:
    program = build(tmp_path)
    started = time.monotonic()
    result = run(program, "run", "--json")
    assert result.code == 0, result
    assert time.monotonic() - started < 30
    rows = {row["account_id"]: row for row in result.json["rows"]}
    # A1: 2 ** 10 = 1024; round(2, 1) = 2; 2 ** 0.5 = 1.41421356...; 2 ** 2 = 4
    assert rows["A1"]["grown"] == 1024.0 and rows["A1"]["tidy"] == 2.0
    assert rows["A1"]["root"] == 2**0.5 and rows["A1"]["scaled"] == 4.0
    assert rows["A1"]["error"] is None
    # A2: 7 ** 100,000,000 has 84,509,805 digits; the largest number is about 1.8e308.
    assert rows["A2"]["error"] == "number too large in grown"
    assert rows["A2"]["grown"] is None
    # A3: 5 ** 2 = 25, then round() to -10,000,000,000 digits is refused.
    assert rows["A3"]["grown"] == 25.0
    assert rows["A3"]["error"] == "number too large in tidy"
    # A4: (-8) ** 1 = -8; (-8) ** 0.5 is not a real number (Python returns a complex).
    assert rows["A4"]["grown"] == -8.0 and rows["A4"]["tidy"] == -8.0
    assert rows["A4"]["error"] == (
        "invalid value in root: a negative number to a fractional power is not a real number"
    )


def test_a_simulated_exponent_is_refused_not_computed(tmp_path: Path) -> None:
    program = build(tmp_path)
    (program / "data" / "accounts.csv").write_text(
        "account_id,base,years,digits\nA1,9,1,0\n", encoding="utf-8"
    )
    server = Server(program)
    try:
        started = time.monotonic()
        status, body = server.json("POST", "/api/simulate", {"exponent": 99_999_999})
        assert time.monotonic() - started < 20
        assert status == 200, body
        # 9 ** 99,999,999 has 99,999,999 * log10(9) = 95,424,249.9... digits
        assert body["errors"] == [
            {"row": "row 1 (account_id=A1)", "error": "number too large in scaled", "skipped": False}
        ]
    finally:
        server.stop()


def test_a_bad_time_limit_is_a_usage_error(tmp_path: Path) -> None:
    result = run(build(tmp_path), "run", env={"TIME_LIMIT": "soon"})
    assert result.code == 2, result
    assert "error: TIME_LIMIT=soon: expected a number of seconds above 0" in result.err
