"""The web app (scriptexec.runtime.web) over a real DuckDB and a real waitress server on
127.0.0.1: pages of rows, gzip, simulations at the same time, downloads, and the security
of today's generated programs (token, cookie, Origin, content types, CSP, 405 with Allow).

The program is the DSCR example, its queries written by hand in SQL:
  P1 Harbor Point      200,000 - 75,000 = 125,000 / 100,000 = 1.25
  P2 Elm Street Lofts  1,500,000 - 600,000 = 900,000 / 650,000 = 1.3846...
  P3 Mill Yard         debt service 0: division by zero in dscr
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.client
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import pytest
import waitress

from scriptexec.runtime.errors import UsageError
from scriptexec.runtime.execute import evaluate
from scriptexec.runtime.pages import Answers
from scriptexec.runtime.parameters import defaults
from scriptexec.runtime.program import Parameter, Program, Queries, Query, Value
from scriptexec.runtime.settings import set_home
from scriptexec.runtime.web import create_app, serve

REPO = Path(__file__).resolve().parents[2]
TOKEN = "s3cret-token-for-tests-0123456789"
PARAMS = ("revenue_change_pct", "expense_change_pct", "covenant")
SOURCE = """
CREATE TABLE source AS SELECT property_id, name, CAST(gross_revenue AS DOUBLE) AS gross_revenue,
  CAST(operating_expenses AS DOUBLE) AS operating_expenses,
  CAST(annual_debt_service AS DOUBLE) AS annual_debt_service, _ord, 'row ' || _ord AS _label
FROM (VALUES ('P1', 'Harbor Point', 200000, 75000, 100000, 1),
             ('P2', 'Elm Street Lofts', 1500000, 600000, 650000, 2),
             ('P3', 'Mill Yard', 90000, 70000, 0, 3))
  t(property_id, name, gross_revenue, operating_expenses, annual_debt_service, _ord)
"""
ROWS_SQL = """
SELECT property_id, name, gross_revenue, operating_expenses, annual_debt_service, noi,
  CASE WHEN annual_debt_service <> 0 THEN noi / annual_debt_service END AS dscr,
  CASE WHEN annual_debt_service <> 0 THEN noi / annual_debt_service < $covenant END AS breach,
  CASE WHEN annual_debt_service = 0 THEN 'division by zero in dscr' END AS "error",
  _ord, _label
FROM (SELECT *, gross_revenue * (1 + $revenue_change_pct / 100)
        - operating_expenses * (1 + $expense_change_pct / 100) AS noi FROM source)
"""
SUMMARY_SQL = """
SELECT sum(noi) / sum(annual_debt_service) AS portfolio_dscr, NULL AS _e_portfolio_dscr,
  count(*) FILTER (WHERE breach) AS properties_in_breach, NULL AS _e_properties_in_breach
