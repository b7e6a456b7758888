"""Batch mode of generated programs, against values worked out by hand."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from .helpers import (
    DSCR_CSV,
    LOANS_CSV,
    MARKET_JSON,
    UNITS_CSV,
    model,
    render,
    run,
    write_stock_db,
)

approx = pytest.approx


def rows_by(result: dict, key: str) -> dict:
    return {row[key]: row for row in result["rows"]}


@pytest.fixture
def dscr(tmp_path: Path) -> Path:
    return render(model("dscr"), tmp_path / "dscr", {"data/properties.csv": DSCR_CSV})


# -- DSCR --------------------------------------------------------------------------------


def test_dscr_by_hand(dscr: Path) -> None:
    result = run(dscr, "run", "--json")
    assert result.code == 0, result
    out = result.json
    rows = rows_by(out, "property_id")
    # P1: noi = 200,000 - 75,000 = 125,000; dscr = 125,000 / 100,000 = 1.25, not < 1.25
    assert rows["P1"]["noi"] == 125000 and rows["P1"]["dscr"] == 1.25
    assert rows["P1"]["breach"] is False and rows["P1"]["error"] is None
    # P2 ("1,500,000" with thousands separators): noi = 900,000; dscr = 900/650
    assert rows["P2"]["gross_revenue"] == 1500000
    assert rows["P2"]["dscr"] == approx(1.3846153846)
    # P3 has no debt service: kept, reported, its later fields empty
    assert rows["P3"]["noi"] == 20000
    assert rows["P3"]["dscr"] is None and rows["P3"]["breach"] is None
    assert rows["P3"]["error"] == "division by zero in dscr"
    assert out["errors"] == [
        {"row": "row 3 (property_id=P3)", "error": "division by zero in dscr", "skipped": False}
    ]
    # the summary leaves P3 out: (125,000 + 900,000) / (100,000 + 650,000)
    assert out["summary"]["portfolio_dscr"] == approx(1025000 / 750000)
    assert out["summary"]["properties_in_breach"] == 0


def test_dscr_with_parameters(dscr: Path) -> None:
    result = run(
        dscr, "run", "--json", "--param", "revenue_change_pct=-10", "--param", "covenant=1.2"
    )
    assert result.code == 0, result
    out = result.json
    rows = rows_by(out, "property_id")
    # P1: 180,000 - 75,000 = 105,000 -> 1.05 < 1.2; P2: 1,350,000 - 600,000 = 750,000 -> 1.1538
    assert rows["P1"]["noi"] == approx(105000) and rows["P1"]["breach"] is True
    assert rows["P2"]["dscr"] == approx(750000 / 650000) and rows["P2"]["breach"] is True
    assert out["summary"] == {"portfolio_dscr": approx(855000 / 750000), "properties_in_breach": 2}
    assert out["parameters"] == {
        "revenue_change_pct": -10.0,
        "expense_change_pct": 0.0,
        "covenant": 1.2,
    }


def test_dscr_writes_outputs_exports_and_logs(dscr: Path) -> None:
    result = run(dscr, "run")
    assert result.code == 0, result
    assert "Debt service coverage ratio: 3 rows, 1 in error" in result.out
    assert "row 3 (property_id=P3): division by zero in dscr" in result.out
    results = dscr / "results"
    assert sorted(p.name for p in results.iterdir()) == [
        "report.html",
        "results.csv",
        "summary.json",
    ]
    lines = (results / "results.csv").read_text().splitlines()
    assert (
        lines[0] == "property_id,name,gross_revenue,operating_expenses,annual_debt_service,"
        "noi,dscr,breach,error"
    )
    assert lines[1] == "P1,Harbor Point,200000.0,75000.0,100000.0,125000.0,1.25,false,"
    assert lines[3].endswith(",,,division by zero in dscr")
    summary = json.loads((results / "summary.json").read_text())
    assert summary["summary"]["properties_in_breach"] == 0 and summary["error_count"] == 1
    report = (results / "report.html").read_text()
    assert "<h1>Debt service coverage ratio</h1>" in report and "Elm Street Lofts" in report
    assert sorted(p.suffix for p in (dscr / "exports").iterdir()) == [".csv", ".html", ".json"]
    entries = [json.loads(line) for line in (dscr / "logs" / "dscr.log").read_text().splitlines()]
    assert {"time", "level", "program", "message"} <= set(entries[-1])
    assert any(e["message"] == "3 rows, 1 in error" and "summary" in e for e in entries)


def test_locations_come_from_the_environment(dscr: Path, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere.csv"
    other.write_text(DSCR_CSV.splitlines()[0] + "\nQ9,Solo,100,50,25\n")
    result = run(dscr, "run", "--json", env={"PROPERTIES_LOCATION": str(other)})
    assert result.code == 0, result
    assert [r["property_id"] for r in result.json["rows"]] == ["Q9"]
    assert result.json["rows"][0]["dscr"] == 2.0  # (100 - 50) / 25


@pytest.mark.parametrize(
    ("csv_text", "message"),
    [
        (
            DSCR_CSV.replace("200000,75000", "abc,75000"),
            "error: data/properties.csv, line 2, field gross_revenue: expected a number, got 'abc'",
        ),
        (
            DSCR_CSV.replace("Elm Street Lofts", ""),
            "error: data/properties.csv, line 3, field name: missing value",
        ),
        (
            DSCR_CSV.replace(",annual_debt_service", ",debt"),
            "error: data/properties.csv: no column annual_debt_service (found property_id, name,"
            " gross_revenue, operating_expenses, debt)",
        ),
        (
            DSCR_CSV.replace("90000,70000,0", "90000,70000,inf"),
            "error: data/properties.csv, line 4, field annual_debt_service:"
            " expected a finite number",
        ),
    ],
    ids=["not-a-number", "missing-value", "missing-column", "infinite"],
)
def test_bad_input_is_one_line_naming_file_row_and_field(
    tmp_path: Path, csv_text: str, message: str
) -> None:
    program = render(model("dscr"), tmp_path / "p", {"data/properties.csv": csv_text})
    result = run(program, "run")
    assert result.code == 1, result
    assert result.err.strip().splitlines()[-1].startswith(message), result
    assert "Traceback" not in result.err


def test_missing_input_file(tmp_path: Path) -> None:
    result = run(render(model("dscr"), tmp_path / "p"), "run")
    assert result.code == 1, result
    assert "error: data/properties.csv: no such file" in result.err


@pytest.mark.parametrize(
    ("param", "message"),
    [
        ("covenant=9", "parameter 'covenant' must be at most 3"),
        ("covenant=0.1", "parameter 'covenant' must be at least 0.5"),
        ("covenant=abc", "parameter 'covenant': expected a number, got 'abc'"),
        ("covenant=nan", "parameter 'covenant': expected a finite number"),
        ("nope=1", "unknown parameter 'nope' (parameters: revenue_change_pct,"),
        ("covenant", "--param 'covenant': expected NAME=VALUE"),
    ],
)
def test_bad_parameters_exit_2(dscr: Path, param: str, message: str) -> None:
    result = run(dscr, "run", "--param", param)
    assert result.code == 2, result
    assert message in result.err
    assert not (dscr / "results").exists()


def test_unexpected_failure_points_at_the_log(tmp_path: Path) -> None:
    program = render(model("dscr"), tmp_path / "p", {"data/properties.csv": DSCR_CSV})
    # A compiler bug, not a data error: a query naming a table that does not exist.
    app = program / "app.py"
    app.write_text(app.read_text().replace("FROM source", "FROM no_such_table"))
    result = run(program, "run")
    assert result.code == 1, result
    assert "error: unexpected failure (a bug in dscr); the traceback is in" in result.err
    assert "Traceback" not in result.err
    log = (program / "logs" / "dscr.log").read_text()
    assert "no_such_table does not exist" in log


# -- loan amortization: repeat -------------------------------------------------------------

# L1: 1,200 at 12% a year (1% a month) over 3 months. The payment p repays the loan:
#   1200 * 1.01^3 = p * (1.01^2 + 1.01 + 1)  ->  p = 1236.3612 / 3.0301
PAYMENT = 1236.3612 / 3.0301


def test_loan_schedule_by_hand(tmp_path: Path) -> None:
    program = render(model("loan"), tmp_path / "loan", {"data/loans.csv": LOANS_CSV})
    result = run(program, "run", "--json")
    assert result.code == 0, result
    out = result.json
    l1 = [r for r in out["rows"] if r["loan_id"] == "L1"]
    assert [r["period"] for r in l1] == [1, 2, 3]
    assert all(r["payment"] == approx(PAYMENT) for r in l1)
    assert l1[0]["interest"] == approx(12.0)  # 1% of 1,200
    assert l1[0]["closing_balance"] == approx(1200 + 12 - PAYMENT)
    assert l1[1]["opening_balance"] == approx(l1[0]["closing_balance"])
    assert l1[1]["interest"] == approx(l1[0]["closing_balance"] * 0.01)
    assert l1[2]["closing_balance"] == approx(0, abs=1e-6)  # fully repaid
    # L2 is interest-free: the annuity formula divides by zero, on both of its rows
    l2 = [r for r in out["rows"] if r["loan_id"] == "L2"]
    assert [r["error"] for r in l2] == ["division by zero in payment"] * 2
    assert [e["row"] for e in out["errors"]] == [
        "row 2, period 1 (loan_id=L2)",
        "row 2, period 2 (loan_id=L2)",
    ]
    assert out["summary"] == {
        "total_interest": approx(3 * PAYMENT - 1200),
        "total_paid": approx(3 * PAYMENT),
        "largest_payment": approx(PAYMENT),
        "schedule_rows": 3,
    }


def test_loan_rate_shift(tmp_path: Path) -> None:
    program = render(model("loan"), tmp_path / "loan", {"data/loans.csv": LOANS_CSV})
    result = run(program, "run", "--json", "--param", "rate_shift_pct=12")
    assert result.code == 0, result
    payments = {(r["loan_id"], r["period"]): r["payment"] for r in result.json["rows"]}
    # L1 at 24% (2% a month): p = 1200 * 1.02^3 / (1.02^2 + 1.02 + 1) = 1273.4496 / 3.0604
    assert payments["L1", 1] == approx(1273.4496 / 3.0604)
    # L2 at 12% over 2 months: p = 600 * 1.01^2 / (1.01 + 1) = 612.06 / 2.01
    assert payments["L2", 2] == approx(612.06 / 2.01)
    assert result.json["error_count"] == 0


def test_repeat_count_must_be_a_count(tmp_path: Path) -> None:
    csv_text = LOANS_CSV.replace("L2,Bo,600,0,2", "L2,Bo,600,0,-1")
    program = render(model("loan"), tmp_path / "loan", {"data/loans.csv": csv_text})
    result = run(program, "run")
    assert result.code == 1, result
    assert "error: row 2, field term_months: expected a count >= 0, got -1" in result.err


# -- inventory: sqlite, groups, on_error skip ---------------------------------------------


def test_inventory_by_hand(tmp_path: Path) -> None:
    program = render(model("inventory"), tmp_path / "inv")
    write_stock_db(program / "data" / "inventory.db")
    result = run(program, "run", "--json")
    assert result.code == 0, result
    out = result.json
    rows = rows_by(out, "sku")
    # S1: reorder point 10 * (5 + 7) = 120 > 50 on hand; order ceil(2 * 120 - 50) = 190 at 2.50
    assert rows["S1"]["reorder_point"] == 120 and rows["S1"]["reorder"] is True
    assert rows["S1"]["order_qty"] == 190 and rows["S1"]["order_value"] == 475
    assert rows["S1"]["days_of_cover"] == 5 and rows["S1"]["low_cover"] is True
    # S2: point 4 * 17 = 68 < 500; cover 125 days
    assert rows["S2"]["reorder"] is False and rows["S2"]["order_qty"] == 0
    # S3: point 2.5 * 10 = 25 < 30; cover 30 / 2.5 = 12 < 14 days
    assert rows["S3"]["reorder"] is False and rows["S3"]["low_cover"] is True
    # S4 has no demand: cover divides by zero and on_error: skip drops the row
    assert "S4" not in rows
    assert out["errors"] == [
        {"row": "row 4 (sku=S4)", "error": "division by zero in days_of_cover", "skipped": True}
    ]
    assert "skipped row 4 (sku=S4): division by zero in days_of_cover" in result.err
    assert out["summary"] == {
        "items_to_reorder": 1,
        "total_order_value": 475,
        "mean_days_of_cover": approx((5 + 125 + 12) / 3),
    }
    assert out["groups"] == [
        {
            "category": "paint",
            "items": 1,
            "to_reorder": 0,
            "order_value": 0,
            "mean_cover": 12,
            "error": None,
        },
        {
            "category": "tools",
            "items": 2,
            "to_reorder": 1,
            "order_value": 475,
            "mean_cover": 65,
            "error": None,
        },
    ]
    groups_csv = (program / "results" / "groups.csv").read_text().splitlines()
    assert groups_csv[0] == "category,items,to_reorder,order_value,mean_cover,error"
    assert groups_csv[2] == "tools,2,1,475.0,65.0,"


def test_inventory_demand_up(tmp_path: Path) -> None:
    program = render(model("inventory"), tmp_path / "inv")
    write_stock_db(program / "data" / "inventory.db")
    result = run(
        program, "run", "--json", "--param", "demand_change_pct=20", "--param", "safety_days=0"
    )
    assert result.code == 0, result
    rows = rows_by(result.json, "sku")
    # S1: demand 12, point 12 * 5 = 60 > 50: order ceil(120 - 50) = 70 -> 175.0
    assert rows["S1"]["order_qty"] == 70 and rows["S1"]["order_value"] == 175
    # S3: demand 3, point 3 * 3 = 9 < 30
    assert rows["S3"]["reorder"] is False


def test_sqlite_query_and_a_missing_table(tmp_path: Path) -> None:
    queried = model("inventory")
    queried["inputs"][0]["table"] = None
    queried["inputs"][0]["query"] = (
        "SELECT sku, category, on_hand, daily_demand, lead_time_days, unit_cost"
        " FROM stock WHERE active = 1"
    )
    program = render(queried, tmp_path / "q")
    write_stock_db(program / "data" / "inventory.db")
    result = run(program, "run", "--json")
    assert result.code == 0, result
    assert [r["sku"] for r in result.json["rows"]] == ["S1", "S2", "S3"]  # S4 is inactive

    missing = model("inventory")
    missing["inputs"][0]["table"] = "nothing_here"
    program = render(missing, tmp_path / "m")
    write_stock_db(program / "data" / "inventory.db")
    result = run(program, "run")
    assert result.code == 1, result
    assert "error: data/inventory.db: no such table: nothing_here" in result.err


# -- rent roll: a joined json input, a prose step, groups ---------------------------------


def rent_roll(tmp_path: Path, units: str = UNITS_CSV, on_error: str = "report") -> Path:
    rr = model("rent_roll")
    rr["on_error"] = on_error
    return render(
        rr, tmp_path / f"rr-{on_error}", {"data/units.csv": units, "data/market.json": MARKET_JSON}
    )


def test_rent_roll_by_hand(tmp_path: Path) -> None:
    result = run(rent_roll(tmp_path), "run", "--json")
    assert result.code == 0, result
    out = result.json
    rows = rows_by(out, "unit_id")
    # market rent = sqft * the joined rate per sqft
    assert [rows[u]["market_rent"] for u in ("U1", "U2", "U3", "U4")] == [1300, 1800, 1800, 1000]
    assert [rows[u]["occupied"] for u in ("U1", "U2", "U3", "U4")] == [True, True, False, True]
    assert rows["U3"]["monthly_rent"] is None and rows["U3"]["annual_rent"] == 0  # vacant
    assert [rows[u]["below_market"] for u in ("U1", "U2", "U3", "U4")] == [
        False,
        True,
        False,
        False,
    ]
    # the step's field: rent / market 1.0, 0.83, vacant, 1.2
    assert [rows[u]["rent_band"] for u in ("U1", "U2", "U3", "U4")] == [
        "market",
        "low",
        "vacant",
        "high",
    ]
    assert "rent_band" in out["columns"]
    assert out["summary"] == {
        "occupancy": 0.75,
        "annual_rent_roll": 15600 + 18000 + 14400,
        "potential_rent": (1300 + 1800 + 1800 + 1000) * 12,
    }
    assert out["groups"] == [
        {
            "property": "Maple",
            "units": 3,
            "occupancy": approx(2 / 3),
            "annual_rent": 33600,
            "error": None,
        },
        {"property": "Oak", "units": 1, "occupancy": 1.0, "annual_rent": 14400, "error": None},
    ]


def test_rent_roll_unmatched_join_is_reported(tmp_path: Path) -> None:
    units = UNITS_CSV + "U5,Oak,Loft,700,true,1700\n"
    result = run(rent_roll(tmp_path, units), "run", "--json")
    assert result.code == 0, result
    u5 = rows_by(result.json, "unit_id")["U5"]
    # no market rate: market_rent is missing (propagated, not an error), and the prose
    # step that divides by it fails the row
    assert u5["market_rent_psf"] is None and u5["market_rent"] is None
    assert u5["error"] == "missing value in step rent_band"
    assert "1 row(s) have no match in input market (on unit_type)" in result.err
    assert result.json["summary"]["occupancy"] == 0.75  # U5 is in error: left out


def test_on_error_fail_names_the_row_and_field(tmp_path: Path) -> None:
    units = UNITS_CSV + "U5,Oak,Loft,700,true,1700\n"
    result = run(rent_roll(tmp_path, units, on_error="fail"), "run", "--json")
    assert result.code == 1, result
    assert "error: row 5 (unit_id=U5): missing value in step rent_band" in result.err
    assert result.json == {
        "error": "row 5 (unit_id=U5): missing value in step rent_band",
        "exit_code": 1,
    }


def test_step_errors_are_reported_like_formula_errors(tmp_path: Path) -> None:
    rr = model("rent_roll")
    rr["steps"][0]["code"] = rr["steps"][0]["code"].replace(
        'ratio = row["monthly_rent"] / row["market_rent"]', 'ratio = row["monthly_rent"] / 0'
    )
    program = render(
        rr, tmp_path / "rr", {"data/units.csv": UNITS_CSV, "data/market.json": MARKET_JSON}
    )
    result = run(program, "run", "--json")
    assert result.code == 0, result
    rows = rows_by(result.json, "unit_id")
    assert rows["U1"]["error"] == "division by zero in step rent_band"
    assert rows["U3"]["error"] is None and rows["U3"]["rent_band"] == "vacant"


def test_json_records_path_must_exist(tmp_path: Path) -> None:
    program = render(
        model("rent_roll"),
        tmp_path / "rr",
        {"data/units.csv": UNITS_CSV, "data/market.json": '{"data": {}}'},
    )
    result = run(program, "run")
    assert result.code == 1, result
    assert "error: data/market.json: no list of records at 'data.rates'" in result.err


# -- http and postgres inputs, and fixtures ---------------------------------------------------


class _Api(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        ok = self.headers.get("Authorization") == "Bearer s3cret"
        body = json.dumps(
            {
                "items": [
                    {
                        "property_id": "H1",
                        "name": "Via API",
                        "gross_revenue": 300,
                        "operating_expenses": 100,
                        "annual_debt_service": 100,
                    }
                ]
            }
        ).encode()
        self.send_response(self.status if ok else 401)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/properties?page=1"
    server.shutdown()
    server.server_close()


def http_dscr(tmp_path: Path, url: str) -> Path:
    m = model("dscr")
    m["inputs"][0].update(format="http", location=url, records="items")
    m["needs_network"] = True
    return render(m, tmp_path / "http")


def test_http_input(tmp_path: Path, api: str) -> None:
    program = http_dscr(tmp_path, api)
    result = run(program, "run", "--json", env={"PROPERTIES_TOKEN": "s3cret"})
    assert result.code == 0, result
    assert result.json["rows"][0]["dscr"] == 2.0
    refused = run(program, "run")
    assert refused.code == 1, refused
    shown = api.split("?")[0]  # the message names the host and path, not the query string
    assert f"error: {shown}: HTTP 401 Unauthorized" in refused.err
    local_file = run(program, "run", env={"PROPERTIES_LOCATION": "file:///etc/passwd"})
    assert "error: input properties: file:///etc/passwd is not an http(s) URL" in local_file.err


def test_fixture_replaces_the_source(tmp_path: Path) -> None:
    fixture = tmp_path / "rows.json"
    fixture.write_text(
        json.dumps(
            [
                {
                    "property_id": "F1",
                    "name": "Fixture",
                    "gross_revenue": 10,
                    "operating_expenses": 4,
                    "annual_debt_service": 3,
                }
            ]
        )
    )
    program = http_dscr(tmp_path, "http://127.0.0.1:9/unreachable")
    result = run(program, "run", "--json", env={"PROPERTIES_FIXTURE": str(fixture)})
    assert result.code == 0, result
    assert result.json["rows"][0]["dscr"] == 2.0


def test_postgres_input(tmp_path: Path) -> None:
    m = model("dscr")
    m["inputs"][0].update(format="postgres", location=None, table="properties")
    program = render(m, tmp_path / "pg")
    assert "psycopg[binary]==" in (program / "requirements.txt").read_text()
    assert 'SELECT "property_id", "name", "gross_revenue"' in (program / "app.py").read_text()
    result = run(program, "run")
    assert result.code == 1, result
    assert "error: input properties reads from postgres: set DATABASE_URL" in result.err
    fixture = tmp_path / "rows.json"
    fixture.write_text(
        json.dumps(
            [
                {
                    "property_id": "G1",
                    "name": "Pg",
                    "gross_revenue": "7",
                    "operating_expenses": 1,
                    "annual_debt_service": 2,
                }
            ]
        )
    )
    result = run(program, "run", "--json", env={"PROPERTIES_FIXTURE": str(fixture)})
    assert result.code == 0, result
    assert result.json["rows"][0]["dscr"] == 3.0
