"""Inputs read from another spec (`from:`): the fields and format they get, and the spec
errors for what cannot be read (unknown spec, cycles, fields that do not match)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scriptexec.errors import SpecError
from scriptexec.spec.model import load_spec

# An upstream: a CSV row source, a joined lookup, computed fields of three types.
UPSTREAM = """\
version: 1
name: up
inputs:
  sales:
    format: csv
    location: data/sales.csv
    fields: {id: string, region: string, qty: integer, price: number, note: string?}
  regions:
    format: csv
    location: data/regions.csv
    join_on: region
    fields: {region: string, manager: string}
compute:
  amount: qty * price
  big: amount > 100
  label: concat(region, '-', id)
outputs: [results.csv, summary.json]
"""
DATA = {
    "data": {"sales.csv": "id,region,qty,price,note\n", "regions.csv": "region,manager\n"},
}


def downstream(inputs: str, compute: str = "  twice: amount * 2\n", name: str = "down") -> str:
    return f"version: 1\nname: {name}\ninputs:\n{inputs}compute:\n{compute}"


def problems(path: Path) -> list[str]:
    with pytest.raises(SpecError) as info:
        load_spec(path, path.name, root=path.parent)
    return [str(p) for p in info.value.problems]


def test_fields_omitted_are_the_upstream_result_columns(tree) -> None:
    root = tree({**DATA, "up.yaml": UPSTREAM, "down.yaml": downstream("  s:\n    from: up\n")})
    spec = load_spec(root / "down.yaml", root=root)
    fields = spec.canonical["inputs"]["s"]["fields"]
    # The row source's required fields stay required; its optional one, the joined field
    # (no match: missing) and the computed ones (missing in a row in error) are optional.
    assert {f: (d["type"], d["required"]) for f, d in fields.items()} == {
        "id": ("string", True),
        "region": ("string", True),
        "qty": ("integer", True),
        "price": ("number", True),
        "note": ("string", False),
        "manager": ("string", False),
        "amount": ("number", False),
        "big": ("boolean", False),
        "label": ("string", False),
    }
    inp = spec.canonical["inputs"]["s"]
    assert (inp["from"], inp["format"], inp["location"], inp["env"]) == (
        "up",
        "csv",
        "../up/results/results.csv",
        "S_LOCATION",
    )
    assert spec.resolved.compute["twice"].type == "number"


def test_parquet_is_read_when_the_upstream_writes_it(tree) -> None:
    up = UPSTREAM.replace("[results.csv, summary.json]", "[results.json, results.parquet]")
    root = tree({**DATA, "up.yaml": up, "down.yaml": downstream("  s:\n    from: up\n")})
    inp = load_spec(root / "down.yaml", root=root).canonical["inputs"]["s"]
    assert (inp["format"], inp["location"]) == ("parquet", "../up/results/results.parquet")


def test_declared_fields_are_a_subset_with_their_own_required_flag(tree) -> None:
    inputs = "  s:\n    from: up\n    fields: {amount: number, id: string?}\n"
    root = tree({**DATA, "up.yaml": UPSTREAM, "down.yaml": downstream(inputs)})
    fields = load_spec(root / "down.yaml", root=root).canonical["inputs"]["s"]["fields"]
    # In the upstream's column order; required as this spec says.
    assert [(f, d["type"], d["required"]) for f, d in fields.items()] == [
        ("id", "string", False),
        ("amount", "number", True),
    ]


def test_a_declared_field_the_upstream_lacks_or_types_otherwise(tree) -> None:
    inputs = "  s:\n    from: up\n    fields:\n      amont: number\n      big: number\n"
    root = tree({**DATA, "up.yaml": UPSTREAM, "down.yaml": downstream(inputs, "  one: 1\n")})
    assert problems(root / "down.yaml") == [
        "down.yaml:7:7: inputs.s.fields.amont: 'amont' is not a result column of spec 'up';"
        " did you mean 'amount'?",
        "down.yaml:8:12: inputs.s.fields.big: 'big' is boolean in the results of spec 'up',"
        " not number",
    ]


def test_unknown_upstream_names_the_key_and_line_with_did_you_mean(tree) -> None:
    root = tree({**DATA, "up.yaml": UPSTREAM, "down.yaml": downstream("  s:\n    from: upp\n")})
    # Only the one problem: `amount` is unknown because the upstream is.
    assert problems(root / "down.yaml") == [
        "down.yaml:5:11: inputs.s.from: unknown spec 'upp'; did you mean 'up'?"
    ]


def test_unknown_upstream_with_nothing_close_lists_the_specs(tree) -> None:
    root = tree({**DATA, "up.yaml": UPSTREAM, "down.yaml": downstream("  s:\n    from: zzz\n")})
    assert problems(root / "down.yaml") == [
        "down.yaml:5:11: inputs.s.from: unknown spec 'zzz'; the specs beside this one are: down, up"
    ]


def test_an_upstream_in_another_file_name_is_found_by_its_name(tree) -> None:
    root = tree({**DATA, "sales.yaml": UPSTREAM, "down.yaml": downstream("  s:\n    from: up\n")})
    spec = load_spec(root / "down.yaml", "down.yaml", root=root)
    assert spec.resolved.upstream["s"].display == "sales.yaml"


def test_a_spec_reading_itself_is_a_cycle(tree) -> None:
    root = tree({"down.yaml": downstream("  s:\n    from: down\n", "  one: 1\n")})
    assert problems(root / "down.yaml") == [
        "down.yaml:5:11: inputs.s.from: the pipeline has a cycle: down -> down;"
        " a spec cannot read its own results"
    ]


def test_a_cycle_of_two_is_named_in_each(tree) -> None:
    a = downstream("  x:\n    from: b\n", "  one: 1\n", name="a")
    b = downstream("  y:\n    from: a\n", "  one: 1\n", name="b")
    root = tree({"a.yaml": a, "b.yaml": b})
    assert problems(root / "a.yaml") == [
        "a.yaml:5:11: inputs.x.from: the pipeline has a cycle: a -> b -> a"
    ]
    assert problems(root / "b.yaml") == [
        "b.yaml:5:11: inputs.y.from: the pipeline has a cycle: b -> a -> b"
    ]


def test_a_longer_cycle_upstream_is_that_spec_s_problem(tree) -> None:
    a = downstream("  x:\n    from: b\n", "  one: 1\n", name="a")
    b = downstream("  y:\n    from: c\n", "  one: 1\n", name="b")
    c = downstream("  z:\n    from: b\n", "  one: 1\n", name="c")
    root = tree({"a.yaml": a, "b.yaml": b, "c.yaml": c})
    assert problems(root / "a.yaml") == [
        "a.yaml:5:11: inputs.x.from: spec 'b' is not valid (1 problem in b.yaml);"
        " run: scriptexec validate b.yaml"
    ]
    assert problems(root / "b.yaml") == [
        "b.yaml:5:11: inputs.y.from: the pipeline has a cycle: b -> c -> b"
    ]


def test_keys_that_say_where_to_read_do_not_go_with_from(tree) -> None:
    inputs = "  s:\n    from: up\n    format: csv\n    location: x.csv\n"
    root = tree({**DATA, "up.yaml": UPSTREAM, "down.yaml": downstream(inputs)})
    assert problems(root / "down.yaml") == [
        "down.yaml:6:5: inputs.s.format: an input read from spec 'up' takes its format from"
        " that spec's outputs; remove format",
        "down.yaml:7:5: inputs.s.location: an input read from spec 'up' is found where that"
        " spec's program writes it; remove location; S_LOCATION overrides it at run time",
    ]


def test_an_upstream_without_row_results(tree) -> None:
    up = UPSTREAM.replace("[results.csv, summary.json]", "[summary.json]")
    root = tree({**DATA, "up.yaml": up, "down.yaml": downstream("  s:\n    from: up\n")})
    assert problems(root / "down.yaml") == [
        "down.yaml:5:11: inputs.s.from: spec 'up' writes no row results; add"
        " results.parquet, results.csv or results.json to its outputs"
    ]


def test_an_input_without_from_still_needs_format_and_fields(tree) -> None:
    root = tree({"down.yaml": downstream("  s:\n    location: x.csv\n", "  one: 1\n")})
    found = problems(root / "down.yaml")
    assert "down.yaml:4:3: inputs.s: missing required key 'format'" in found
    assert "down.yaml:4:3: inputs.s: missing required key 'fields'" in found


def test_checks_give_rows_of_the_upstream_columns(tree) -> None:
    check = (
        "checks:\n  - name: one\n    given:\n      s: [{id: A, region: N, qty: 2, price: 1.5,"
        " amount: 'x'}]\n    expect: {rows: [{twice: 6}]}\n"
    )
    root = tree(
        {**DATA, "up.yaml": UPSTREAM, "down.yaml": downstream("  s:\n    from: up\n") + check}
    )
    assert problems(root / "down.yaml") == [
        "down.yaml:11:58: checks[0].given.s[0].amount: expected a number, got 'x'"
    ]
