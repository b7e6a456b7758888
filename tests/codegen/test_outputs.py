"""What a generated program writes: CSV that a spreadsheet cannot run as formulas, exact JSON,
and export sets that are uniquely named and pruned."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .helpers import DSCR_CSV, Server, model, render, run

HEADER = "property_id,name,gross_revenue,operating_expenses,annual_debt_service"

# Text cells a spreadsheet would run as formulas (=, +, -, @, tab, CR first), and negative
# numbers, which must stay numbers.
HOSTILE_CSV = (
    HEADER
    + '\n=1+1,"=HYPERLINK(""http://evil.example/"",""x"")",200000,-5.2,100000'
    + "\n+P2,@SUM(A1),300,100,100"
    + '\n-P3,"\ttab",300,100,100'
    + '\nP4,"\rcr",300,100,100'
    + "\nP5,plain - text,-300,-100,-100\n"
)
# The same cells as a spreadsheet-safe CSV shows them: a single quote before each text cell
# that starts with a formula character; numbers, and text starting otherwise, unchanged.
SAFE_ID = ["'=1+1", "'+P2", "'-P3", "P4", "P5"]
SAFE_NAME = [
    '\'=HYPERLINK("http://evil.example/","x")',
    "'@SUM(A1)",
    "'\ttab",
    "'\rcr",
    "plain - text",
]
# The values as read, which JSON keeps exactly.
RAW_ID = ["=1+1", "+P2", "-P3", "P4", "P5"]
RAW_NAME = ['=HYPERLINK("http://evil.example/","x")', "@SUM(A1)", "\ttab", "\rcr", "plain - text"]


def read(path: Path) -> str:
    """A CSV file's text with its line endings as written (a "\r" inside a value kept)."""
    with path.open(encoding="utf-8", newline="") as handle:
        return handle.read()


def parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def check_safe_csv(text: str) -> None:
    header, *rows = parse(text)
    assert header == [*HEADER.split(","), "noi", "dscr", "breach", "error"]
    assert [r[0] for r in rows] == SAFE_ID
    assert [r[1] for r in rows] == SAFE_NAME
    assert rows[0][3] == "-5.2"  # a negative number stays a number
    # +P2: (300 - 100) / 100 = 2; P5: (-300 - -100) / -100 = 2
    assert rows[1][2:] == ["300.0", "100.0", "100.0", "200.0", "2.0", "false", ""]
    assert rows[4][2:] == ["-300.0", "-100.0", "-100.0", "-200.0", "2.0", "false", ""]


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    return render(model("dscr"), tmp_path / "dscr", {"data/properties.csv": HOSTILE_CSV})


def test_csv_outputs_neutralise_formulas_and_json_stays_exact(hostile: Path) -> None:
    result = run(hostile, "run", "--json")
    assert result.code == 0, result
    assert [r["property_id"] for r in result.json["rows"]] == RAW_ID
    assert [r["name"] for r in result.json["rows"]] == RAW_NAME
    assert result.json["rows"][0]["operating_expenses"] == -5.2

    check_safe_csv(read(hostile / "results" / "results.csv"))
    (export_csv,) = (hostile / "exports").glob("*.csv")
    check_safe_csv(read(export_csv))
    (export_json,) = (hostile / "exports").glob("*.json")
    rows = json.loads(export_json.read_text())["rows"]
    assert [r["property_id"] for r in rows] == RAW_ID and [r["name"] for r in rows] == RAW_NAME


@pytest.fixture
def hostile_server(hostile: Path) -> Iterator[Server]:
    server = Server(hostile)
    yield server
    server.stop()


def test_downloads_neutralise_formulas_and_json_stays_exact(hostile_server: Server) -> None:
    status, _, data = hostile_server.request("GET", "/api/download?format=csv")
    assert status == 200
    check_safe_csv(data.decode())
    status, body = hostile_server.json("GET", "/api/results")
    assert status == 200
    assert [r["property_id"] for r in body["rows"]] == RAW_ID
    assert [r["name"] for r in body["rows"]] == RAW_NAME
    status, _, data = hostile_server.request("GET", "/api/download?format=json")
    assert [r["name"] for r in json.loads(data)["rows"]] == RAW_NAME


