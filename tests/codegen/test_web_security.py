"""The dashboard against other web pages and other people: cross-site simulations, the
optional API token, and a request log that stays bounded."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .helpers import DSCR_CSV, Server, model, render, run

TOKEN = "s3cret-token-for-tests-0123456789"
SIMULATE = json.dumps({"revenue_change_pct": -10}).encode()
# P1: 180,000 - 75,000 = 105,000; P2: 1,350,000 - 600,000 = 750,000 (P3 is in error):
# (105,000 + 750,000) / (100,000 + 650,000) = 1.14
SIMULATED_DSCR = 855000 / 750000


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("web_security")
    return render(model("dscr"), root / "dscr", {"data/properties.csv": DSCR_CSV})


@pytest.fixture(scope="module")
def open_server(program: Path) -> Iterator[Server]:
    server = Server(program)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def token_server(program: Path) -> Iterator[Server]:
    server = Server(program, env={"API_TOKEN": TOKEN})
    yield server
    server.stop()


def call(
    server: Server, method: str, path: str, body: bytes | None = None, **headers: str
) -> tuple[int, http.client.HTTPMessage, Any]:
    """One request, redirects not followed; the body parsed as JSON when it is JSON."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        names = {k.replace("_", "-"): v for k, v in headers.items()}
        connection.request(method, path, body=body, headers=names)
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    if response.headers.get_content_type() == "application/json":
        return response.status, response.headers, json.loads(data)
    return response.status, response.headers, data


# -- a simulation posted by another web site -----------------------------------------------


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_simulate_refuses_bodies_a_form_can_send(open_server: Server, content_type: str) -> None:
    # What a page elsewhere can post without a preflight: a "simple" request.
    status, _, body = call(
        open_server, "POST", "/api/simulate", SIMULATE, Content_Type=content_type
    )
    assert status == 415
    assert body == {"error": "send the parameters as JSON (Content-Type: application/json)"}


def test_simulate_without_a_content_type_is_refused(open_server: Server) -> None:
    status, _, body = call(open_server, "POST", "/api/simulate", SIMULATE)
    assert status == 415 and "application/json" in body["error"]


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:1"])
def test_simulate_refuses_another_origin(open_server: Server, origin: str) -> None:
    status, _, body = call(
        open_server,
        "POST",
        "/api/simulate",
        SIMULATE,
        Content_Type="application/json",
        Origin=origin,
    )
    assert status == 403
    assert body == {"error": f"cross-origin request refused: {origin} is not this server"}


def test_simulate_from_the_dashboard_itself(open_server: Server) -> None:
    status, _, body = call(
        open_server,
        "POST",
        "/api/simulate",
        SIMULATE,
        Content_Type="application/json; charset=utf-8",
        Origin=f"http://127.0.0.1:{open_server.port}",
    )
    assert status == 200, body
    assert body["summary"]["portfolio_dscr"] == pytest.approx(SIMULATED_DSCR)


# -- API_TOKEN ------------------------------------------------------------------------------


def test_without_a_token_nothing_is_asked(open_server: Server) -> None:
    assert call(open_server, "GET", "/api/results")[0] == 200


@pytest.mark.parametrize("path", ["/", "/api/results", "/api/download", "/openapi.json", "/nope"])
def test_every_route_but_health_needs_the_token(token_server: Server, path: str) -> None:
    status, headers, body = call(token_server, "GET", path)
    assert status == 401
    assert headers["WWW-Authenticate"] == 'Bearer realm="dscr"'
    assert body["error"].startswith("this server needs its API token")
    assert call(token_server, "GET", "/health")[0] == 200


@pytest.mark.parametrize(
    "authorization",
    ["Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer", "Bearer \u00e9t\u00e9"],
)
def test_a_wrong_token_is_refused(token_server: Server, authorization: str) -> None:
    header = authorization.encode("utf-8").decode("latin-1")  # as it goes on the wire
    status, _, body = call(token_server, "GET", "/api/results", None, Authorization=header)
    assert status == 401, body


def test_the_bearer_token_opens_the_api(token_server: Server) -> None:
    bearer = f"Bearer {TOKEN}"
    assert call(token_server, "GET", "/api/results", Authorization=bearer)[0] == 200
    status, _, body = call(
        token_server,
        "POST",
        "/api/simulate",
        SIMULATE,
        Authorization=bearer,
        Content_Type="application/json",
    )
    assert status == 200
    assert body["summary"]["portfolio_dscr"] == pytest.approx(SIMULATED_DSCR)


