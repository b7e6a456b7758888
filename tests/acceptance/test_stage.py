"""The test stage: what its key covers, and running it as the engine does."""

from __future__ import annotations

import copy
import json
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from scriptexec.acceptance import HARNESS_VERSION
from scriptexec.errors import BuildError, Interrupted
from scriptexec.project import Project
from scriptexec.stages.base import StageContext, StageResult
from scriptexec.stages.test import TestStage

from .helpers import check, model, program_files

CANONICAL_INPUTS = {
    "properties": {
        "format": "csv",
        "location": "data/properties.csv",
        "env": "PROPERTIES_LOCATION",
        "table": None,
        "query": None,
        "records": "",
        "fields": {
            name: {"type": typ, "required": True, "description": ""}
            for name, typ in [
                ("property_id", "string"),
                ("name", "string"),
                ("gross_revenue", "number"),
                ("operating_expenses", "number"),
                ("annual_debt_service", "number"),
            ]
        },
        "join_on": None,
        "repeat": None,
    }
}


def spec(checks: list[dict[str, Any]], tmp_path: Path) -> Any:
    """A stand-in for a loaded Spec: what the stage reads of one."""
    canonical = {
        "name": "dscr",
        "inputs": copy.deepcopy(CANONICAL_INPUTS),
        "checks": checks,
        "runtime": {},
    }
    return SimpleNamespace(canonical=canonical, name="dscr", base_dir=tmp_path)


def context(the_spec: Any, tmp_path: Path, cancel: threading.Event | None = None) -> StageContext:
    files = program_files(model("dscr"), tmp_path)
    workdir = tmp_path / "stage"
    workdir.mkdir()
    return StageContext(
        spec=the_spec,
        project=Project(tmp_path),
        upstream={"generate": StageResult(files)},
        workdir=workdir,
        cancel=cancel or threading.Event(),
        progress=lambda line: None,
    )


def test_declaration() -> None:
    stage = TestStage()
    assert stage.name == "test"
    assert stage.reads == {"generate": ("*",)}
    assert stage.publish_dir == "_scriptexec"


def test_inputs_are_the_checks_the_inputs_and_the_harness(tmp_path: Path) -> None:
    stage = TestStage()
    one = spec([check()], tmp_path)
    values = stage.inputs(one, Project(tmp_path))
    assert set(values) == {"spec.checks", "spec.inputs", "harness"}
    assert values["spec.checks"] == [check()] and values["harness"] == HARNESS_VERSION
    assert "location" not in values["spec.inputs"]["properties"]  # moving data is not a new check
    assert values["spec.inputs"]["properties"]["fields"]["property_id"] == ["string", True]
    other = spec([check(rows=[{"dscr": 1.25}])], tmp_path)
    assert stage.inputs(other, Project(tmp_path)) != values
    unrelated = spec([check()], tmp_path)
    unrelated.canonical["runtime"] = {"memory": "512m"}
    assert stage.inputs(unrelated, Project(tmp_path)) == values
    assert stage.needs_llm(one) is False


def test_run_writes_the_report(tmp_path: Path) -> None:
    passing = check(rows=[{"property_id": "P1", "dscr": 1.25, "breach": False}])
    result = TestStage().run(context(spec([passing], tmp_path), tmp_path))
    report = json.loads(result.files["test-report.json"])
    assert report["harness_version"] == HARNESS_VERSION
    assert (report["checks"], report["passed"], report["failed"]) == (1, 1, 0)
    assert result.meta["checks"] == 1 and result.meta["isolation"] == report["isolation"]


def test_run_fails_with_a_readable_diff(tmp_path: Path) -> None:
    failing = check("a ratio of 1.3", rows=[{"property_id": "P1", "dscr": 1.3}])
    with pytest.raises(BuildError) as info:
        TestStage().run(context(spec([check(), failing], tmp_path), tmp_path))
    message = str(info.value)
    assert message.startswith("dscr: 1 of 2 checks failed")
    assert message.endswith(
        'check "a ratio of 1.3":\n  row 1:\n      property_id: "P1"\n'
        "    - dscr: 1.3\n    + dscr: 1.25"
    )


def test_a_spec_without_checks_passes(tmp_path: Path) -> None:
    result = TestStage().run(context(spec([], tmp_path), tmp_path))
    assert json.loads(result.files["test-report.json"])["checks"] == 0


def test_an_interrupted_build_stops(tmp_path: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Interrupted):
        TestStage().run(context(spec([check()], tmp_path), tmp_path, cancel))