def test_group_labels_are_neutralised_too(tmp_path: Path) -> None:
    import sqlite3

    program = render(model("inventory"), tmp_path / "inv")
    (program / "data").mkdir()
    connection = sqlite3.connect(program / "data" / "inventory.db")
    with connection:
        connection.execute(
            "CREATE TABLE stock (sku TEXT, category TEXT, on_hand INTEGER, daily_demand REAL,"
            " lead_time_days INTEGER, unit_cost REAL, active INTEGER)"
        )
        connection.execute("INSERT INTO stock VALUES ('S1', '=cmd', 500, 4.0, 10, 1.0, 1)")
    connection.close()
    result = run(program, "run", "--json")
    assert result.code == 0, result
    assert result.json["groups"][0]["category"] == "=cmd"
    groups = parse(read(program / "results" / "groups.csv"))
    assert groups[1][0] == "'=cmd"


# -- exports -------------------------------------------------------------------------------


def export_sets(program: Path) -> dict[str, set[str]]:
    """{stem: {suffixes}} of the files in exports/, hidden files left out."""
    sets: dict[str, set[str]] = {}
    for path in (program / "exports").iterdir():
        if not path.name.startswith("."):
            sets.setdefault(path.name.rsplit(".", 1)[0], set()).add(path.suffix)
    return sets


def covenants(program: Path) -> list[float]:
    """The covenant of each export set, oldest first (names sort by time)."""
    stems = sorted(s for s in export_sets(program) if s.startswith("dscr-"))
    values = []
    for stem in stems:
        document = json.loads((program / "exports" / f"{stem}.json").read_text())
        values.append(document["parameters"]["covenant"])
    return values


@pytest.fixture
def dscr(tmp_path: Path) -> Path:
    return render(model("dscr"), tmp_path / "dscr", {"data/properties.csv": DSCR_CSV})


def test_exports_keep_the_last_five_sets_by_default(dscr: Path) -> None:
    for n in range(7):
        result = run(dscr, "run", "--param", f"covenant={1 + n / 10}")
        assert result.code == 0, result
    assert list(export_sets(dscr).values()) == [{".csv", ".json", ".html"}] * 5
    assert covenants(dscr) == [1.2, 1.3, 1.4, 1.5, 1.6]  # runs 3 to 7 of 1.0 ... 1.6


def test_exports_keep_sets_as_the_environment_says(dscr: Path) -> None:
    exports = dscr / "exports"
    exports.mkdir()
    (exports / "notes.txt").write_text("mine")
    (exports / "other-20200101-000000.csv").write_text("not this program's")
    for suffix in (".csv", ".json", ".html"):  # a set named as older versions named them
        (exports / f"dscr-20200101-000000{suffix}").write_text("{}")
    for covenant in ("1.1", "1.2", "1.3"):
        result = run(dscr, "run", "--param", f"covenant={covenant}", env={"EXPORTS_KEEP": "2"})
        assert result.code == 0, result
    assert covenants(dscr) == [1.2, 1.3]
    assert set(export_sets(dscr)) >= {"notes", "other-20200101-000000"}
    assert len(export_sets(dscr)) == 4


def test_exports_keep_zero_writes_no_exports(dscr: Path) -> None:
    result = run(dscr, "run", env={"EXPORTS_KEEP": "0"})
    assert result.code == 0, result
    assert (dscr / "results" / "results.csv").exists()
    assert not (dscr / "exports").exists() or export_sets(dscr) == {}


@pytest.mark.parametrize("value", ["many", "-1", "2.5"])
def test_a_bad_exports_keep_is_a_usage_error(dscr: Path, value: str) -> None:
    result = run(dscr, "run", env={"EXPORTS_KEEP": value})
    assert result.code == 2, result
    assert f"error: EXPORTS_KEEP={value}: expected a whole number of export sets (0 or more)" in (
        result.err
    )
    assert not (dscr / "results").exists() and not (dscr / "exports").exists()


def test_runs_in_the_same_second_write_separate_sets(dscr: Path) -> None:
    # Six runs at once start within the same second; each must get its own complete set.
    covenant_values = [f"1.{n}" for n in range(6)]

    def one(covenant: str) -> int:
        env = {"EXPORTS_KEEP": "100"}
        return run(dscr, "run", "--param", f"covenant={covenant}", env=env).code

    with ThreadPoolExecutor(max_workers=6) as pool:
        assert list(pool.map(one, covenant_values)) == [0] * 6
    sets = export_sets(dscr)
    assert list(sets.values()) == [{".csv", ".json", ".html"}] * 6, sets
    assert sorted(covenants(dscr)) == [float(c) for c in covenant_values]
