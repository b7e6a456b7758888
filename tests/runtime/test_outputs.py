"""What a run writes (scriptexec.runtime.outputs and the modules it uses): files written by
DuckDB from a real results table, cell for cell as earlier versions wrote them, the HTML
report cut at REPORT_ROWS, and export sets that reuse the outputs and are pruned."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import random
import re
import struct
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scriptexec.runtime.display import Judge, display, field_digits, humanize
from scriptexec.runtime.errors import ProgramError, UsageError
from scriptexec.runtime.execute import Result
from scriptexec.runtime.exports import claim_export_name, exports_keep
from scriptexec.runtime.outputs import write_outputs
from scriptexec.runtime.program import Parameter, Program, Queries, Query, Value
from scriptexec.runtime.report import report_html
from scriptexec.runtime.rowfiles import copy_rows, to_csv, write_document
from scriptexec.runtime.settings import set_home

COLUMNS = ("id", "name", "amount", "count", "flag")
TABLE = (
    "CREATE OR REPLACE TEMP TABLE results (id VARCHAR, name VARCHAR, amount DOUBLE, count BIGINT,"
    ' flag BOOLEAN, "error" VARCHAR, _ord BIGINT, _label VARCHAR)'
)
# (_ord, id, name, amount, count, flag, error), listed out of order: result_over sorts them.
ROWS = [
    (2, "+P2", "@SUM(A1)", -5.2, -7, False, None),
    (1, "=1+1", 'say "hi", then go', 200000.0, 3, True, None),
    (4, "P4", "\rcr", 1e-05, 0, True, None),
    (3, "-P3", "\ttab", 1e16, None, None, "division by zero in amount"),
    (6, "P6", "line\nbreak", -0.0, 9223372036854775807, False, None),
    (5, "#5", "", 0.1 + 0.2, 12, None, None),
]
# The same rows as the CSV must have them: a quote before text a spreadsheet would run as
# a formula (= + - @ tab CR first), numbers as Python writes them, NULL and "" both empty,
# quotes only around a comma, a quote or a line break; LF line ends.
EXPECTED_CSV = (
    "id,name,amount,count,flag,error\n"
    '\'=1+1,"say ""hi"", then go",200000.0,3,true,\n'
    "'+P2,'@SUM(A1),-5.2,-7,false,\n"
    "'-P3,'\ttab,1e+16,,,division by zero in amount\n"
    'P4,"\'\rcr",1e-05,0,true,\n'
    "#5,,0.30000000000000004,12,,\n"
    'P6,"line\nbreak",-0.0,9223372036854775807,false,\n'
)


def program(**changes: Any) -> Program:
    values: dict[str, Any] = {
        "name": "demo",
        "title": "Demo <report>",
        "description": "Amounts & counts",
        "inputs": (),
        "columns": COLUMNS,
        "queries": Queries(Query(""), Query(""), Query("")),
        "parameters": (Parameter("covenant", "number", 1.25, unit=None, label="Covenant"),),
        "summary": (Value("total", "number"),),
        "outputs": ("results.csv", "summary.json"),
    }
    values.update(changes)
    return Program(**values)


def result_over(
    db: duckdb.DuckDBPyConnection, rows: list[tuple[Any, ...]], **changes: Any
) -> Result:
    """A Result by hand over table "results" holding `rows`, in row order (_ord) as
    evaluate writes them: the files are written in the table's order."""
    rows = sorted(rows, key=lambda r: r[0])
    db.execute(TABLE)
    if rows:
        db.executemany(
            "INSERT INTO results VALUES (?, ?, ?, ?, ?, ?, ?, 'row ' || ?)",
            [(*r[1:], r[0], r[0]) for r in rows],
        )
    errors = [
        {"row": f"row {r[0]} (id={r[1]})", "error": r[6], "skipped": False} for r in rows if r[6]
    ]
    values: dict[str, Any] = {
        "program": program(),
        "db": db,
        "parameters": {"covenant": 1.25},
        "row_count": len(rows),
        "summary": {"total": 1.5},
        "summary_errors": [],
        "groups": [],
        "errors": errors,
    }
    values.update(changes)
    return Result(**values)


@pytest.fixture
def db() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


@pytest.fixture
def result(db: duckdb.DuckDBPyConnection) -> Result:
    return result_over(db, ROWS)


