"""Every kind of input change re-runs exactly the stages that read it; edits that do not
change what a spec means re-run nothing; a re-run with the same output stops there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scriptexec.engine.keys import stage_key

from .conftest import edit, ran_stages

SPEC = "specs/dscr.yaml"


def rebuild(cli, project: Path) -> list[str]:
    return ran_stages(cli("-v", "build", SPEC, "--no-image", cwd=project).output)


# (what is edited, old text, new text, the stages that must run and no others)
CASES = [
    ("comment", "# The flagship", "# The flagship (reworded comment)", []),
    (
        "whitespace and quoting",
        "title: Debt service coverage ratio",
        'title:   "Debt service coverage ratio"',
        [],
    ),
    ("formula spacing", "dscr: noi / annual_debt_service", "dscr: noi/annual_debt_service", []),
    (
        "key order",
        "    location: data/properties.csv      # PROPERTIES_LOCATION overrides it at run time\n    format: csv\n",
        None,
        [],
    ),
    ("runtime.memory", "memory: 256m", "memory: 512m", ["package"]),
    ("runtime.cpus", "cpus: 0.5", "cpus: 1", ["package"]),
    (
        "a formula",
        "headroom: noi - covenant * annual_debt_service",
        "headroom: noi - annual_debt_service * covenant",
        ["plan", "generate", "validate", "test"],
    ),
    (
        "a check",
        "parameters: {revenue_change_pct: -10}",
        "parameters: {revenue_change_pct: -10.0, covenant: 1.25}",
        ["test"],
    ),
    (
        "validation threshold",
        "generator: {provider",
        "validation: {threshold: 0.9}\ngenerator: {provider",
        ["validate"],
    ),
    (
        "a parameter bound",
        'min: -50, max: 50, step: 1, unit: "%", label: Revenue change',
        'min: -60, max: 50, step: 1, unit: "%", label: Revenue change',
        ["plan", "generate", "validate", "test"],
    ),
    (
        "the description",
        "flag properties\n  below the loan covenant",
        "flag properties\n  under the loan covenant",
        ["analyze", "plan", "generate", "validate", "test", "package"],
    ),
    ("the generator model (no LLM used)", 'model: "qwen2.5-coder:7b"', 'model: "llama3:8b"', []),
]


@pytest.mark.parametrize("what, old, new, expected", CASES, ids=[c[0] for c in CASES])
def test_edit_reruns_exactly(
    dscr_project: Path, cli, what: str, old: str, new: str | None, expected: list[str]
) -> None:
    spec = dscr_project / SPEC
    if new is None:  # key order: move `format` after `location`
        edit(
            spec,
            "    format: csv\n    location: data/properties.csv      # PROPERTIES_LOCATION overrides it at run time\n",
            old,
        )
    else:
        edit(spec, old, new)
    assert rebuild(cli, dscr_project) == expected
    assert rebuild(cli, dscr_project) == []  # and then it is up to date


def test_template_override_reruns_generate(dscr_project: Path, cli) -> None:
    from scriptexec.resources import templates_dir

    own = dscr_project / "templates" / "program" / "requirements.txt.j2"
    shipped = templates_dir() / "program" / "requirements.txt.j2"
    own.parent.mkdir(parents=True)
    own.write_text(shipped.read_text())  # same content: nothing to do
    assert rebuild(cli, dscr_project) == []
    own.write_text(shipped.read_text() + "# pinned by this project\n")
    assert rebuild(cli, dscr_project) == ["generate", "validate", "test"]
    status = cli("status", SPEC, cwd=dscr_project).output
    assert "generate: fresh" in status


def test_sample_data_edit_reruns_package(dscr_project: Path, cli) -> None:
    data = dscr_project / "specs" / "data" / "properties.csv"
    data.write_text(data.read_text() + "P-109,Willow Court,500000,200000,250000\n")
    assert rebuild(cli, dscr_project) == ["package"]


def test_early_cutoff(dscr_project: Path, cli) -> None:
    # A field description is an input of generate, but the program does not change.
    edit(
        dscr_project / SPEC,
        "description: Annual gross revenue",
        "description: Gross revenue per year",
    )
    out = cli("-v", "build", SPEC, "--no-image", cwd=dscr_project).output
    assert ran_stages(out) == ["generate"]
    assert "dscr: validate cached" in out and "dscr: test cached" in out


def test_touch_rebuilds_nothing_and_restats(dscr_project: Path, cli) -> None:
    spec = dscr_project / SPEC
    spec.write_bytes(spec.read_bytes())  # new mtime, same content
    assert rebuild(cli, dscr_project) == []


def test_pinned_golden_key() -> None:
    # If this changes, every user's cache is invalidated: bump FORMAT_VERSION on purpose.
    key = stage_key("generate", 1, {"spec.compute": {"dscr": "noi / annual_debt_service"}}, {})
    assert key == "01e9965e9c4586f4319244b21d768e7e0af03eb5b130eb15a34db6614dc93dd2"


def test_lock_records_inputs_and_outputs(dscr_project: Path) -> None:
    import yaml

    lock = yaml.safe_load((dscr_project / "scriptexec.lock").read_text())
    gen = lock["specs"]["dscr"]["stages"]["generate"]
    assert lock["specs"]["dscr"]["spec"] == SPEC
    assert "spec.compute.dscr" in gen["inputs"] and "app.py" in gen["outputs"]
    assert set(lock["specs"]["dscr"]["stages"]) == {
        "analyze",
        "plan",
        "generate",
        "validate",
        "test",
        "package",
    }
    report = json.loads(
        (dscr_project / "build" / "dscr" / "_scriptexec" / "test-report.json").read_text()
    )
    assert report["failed"] == 0 and report["checks"] == 4


def test_one_edit_among_many_specs_touches_only_that_spec(tmp_path: Path, cli) -> None:
    import shutil

    repo = Path(__file__).resolve().parents[2]
    (tmp_path / "specs").mkdir()
    shutil.copytree(repo / "specs" / "data", tmp_path / "specs" / "data")
    text = (repo / "specs" / "dscr.yaml").read_text()
    for i in range(12):
        (tmp_path / "specs" / f"s{i:02d}.yaml").write_text(text.replace("name: dscr", f"name: s{i:02d}"))
    cli("build", "--until", "generate", "-j", "2", cwd=tmp_path)
    edit(tmp_path / "specs" / "s05.yaml", "breach: dscr < covenant", "breach: dscr <= covenant")
    out = cli("-v", "build", "--until", "generate", cwd=tmp_path).output
    assert ran_stages(out, "s05") == ["plan", "generate"]
    others = [f"s{i:02d}" for i in range(12) if i != 5]
    # The others are decided by the stat-only fast path, even after s05 rewrote the lock.
    assert all(f"{name}: up to date" in out for name in others), out
