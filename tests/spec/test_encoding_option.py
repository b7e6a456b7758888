"""inputs.<name>.encoding: checked at validate time, carried into the program model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scriptexec.codegen.model import program_model
from scriptexec.spec.model import load_spec

SPEC = """\
version: 1
name: demo
inputs:
  items:
    format: csv
    location: data/items.csv
    encoding: {items}
    fields: {{item_id: string, qty: number}}
  rates:
    format: json
    location: data/rates.json
    encoding: {rates}
    join_on: item_id
    fields: {{item_id: string, rate: number}}
compute:
  total: qty * rate
"""
DATA = {"data/items.csv": "item_id,qty\nA,1\n", "data/rates.json": '[{"item_id": "A", "rate": 2}]'}


def test_bad_encodings_are_spec_errors_with_line_and_key(tree: Callable[..., Path], cli) -> None:
    root = tree({"demo.yaml": SPEC.format(items="latin-9x", rates="base64"), **DATA})
    result = cli("validate", "demo.yaml", cwd=root, expect=2)
    lines = result.output.splitlines()
    hint = "; e.g. utf-8, latin-1, cp1252, utf-16"
    # line 7 and 12, column 15: where the value starts after "    encoding: "
    assert f"demo.yaml:7:15: inputs.items.encoding: unknown encoding 'latin-9x'{hint}" in lines
    assert f"demo.yaml:12:15: inputs.rates.encoding: 'base64' is not a text encoding{hint}" in lines
    assert not (root / "build").exists()


def test_encoding_applies_to_files_only(tree: Callable[..., Path], cli) -> None:
    spec = SPEC.format(items="utf-8", rates="utf-8").replace(
        "  rates:\n    format: json\n    location: data/rates.json\n",
        "  rates:\n    format: http\n    location: https://api.example.com/rates\n",
    )
    root = tree({"demo.yaml": spec, **DATA})
    result = cli("validate", "demo.yaml", cwd=root, expect=2)
    assert (
        "demo.yaml:12:5: inputs.rates.encoding: 'encoding' only applies to csv and json"
        in result.output.splitlines()
    )


@pytest.mark.parametrize(
    ("written", "expected"),
    [("latin-1", "latin-1"), ("cp1252", "cp1252"), ("UTF8", "utf-8"), ("utf_8", "utf-8")],
)
def test_the_encoding_reaches_the_program_model(
    tree: Callable[..., Path], written: str, expected: str
) -> None:
    root = tree({"demo.yaml": SPEC.format(items=written, rates="utf-8"), **DATA})
    inputs: dict[str, Any] = {
        i["name"]: i for i in program_model(load_spec(root / "demo.yaml"))["inputs"]
    }
    assert inputs["items"]["encoding"] == expected
    assert inputs["rates"]["encoding"] == "utf-8"


def test_utf8_however_spelt_leaves_the_canonical_form_alone(tree: Callable[..., Path]) -> None:
    # so that the stage keys of specs that do not set it (or set the default) stay put
    root = tree({"a.yaml": SPEC.format(items="UTF-8", rates="utf8"), **DATA})
    plain = SPEC.format(items="x", rates="x").replace("    encoding: x\n", "")
    (root / "b.yaml").write_text(plain)
    a, b = load_spec(root / "a.yaml"), load_spec(root / "b.yaml")
    assert a.canonical["inputs"] == b.canonical["inputs"]
    assert "encoding" not in b.canonical["inputs"]["items"]
