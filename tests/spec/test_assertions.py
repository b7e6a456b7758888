"""The spec's `assertions`: the schema's examples validate, every mistake is one problem
naming its file, line, column and key path (with a did-you-mean where one helps), and the
canonical form says what each assertion means."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest

from scriptexec.errors import SpecError
from scriptexec.spec.model import load_spec
from scriptexec.spec.schema_check import spec_schema

HEAD = """\
version: 1
name: t
inputs:
  units:
    format: csv
    location: units.csv
    fields:
      unit_id: string
      kind: string
      sqft: integer
      rent: number?
      let: boolean
      due: date
compute:
  rent_psf: rent / sqft
assertions:
"""
FIRST = HEAD.count("\n") + 1  # the line of the first assertion


def load(tmp_path: Path, assertions: str) -> Any:
    path = tmp_path / "t.yaml"
    path.write_text(HEAD + assertions, encoding="utf-8")
    return load_spec(path, "t.yaml")


def problems(tmp_path: Path, assertions: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        load(tmp_path, assertions)
    return [str(p) for p in info.value.problems]


# -- the schema ----------------------------------------------------------------------------


def _assertions_schema() -> dict[str, Any]:
    return spec_schema()["properties"]["assertions"]


def test_the_schema_examples_validate() -> None:
    schema = _assertions_schema()
    validator = jsonschema.Draft202012Validator(spec_schema())
    base = {"version": 1, "name": "t", "inputs": {"d": {"format": "csv", "fields": {"a": "x"}}}}
    for example in schema["examples"]:
        errors = list(validator.iter_errors({**base, "assertions": example}))
        assert [e for e in errors if e.absolute_path and e.absolute_path[0] == "assertions"] == []
    item = schema["items"]
    for example in item["examples"]:
        jsonschema.validate(example, item)
    for branch in item["oneOf"]:  # each kind: titled, described, closed, with examples
        assert {"title", "description", "examples"} <= set(branch)
        assert branch["additionalProperties"] is False
        for example in branch["examples"]:
            jsonschema.validate(example, item)
        for name, prop in branch["properties"].items():
            assert {"title", "description", "examples"} <= set(prop), name
            for example in prop["examples"]:
                jsonschema.validate(example, prop)


def test_a_spec_with_every_kind_loads(tmp_path: Path) -> None:
    spec = load(
        tmp_path,
        """\
  - unique: unit_id
    name: one row per unit
  - not_missing: [rent, kind]
  - not_missing: sqft
  - accepted_values: {field: kind, values: [studio, "1br", "it's"]}
    severity: warn
  - range: {field: rent_psf, min: 0.5, max: 20}
  - range: {field: sqft, min: 100}
  - row_count: {max: 100000}
