"""Date and datetime fields, date formats, JSON paths and date parameters in a spec: what
loads, what its canonical form and program model keep, and the messages for mistakes
(more of them in corpus/dates_and_paths.yaml)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scriptexec.codegen.model import program_model
from scriptexec.errors import SpecError
from scriptexec.spec import date_values
from scriptexec.spec.model import load_spec
from scriptexec.spec.yamlload import load_yaml

SPEC = """\
version: 1
name: leases
inputs:
  leases:
    format: json
    location: leases.json
    fields:
      lease_id: string
      lease_end: date
      signed: datetime?
      renewal: {type: date, format: "%d/%m/%Y", required: false}
      email: {type: string, path: contact.email}
parameters:
  as_of: {type: date, default: 2024-06-30, min: 2020-01-01}
  run_day: {type: date, default: today}
compute:
  expired: lease_end < as_of
checks:
  - name: one lease
    given:
      leases: [{lease_id: L1, lease_end: 2024-03-31, signed: 2024-03-31 12:00:00, renewal: 15/04/2024}]
    parameters: {as_of: 2024-06-30}
    expect:
      rows: [{lease_id: L1, expired: true}]
"""


def load(tmp_path: Path, text: str = SPEC) -> object:
    path = tmp_path / "leases.yaml"
    path.write_text(text, encoding="utf-8")
    return load_spec(path)


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load(tmp_path, text)
    return [
        f"{p.path}: {p.message}" + (f"; {p.hint}" if p.hint else "") for p in caught.value.problems
    ]


def test_a_yaml_date_is_the_text_written() -> None:
    doc, found = load_yaml(
        "a: 2024-03-31\nb: 2024-03-31 12:00:00\nc: !!timestamp 2024-01-01\n", "x"
    )
    assert found == [] and doc is not None
    # not datetime.date(2024, 3, 31): a spec's values are JSON's, and the space stays
    assert doc.data == {"a": "2024-03-31", "b": "2024-03-31 12:00:00", "c": "2024-01-01"}


def test_dates_formats_paths_and_date_parameters_load(tmp_path: Path) -> None:
    spec = load(tmp_path)
    canonical = spec.canonical  # type: ignore[attr-defined]
    fields = canonical["inputs"]["leases"]["fields"]
    assert fields["lease_end"] == {"type": "date", "required": True, "description": ""}
    assert fields["signed"] == {"type": "datetime", "required": False, "description": ""}
    assert fields["renewal"]["format"] == "%d/%m/%Y"
    assert fields["email"]["path"] == "contact.email"
    assert canonical["parameters"]["as_of"]["default"] == "2024-06-30"
    assert canonical["parameters"]["run_day"]["default"] == "today"
    assert canonical["checks"][0]["given"]["leases"][0]["lease_end"] == "2024-03-31"
    model = program_model(spec)
    assert model["inputs"][0]["fields"][1:] == [
        {"name": "lease_end", "type": "date", "required": True},
        {"name": "signed", "type": "datetime", "required": False},
        {"name": "renewal", "type": "date", "required": False, "format": "%d/%m/%Y"},
        {"name": "email", "type": "string", "required": True, "path": "contact.email"},
    ]


def test_a_misspelt_date_type_is_named(tmp_path: Path) -> None:
    found = problems(tmp_path, SPEC.replace("lease_end: date", "lease_end: dat"))
    assert (
        "inputs.leases.fields.lease_end: text 'dat' is not allowed; did you mean 'date'?" in found
    )


def test_path_only_for_json_and_format_only_for_dates(tmp_path: Path) -> None:
    text = SPEC.replace(
        "format: json\n    location: leases.json", "format: csv\n    location: leases.csv"
    )
    text = text.replace(
        'renewal: {type: date, format: "%d/%m/%Y"', 'renewal: {type: string, format: "%d/%m/%Y"'
    )
    assert problems(tmp_path, text) == [
        "inputs.leases.fields.renewal.format: 'format' only applies to date and datetime fields",
        "inputs.leases.fields.email.path: 'path' only applies to json and http inputs",
    ]


def test_a_check_date_must_read_as_the_field_reads_it(tmp_path: Path) -> None:
    text = SPEC.replace("lease_end: 2024-03-31,", "lease_end: 31/03/2024,").replace(
        "renewal: 15/04/2024", "renewal: April 15"
    )
    assert problems(tmp_path, text) == [
        "checks[0].given.leases[0].lease_end: expected a date (YYYY-MM-DD), got '31/03/2024'",
        "checks[0].given.leases[0].renewal: expected a date (YYYY-MM-DD or %d/%m/%Y), got 'April 15'",
    ]


@pytest.mark.parametrize(
    ("text", "good"),
    [
        ("2024-03-31", True),
        ("2024-02-29", True),
        ("2023-02-29", False),
        ("0000-01-01", False),
        ("20240331", False),
        ("2024-3-31", False),
    ],
)
def test_spec_dates(text: str, good: bool) -> None:
    assert (date_values.as_date(text) is not None) is good


def test_format_problems() -> None:
    assert date_values.format_problem("%d/%m/%Y") is None
    assert date_values.format_problem("%Y%%") is None
    assert date_values.format_problem("%m/%d") == (
        "the format has no year (%Y or %y)",
        "a date without a year would be in 1900",
    )
    assert date_values.format_problem("%%Y-%m") is not None  # %%Y is the text "%Y"
    assert date_values.format_problem("%c")[0] == "unknown format code %c"  # type: ignore[index]