FROM results WHERE "error" IS NULL
"""
FORMULAS = {
    "portfolio_dscr": "sum(noi) / sum(annual_debt_service)",
    "properties_in_breach": "count(breach)",
}
COLUMNS = (
    "property_id",
    "name",
    "gross_revenue",
    "operating_expenses",
    "annual_debt_service",
    "noi",
    "dscr",
    "breach",
)
# A page with an inline script (allowed by its hash) and a JSON block (not run)
DASHBOARD = (
    "<!doctype html><title>Debt service coverage ratio</title>"
    '<script id="config" type="application/json">{"a": 1}</script>'
    '<script>"use strict"; fetch("api/results");</script>'
)


def dscr_program(**changes: Any) -> Program:
    values: dict[str, Any] = {
        "name": "dscr",
        "title": "Debt service coverage ratio",
        "description": "Net operating income over debt service",
        "inputs": (),
        "columns": COLUMNS,
        "queries": Queries(
            source=Query(""),
            rows=Query(ROWS_SQL, PARAMS),
            summary=Query(SUMMARY_SQL),
        ),
        "parameters": (
            Parameter(
                "revenue_change_pct", "number", 0, min=-50, max=50, unit="%", label="Revenue change"
            ),
            Parameter(
                "expense_change_pct", "number", 0, min=-50, max=50, unit="%", label="Expense change"
            ),
            Parameter(
                "covenant",
                "number",
                1.25,
                min=0.5,
                max=3,
                label="Covenant",
                description="Minimum DSCR",
            ),
        ),
        "summary": (
            Value("portfolio_dscr", "number"),
            Value("properties_in_breach", "integer"),
        ),
        "outputs": ("results.csv", "summary.json"),
        "web": {"port": 8000, "charts": []},
        "judged": {
            "thresholds": {"dscr": "covenant"},
            "related": {"portfolio_dscr": "dscr"},
            "flags": {},
        },
    }
    values.update(changes)
    return Program(**values)


def portfolio_dscr(revenue_change_pct: float) -> float:
    """P1 and P2 (P3 is in error): (1,700,000 * (1 + r) - 675,000) / 750,000."""
    return (1_700_000 * (1 + revenue_change_pct / 100) - 675_000) / 750_000


class Server:
    """create_app served by waitress on a free port of 127.0.0.1, in a thread."""

    def __init__(self, app: Any) -> None:
        self.server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
        self.port = int(self.server.effective_port)
        self.stopping = False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while not self.stopping:
            self.server.asyncore.loop(timeout=0.1, map=self.server._map, count=1)

    def stop(self) -> None:
        self.stopping = True
        self.thread.join(timeout=5)
        self.server.task_dispatcher.shutdown(timeout=1)
        self.server.close()

    def call(
        self, method: str, path: str, body: bytes | None = None, **headers: str
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        """One request, redirects not followed."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            names = {k.replace("_", "-"): v for k, v in headers.items()}
            connection.request(method, path, body=body, headers=names)
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        finally:
            connection.close()

    def json(self, method: str, path: str, payload: Any = None, **headers: str) -> tuple[int, Any]:
        body = None if payload is None else json.dumps(payload).encode()
        if body is not None:
            headers.setdefault("Content_Type", "application/json")
        status, _, data = self.call(method, path, body, **headers)
        return status, json.loads(data)


def start(tmp_path: Path, program: Program, token: str | None = None) -> Server:
    set_home(tmp_path)
    (tmp_path / "dashboard.html").write_text(DASHBOARD, encoding="utf-8")
    db = duckdb.connect()
    db.execute(SOURCE)
    baseline = evaluate(db.cursor(), program, defaults(program))
    return Server(create_app(db, program, baseline, token))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start(tmp_path_factory.mktemp("web"), dscr_program())
    yield running
    running.stop()


@pytest.fixture(scope="module")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start(tmp_path_factory.mktemp("web_token"), dscr_program(), TOKEN)
    yield running
    running.stop()


# -- pages of results ------------------------------------------------------------------------


def test_health_counts_the_rows_read(server: Server) -> None:
    assert server.json("GET", "/health") == (200, {"status": "ok", "name": "dscr", "rows": 3})


def test_results_are_the_baseline_and_its_first_page(server: Server) -> None:
    status, body = server.json("GET", "/api/results")
    assert status == 200
    assert body["parameters"] == {
        "revenue_change_pct": 0,
        "expense_change_pct": 0,
        "covenant": 1.25,
    }
    assert (body["offset"], body["limit"], body["row_count"]) == (0, 100, 3)
    assert [r["property_id"] for r in body["rows"]] == ["P1", "P2", "P3"]
    assert [r["dscr"] for r in body["rows"]] == [1.25, pytest.approx(900000 / 650000), None]
    assert body["rows"][0] == {
        "property_id": "P1",
        "name": "Harbor Point",
        "gross_revenue": 200000.0,
        "operating_expenses": 75000.0,
        "annual_debt_service": 100000.0,
        "noi": 125000.0,
        "dscr": 1.25,
        "breach": False,
        "error": None,
    }
    assert body["summary"] == {
        "portfolio_dscr": pytest.approx(1025000 / 750000),
        "properties_in_breach": 0,
    }
    assert body["errors"] == [
        {"row": "row 3 (property_id=P3)", "error": "division by zero in dscr", "skipped": False}
    ]
    assert body["error_count"] == 1 and body["columns"] == [*COLUMNS, "error"]


