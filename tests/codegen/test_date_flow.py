"""A spec with date fields, a date parameter and nested JSON fields, built and run end to
end: the values a run prints and writes, overrides from the command line and the API,
and the one-line messages for bad data. Expected values are worked out by hand."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from scriptexec.codegen.model import program_model
from scriptexec.spec.model import load_spec

from .helpers import Server, render, run

SPEC = """\
version: 1
name: leases
inputs:
  leases:
    format: csv
    location: data/leases.csv
    fields:
      lease_id: string
      lease_end: date
      signed: datetime?
      renewal: {type: date, format: "%d/%m/%Y", required: false}
parameters:
  as_of: {type: date, default: 2024-06-30, min: 2020-01-01, max: 2030-12-31}
compute:
  expired: lease_end < as_of
  renewed_late: renewal > lease_end
summary:
  expired_count: count(expired)
  last_end: max(lease_end)
outputs: [results.csv, results.json, results.parquet, summary.json, report.html]
interface: {web: {port: 8080}}
"""
LEASES = """lease_id,lease_end,signed,renewal
L1,2024-03-31,2024-01-15T09:30:00+01:00,15/04/2024
L2,2025-01-31,,
L3,2024-06-30,2024-06-01 12:00:00.5,01/06/2024
"""


def build(directory: Path, spec: str = SPEC, data: dict[str, str] | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "spec.yaml"
    path.write_text(spec, encoding="utf-8")
    model = program_model(load_spec(path))
    return render(model, directory / "program", data or {"data/leases.csv": LEASES})


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("leases"))


def test_dates_flow_from_the_csv_to_the_json_result(program: Path) -> None:
    result = run(program, "run", "--json")
    assert result.code == 0, result
    document = result.json
    assert document["parameters"] == {"as_of": "2024-06-30"}
    rows = [
        {k: r[k] for k in ("lease_id", "lease_end", "signed", "renewal", "expired", "renewed_late")}
        for r in document["rows"]
    ]
    assert rows == [
        # 09:30 at +01:00 is 08:30 UTC; the renewal is 15 April, after the 31 March end
        {"lease_id": "L1", "lease_end": "2024-03-31", "signed": "2024-01-15T08:30:00",
         "renewal": "2024-04-15", "expired": True, "renewed_late": True},
        {"lease_id": "L2", "lease_end": "2025-01-31", "signed": None,
         "renewal": None, "expired": False, "renewed_late": None},
        # ends on as_of itself: not before it, so not expired; renewed a month early
        {"lease_id": "L3", "lease_end": "2024-06-30", "signed": "2024-06-01T12:00:00.500000",
         "renewal": "2024-06-01", "expired": False, "renewed_late": False},
    ]  # fmt: skip
    # one lease ended before 2024-06-30 (L1); the latest end is L2's
    assert document["summary"] == {"expired_count": 1, "last_end": "2025-01-31"}


def test_every_output_writes_dates_as_the_spec_reference_says(program: Path) -> None:
    result = run(program, "run", "--param", "as_of=2025-02-01")
    assert result.code == 0, result
    results = program / "results"
    # as of 1 February 2025 every lease has ended: 3 expired
    assert "expired_count  3" in result.out
    assert (results / "results.csv").read_text(encoding="utf-8").splitlines() == [
        "lease_id,lease_end,signed,renewal,expired,renewed_late,error",
        "L1,2024-03-31,2024-01-15T08:30:00,2024-04-15,true,true,",
        "L2,2025-01-31,,,true,,",
        "L3,2024-06-30,2024-06-01T12:00:00.500000,2024-06-01,true,false,",
    ]
    rows = json.loads((results / "results.json").read_text(encoding="utf-8"))
    assert rows[0]["lease_end"] == "2024-03-31" and rows[0]["signed"] == "2024-01-15T08:30:00"
    summary = json.loads((results / "summary.json").read_text(encoding="utf-8"))
    assert summary["parameters"] == {"as_of": "2025-02-01"}
    assert summary["summary"] == {"expired_count": 3, "last_end": "2025-01-31"}
    types = duckdb.execute(
        "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet($p))",
        {"p": str(results / "results.parquet")},
    ).fetchall()
    assert ("lease_end", "DATE") in types and ("signed", "TIMESTAMP") in types
    report = (results / "report.html").read_text(encoding="utf-8")
    assert "<td>2024-01-15T08:30:00</td>" in report and "<td>2025-02-01</td>" in report


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            "as_of=2024-13-01",
            "parameter 'as_of' must be a date (YYYY-MM-DD) or today, got '2024-13-01'",
        ),
        (
            "as_of=30/06/2024",
            "parameter 'as_of' must be a date (YYYY-MM-DD) or today, got '30/06/2024'",
        ),
        ("as_of=2019-12-31", "parameter 'as_of' must be 2020-01-01 or later"),
    ],
)
def test_a_bad_date_override_is_a_usage_error(program: Path, given: str, message: str) -> None:
    result = run(program, "run", "--param", given)
    assert result.code == 2, result
    assert result.err.strip().splitlines()[-1] == f"error: {message}"


def test_a_bad_date_in_the_data_names_file_line_field_and_value(tmp_path: Path) -> None:
    data = {"data/leases.csv": LEASES.replace("L2,2025-01-31", "L2,2025-13-01")}
    program = build(tmp_path, data=data)
    result = run(program, "run")
    assert result.code == 1, result
    assert result.err.strip().splitlines()[-1] == (
        "error: data/leases.csv, line 3, field lease_end: expected a date (YYYY-MM-DD),"
        " got '2025-13-01'"
    )
    assert not (program / "results").exists()


def test_a_bad_date_in_the_declared_format(tmp_path: Path) -> None:
    data = {"data/leases.csv": LEASES.replace("15/04/2024", "2024-04-15")}
    result = run(build(tmp_path, data=data), "run")
    assert result.code == 1, result
    assert result.err.strip().splitlines()[-1] == (
        "error: data/leases.csv, line 2, field renewal: expected a date as %d/%m/%Y,"
        " got '2024-04-15'"
    )


def test_today_is_the_default_when_the_spec_says_so(tmp_path: Path) -> None:
    spec = SPEC.replace("default: 2024-06-30, min: 2020-01-01, max: 2030-12-31", "default: today")
    result = run(build(tmp_path, spec), "run", "--json")
    assert result.code == 0, result
    assert result.json["parameters"] == {"as_of": dt.date.today().isoformat()}


NESTED_SPEC = """\
version: 1
name: tenants
inputs:
  tenants:
    format: json
    location: data/tenants.json
    records: data
    fields:
      tenant_id: string
      email: {type: string, path: contact.email}
      mobile: {type: string, path: contact.phone.mobile, required: false}
      rent: {type: number, path: lease.monthly_base_rent}
      lease_end: {type: date, path: lease.end}
