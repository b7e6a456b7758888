"""The canonical form ignores how a spec is written and keeps what it means."""

from __future__ import annotations

from pathlib import Path

from scriptexec.spec.canonical import canonical_json
from scriptexec.spec.model import load_spec

BASE = """\
version: 1
name: demo
description: Total the items.
inputs:
  items:
    format: csv
    location: data/items.csv
    fields: {item_id: string, qty: number, price: number}
parameters:
  markup: {type: number, default: 10, min: 0, max: 100}
compute:
  total: qty * price * (1 + markup / 100)
summary:
  grand_total: sum(total)
"""

# The same spec, written differently: comments, key order, quoting, flow vs block style,
# spacing inside formulas, integer vs float literals for a number, folded prose.
REWRITTEN = """\
# a comment at the top
summary: {"grand_total": "sum( total )"}   # trailing comment
compute:
  total: 'qty*price*(1+markup/100)'
parameters:
  markup:
    max: 100.0
    min: 0
    default: 10.0
    type: "number"
inputs:
  items:
    fields:
      price: number
      qty: {type: number}
      item_id: string
    location: "data/items.csv"
    format: csv
description: >
  Total
  the   items.
name: "demo"
version: 1
"""


def canon(tmp_path: Path, text: str, name: str = "s.yaml") -> bytes:
    path = tmp_path / name
    path.write_text(text)
    return canonical_json(load_spec(path).canonical)


def test_formatting_does_not_change_the_canonical_form(tmp_path: Path) -> None:
    assert canon(tmp_path, BASE, "a.yaml") == canon(tmp_path, REWRITTEN, "b.yaml")


def test_defaults_are_applied(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text(BASE)
    c = load_spec(tmp_path / "x.yaml").canonical
    assert c["runtime"] == {
        "python": "3.11",
        "base_image": "python:3.11-slim",
        "memory": "256m",
        "cpus": 0.5,
        "pids": 128,
        "network": "none",
    }
    assert c["generator"]["temperature"] == 0 and c["generator"]["seed"] == 42
    assert c["validation"] == {"threshold": 0.8}
    assert c["outputs"] == ["report.html", "results.csv", "summary.json"]
    assert c["inputs"]["items"]["env"] == "ITEMS_LOCATION"
    assert c["rows"] == "items"


def test_meaningful_edits_change_it(tmp_path: Path) -> None:
    base = canon(tmp_path, BASE, "a.yaml")
    edits = [
        BASE.replace("qty * price", "qty + price"),
        BASE.replace("default: 10", "default: 11"),
        BASE.replace("Total the items.", "Total the items, twice."),
        BASE + "runtime: {memory: 512m}\n",
        BASE.replace("qty: number", "qty: integer"),
    ]
    seen = {base}
    for i, text in enumerate(edits):
        c = canon(tmp_path, text, f"e{i}.yaml")
        assert c not in seen, text
        seen.add(c)


def test_network_auto_resolves_from_inputs(tmp_path: Path) -> None:
    text = BASE.replace(
        "format: csv\n    location: data/items.csv",
        "format: http\n    location: https://api.example.com/items",
    )
    path = tmp_path / "h.yaml"
    path.write_text(text)
    assert load_spec(path).canonical["runtime"]["network"] == "bridge"