@pytest.mark.parametrize(
    ("query", "ids", "offset"),
    [
        ("?limit=1", ["P1"], 0),
        ("?limit=1&offset=1", ["P2"], 1),
        ("?offset=2", ["P3"], 2),
        ("?limit=0", [], 0),  # the figures alone
        ("?offset=3", [], 3),
        ("?offset=99", [], 3),  # past the end: an empty page at the end
        ("?offset=" + "9" * 5000, [], 3),
        ("?limit=10000", ["P1", "P2", "P3"], 0),
        ("?limit=0002&offset=0001", ["P2", "P3"], 1),
    ],
)
def test_results_come_a_page_at_a_time(
    server: Server, query: str, ids: list[str], offset: int
) -> None:
    status, body = server.json("GET", "/api/results" + query)
    assert status == 200, body
    assert [r["property_id"] for r in body["rows"]] == ids
    assert body["offset"] == offset and body["row_count"] == 3


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?limit=10001", "limit must be a whole number from 0 to 10000"),
        ("?limit=-1", "limit must be a whole number from 0 to 10000"),
        ("?limit=1.5", "limit must be a whole number from 0 to 10000"),
        ("?limit=", "limit must be a whole number from 0 to 10000"),
        ("?limit=%D9%A3", "limit must be a whole number from 0 to 10000"),  # an Arabic 3
        ("?limit=" + "9" * 5000, "limit must be a whole number from 0 to 10000"),
        ("?offset=-1", "offset must be a whole number, 0 or more"),
        ("?offset=abc", "offset must be a whole number, 0 or more"),
    ],
)
def test_a_bad_page_is_refused(server: Server, query: str, message: str) -> None:
    assert server.json("GET", "/api/results" + query) == (400, {"error": message})
    assert server.json("POST", "/api/simulate" + query, {}) == (400, {"error": message})


def test_results_are_gzipped_when_the_client_asks(server: Server) -> None:
    status, headers, data = server.call("GET", "/api/results", Accept_Encoding="gzip, deflate")
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in headers["Vary"]
    plain_status, plain_headers, plain = server.call("GET", "/api/results")
    assert plain_status == 200 and "Content-Encoding" not in plain_headers
    assert gzip.decompress(data) == plain
    _, headers, _ = server.call("GET", "/api/results", Accept_Encoding="gzip;q=0, identity")
    assert "Content-Encoding" not in headers
    body = json.dumps({"covenant": 1.3}).encode()
    _, headers, data = server.call(
        "POST", "/api/simulate", body, Content_Type="application/json", Accept_Encoding="gzip"
    )
    assert headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(data))["parameters"]["covenant"] == 1.3


# -- simulations ------------------------------------------------------------------------------


def test_simulate(server: Server) -> None:
    status, body = server.json("POST", "/api/simulate", {"revenue_change_pct": -10})
    assert status == 200, body
    # P1: 180,000 - 75,000 = 105,000 -> 1.05; P2: 750,000 / 650,000 -> 1.1538; both < 1.25
    assert body["summary"] == {
        "portfolio_dscr": pytest.approx(855000 / 750000),
        "properties_in_breach": 2,
    }
    assert [r["noi"] for r in body["rows"]] == [105000.0, 750000.0, 11000.0]
    assert body["parameters"] == {
        "revenue_change_pct": -10,
        "expense_change_pct": 0,
        "covenant": 1.25,
    }
    assert body["baseline"]["summary"]["portfolio_dscr"] == pytest.approx(1025000 / 750000)
    assert (body["offset"], body["limit"]) == (0, 100)
    assert server.json("POST", "/api/simulate", {})[1]["summary"] == body["baseline"]["summary"]
    status, page = server.json(
        "POST", "/api/simulate?limit=1&offset=1", {"revenue_change_pct": -10}
    )
    assert [r["property_id"] for r in page["rows"]] == ["P2"] and page["summary"] == body["summary"]


def test_simulations_at_the_same_time_do_not_meet(server: Server) -> None:
    changes = [(n % 21) - 10 for n in range(48)]

    def simulate(change: int) -> tuple[int, float, float]:
        status, body = server.json("POST", "/api/simulate", {"revenue_change_pct": change})
        return status, body["summary"]["portfolio_dscr"], body["rows"][0]["noi"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(simulate, changes))
    for change, (status, dscr, noi) in zip(changes, answers, strict=True):
        assert status == 200
        assert dscr == pytest.approx(portfolio_dscr(change))
        assert noi == pytest.approx(200000 * (1 + change / 100) - 75000)
    # and the baseline is still the baseline
    assert server.json("GET", "/api/results")[1]["summary"]["properties_in_breach"] == 0