compute:
  annual_rent: rent * 12
"""
TENANTS = {
    "data": [
        {"tenant_id": "T1", "contact": {"email": "a@x.org", "phone": {"mobile": "555"}},
         "lease": {"monthly_base_rent": 1200, "end": "2025-06-30"}},
        {"tenant_id": "T2", "contact": {"email": "b@x.org"},
         "lease": {"monthly_base_rent": 950.5, "end": "2024-12-31"}},
    ]
}  # fmt: skip


def test_nested_json_fields(tmp_path: Path) -> None:
    data = {"data/tenants.json": json.dumps(TENANTS)}
    result = run(build(tmp_path, NESTED_SPEC, data), "run", "--json")
    assert result.code == 0, result
    rows = [{k: v for k, v in r.items() if k != "error"} for r in result.json["rows"]]
    assert rows == [
        # 1,200 * 12 = 14,400; 950.5 * 12 = 11,406; T2 has no phone object: no mobile
        {"tenant_id": "T1", "email": "a@x.org", "mobile": "555", "rent": 1200.0,
         "lease_end": "2025-06-30", "annual_rent": 14400.0},
        {"tenant_id": "T2", "email": "b@x.org", "mobile": None, "rent": 950.5,
         "lease_end": "2024-12-31", "annual_rent": 11406.0},
    ]  # fmt: skip


def test_an_object_field_without_a_path_says_how_to_read_it(tmp_path: Path) -> None:
    spec = NESTED_SPEC.replace(
        "rent: {type: number, path: lease.monthly_base_rent}", "lease: string"
    )
    spec = spec.replace("      lease_end: {type: date, path: lease.end}\n", "")
    spec = spec.replace("annual_rent: rent * 12", "tag: lease")
    result = run(build(tmp_path, spec, {"data/tenants.json": json.dumps(TENANTS)}), "run")
    assert result.code == 1, result
    assert result.err.strip().splitlines()[-1] == (
        "error: data/tenants.json, record 1, field lease: expected text, got an object; read"
        " its fields with path:, e.g. {type: number, path: lease.monthly_base_rent}"
    )


@pytest.fixture(scope="module")
def server(program: Path) -> Iterator[Server]:
    running = Server(program)
    yield running
    running.stop()


def test_the_api_takes_a_date_and_names_a_bad_one(server: Server) -> None:
    status, body = server.json("POST", "/api/simulate?limit=3", {"as_of": "2024-04-01"})
    assert status == 200, body
    # as of 1 April 2024 only L1 (31 March) has ended
    assert body["parameters"] == {"as_of": "2024-04-01"}
    assert [r["expired"] for r in body["rows"]] == [True, False, False]
    assert body["baseline"]["parameters"] == {"as_of": "2024-06-30"}
    status, body = server.json("POST", "/api/simulate", {"as_of": "April 1st"})
    assert (status, body) == (
        400,
        {
            "error": "parameter 'as_of' must be a date (YYYY-MM-DD) or today, got 'April 1st'",
            "parameter": "as_of",
        },
    )
    status, body = server.json("GET", "/api/results?limit=1")
    assert body["rows"][0]["signed"] == "2024-01-15T08:30:00"


def test_openapi_and_the_dashboard_know_the_date_parameter(server: Server) -> None:
    _, api = server.json("GET", "/openapi.json")
    assert api["components"]["schemas"]["Parameters"]["properties"]["as_of"] == {
        "type": "string",
        "format": "date",
        "default": "2024-06-30",
        "description": "As of (from 2020-01-01 to 2030-12-31)",
    }
    status, _, page = server.request("GET", "/")
    assert status == 200
    config = page.decode().split('<script id="config" type="application/json">', 1)[1]
    config = json.loads(config.split("</script>", 1)[0])
    assert config["parameters"][0]["type"] == "date"
    assert config["column_types"]["lease_end"] == "date"
    assert 'type: "date"' in page.decode()  # the form's date input
