"""The dashboard in a real browser: Debian's chromium driven by Playwright.

Screenshots land in tests/artifacts/ (gitignored) for a person to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .helpers import (
    ARTIFACTS,
    DSCR_CSV,
    LOWEST_DSCR,
    MARKET_JSON,
    NEAR_COVENANT_CSV,
    UNITS_CSV,
    Server,
    model,
    render,
)

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
RED = "rgb(194, 59, 59)"  # --bad

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
    near = model("dscr")
    near["summary"].append(LOWEST_DSCR)
    near_covenant = render(near, root / "near", {"data/properties.csv": NEAR_COVENANT_CSV})
    started = {
        "dscr": Server(dscr),
        "rent_roll": Server(rent_roll),
        "near": Server(near_covenant),
    }
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


def color(page: Any, selector: str) -> str:
    return str(page.locator(selector).evaluate("e => getComputedStyle(e).color"))


def test_a_figure_just_under_its_threshold_never_shows_as_the_threshold(
    page: Any, servers: dict[str, Server]
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(servers["near"].url + "/")
    page.wait_for_selector(".kpi")
    # 1.2483 to two decimals is 1.25, the covenant itself: three decimals tell them apart
    assert kpi(page, "portfolio_dscr") == "1.248"
    assert color(page, '.kpi[data-name="portfolio_dscr"] .value') == RED  # 1.2483 < 1.25
    # every DSCR on the page has the same decimals: the figures and the column
    assert kpi(page, "lowest_dscr") == "0.897"  # min(1.6, 0.8966)
    cells = page.locator("#results tbody td:nth-child(7)").all_inner_texts()
    assert cells == ["1.600", "0.897"]
    assert color(page, "#results tbody tr:nth-child(2) td:nth-child(7)") == RED
    assert color(page, "#results tbody tr:nth-child(1) td:nth-child(7)") != RED
    # breach is "dscr < covenant", the chart's own "below the covenant": true is bad
    breach = "#results tbody tr:nth-child({}) td:nth-child(8) .pill"
    assert page.locator(breach.format(2)).inner_text() == "Yes"
    assert color(page, breach.format(2)) == RED
    assert page.locator(breach.format(1)).inner_text() == "No"
    page.screenshot(path=str(ARTIFACTS / "dashboard-near-covenant.png"), full_page=True)
    assert page.problems == []


def labels_outside(page: Any) -> list[str]:
    """Texts of every chart whose box leaves its svg's box or its plot's visible box."""
    return list(
        page.evaluate(
            """() => {
      const out = [];
      for (const svg of document.querySelectorAll("#charts svg")) {
        const box = svg.getBoundingClientRect();
        const plot = svg.closest(".plot").getBoundingClientRect();
        for (const text of svg.querySelectorAll("text")) {
          const r = text.getBoundingClientRect();
          const inside = (b) => r.left >= b.left - 0.5 && r.right <= b.right + 0.5
            && r.top >= b.top - 0.5 && r.bottom <= b.bottom + 0.5;
          if (!inside(box) || (text.classList.contains("threshold-label") && !inside(plot))) {
            out.push(text.textContent);
          }
        }
      }
      return out;
    }"""
        )
    )


def last_column_reachable(page: Any, key: str) -> bool:
    """Scrolled to its right end, the table's container shows the whole last header."""
    return bool(
        page.evaluate(
            """(key) => {
      const scroll = document.querySelector("#" + key + " .scroll");
      scroll.scrollLeft = scroll.scrollWidth;
      const th = scroll.querySelector("th:last-child").getBoundingClientRect();
      const card = scroll.closest(".card").getBoundingClientRect();
      const box = scroll.getBoundingClientRect();
      const ok = th.right <= Math.min(box.right, card.right) + 0.5 && th.width > 0;
      scroll.scrollLeft = 0;
      return ok;
    }""",
            key,
        )
    )


@pytest.mark.parametrize("name", ["near", "rent_roll"])
@pytest.mark.parametrize(
    "viewport", [PHONE, {"width": 1360, "height": 900}], ids=["phone", "desktop"]
)
def test_the_page_fits_its_width_and_the_charts_their_boxes(
    browser: Any, servers: dict[str, Server], name: str, viewport: dict[str, int]
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.goto(servers[name].url + "/")
    page.wait_for_selector("#results table")
    page.wait_for_selector("#charts svg")
    width = viewport["width"]
    kind = "phone" if width < 600 else "desktop"  # taken first: it shows what went wrong
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}-{kind}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    header = page.locator("header").bounding_box()
    assert header["x"] == 0 and header["width"] == width  # the header spans the page
    assert labels_outside(page) == []
    assert last_column_reachable(page, "results")
    if name == "rent_roll":
        assert last_column_reachable(page, "groups")
    context.close()


def test_an_out_of_range_value_is_reported_once(page: Any, servers: dict[str, Server]) -> None:
    page.goto(servers["dscr"].url + "/")
    page.wait_for_selector(".kpi")
    page.fill("#param-covenant", "9")
    page.click("#run")
    page.wait_for_selector("#wrap-covenant.invalid")
    message = "parameter 'covenant' must be at most 3"
    assert page.locator("#problem-covenant").inner_text() == message
    assert page.evaluate("document.body.innerText").count("must be at most 3") == 1