@pytest.fixture
def dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The program's home in tmp_path, outputs in results/, exports in exports/."""
    set_home(tmp_path)
    for name in ("OUTPUT_DIR", "EXPORTS_DIR", "EXPORTS_KEEP", "REPORT_ROWS"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def read(path: Path) -> str:
    """A file's text with its line endings as written."""
    with path.open(encoding="utf-8", newline="") as handle:
        return handle.read()


# -- the rows as files ---------------------------------------------------------------------


def test_results_csv_cells_are_as_earlier_versions_wrote_them(
    result: Result, tmp_path: Path
) -> None:
    copy_rows(result, tmp_path / "results.csv", "csv")
    assert read(tmp_path / "results.csv") == EXPECTED_CSV
    # a spreadsheet-safe file that still reads back as the rows
    rows = list(csv.reader(io.StringIO(EXPECTED_CSV, newline="")))
    assert [r[1] for r in rows[1:]] == [
        'say "hi", then go',
        "'@SUM(A1)",
        "'\ttab",
        "'\rcr",
        "",
        "line\nbreak",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.csv"]  # no partial left


def test_an_empty_result_is_a_header_line(db: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    copy_rows(result_over(db, []), tmp_path / "results.csv", "csv")
    assert read(tmp_path / "results.csv") == "id,name,amount,count,flag,error\n"
    copy_rows(result_over(db, []), tmp_path / "results.json", "json")
    assert json.loads(read(tmp_path / "results.json")) == []


_text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=12) | st.sampled_from(
    ["=x", "+1", "-1", "@a", "\tx", "\rx", "#", "", "a,b", '"', "\n", "\r\n"]
)
_row = st.tuples(
    st.none() | _text,
    st.none() | st.floats(allow_nan=False, allow_infinity=False),
    st.none() | st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.none() | st.booleans(),
)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(_row, max_size=6))
def test_duckdb_writes_the_csv_the_python_writer_did(
    rows: list[tuple[Any, ...]], db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """The rows' CSV (DuckDB) against the Python writer that wrote results.csv before
    (kept for groups.csv), on any text, number and boolean."""
    full = [
        (n + 1, text, text, number, count, flag, None)
        for n, (text, number, count, flag) in enumerate(rows)
    ]
    copy_rows(result_over(db, full), tmp_path / "h.csv", "csv")
    dicts = [dict(zip([*COLUMNS, "error"], r[1:], strict=True)) for r in full]
    assert read(tmp_path / "h.csv") == to_csv(dicts, [*COLUMNS, "error"])


def test_every_double_is_written_as_python_writes_it(
    db: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """DuckDB's shortest round-trip formatting against repr(), on doubles from random bit
    patterns (every exponent: subnormals, 1e+16, 1e-05) and on decimal-looking ones."""
    rng = random.Random(20240601)
    values = [struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0] for _ in range(20_000)]
    values += [rng.randint(-(10**12), 10**12) / 10 ** rng.randint(0, 8) for _ in range(10_000)]
    values = [v for v in values if math.isfinite(v)]
    source = tmp_path / "values.csv"
    source.write_text("".join(f"{n},{v!r}\n" for n, v in enumerate(values, 1)), encoding="utf-8")
    result = result_over(db, [], row_count=len(values))
    db.execute(
        "INSERT INTO results SELECT NULL, NULL, v, NULL, NULL, NULL, n, NULL FROM read_csv($path,"
        " columns = {'n': 'BIGINT', 'v': 'DOUBLE'}, header = false)",
        {"path": str(source)},
    )
    copy_rows(result, tmp_path / "results.csv", "csv")
    lines = read(tmp_path / "results.csv").splitlines()[1:]
    assert lines == [f",,{v!r},,," for v in values]


def test_results_json_is_exact(result: Result, tmp_path: Path) -> None:
    copy_rows(result, tmp_path / "results.json", "json")
    rows = json.loads(read(tmp_path / "results.json"))
    assert [r["id"] for r in rows] == ["=1+1", "+P2", "-P3", "P4", "#5", "P6"]  # no quote added
    assert rows[0] == {
        "id": "=1+1",
        "name": 'say "hi", then go',
        "amount": 200000.0,
        "count": 3,
        "flag": True,
        "error": None,
    }
    assert type(rows[0]["amount"]) is float and type(rows[0]["count"]) is int
    assert [r["amount"] for r in rows] == [200000.0, -5.2, 1e16, 1e-05, 0.30000000000000004, -0.0]
    assert rows[5]["count"] == 2**63 - 1


def test_json_has_no_infinity(db: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    result = result_over(db, [(1, "a", "b", float("inf"), 1, True, None)])
    copy_rows(result, tmp_path / "results.json", "json")
    assert json.loads(read(tmp_path / "results.json"))[0]["amount"] is None  # as values.clean


def test_results_parquet_keeps_types_and_values(result: Result, tmp_path: Path) -> None:
    copy_rows(result, tmp_path / "results.parquet", "parquet")
    check = duckdb.connect()
    found = check.execute(f"SELECT * FROM read_parquet('{tmp_path / 'results.parquet'}')")
    assert [d[0] for d in found.description] == [*COLUMNS, "error"]
    values = found.fetchall()
    assert values[0] == ("=1+1", 'say "hi", then go', 200000.0, 3, True, None)
    assert values[2] == ("-P3", "\ttab", 1e16, None, None, "division by zero in amount")
    kinds = check.execute(f"DESCRIBE SELECT * FROM '{tmp_path / 'results.parquet'}'").fetchall()
    assert [k[1] for k in kinds] == ["VARCHAR", "VARCHAR", "DOUBLE", "BIGINT", "BOOLEAN", "VARCHAR"]
    check.close()


def test_the_whole_document_splices_the_rows_in(result: Result, tmp_path: Path) -> None:
    write_document(result, tmp_path / "all.json")
    document = json.loads(read(tmp_path / "all.json"))
    assert document["name"] == "demo" and document["parameters"] == {"covenant": 1.25}
    assert document["columns"] == [*COLUMNS, "error"]
    assert document["row_count"] == 6 and document["error_count"] == 1
    assert document["errors"] == [
        {"row": "row 3 (id=-P3)", "error": "division by zero in amount", "skipped": False}
    ]
    assert [r["id"] for r in document["rows"]] == ["=1+1", "+P2", "-P3", "P4", "#5", "P6"]
    assert document == {**result.document(rows=False), "rows": result.rows()}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["all.json"]  # its scratch file gone


# -- write_outputs ---------------------------------------------------------------------------


def test_the_spec_outputs_and_an_export_set(result: Result, dirs: Path) -> None:
    result.program = program(
        outputs=("results.csv", "results.json", "results.parquet", "summary.json", "report.html")
    )
    written = write_outputs(result)
    results = dirs / "results"
    assert sorted(p.name for p in results.iterdir()) == [
        "report.html",
        "results.csv",
        "results.json",
        "results.parquet",
        "summary.json",
    ]
    assert read(results / "results.csv") == EXPECTED_CSV
    assert json.loads(read(results / "summary.json")) == {
        "name": "demo",
        "title": "Demo <report>",
        "parameters": {"covenant": 1.25},
        "summary": {"total": 1.5},
        "summary_errors": [],
        "row_count": 6,
        "error_count": 1,
        "left_out": {},
        "warnings": [],
    }
    exports = sorted((dirs / "exports").iterdir())
    assert [p.suffix for p in exports] == [".csv", ".html", ".json"]
    stem = exports[0].stem
    assert re.fullmatch(r"demo-[0-9]{8}-[0-9]{6}-[0-9]{6}", stem)
    assert written == [results / n for n in result.program.outputs] + [
        dirs / "exports" / f"{stem}{s}" for s in (".csv", ".json", ".html")
    ]
    # written once: the export's CSV and report are the outputs' own files (hard links)
    assert os.path.samefile(exports[0], results / "results.csv")
    assert os.path.samefile(exports[1], results / "report.html")
    document = json.loads(read(exports[2]))
    assert document["rows"] == json.loads(read(results / "results.json"))
    assert document["summary"] == {"total": 1.5}


def test_groups_csv_is_written_for_a_program_with_groups(
    db: duckdb.DuckDBPyConnection, dirs: Path
) -> None:
    groups = [
        {"id": "=cmd", "total": 2.5, "n": 2, "error": None},
        {"id": None, "total": None, "n": 0, "error": "division by zero in total"},
    ]
    result = result_over(db, ROWS[:1], groups=groups)
    result.program = program(
        group_by=("id",),
        group_summary=(
            Value("total", "number"),
            Value("n", "integer"),
        ),
    )
    write_outputs(result)
    assert read(dirs / "results" / "groups.csv") == (
        "id,total,n,error\n'=cmd,2.5,2,\n,,0,division by zero in total\n"
    )


def test_the_export_csv_is_written_when_results_csv_is_not_an_output(
    result: Result, dirs: Path
) -> None:
    result.program = program(outputs=("summary.json",))
    write_outputs(result)
    (csv_file,) = (dirs / "exports").glob("*.csv")
    assert read(csv_file) == EXPECTED_CSV
    assert sorted(p.name for p in (dirs / "results").iterdir()) == ["summary.json"]


def test_exports_keep_prunes_old_sets_and_leaves_other_files(
    result: Result, dirs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exports = dirs / "exports"
    exports.mkdir()
    (exports / "notes.txt").write_text("mine")
    (exports / "other-20200101-000000.csv").write_text("not this program's")
    for suffix in (".csv", ".json", ".html"):  # a set named as older versions named them
        (exports / f"demo-20200101-000000{suffix}").write_text("{}")
    monkeypatch.setenv("EXPORTS_KEEP", "2")
    for covenant in (1.1, 1.2, 1.3):
        result.parameters = {"covenant": covenant}
        write_outputs(result)
    stems = sorted({p.stem for p in exports.glob("demo-*")})
    assert len(stems) == 2
    kept = [json.loads(read(exports / f"{s}.json"))["parameters"]["covenant"] for s in stems]
    assert kept == [1.2, 1.3]
    assert (exports / "notes.txt").exists() and (exports / "other-20200101-000000.csv").exists()
    assert not list(exports.glob(".*"))  # no claim file left behind


def test_exports_keep_zero_writes_no_exports(
    result: Result, dirs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXPORTS_KEEP", "0")
    assert write_outputs(result) == [
        dirs / "results" / "results.csv",
        dirs / "results" / "summary.json",
    ]
    assert not (dirs / "exports").exists()


@pytest.mark.parametrize("value", ["many", "-1", "2.5", "+3", "٣"])
def test_a_bad_exports_keep_is_refused_before_anything_is_written(
    result: Result, dirs: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("EXPORTS_KEEP", value)
    with pytest.raises(UsageError) as caught:
        write_outputs(result)
    assert (
        str(caught.value)
        == f"EXPORTS_KEEP={value}: expected a whole number of export sets (0 or more)"
    )
    assert not (dirs / "results").exists()


def test_a_bad_report_rows_is_refused_before_anything_is_written(
    result: Result, dirs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPORT_ROWS", "0")
    with pytest.raises(UsageError, match=r"^REPORT_ROWS=0: expected a whole number above 0$"):
        write_outputs(result)
    assert not (dirs / "results").exists()


def test_exports_keep_default_is_five(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EXPORTS_KEEP", raising=False)
    assert exports_keep() == 5


def test_an_unwritable_output_dir_is_a_program_error(
    result: Result, dirs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (dirs / "blocked").write_text("a file, not a directory")
    monkeypatch.setenv("OUTPUT_DIR", str(dirs / "blocked" / "results"))
    with pytest.raises(ProgramError, match=r"^cannot write .*blocked.*: Not a directory$"):
        write_outputs(result)


def test_runs_at_the_same_moment_claim_separate_sets(tmp_path: Path) -> None:
    stems: list[str] = []
    start = threading.Barrier(8)

    def claim() -> None:
        start.wait()
        stems.append(claim_export_name(tmp_path, "demo")[0])

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(stems)) == 8
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f".{s}.claim" for s in stems)


# -- the report ------------------------------------------------------------------------------


def cells(report: str, heading: str) -> list[list[str]]:
    """The body cells of the table under <h2>heading</h2>, row by row."""
    table = report.split(f"<h2>{heading}</h2>", 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table.split("<tbody>", 1)[1], re.S)
    return [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for row in rows]


def test_the_report_shows_every_row_up_to_its_limit(result: Result) -> None:
    report = report_html(result, 1000, "results.csv")
    assert "<title>Demo &lt;report&gt;</title>" in report
    assert '<p class="muted">6 rows, 1 in error.' in report
    assert cells(report, "Parameters") == [["Covenant", "1.25"]]
    rows = cells(report, "Results")
    assert [r[0] for r in rows] == ["=1+1", "+P2", "-P3", "P4", "#5", "P6"]  # HTML needs no quote
    # 200,000 is the largest amount: no decimals for the column
    assert [r[2] for r in rows] == ["200,000", "-5", "10,000,000,000,000,000", "0", "0", "-0"]
    assert rows[0][1] == "say &quot;hi&quot;, then go"
    assert cells(report, "Rows in error") == [["row 3 (id=-P3)", "division by zero in amount"]]
    assert "REPORT_ROWS" not in report


def test_a_long_result_is_cut_at_report_rows_and_says_where_the_rest_is(
    db: duckdb.DuckDBPyConnection,
) -> None:
    result = result_over(db, [], row_count=2500)
    db.execute(
        "INSERT INTO results SELECT 'P' || n, 'x', n, n, true,"
        " CASE WHEN n % 2 = 1 THEN 'bad' END, n, 'row ' || n FROM range(1, 2501) r(n)"
    )
    result.errors = [
        {"row": f"row {n}", "error": "bad", "skipped": False} for n in range(1, 2501, 2)
    ]
    report = report_html(result, 1000, "results.csv")
    shown = cells(report, "Results")
    assert len(shown) == 1000 and shown[0][0] == "P1" and shown[-1][0] == "P1000"
    assert "The first 1,000 of 2,500 rows (REPORT_ROWS); all of them are in results.csv." in report
    assert len(cells(report, "Rows in error")) == 1000  # of 1,250
    assert "The first 1,000 of 1,250 rows in error (REPORT_ROWS)." in report


def test_an_export_of_a_cut_report_names_its_own_csv(
    db: duckdb.DuckDBPyConnection, dirs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPORT_ROWS", "2")
    result = result_over(db, ROWS)
    result.program = program(outputs=("results.csv", "report.html"))
    write_outputs(result)
    assert "all of them are in results.csv." in read(dirs / "results" / "report.html")
    (html,) = (dirs / "exports").glob("*.html")
    assert f"all of them are in {html.stem}.csv." in read(html)
    assert not os.path.samefile(html, dirs / "results" / "report.html")


def test_the_report_judges_values_against_their_threshold(db: duckdb.DuckDBPyConnection) -> None:
    # 1.2483 (a portfolio DSCR) beside a 1.25 covenant must not read 1.25
    db.execute(
        'CREATE TEMP TABLE results (id VARCHAR, dscr DOUBLE, breach BOOLEAN, "error" VARCHAR, _ord BIGINT)'
    )
    db.execute(
        "INSERT INTO results VALUES ('P1', 1.6, false, NULL, 1), ('P2', 0.8966, true, NULL, 2)"
    )
    judged = {
        "thresholds": {"dscr": "covenant"},
        "related": {"portfolio_dscr": "dscr", "lowest_dscr": "dscr"},
        "flags": {"breach": "bad"},
    }
    near = program(columns=("id", "dscr", "breach"), judged=judged)
    result = Result(
        near,
        db,
        {"covenant": 1.25},
        2,
        {"portfolio_dscr": 249660 / 200000, "lowest_dscr": 0.8966},
        [],
        [],
        [],
    )
    report = report_html(result, 1000)
    assert '<div class="label">Portfolio DSCR</div><div class="value bad">1.248</div>' in report
    assert '<div class="label">Lowest DSCR</div><div class="value bad">0.897</div>' in report
    rows = cells(report, "Results")
    assert [r[1] for r in rows] == ["1.600", "0.897"]
    assert '<td class="num bad">0.897</td><td class="bad">Yes</td>' in report
    assert '<td class="num">1.600</td><td>No</td>' in report


# -- display -----------------------------------------------------------------------------


def test_humanize_and_display() -> None:
    assert humanize("gross_revenue") == "Gross revenue"
    assert humanize("dscr") == "DSCR"
    assert humanize("revenue_change_pct") == "Revenue change %"
    assert [display(v) for v in (None, True, False, 1234567, 0.005, -10.0, 1.25, -0.0000001)] == [
        "—",
        "Yes",
        "No",
        "1,234,567",
        "0.005",
        "-10",
        "1.25",
        "0",
    ]
    assert display(1234.5678, 2) == "1,234.57"


def test_field_digits_follow_the_largest_value_and_the_threshold() -> None:
    judge = Judge({"thresholds": {"dscr": "covenant"}}, {"covenant": 1.25}, {})
    rows = [{"dscr": 1.2483, "rent": 125000.5, "rate": 0.0345, "sqft": 650.0}]
    # dscr: 1.25 and 1.2483 read the same at 2 decimals, 1.248 at 3
    assert field_digits(judge, rows) == {"dscr": 3, "rent": 0, "rate": 4, "sqft": 0}
