"""schemas/analysis.schema.json and plan.schema.json: valid 2020-12, strict, and able to
describe the shipped example (dscr)."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest

from scriptexec.resources import schema_path

ANALYSIS = {
    "task_type": "calculation",
    "needs_web": True,
    "needs_simulation": True,
    "data_sources": [{"name": "properties", "format": "csv", "location": "data/properties.csv"}],
    "complexity": "medium",
    "summary": "DSCR per property, covenant breaches, and a what-if dashboard.",
}
PLAN = {
    "steps": [
        {
            "id": "load_properties",
            "action": "load",
            "inputs": ["properties"],
            "outputs": ["rows"],
            "description": "Read the properties CSV.",
        },
        {
            "id": "compute_dscr",
            "action": "compute",
            "inputs": ["rows"],
            "outputs": ["noi", "dscr", "breach"],
            "description": "Apply the formulas per row.",
        },
        {
            "id": "summarise",
            "action": "aggregate",
            "inputs": ["noi", "breach"],
            "outputs": ["portfolio_dscr"],
            "description": "Portfolio figures.",
        },
        {
            "id": "serve",
            "action": "serve",
            "inputs": ["rows"],
            "outputs": [],
            "description": "The dashboard.",
        },
    ],
    "web_routes": [{"method": "POST", "path": "/api/simulate", "purpose": "What-if runs."}],
    "simulation_parameters": [
        {"name": "covenant", "type": "number", "default": 1.25, "min": 0.5, "max": 3, "unit": ""},
        {
            "name": "revenue_change_pct",
            "type": "number",
            "default": 0,
            "min": None,
            "max": None,
            "unit": "%",
        },
    ],
}


def load(name: str) -> dict[str, Any]:
    return json.loads(schema_path(name).read_text())


@pytest.mark.parametrize(("name", "example"), [("analysis", ANALYSIS), ("plan", PLAN)])
def test_schema_is_valid_and_accepts_the_example(name: str, example: dict[str, Any]) -> None:
    schema = load(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(example)


@pytest.mark.parametrize(
    ("name", "example", "path", "value"),
    [
        ("analysis", ANALYSIS, ["task_type"], "analysis"),
        ("analysis", ANALYSIS, ["extra"], 1),
        ("analysis", ANALYSIS, ["data_sources", 0, "kind"], "file"),
        ("plan", PLAN, ["steps", 0, "action"], "database_query"),
        ("plan", PLAN, ["web_routes", 0, "method"], "PATCH"),
        ("plan", PLAN, ["simulation_parameters", 0, "min"], "low"),
    ],
)
def test_schema_rejects(name: str, example: dict[str, Any], path: list[Any], value: Any) -> None:
    broken = copy.deepcopy(example)
    target: Any = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(load(name)).validate(broken)


@pytest.mark.parametrize("name", ["analysis", "plan"])
def test_every_property_is_described(name: str) -> None:
    """Descriptions are what a small model reads to fill a field."""
    schema = load(name)
    assert schema["title"] and schema["description"]
    for key, spec in schema["properties"].items():
        assert "description" in spec, key