""",
    )
    assert spec.canonical["assertions"] == [
        {"kind": "unique", "field": "unit_id", "severity": "error", "name": "one row per unit"},
        {"kind": "not_missing", "fields": ["rent", "kind"], "severity": "error", "name": None},
        {"kind": "not_missing", "fields": ["sqft"], "severity": "error", "name": None},
        {
            "kind": "accepted_values",
            "field": "kind",
            "values": ["studio", "1br", "it's"],
            "severity": "warn",
            "name": None,
        },
        {
            "kind": "range",
            "field": "rent_psf",
            "min": 0.5,
            "max": 20,
            "severity": "error",
            "name": None,
        },
        {
            "kind": "range",
            "field": "sqft",
            "min": 100,
            "max": None,
            "severity": "error",
            "name": None,
        },
        {"kind": "row_count", "min": None, "max": 100000, "severity": "error", "name": None},
    ]


def test_a_spec_without_assertions_has_none(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(HEAD.replace("assertions:\n", ""), encoding="utf-8")
    assert load_spec(path).canonical["assertions"] == []


# -- the shape: what the schema reports ------------------------------------------------


@pytest.mark.parametrize(
    "assertion, expected",
    [
        (
            "  - uniqe: unit_id\n",
            f"t.yaml:{FIRST}:5: assertions[0].uniqe: unknown key 'uniqe'; did you mean 'unique'?",
        ),
        (
            "  - acepted_values: {field: kind, values: [a]}\n",
            f"t.yaml:{FIRST}:5: assertions[0].acepted_values: unknown key 'acepted_values';"
            " did you mean 'accepted_values'?",
        ),
        (
            "  - severity: warn\n",
            f"t.yaml:{FIRST}:5: assertions[0]: needs one of the keys: unique, not_missing,"
            " accepted_values, range, row_count",
        ),
        (
            "  - unique: unit_id\n    not_missing: kind\n",
            f"t.yaml:{FIRST + 1}:5: assertions[0].not_missing: 'unique' and 'not_missing' cannot"
            " be combined; give each its own list item",
        ),
        (
            "  - range: {field: sqft, mni: 1}\n",
            f"t.yaml:{FIRST}:26: assertions[0].range.mni: unknown key 'mni'; did you mean 'min'?",
        ),
        (
            "  - unique: unit_id\n    severity: fatal\n",
            f"t.yaml:{FIRST + 1}:15: assertions[0].severity: text 'fatal' is not allowed;"
            " expected one of: error, warn",
        ),
        (
            "  - accepted_values: {field: kind}\n",
            f"t.yaml:{FIRST}:5: assertions[0].accepted_values: missing required key 'values'",
        ),
        (
            "  - row_count: {min: -1}\n",
            f"t.yaml:{FIRST}:22: assertions[0].row_count.min: -1 is below the minimum 0",
        ),
        (
            '  - unique: unit"id\n',
            f"t.yaml:{FIRST}:13: assertions[0].unique: text 'unit\"id' is not valid (expected a"
            " name of letters, digits and _, not starting with a digit)",
        ),
    ],
    ids=[
        "misspelt kind",
        "misspelt long kind",
        "no kind",
        "two kinds",
        "misspelt bound",
        "severity",
        "no values",
        "negative count",
        "quote in a name",
    ],
)
def test_shape_mistakes(tmp_path: Path, assertion: str, expected: str) -> None:
    found = problems(tmp_path, assertion)
    assert found[0] == expected
    # (a quote in a name is also an unknown field: the second problem says so)
    assert len(found) == (2 if '"' in assertion else 1), found


# -- the meaning: what the semantic checks report ----------------------------------------


@pytest.mark.parametrize(
    "assertion, expected",
    [
        (
            "  - unique: unit_i\n",
            f"t.yaml:{FIRST}:13: assertions[0].unique: unknown row field 'unit_i';"
            " did you mean 'unit_id'?",
        ),
        (
            "  - not_missing: [rent, rent_pfs]\n",
            f"t.yaml:{FIRST}:25: assertions[0].not_missing[1]: unknown row field 'rent_pfs';"
            " did you mean 'rent_psf'?",
        ),
        (
            "  - not_missing: zzz\n",
            f"t.yaml:{FIRST}:18: assertions[0].not_missing: unknown row field 'zzz'",
        ),
        (
            "  - accepted_values: {field: knd, values: [a]}\n",
            f"t.yaml:{FIRST}:30: assertions[0].accepted_values.field: unknown row field 'knd';"
            " did you mean 'kind'?",
        ),
        (
            "  - accepted_values: {field: kind, values: [studio, 3]}\n",
            f"t.yaml:{FIRST}:53: assertions[0].accepted_values.values[1]: 'kind' is a string"
            " field; 3 is not text (quote it)",
        ),
        (
            "  - accepted_values: {field: sqft, values: [500, 650.5]}\n",
            f"t.yaml:{FIRST}:50: assertions[0].accepted_values.values[1]: 'sqft' is an integer"
            " field; 650.5 is not a whole number",
        ),
        (
            "  - accepted_values: {field: rent, values: ['1200']}\n",
            f"t.yaml:{FIRST}:45: assertions[0].accepted_values.values[0]: 'rent' is a number"
            " field; '1200' is not a number",
        ),
        (
            "  - accepted_values: {field: rent, values: [.inf]}\n",
            f"t.yaml:{FIRST}:45: assertions[0].accepted_values.values[0]: 'rent' is a number"
            " field; inf is not a finite number",
        ),
        (
            "  - accepted_values: {field: let, values: [true, 1]}\n",
            f"t.yaml:{FIRST}:50: assertions[0].accepted_values.values[1]: 'let' is a boolean"
            " field; 1 is not true or false",
        ),
        (
            "  - range: {field: kind, min: 1}\n",
            f"t.yaml:{FIRST}:20: assertions[0].range.field: 'kind' is a string field; range"
            " compares numbers, dates and datetimes; for a text field, use accepted_values",
        ),
        (
            "  - range: {field: rent_psf, min: '0'}\n",
            f"t.yaml:{FIRST}:35: assertions[0].range.min: '0' is not a number",
        ),
        (
            "  - range: {field: rent_psf, min: 20, max: 0.5}\n",
            f"t.yaml:{FIRST}:35: assertions[0].range.min: min 20 is above max 0.5",
        ),
        (
            "  - range: {field: rent_psf}\n",
            f"t.yaml:{FIRST}:5: assertions[0].range: range needs min, max or both",
        ),
        (
            "  - range: {field: due, min: 2024-01-01, max: 2023-12-31}\n",
            f"t.yaml:{FIRST}:30: assertions[0].range.min: min '2024-01-01' is above max"
            " '2023-12-31'",
        ),
        (
            "  - range: {field: due, min: 5}\n",
            f"t.yaml:{FIRST}:30: assertions[0].range.min: 5 is not a date written as 2024-03-31",
        ),
        (
            "  - accepted_values: {field: due, values: [2024-03-31, 2024-02-30]}\n",
            f"t.yaml:{FIRST}:56: assertions[0].accepted_values.values[1]: 'due' is a date"
            " field; '2024-02-30' is not a date written as 2024-03-31",
        ),
        (
            "  - row_count: {min: 10, max: 1}\n",
            f"t.yaml:{FIRST}:22: assertions[0].row_count.min: min 10 is above max 1",
        ),
        (
            "  - row_count: {}\n",
            f"t.yaml:{FIRST}:5: assertions[0].row_count: row_count needs min, max or both",
        ),
    ],
    ids=[
        "unknown unique field",
        "unknown computed field in a list",
        "unknown field, nothing close",
        "unknown accepted field",
        "a number for text",
        "a fraction for an integer",
        "text for a number",
        "infinity",
        "a number for a boolean",
        "range on text",
        "a text bound",
        "min above max",
        "no bounds",
        "dates the wrong way round",
        "a number for a date",
        "no such day",
        "row_count min above max",
        "row_count without bounds",
    ],
)
def test_meaning_mistakes(tmp_path: Path, assertion: str, expected: str) -> None:
    assert problems(tmp_path, assertion) == [expected]


def test_every_problem_of_every_assertion_is_reported_at_once(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "  - unique: unit_i\n  - range: {field: rent, min: 5, max: 1}\n  - row_count: {min: 3}\n",
    )
    assert found == [
        f"t.yaml:{FIRST}:13: assertions[0].unique: unknown row field 'unit_i';"
        " did you mean 'unit_id'?",
        f"t.yaml:{FIRST + 1}:31: assertions[1].range.min: min 5 is above max 1",
    ]


def test_a_huge_accepted_list_is_refused(tmp_path: Path) -> None:
    values = ", ".join(f"k{n}" for n in range(1001))
    found = problems(tmp_path, f"  - accepted_values: {{field: kind, values: [{values}]}}\n")
    assert found == [
        f"t.yaml:{FIRST}:44: assertions[0].accepted_values.values: 1,001 accepted values, more"
        " than 1,000; put them in a lookup input (join_on the field) and assert not_missing on"
        " one of its fields"
    ]
    # 1,000 is the most: it loads
    values = ", ".join(f"k{n}" for n in range(1000))
    spec = load(tmp_path, f"  - accepted_values: {{field: kind, values: [{values}]}}\n")
    assert len(spec.canonical["assertions"][0]["values"]) == 1000


def test_a_name_is_one_line_in_the_canonical_form(tmp_path: Path) -> None:
    spec = load(tmp_path, "  - unique: unit_id\n    name: |\n      one row\n      per   unit\n")
    assert spec.canonical["assertions"][0]["name"] == "one row per unit"