@pytest.mark.parametrize(
    ("body", "message", "parameter"),
    [
        (b'{"covenant": 9}', "parameter 'covenant' must be at most 3", "covenant"),
        (b'{"covenant": "1.3"}', "parameter 'covenant' must be a number", "covenant"),
        (b'{"covenant": 1e999}', "parameter 'covenant' must be a finite number", "covenant"),
        (b'{"covenant": ' + b"9" * 400 + b"}", "parameter 'covenant' is too large", "covenant"),
        (b'{"covenant": NaN}', "the body is not valid JSON: NaN is not a number", None),
        (b'{"covenant": ' + b"9" * 5000 + b"}", "the body is not valid JSON", None),
        (b"[" * 5000 + b"]" * 5000, "the body is not valid JSON", None),
        (b"\xff\xfe\x00", "the body is not valid JSON", None),
        (b"[1, 2]", "the body must be a JSON object of parameters", None),
        (b'{"nope": 1}', "unknown parameter 'nope' (parameters: revenue_change_pct, ", "nope"),
    ],
)
def test_simulate_refuses_bad_input(
    server: Server, body: bytes, message: str, parameter: str | None
) -> None:
    status, headers, data = server.call(
        "POST", "/api/simulate", body, Content_Type="application/json"
    )
    assert status == 400, data
    assert headers["Content-Type"] == "application/json"
    answer = json.loads(data)
    assert answer["error"].startswith(message), answer
    assert answer.get("parameter") == parameter


def test_a_program_set_to_fail_answers_422(tmp_path: Path) -> None:
    set_home(tmp_path)
    (tmp_path / "dashboard.html").write_text(DASHBOARD, encoding="utf-8")
    db = duckdb.connect()
    db.execute(SOURCE)
    baseline = evaluate(db.cursor(), dscr_program(), defaults(dscr_program()))
    # the same program told to fail on a row in error: P3 always is
    strict = Server(create_app(db, dscr_program(on_error="fail"), baseline))
    try:
        status, body = strict.json("POST", "/api/simulate", {})
    finally:
        strict.stop()
    assert status == 422
    assert body == {"error": "row 3 (property_id=P3): division by zero in dscr"}


def test_answers_keep_the_newest_within_their_budget() -> None:
    answers = Answers(100)
    for n in range(4):
        answers.put(("q", n), bytes(20))  # 80 bytes: all kept
    assert answers.get(("q", 0)) == bytes(20)  # ... and q0 is now the most recent
    answers.put(("q", 4), bytes(25))  # 105 bytes: the oldest (q1) goes
    assert answers.get(("q", 1)) is None
    assert [answers.get(("q", n)) is not None for n in (0, 2, 3, 4)] == [True] * 4
    answers.put(("big",), bytes(26))  # over a quarter of the budget: never kept
    assert answers.get(("big",)) is None


def test_an_answer_asked_again_is_the_same_answer(server: Server) -> None:
    first = server.call(
        "POST", "/api/simulate", b'{"covenant": 1.5}', Content_Type="application/json"
    )
    again = server.call(
        "POST", "/api/simulate", b'{"covenant": 1.50}', Content_Type="application/json"
    )
    assert first[0] == again[0] == 200 and first[2] == again[2]
    # -0.0 is not 0.0 to a formula that divides by it: a question of its own
    zero = server.json("POST", "/api/simulate", {"expense_change_pct": 0.0})[1]
    negative_zero = server.json("POST", "/api/simulate", {"expense_change_pct": -0.0})[1]
    assert repr(zero["parameters"]["expense_change_pct"]) == "0.0"
    assert repr(negative_zero["parameters"]["expense_change_pct"]) == "-0.0"


def test_a_huge_body_is_413(server: Server) -> None:
    body = json.dumps({"covenant": 1.3, "pad": "x" * 100_000}).encode()
    status, _, data = server.call("POST", "/api/simulate", body, Content_Type="application/json")
    assert status == 413 and "error" in json.loads(data)


# -- downloads -------------------------------------------------------------------------------


