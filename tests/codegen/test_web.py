"""Web mode of a generated program: every endpoint, bad input, and a fuzz of /api/simulate
generated from the program's own /openapi.json. One server for the module."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .helpers import DSCR_CSV, Server, model, render, run

approx = pytest.approx


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("web")
    return render(model("dscr"), root / "dscr", {"data/properties.csv": DSCR_CSV})


@pytest.fixture(scope="module")
def server(program: Path) -> Iterator[Server]:
    server = Server(program)
    yield server
    server.stop()


def test_dashboard(server: Server) -> None:
    status, headers, body = server.request("GET", "/")
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    page = body.decode()
    assert "<title>Debt service coverage ratio</title>" in page
    assert 'fetch("api/simulate"' in page and "<svg" not in page  # charts are drawn by the page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")  # nothing from a CDN
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in headers["Content-Security-Policy"]


def test_health(server: Server) -> None:
    assert server.json("GET", "/health") == (200, {"status": "ok", "name": "dscr", "rows": 3})


def test_results(server: Server) -> None:
    status, body = server.json("GET", "/api/results")
    assert status == 200
    assert body["parameters"] == {
        "revenue_change_pct": 0,
        "expense_change_pct": 0,
        "covenant": 1.25,
    }
    assert [r["dscr"] for r in body["rows"]] == [1.25, approx(900000 / 650000), None]
    assert body["summary"] == {
        "portfolio_dscr": approx(1025000 / 750000),
        "properties_in_breach": 0,
    }
    assert body["errors"][0]["error"] == "division by zero in dscr"


def test_simulate(server: Server) -> None:
    status, body = server.json("POST", "/api/simulate", {"revenue_change_pct": -10})
    assert status == 200, body
    # P1: 180,000 - 75,000 = 105,000 -> 1.05; P2: 750,000 / 650,000 -> 1.1538; both < 1.25
    assert body["summary"] == {"portfolio_dscr": approx(855000 / 750000), "properties_in_breach": 2}
    assert (
        body["parameters"]["revenue_change_pct"] == -10 and body["parameters"]["covenant"] == 1.25
    )
    assert body["baseline"]["summary"]["portfolio_dscr"] == approx(1025000 / 750000)
    assert server.json("POST", "/api/simulate", {})[1]["summary"] == body["baseline"]["summary"]


@pytest.mark.parametrize(
    ("body", "message", "parameter"),
    [
        (b'{"covenant": 9}', "parameter 'covenant' must be at most 3", "covenant"),
        (b'{"covenant": -1e308}', "parameter 'covenant' must be at least 0.5", "covenant"),
        (b'{"covenant": "1.3"}', "parameter 'covenant' must be a number", "covenant"),
        (b'{"covenant": true}', "parameter 'covenant' must be a number", "covenant"),
        (b'{"covenant": null}', "parameter 'covenant' must be a number", "covenant"),
        (b'{"covenant": [1]}', "parameter 'covenant' must be a number", "covenant"),
        (b'{"covenant": 1e999}', "parameter 'covenant' must be a finite number", "covenant"),
        (b'{"covenant": ' + b"9" * 400 + b"}", "parameter 'covenant' is too large", "covenant"),
        (b'{"covenant": NaN}', "the body is not valid JSON: NaN is not a number", None),
        (b'{"covenant": -Infinity}', "the body is not valid JSON: -Infinity is not a number", None),
        (b'{"covenant": ' + b"9" * 5000 + b"}", "the body is not valid JSON", None),
        (b'{"cov', "the body is not valid JSON", None),
        (b"\xff\xfe\x00", "the body is not valid JSON", None),
        (b"[" * 5000 + b"]" * 5000, "the body is not valid JSON", None),
        (b"", "the body is not valid JSON", None),
        (b"[1, 2]", "the body must be a JSON object of parameters", None),
        (b'"covenant"', "the body must be a JSON object of parameters", None),
        (b'{"nope": 1}', "unknown parameter 'nope' (parameters: revenue_change_pct, ", "nope"),
    ],
)
def test_simulate_refuses_bad_input(
    server: Server, body: bytes, message: str, parameter: str | None
) -> None:
    status, headers, data = server.request("POST", "/api/simulate", body)
    assert status == 400, data
    assert headers["Content-Type"] == "application/json"
    answer = json.loads(data)
    assert answer["error"].startswith(message), answer
    assert answer.get("parameter") == parameter


def test_simulate_refuses_a_huge_body(server: Server) -> None:
    body = json.dumps({"covenant": 1.3, "pad": "x" * 100_000}).encode()
    status, _, data = server.request("POST", "/api/simulate", body)
    assert status == 413
    assert "error" in json.loads(data)


def test_download(server: Server) -> None:
    status, headers, data = server.request("GET", "/api/download?format=csv")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert headers["Content-Disposition"] == 'attachment; filename="dscr-results.csv"'
    assert (
        data.decode().splitlines()[1]
        == "P1,Harbor Point,200000.0,75000.0,100000.0,125000.0,1.25,false,"
    )
    status, headers, data = server.request("GET", "/api/download?format=json")
    assert status == 200 and json.loads(data)["summary"]["properties_in_breach"] == 0
    status, headers, data = server.request("GET", "/api/download?format=html")
    assert status == 200 and b"<h1>Debt service coverage ratio</h1>" in data
    assert server.json("GET", "/api/download?format=xlsx") == (
        400,
        {"error": "format must be csv, json or html"},
    )


def test_openapi(server: Server) -> None:
    status, api = server.json("GET", "/openapi.json")
    assert status == 200
    assert api["openapi"].startswith("3.")
    assert set(api["paths"]) == {
        "/",
        "/health",
        "/api/results",
        "/api/simulate",
        "/api/download",
        "/openapi.json",
    }
    params = api["components"]["schemas"]["Parameters"]
    assert params["additionalProperties"] is False
    assert params["properties"]["covenant"] == {
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


def test_unknown_routes_answer_json(server: Server) -> None:
    status, body = server.json("GET", "/nope")
    assert status == 404 and "error" in body
    status, _, data = server.request("GET", "/api/simulate")
    assert status == 405 and "error" in json.loads(data)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("TRACE", "/", {"GET"}),
        ("DELETE", "/health", {"GET"}),
        ("PUT", "/api/results", {"GET"}),
        ("POST", "/health", {"GET"}),  # refused for its method, not for its (absent) body
        ("GET", "/api/simulate", {"POST"}),
        ("PATCH", "/api/simulate", {"POST"}),
    ],
)
def test_an_unsupported_method_is_405_with_allow(
    server: Server, method: str, path: str, allowed: set[str]
) -> None:
    # RFC 9110 15.5.6: a 405 "MUST generate an Allow header field" listing what the
    # resource supports (HEAD and OPTIONS, which the framework answers, may be there too).
    status, headers, data = server.request(method, path)
    assert status == 405, data
    assert "error" in json.loads(data)
    listed = {m.strip() for m in headers.get("Allow", "").split(",") if m.strip()}
    assert allowed <= listed <= allowed | {"HEAD", "OPTIONS"}, headers


def test_the_dashboard_script_runs_without_unsafe_inline(server: Server) -> None:
    status, headers, body = server.request("GET", "/")
    assert status == 200
    directives = [part.split() for part in headers["Content-Security-Policy"].split(";")]
    policy = {words[0]: " ".join(words[1:]) for words in directives if words}
    scripts = policy["script-src"].split()
    assert "'unsafe-inline'" not in scripts and "*" not in scripts, policy
    # every script the page runs is allowed by its own hash (CSP3 "hash-source"); the
    # JSON data block is not run, so it needs none
    page = body.decode()
    inline = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert inline, "the dashboard has no script of its own"
    for code in inline:
        digest = base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in scripts, policy
    assert not re.search(r"<script(?![^>]*type=\"application/json\")[^>]+>", page)
    # no inline event handlers either: no hash can allow them
    assert not re.search(r"\son[a-z]+=", page)


def test_requests_are_logged_as_json_lines(server: Server, program: Path) -> None:
    server.request("GET", "/health")
    entries = [
        json.loads(line) for line in (program / "logs" / "dscr.log").read_text().splitlines()
    ]
    assert any(e.get("path") == "/health" and e.get("status") == 200 for e in entries)


def test_a_bad_port_is_a_usage_error(program: Path) -> None:
    result = run(program, "serve", env={"PORT": "eighty"})
    assert result.code == 2, result
    assert "error: PORT=eighty is not a port number" in result.err


# -- fuzz: bodies generated from the program's own OpenAPI schema --------------------------

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**300, max_value=10**320)
    | st.floats()  # NaN and infinities are sent as the non-standard tokens json.dumps writes
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=8,
)


def _value(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values a parameter accepts, values just outside its bounds, and anything at all."""
    if schema["type"] == "boolean":
        return st.booleans() | _json
    low, high = schema.get("minimum"), schema.get("maximum")
    inside = (
        st.integers(min_value=math.ceil(low), max_value=math.floor(high))
        if schema["type"] == "integer"
        else st.floats(min_value=low, max_value=high, allow_nan=False)
    )
    outside = st.sampled_from([v for v in (low, high) if v is not None]).flatmap(
        lambda edge: st.sampled_from([edge - 1e-9, edge + 1e-9, edge - 1, edge + 1, edge])
    )
    return inside | outside | _json


