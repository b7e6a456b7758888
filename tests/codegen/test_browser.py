"""The dashboard in a real browser: Debian's chromium driven by Playwright.

Screenshots land in tests/artifacts/ (gitignored) for a person to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .helpers import ARTIFACTS, DSCR_CSV, MARKET_JSON, UNITS_CSV, Server, model, render

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    root = tmp_path_factory.mktemp("browser")
    dscr = render(model("dscr"), root / "dscr", {"data/properties.csv": DSCR_CSV})
    units = {
        "data/units.csv": UNITS_CSV + "U5,Oak,1BR,700,true,1650\n",
        "data/market.json": MARKET_JSON,
    }
    rent_roll = render(model("rent_roll"), root / "rent_roll", units)
    started = {"dscr": Server(dscr), "rent_roll": Server(rent_roll)}
    yield started
    for server in started.values():
        server.stop()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.problems = []
    page.on("pageerror", lambda exc: page.problems.append(str(exc)))
    # the browser logs the 400 of a refused simulation: that one is expected
    expected = "the server responded with a status of 400"
    page.on(
        "console",
        lambda msg: (
            msg.type == "error" and expected not in msg.text and page.problems.append(msg.text)
        ),
    )
    yield page
    context.close()


def kpi(page: Any, name: str) -> str:
    return str(page.locator(f'.kpi[data-name="{name}"] .value').inner_text())


def test_dashboard_simulation(page: Any, servers: dict[str, Server]) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(servers["dscr"].url + "/")
    page.wait_for_selector(".kpi")
    assert page.locator("h1").inner_text() == "Debt service coverage ratio"
    assert kpi(page, "portfolio_dscr") == "1.37"  # 1,025,000 / 750,000
    assert kpi(page, "properties_in_breach") == "0"
    assert page.locator("#charts svg rect[data-x]").count() == 2  # P3 has no DSCR to draw
    assert page.locator("#results tbody tr").count() == 3
    assert "division by zero in dscr" in page.locator(".notice").inner_text()
    page.screenshot(path=str(ARTIFACTS / "dashboard-dscr-baseline.png"), full_page=True)

    page.fill("#param-revenue_change_pct", "-10")
    page.click("#run")
    page.wait_for_selector(".tag.sim")
    page.wait_for_function(
        "document.querySelector('.kpi[data-name=portfolio_dscr] .value').textContent === '1.14'"
    )
    assert kpi(page, "properties_in_breach") == "2"
    compare = page.locator('.kpi[data-name="portfolio_dscr"] .compare').inner_text()
    assert compare.startswith("Baseline 1.37")
    assert "Revenue change: -10 %" in page.locator("#scenario").inner_text()
    assert page.locator('#charts rect[fill="var(--bad)"]').count() == 2  # both under 1.25 now
    assert page.locator("#results td.changed").count() > 0
    page.screenshot(path=str(ARTIFACTS / "dashboard-dscr-simulated.png"), full_page=True)

    page.fill("#param-covenant", "9")
    page.click("#run")
    page.wait_for_selector("#wrap-covenant.invalid")
    assert (
        page.locator("#problem-covenant").inner_text() == "parameter 'covenant' must be at most 3"
    )
    assert kpi(page, "properties_in_breach") == "2"  # the last good simulation stays

    page.click("#reset")
    page.wait_for_selector(".tag.base")
    assert kpi(page, "portfolio_dscr") == "1.37"
    assert page.problems == []


def test_dashboard_with_groups_and_a_scatter(page: Any, servers: dict[str, Server]) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(servers["rent_roll"].url + "/")
    page.wait_for_selector("#groups table")
    assert page.locator("#groups tbody tr").count() == 2  # Maple, Oak
    assert page.locator("#charts .chart").count() == 2
    assert page.locator("#charts circle").count() == 5  # one dot per unit
    assert kpi(page, "potential_rent") == "87,600"  # (1,300 + 1,800 * 2 + 1,000 + 1,400) * 12
    page.fill("#param-market_growth_pct", "10")
    page.click("#run")
    page.wait_for_selector(".tag.sim")
    page.wait_for_function(
        "document.querySelector('.kpi[data-name=potential_rent] .value').textContent === '96,360'"
    )
    page.screenshot(path=str(ARTIFACTS / "dashboard-rent-roll-simulated.png"), full_page=True)
    assert page.problems == []