def test_downloads_hold_every_row(server: Server) -> None:
    status, headers, data = server.call("GET", "/api/download?format=csv")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert headers["Content-Disposition"] == 'attachment; filename="dscr-results.csv"'
    assert data.decode().splitlines() == [
        "property_id,name,gross_revenue,operating_expenses,annual_debt_service,noi,dscr,breach,error",
        "P1,Harbor Point,200000.0,75000.0,100000.0,125000.0,1.25,false,",
        "P2,Elm Street Lofts,1500000.0,600000.0,650000.0,900000.0,1.3846153846153846,false,",
        "P3,Mill Yard,90000.0,70000.0,0.0,20000.0,,,division by zero in dscr",
    ]
    status, headers, data = server.call("GET", "/api/download?format=json")
    document = json.loads(data)
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert document["summary"]["properties_in_breach"] == 0
    assert [r["property_id"] for r in document["rows"]] == ["P1", "P2", "P3"]
    status, headers, data = server.call("GET", "/api/download?format=html")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b"<h1>Debt service coverage ratio</h1>" in data
    assert server.json("GET", "/api/download?format=xlsx") == (
        400,
        {"error": "format must be csv, json or html"},
    )
    assert server.call("GET", "/api/download")[2].startswith(b"property_id,")  # csv by default


def test_the_report_download_is_cut_at_report_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPORT_ROWS", "2")
    running = start(tmp_path, dscr_program())
    try:
        _, _, data = running.call("GET", "/api/download?format=html")
    finally:
        running.stop()
    report = data.decode()
    assert report.count("<td>P") == 2
    assert "The first 2 of 3 rows (REPORT_ROWS); all of them are in the CSV download" in report


# -- the dashboard, methods and content types ----------------------------------------------------


def test_the_dashboard_runs_its_own_script_only(server: Server) -> None:
    status, headers, body = server.call("GET", "/")
    assert status == 200 and body == DASHBOARD.encode()
    assert headers["Content-Type"].startswith("text/html")
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"
    policy = dict(
        (part.split()[0], part.split()[1:])
        for part in headers["Content-Security-Policy"].split(";")
        if part.strip()
    )
    code = b'"use strict"; fetch("api/results");'
    digest = base64.b64encode(hashlib.sha256(code).digest()).decode()
    assert policy["script-src"] == ["'self'", f"'sha256-{digest}'"]  # the JSON block needs none
    assert policy["default-src"] == ["'self'"] and policy["frame-ancestors"] == ["'none'"]


def test_unknown_paths_answer_json(server: Server) -> None:
    status, body = server.json("GET", "/nope")
    assert status == 404 and "error" in body


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", None]
)
def test_simulate_takes_json_only(server: Server, content_type: str | None) -> None:
    headers = {"Content_Type": content_type} if content_type else {}
    status, _, data = server.call("POST", "/api/simulate", b'{"covenant": 1.3}', **headers)
    assert status == 415
    assert json.loads(data) == {
        "error": "send the parameters as JSON (Content-Type: application/json)"
    }


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:1"])
def test_simulate_refuses_another_origin(server: Server, origin: str) -> None:
    status, body = server.json("POST", "/api/simulate", {"covenant": 1.3}, Origin=origin)
    assert status == 403
    assert body == {"error": f"cross-origin request refused: {origin} is not this server"}


def test_simulate_from_the_dashboard_itself(server: Server) -> None:
    status, body = server.json(
        "POST",
        "/api/simulate",
        {"revenue_change_pct": -10},
        Origin=f"http://127.0.0.1:{server.port}",
        Content_Type="application/json; charset=utf-8",
    )
    assert status == 200 and body["summary"]["portfolio_dscr"] == pytest.approx(855000 / 750000)


def test_openapi_documents_the_pages(server: Server) -> None:
    status, api = server.json("GET", "/openapi.json")
    assert status == 200 and api["openapi"] == "3.0.3"
    assert set(api["paths"]) == {
        "/",
        "/health",
        "/api/results",
        "/api/simulate",
        "/api/download",
        "/openapi.json",
    }
    for operation in (api["paths"]["/api/results"]["get"], api["paths"]["/api/simulate"]["post"]):
        schemas = {p["name"]: p["schema"] for p in operation["parameters"]}
        assert schemas == {
            "limit": {"type": "integer", "minimum": 0, "maximum": 10000, "default": 100},
            "offset": {"type": "integer", "minimum": 0, "default": 0},
        }
        assert "400" in operation["responses"]
    assert api["components"]["schemas"]["Parameters"]["properties"]["covenant"] == {
        "type": "number",
        "default": 1.25,
        "description": "Covenant: Minimum DSCR",
        "minimum": 0.5,
        "maximum": 3,
    }
    assert set(api["paths"]["/api/simulate"]["post"]["responses"]) == {
        "200",
        "400",
        "401",
        "403",
        "413",
        "415",
        "422",
    }