def _bodies(schema: dict[str, Any]) -> st.SearchStrategy[bytes]:
    props = schema["properties"]
    objects = st.fixed_dictionaries({}, optional={n: _value(s) for n, s in props.items()})
    with_unknown = st.dictionaries(st.sampled_from([*props, "unknown", ""]), _json, max_size=4)
    documents = objects | with_unknown | _json
    return documents.map(lambda d: json.dumps(d).encode()) | st.binary(max_size=64)


def _accepted(body: bytes, schema: dict[str, Any]) -> bool:
    """Whether the schema allows `body`; what the server must answer 200 to."""
    try:
        data = json.loads(body, parse_constant=lambda c: math.nan)
    except ValueError:
        return False
    if not isinstance(data, dict):
        return False
    for name, value in data.items():
        spec = schema["properties"].get(name)
        if spec is None:
            return False
        if spec["type"] == "boolean":
            if not isinstance(value, bool):
                return False
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        try:
            number = float(value)
        except OverflowError:
            return False
        if not math.isfinite(number):
            return False
        if spec["type"] == "integer" and not number.is_integer():
            return False
        if not spec.get("minimum", -math.inf) <= value <= spec.get("maximum", math.inf):
            return False
    return True


def test_fuzz_simulate_from_openapi(server: Server) -> None:
    _, api = server.json("GET", "/openapi.json")
    schema = api["components"]["schemas"]["Parameters"]

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(body=_bodies(schema))
    def fuzz(body: bytes) -> None:
        status, _, data = server.request("POST", "/api/simulate", body)
        assert status != 500, data
        answer = json.loads(data)
        if _accepted(body, schema):
            assert status == 200, answer
            assert set(answer["summary"]) == {"portfolio_dscr", "properties_in_breach"}
        else:
            assert status == 400, (body, answer)
            assert isinstance(answer["error"], str) and answer["error"]

    fuzz()