def test_the_dashboard_link_sets_a_strict_cookie_once(token_server: Server) -> None:
    status, headers, _ = call(token_server, "GET", f"/?token={TOKEN}")
    assert status == 303
    assert headers["Location"] == "./"  # the token leaves the address bar and history
    cookie = headers["Set-Cookie"]
    name_value, *attributes = [part.strip() for part in cookie.split(";")]
    assert {"HttpOnly", "SameSite=Strict", "Path=/"} <= set(attributes)
    assert TOKEN not in cookie  # the cookie holds a value derived from the token
    status, _, page = call(token_server, "GET", "/", Cookie=name_value)
    assert status == 200 and b"<title>Debt service coverage ratio</title>" in page
    assert call(token_server, "GET", "/api/results", Cookie=name_value)[0] == 200
    status, _, body = call(
        token_server,
        "POST",
        "/api/simulate",
        SIMULATE,
        Cookie=name_value,
        Content_Type="application/json",
        Origin=f"http://127.0.0.1:{token_server.port}",
    )
    assert status == 200, body
    name = name_value.split("=", 1)[0]
    assert call(token_server, "GET", "/api/results", Cookie=f"{name}=forged")[0] == 401
    assert call(token_server, "GET", "/?token=wrong")[0] == 401


def test_a_short_token_is_a_usage_error(program: Path) -> None:
    result = run(program, "serve", env={"API_TOKEN": "short", "PORT": "1"})
    assert result.code == 2, result
    assert "error: API_TOKEN is too short: at least 16 characters" in result.err


def test_openapi_describes_the_token(token_server: Server) -> None:
    _, _, api = call(token_server, "GET", "/openapi.json", Authorization=f"Bearer {TOKEN}")
    assert api["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    responses = api["paths"]["/api/simulate"]["post"]["responses"]
    assert {"401", "403", "415"} <= set(responses)


# -- the request log --------------------------------------------------------------------------


def test_the_log_is_rotated_by_size(tmp_path: Path) -> None:
    program = render(model("dscr"), tmp_path / "dscr", {"data/properties.csv": DSCR_CSV})
    server = Server(program, env={"LOG_MAX_BYTES": "4096", "LOG_BACKUPS": "2"})
    try:
        for _ in range(300):  # about 170 bytes each: 50 KB unrotated
            call(server, "GET", "/health")
    finally:
        server.stop()
    logs = sorted(p.name for p in (program / "logs").iterdir())
    assert logs == ["dscr.log", "dscr.log.1", "dscr.log.2"]
    sizes = [(program / "logs" / name).stat().st_size for name in logs]
    assert all(0 < size <= 4096 for size in sizes), sizes
    entries = [
        json.loads(line) for line in (program / "logs" / "dscr.log").read_text().splitlines()
    ]
    requests = [e for e in entries if "path" in e]  # after them: the shutdown's own lines
    assert requests[-1]["path"] == "/health"


@pytest.mark.parametrize(
    "env, message",
    [
        ({"LOG_MAX_BYTES": "1MB"}, "LOG_MAX_BYTES=1MB: expected a whole number above 0"),
        ({"LOG_BACKUPS": "0"}, "LOG_BACKUPS=0: expected a whole number above 0"),
    ],
)
def test_bad_log_settings_are_usage_errors(
    program: Path, env: dict[str, str], message: str
) -> None:
    result = run(program, "run", env=env)
    assert result.code == 2, result
    assert f"error: {message}" in result.err


# -- in a browser -------------------------------------------------------------------------------


@pytest.mark.browser
def test_the_dashboard_works_with_a_token_in_chromium(chromium: Path, token_server: Server) -> None:
    from playwright.sync_api import sync_playwright

    from .test_browser import CHROMIUM_ARGS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            problems: list[str] = []
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            page.goto(f"{token_server.url}/?token={TOKEN}")
            assert page.url == f"{token_server.url}/"
            page.wait_for_selector(".kpi")
            assert page.evaluate("document.cookie") == ""  # HttpOnly: no script reads it
            page.fill("#param-revenue_change_pct", "-10")
            page.click("#run")
            page.wait_for_selector(".tag.sim")
            page.wait_for_function(
                "document.querySelector('.kpi[data-name=portfolio_dscr] .value')"
                ".textContent === '1.14'"
            )
            assert problems == []
        finally:
            browser.close()