# -- API_TOKEN --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/api/results", "/api/download", "/openapi.json", "/nope"])
def test_every_path_but_health_needs_the_token(token_server: Server, path: str) -> None:
    status, headers, data = token_server.call("GET", path)
    assert status == 401
    assert headers["WWW-Authenticate"] == 'Bearer realm="dscr"'
    assert json.loads(data)["error"].startswith("this server needs its API token")
    assert token_server.call("GET", "/health")[0] == 200


@pytest.mark.parametrize(
    "authorization",
    ["Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer", "Bearer \u00e9t\u00e9"],
)
def test_a_wrong_token_is_refused(token_server: Server, authorization: str) -> None:
    header = authorization.encode("utf-8").decode("latin-1")  # as it goes on the wire
    assert token_server.call("GET", "/api/results", Authorization=header)[0] == 401


def test_the_bearer_token_opens_the_api(token_server: Server) -> None:
    status, body = token_server.json(
        "POST", "/api/simulate", {"revenue_change_pct": -10}, Authorization=f"Bearer {TOKEN}"
    )
    assert status == 200 and body["summary"]["properties_in_breach"] == 2


def test_the_dashboard_link_sets_a_strict_cookie_once(token_server: Server) -> None:
    status, headers, _ = token_server.call("GET", f"/?token={TOKEN}")
    assert status == 303 and headers["Location"] == "./"
    name_value, *attributes = [part.strip() for part in headers["Set-Cookie"].split(";")]
    assert {"HttpOnly", "SameSite=Strict", "Path=/"} <= set(attributes)
    assert TOKEN not in headers["Set-Cookie"]
    assert token_server.call("GET", "/", Cookie=name_value)[0] == 200
    status, _ = token_server.json(
        "POST",
        "/api/simulate",
        {},
        Cookie=name_value,
        Origin=f"http://127.0.0.1:{token_server.port}",
    )
    assert status == 200
    name = name_value.split("=", 1)[0]
    assert name == "dscr_session"
    assert token_server.call("GET", "/api/results", Cookie=f"{name}=forged")[0] == 401
    assert token_server.call("GET", "/?token=wrong")[0] == 401


# -- serve: settings, and SIGTERM ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PORT": "eighty"}, "PORT=eighty is not a port number"),
        (
            {"API_TOKEN": "short"},
            "API_TOKEN is too short: at least 16 characters, e.g. from python3 -c",
        ),
    ],
)
def test_bad_serve_settings_are_usage_errors(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(UsageError) as caught:
        serve(dscr_program())
    assert str(caught.value).startswith(message)


SLOW_SERVER = """
import logging, sys, time
import waitress
from scriptexec.runtime.web import serve_until_sigterm

logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")

def app(environ, start_response):
    time.sleep(float(environ.get("QUERY_STRING") or 0))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"done"]

server = waitress.create_server(app, host="127.0.0.1", port=0)
print("port", server.effective_port, flush=True)
serve_until_sigterm(server)
"""


def test_sigterm_lets_the_request_in_flight_finish_then_returns(tmp_path: Path) -> None:
    script = tmp_path / "slow.py"
    script.write_text(SLOW_SERVER, encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline().split()[1])
        answer: dict[str, Any] = {}

        def slow_request() -> None:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request("GET", "/?1.5")
            response = connection.getresponse()
            answer["status"], answer["body"] = response.status, response.read()

        client = threading.Thread(target=slow_request)
        client.start()
        time.sleep(0.5)  # the request is in the app, sleeping
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=20)
        client.join(timeout=20)
        log = process.stdout.read().decode()
    finally:
        if process.poll() is None:
            process.kill()
    assert code == 0, log
    assert answer == {"status": 200, "body": b"done"}
    assert "SIGTERM: stopping; finishing 1 request(s) in flight" in log
    assert log.rstrip().endswith("stopped")


# -- the real dashboard, paging through many rows, in chromium --------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
MANY_ROWS = 1200  # three pages of 500
ARTIFACTS = REPO / "tests" / "artifacts"  # gitignored: screenshots for a person to look at


