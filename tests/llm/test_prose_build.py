"""Building prose specs through the real ollama client against the fake server: LLM calls
are counted, cached by step and by model digest; analyze and plan cost none."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from scriptexec.resources import schema_path
from scriptexec.spec.model import load_spec
from scriptexec.stages.analyze import AnalyzeStage, declared_analysis
from scriptexec.stages.plan import PlanStage, declared_plan

from .fake_ollama import FakeOllama
from .fake_openai import FakeOpenAI
from .prose import REPO, SPEC, prompt_of, prose_project, replies, step_asked


@pytest.fixture
def project(tmp_path: Path, fake_ollama: FakeOllama) -> Path:
    return prose_project(tmp_path, fake_ollama.url)


def build(cli, project: Path, *args: str, expect: int = 0) -> str:
    return cli("-v", "build", SPEC, "--no-image", *args, cwd=project, expect=expect).output


def gen_calls(server: FakeOllama | FakeOpenAI) -> int:
    return len(server.generation_calls)


def test_first_build_then_no_calls_until_something_changes(
    project: Path, fake_ollama: FakeOllama, cli
) -> None:
    fake_ollama.script(*[replies()] * 50)
    out = build(cli, project)
    assert gen_calls(fake_ollama) == 2, out  # one function per prose step, nothing else
    assert [step_asked(c.body) for c in fake_ollama.generation_calls] == [
        "risk_score",
        "risk_band",
    ]
    report = json.loads(
        (project / "build" / "tenant_risk" / "_scriptexec" / "test-report.json").read_text()
    )
    assert report["failed"] == 0
    steps = (project / "build" / "tenant_risk" / "steps.py").read_text()
    assert "def step_risk_score(" in steps and "def step_risk_band(" in steps
    assert steps.count("from typing import Any") == 1  # the skeleton's own, once

    build(cli, project)
    assert gen_calls(fake_ollama) == 2  # no change: no call

    spec = project / SPEC
    spec.write_text(
        "# a new comment\n"
        + spec.read_text().replace("title: Tenant retention risk", "title: 'Tenant retention risk'")
    )
    spec.write_text(spec.read_text() + "runtime: {memory: 512m}\n")
    out = build(cli, project)
    assert gen_calls(fake_ollama) == 2, out  # comment, quoting, runtime: no call
    assert "package ran" in out

    spec.write_text(spec.read_text().replace('otherwise "low"', 'and "low" below 30'))
    out = build(cli, project)
    assert gen_calls(fake_ollama) == 3, out  # only the reworded step is asked again
    assert 'Step "risk_band"' in prompt_of(fake_ollama.generation_calls[-1].body)
    assert "plan ran" not in out  # the plan does not quote a step's words

    fake_ollama.set_digest("qwen2.5-coder:7b", "sha256:" + "9" * 64)
    out = build(cli, project)
    assert gen_calls(fake_ollama) == 5, out  # a new build of the model: both steps re-asked
    lock = (project / "scriptexec.lock").read_text()
    assert "9999999999" in lock and "model_digest" in lock


def test_analyze_and_plan_of_a_prose_spec_ask_nothing(
    project: Path, fake_ollama: FakeOllama, cli
) -> None:
    """Their outputs are reports no later stage reads: derived from the spec, for free."""
    fake_ollama.script(*[replies()] * 50)
    out = build(cli, project, "--until", "plan")
    assert "analyze ran" in out and "plan ran" in out
    assert fake_ollama.generation_calls == []
    reports = project / "build" / "tenant_risk" / "_scriptexec"
    for name in ("analysis", "plan"):
        schema = json.loads(schema_path(name).read_text())
        jsonschema.Draft202012Validator(schema).validate(
            json.loads((reports / f"{name}.json").read_text())
        )


@pytest.mark.parametrize("path", sorted((REPO / "specs").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_spec_has_a_valid_analysis_and_plan(path: Path) -> None:
    spec = load_spec(path, root=REPO)
    analysis = declared_analysis(spec)
    validator = jsonschema.Draft202012Validator
    validator(json.loads(schema_path("analysis").read_text())).validate(analysis)
    validator(json.loads(schema_path("plan").read_text())).validate(declared_plan(spec, analysis))
    for stage in (AnalyzeStage(), PlanStage()):
        assert not stage.needs_llm(spec)
        keys = stage.inputs(spec, None)
        assert not any(key.startswith(("setting:", "template:")) for key in keys)


def test_frozen_uses_the_cache_and_fails_without_it(
    project: Path, fake_ollama: FakeOllama, cli, monkeypatch, tmp_path: Path
) -> None:
    fake_ollama.script(*[replies()] * 50)
    build(cli, project)
    n = len(fake_ollama.calls)
    cli("build", "--frozen", "-B", "generate", SPEC, "--no-image", cwd=project)
    assert len(fake_ollama.calls) == n  # not even the digest was asked: it comes from the lock
    monkeypatch.setenv("SCRIPTEXEC_CACHE_DIR", str(tmp_path / "empty"))
    out = cli("build", "--frozen", SPEC, "--no-image", cwd=project, expect=1).output
    assert "needs the LLM" in out and "risk_score" in out


def test_unreachable_server_is_one_clear_line(tmp_path: Path, cli) -> None:
    project = prose_project(tmp_path, "http://127.0.0.1:9")
    out = cli("build", SPEC, "--no-image", cwd=project, expect=1).output
    error = [line for line in out.splitlines() if "error:" in line]
    assert len(error) == 1 and "http://127.0.0.1:9" in error[0] and "ollama serve" in error[0]


def test_openai_compatible_server_builds_the_same(
    tmp_path: Path, fake_openai: FakeOpenAI, cli
) -> None:
    project = prose_project(tmp_path, fake_openai.base_url, provider="openai")
    fake_openai.script(*[replies()] * 50)
    cli("build", SPEC, "--no-image", cwd=project)
    assert gen_calls(fake_openai) == 2
    cli("build", SPEC, "--no-image", cwd=project)
    assert gen_calls(fake_openai) == 2
