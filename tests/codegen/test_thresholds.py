"""Which values are measured against a threshold (scriptexec.codegen.thresholds)."""

from __future__ import annotations

from scriptexec.codegen.thresholds import judgements

from .helpers import model


def test_the_dscr_model_links_figures_and_flags_to_its_chart_threshold() -> None:
    dscr = model("dscr")
    summary = [*dscr["summary"], {"name": "lowest_dscr", "formula": "min(dscr)"}]
    summary.append({"name": "total_noi", "formula": "sum(noi)"})
    assert judgements(dscr["web"]["charts"], dscr["compute"], summary) == {
        "thresholds": {"dscr": "covenant"},
        # portfolio_dscr by its name, lowest_dscr by its formula; a sum is not an NOI
        "related": {"portfolio_dscr": "dscr", "lowest_dscr": "dscr"},
        "flags": {"breach": "bad"},  # breach: dscr < covenant
    }


def test_a_comparison_says_which_way_is_bad_only_against_a_charted_threshold() -> None:
    charts = [{"type": "bar", "x": "sku", "y": "cover", "threshold": "minimum"}]
    compute = [
        {"name": "short", "type": "boolean", "formula": "minimum > cover"},
        {"name": "fine", "type": "boolean", "formula": "cover >= minimum"},
        {"name": "big", "type": "boolean", "formula": "cover > 100"},
        {"name": "other", "type": "boolean", "formula": "stock < minimum"},
    ]
    assert judgements(charts, compute, [])["flags"] == {"short": "bad", "fine": "good"}
    assert judgements([], compute, []) == {"thresholds": {}, "related": {}, "flags": {}}
