"""--check, --frozen, --dry-run, status, graph, clean, cache gc, -j, -k, --json through the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from .conftest import edit, ran_stages

SPEC = "specs/dscr.yaml"


def test_check_passes_when_fresh_and_fails_when_stale(dscr_project: Path, cli) -> None:
    cli("build", "--check", SPEC, "--no-image", cwd=dscr_project)
    edit(dscr_project / SPEC, "memory: 256m", "memory: 300m")
    out = cli("build", "--check", SPEC, "--no-image", cwd=dscr_project, expect=1).output
    assert "dscr: package STALE: runtime.memory changed (specs/dscr.yaml:" in out
    assert ran_stages(out) == []


def test_check_needs_no_cache(dscr_project: Path, cli, monkeypatch, tmp_path: Path) -> None:
    # CI: a fresh clone has the lock but no cache; --check compares keys only.
    monkeypatch.setenv("SCRIPTEXEC_CACHE_DIR", str(tmp_path / "empty-cache"))
    shutil.rmtree(dscr_project / ".scriptexec")
    cli("build", "--check", SPEC, "--no-image", cwd=dscr_project)
    assert not (tmp_path / "empty-cache").exists()


def test_dry_run_says_what_would_run_and_why(dscr_project: Path, cli) -> None:
    edit(dscr_project / SPEC, "breach: dscr < covenant", "breach: dscr < covenant * 1")
    out = cli("build", "-n", SPEC, "--no-image", cwd=dscr_project).output
    assert "dscr: generate would run: compute.breach changed (specs/dscr.yaml:" in out
    assert "dscr: validate would run: waits on generate" in out
    assert "dscr: package" not in out  # fresh stages are only shown with -v
    assert ran_stages(cli("-v", "build", "-n", SPEC, "--no-image", cwd=dscr_project).output) == []


def test_status_reasons(dscr_project: Path, cli) -> None:
    edit(
        dscr_project / SPEC,
        "dscr: noi / annual_debt_service",
        "dscr: noi / annual_debt_service / 1",
    )
    out = cli("status", SPEC, cwd=dscr_project).output
    line = next(x for x in out.splitlines() if "generate:" in x)
    assert line.strip().startswith("generate: stale: compute.dscr changed (specs/dscr.yaml:36)")
    assert "package: fresh" in out
    data = json.loads(cli("status", "--json", SPEC, cwd=dscr_project).output)
    states = {s["stage"]: s["state"] for s in data[0]["stages"]}
    assert states["generate"] == "stale" and states["analyze"] == "fresh"


def test_status_names_a_changed_template(dscr_project: Path, cli) -> None:
    from scriptexec.resources import templates_dir

    own = dscr_project / "templates" / "package" / "Dockerfile.j2"
    own.parent.mkdir(parents=True)
    own.write_text((templates_dir() / "package" / "Dockerfile.j2").read_text() + "# site policy\n")
    out = cli("status", SPEC, cwd=dscr_project).output
    assert "package: stale: templates/package/Dockerfile.j2 changed" in out


def test_frozen_builds_declarative_specs_from_scratch(project: Path, cli) -> None:
    out = cli("-v", "build", "--frozen", SPEC, "--no-image", cwd=project).output
    assert ran_stages(out) == ["analyze", "plan", "generate", "validate", "test", "package"]


def test_frozen_fails_naming_the_stage_that_needs_an_llm(project: Path, cli) -> None:
    out = cli(
        "build", "--frozen", "specs/tenant_risk.yaml", "--no-image", cwd=project, expect=1
    ).output
    assert "tenant_risk" in out
    assert "needs an LLM" in out or "needs the LLM" in out


def test_until_and_force(dscr_project: Path, cli) -> None:
    out = cli("-v", "build", SPEC, "--until", "plan", "-B", "plan", cwd=dscr_project).output
    assert ran_stages(out) == ["plan"]
    assert "generate" not in out
    out = cli("-v", "build", SPEC, "--no-image", "-B", cwd=dscr_project).output
    assert ran_stages(out) == ["analyze", "plan", "generate", "validate", "test", "package"]


def test_parallel_keep_going_and_json_events(project: Path, cli) -> None:
    (project / "specs" / "tenant_risk.yaml").unlink()  # needs an LLM
    (project / "specs" / "broken.yaml").write_text("version: 1\nname: broken\n")
    out = cli("build", "-j", "2", "-k", "--json", "--no-image", cwd=project, expect=2).output
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    done = {
        (e["spec"], e["stage"]) for e in events if e["event"] == "stage" and e["state"] == "ran"
    }
    for name in ("dscr", "amortization", "inventory", "rent_roll"):
        assert (name, "test") in done, name
    assert any(e["event"] == "spec" and e["state"] == "error" for e in events)


def test_graph(cli, project: Path) -> None:
    mermaid = cli("graph", cwd=project).output
    assert mermaid.startswith("graph LR") and 'generate -->|"all files"| validate' in mermaid
    dot = cli("graph", SPEC, "--format", "dot", cwd=project).output
    assert (
        dot.startswith("digraph scriptexec")
        and "// package reads:" in dot
        and "spec.runtime.memory" in dot
    )


def test_clean_and_gc(dscr_project: Path, cli) -> None:
    (dscr_project / "build" / "dscr" / ".env").write_text("MINE=1\n")
    out = cli("clean", SPEC, cwd=dscr_project).output
    assert "build/dscr: removed" in out
    assert (dscr_project / "build" / "dscr" / ".env").read_text() == "MINE=1\n"
    assert not (dscr_project / "build" / "dscr" / "app.py").exists()
    gc = cli("cache", "gc", "--older-than", "0s", cwd=dscr_project).output
    assert gc.startswith("removed ")
    # Entries the lock names are kept: rebuilding needs no stage to run.
    assert ran_stages(cli("-v", "build", SPEC, "--no-image", cwd=dscr_project).output) == []
    assert "--max-size" in cli("cache", "gc", cwd=dscr_project, expect=2).output


def test_lock_writer_round_trips_through_pyyaml() -> None:
    import yaml

    from scriptexec.engine.lockfile import dump_yaml

    doc = {
        "specs": {"a-b": {"spec": "specs/a b.yaml", "stages": {"plan": {"key": "01ab", "meta": {}}}}},
        "odd": ["yes", "no", "null", "1e5", "x: y", "# c", "", 1.5, True, None, [], {"k": ["v"]}],
        "version": 1,
    }
    assert yaml.safe_load("".join(dump_yaml(doc))) == doc