def dashboard_page(program: Program) -> str:
    """templates/program/dashboard.html.j2 rendered as a build renders it (its config)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(REPO / "templates" / "program"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    config = {  # as render.py writes it at build time, from the spec's formulas
        **program.judged,
        "parameters": [
            {k: v for k, v in vars(p).items() if v is not None} for p in program.parameters
        ],
        "charts": [{"type": "bar", "x": "property_id", "y": "dscr", "threshold": "covenant"}],
        "columns": list(program.columns),
        "column_types": {
            **dict.fromkeys(COLUMNS[:2], "string"),
            **dict.fromkeys(COLUMNS[2:7], "number"),
            "breach": "boolean",
            "error": "string",
        },
        "summary": [
            {"name": s.name, "type": s.type, "formula": FORMULAS[s.name]} for s in program.summary
        ],
        "group_by": [],
        "group_fields": [],
    }
    template = env.get_template("dashboard.html.j2")
    return template.render(
        name=program.name,
        title=program.title,
        description=program.description,
        dashboard_config=config,
    )


@pytest.fixture
def many_rows(tmp_path: Path) -> Iterator[Server]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    program = dscr_program()
    set_home(tmp_path)
    (tmp_path / "dashboard.html").write_text(dashboard_page(program), encoding="utf-8")
    db = duckdb.connect()
    # P1..P1200: revenue 200,000, expenses 75,000, debt service 100,000: DSCR 1.25 each
    db.execute(
        "CREATE TABLE source AS SELECT 'P' || n AS property_id, 'Name ' || n AS name,"
        " 200000.0::DOUBLE AS gross_revenue, 75000.0::DOUBLE AS operating_expenses,"
        f" 100000.0::DOUBLE AS annual_debt_service, n AS _ord, 'row ' || n AS _label FROM range(1, {MANY_ROWS + 1}) r(n)"
    )
    baseline = evaluate(db.cursor(), program, defaults(program))
    running = Server(create_app(db, program, baseline))
    yield running
    running.stop()


@pytest.mark.browser
def test_the_dashboard_pages_through_the_results(many_rows: Server) -> None:
    from playwright.sync_api import sync_playwright

    def first_ids() -> list[str]:
        return page.locator("#results tbody tr td:first-child").all_inner_texts()

    def rows(first: str, last: str) -> str:
        return f"rows {first}\u2013{last} of 1,200"  # an en dash, as the page writes it

    def wait_for_rows(first: str, last: str) -> None:
        page.wait_for_function(
            "(text) => document.querySelector('#results .count').textContent === text",
            arg=rows(first, last),
        )

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 900})
            problems: list[str] = []
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            page.goto(f"http://127.0.0.1:{many_rows.port}/")
            page.wait_for_selector("#results table")
            count = page.locator("#results .count")
            assert count.inner_text() == rows("1", "500")
            assert len(first_ids()) == 500 and first_ids()[0] == "P1"
            assert page.locator("#previous-page").is_disabled()
            assert (
                f"Drawn from {rows('1', '500')}" in page.locator("#charts .note").first.inner_text()
            )
            page.click("#next-page")
            wait_for_rows("501", "1,000")
            assert first_ids()[0] == "P501"
            page.click("#next-page")
            wait_for_rows("1,001", "1,200")
            assert len(first_ids()) == 200 and page.locator("#next-page").is_disabled()
            # a simulation stays on the page shown: 180,000 - 75,000 = 105,000 -> 1.05 < 1.25
            page.fill("#param-revenue_change_pct", "-10")
            page.click("#run")
            page.wait_for_selector(".tag.sim")
            page.wait_for_function(
                "document.querySelector('.kpi[data-name=properties_in_breach] .value').textContent === '1,200'"
            )
            assert count.inner_text() == rows("1,001", "1,200") and first_ids()[0] == "P1001"
            assert page.locator("#results td.changed").count() == 200 * 3  # noi, dscr, breach
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "dashboard-paged-simulated.png"))
            page.click("#previous-page")
            wait_for_rows("501", "1,000")
            assert (
                first_ids()[0] == "P501" and page.locator("#results td.changed").count() == 500 * 3
            )
            page.click("#reset")
            page.wait_for_selector(".tag.base")
            assert page.locator("#results td.changed").count() == 0 and first_ids()[0] == "P501"
            assert problems == []
            phone = browser.new_page(viewport={"width": 390, "height": 844})
            phone.goto(f"http://127.0.0.1:{many_rows.port}/")
            phone.wait_for_selector("#next-page")
            phone.screenshot(path=str(ARTIFACTS / "dashboard-paged-phone.png"), full_page=True)
            assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # the pager fits
        finally:
            browser.close()
