"""Building prose specs through the real ollama client against the fake server: LLM calls
are counted, cached by step and by model digest, and wrong code is repaired."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from .fake_ollama import FakeOllama
from .fake_server import minimal_instance

REPO = Path(__file__).resolve().parents[2]

RISK_SCORE = """Here is the function:

```python
from typing import Any


def step_risk_score(row: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    score = 0
    if row["months_remaining"] is not None and row["months_remaining"] <= 6:
        score += 40
    score += min(10 * (row["late_payments_12m"] or 0), 40)
    if row["rent_to_sales_pct"] is not None and row["rent_to_sales_pct"] > 12:
        score += 20
    return {"risk_score": score}
```
"""
RISK_BAND = """```python
from typing import Any


def step_risk_band(row: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    score = row["risk_score"]
    band = "high" if score >= 60 else "medium" if score >= 30 else "low"
    return {"risk_band": band}
```"""
WRONG_BAND = RISK_BAND.replace(">= 60", ">= 90")  # fails the first check


def prompt_of(body: dict[str, Any]) -> str:
    return "\n".join(m.get("content", "") for m in body.get("messages", []))


def replies(band: str = RISK_BAND, repaired_band: str = RISK_BAND):
    def reply(body: dict[str, Any]) -> str:
        if body.get("format"):
            return json.dumps(minimal_instance(body["format"]))
        text = prompt_of(body)
        if "is wrong" in text:
            return repaired_band
        if 'Step "risk_score"' in text:
            return RISK_SCORE
        return band

    return reply


@pytest.fixture
def prose_project(tmp_path: Path, fake_ollama: FakeOllama) -> Path:
    shutil.copytree(REPO / "specs", tmp_path / "specs")
    spec = tmp_path / "specs" / "tenant_risk.yaml"
    spec.write_text(
        spec.read_text().replace(
            'generator: {provider: ollama, model: "qwen2.5-coder:7b", temperature: 0, seed: 42}',
            f'generator: {{provider: ollama, model: "qwen2.5-coder:7b", temperature: 0, seed: 42, host: "{fake_ollama.url}", timeout: 10}}',
        )
    )
    return tmp_path


def build(cli, project: Path, *args: str, expect: int = 0) -> str:
    return cli(
        "-v", "build", "specs/tenant_risk.yaml", "--no-image", *args, cwd=project, expect=expect
    ).output


def gen_calls(server: FakeOllama) -> int:
    return len(server.generation_calls)


def test_first_build_then_no_calls_until_something_changes(
    prose_project: Path, fake_ollama: FakeOllama, cli
) -> None:
    fake_ollama.script(*[replies()] * 50)
    out = build(cli, prose_project)
    # analysis, plan, and one function per prose step
    assert gen_calls(fake_ollama) == 4, out
    report = json.loads(
        (prose_project / "build" / "tenant_risk" / "_scriptexec" / "test-report.json").read_text()
    )
    assert report["failed"] == 0
    steps = (prose_project / "build" / "tenant_risk" / "steps.py").read_text()
    assert "def step_risk_score(" in steps and "def step_risk_band(" in steps
    assert steps.count("from typing import Any") == 1  # each step's imports, hoisted once

    build(cli, prose_project)
    assert gen_calls(fake_ollama) == 4  # no change: no call

    spec = prose_project / "specs" / "tenant_risk.yaml"
    spec.write_text(
        "# a new comment\n"
        + spec.read_text().replace("title: Tenant retention risk", "title: 'Tenant retention risk'")
    )
    spec.write_text(spec.read_text() + "runtime: {memory: 512m}\n")
    out = build(cli, prose_project)
    assert gen_calls(fake_ollama) == 4, out  # comment, quoting, runtime: no call
    assert "package ran" in out

    spec.write_text(spec.read_text().replace('otherwise "low"', 'and "low" below 30'))
    out = build(cli, prose_project)
    assert gen_calls(fake_ollama) == 5, out  # only the reworded step is asked again
    asked = prompt_of(fake_ollama.generation_calls[-1].body)
    assert 'Step "risk_band"' in asked

    fake_ollama.set_digest("qwen2.5-coder:7b", "sha256:" + "9" * 64)
    out = build(cli, prose_project)
    assert gen_calls(fake_ollama) == 9, out  # a new build of the model: everything re-asked
    lock = (prose_project / "scriptexec.lock").read_text()
    assert "9999999999" in lock and "model_digest" in lock


def test_repair_loop_wrong_then_right(prose_project: Path, fake_ollama: FakeOllama, cli) -> None:
    fake_ollama.script(*[replies(band=WRONG_BAND)] * 50)
    out = build(cli, prose_project)
    calls = [prompt_of(c.body) for c in fake_ollama.generation_calls]
    assert len(calls) == 5, out  # analysis, plan, two steps, one repair
    assert "is wrong" in calls[-1] and 'check "an expiring' in calls[-1]
    attempts = sorted(
        (prose_project / ".scriptexec" / "llm-attempts" / "tenant_risk").rglob("*.json")
    )
    names = [p.name for p in attempts]
    assert "risk_band-1-reply.json" in names and "risk_band-2-reply.json" in names
    first = json.loads(
        next(p for p in attempts if p.name == "risk_band-1-checked.json").read_text()
    )
    assert first["errors"], "the failed attempt records why it failed"


def test_repair_gives_up_after_max_attempts(
    prose_project: Path, fake_ollama: FakeOllama, cli
) -> None:
    model_is_wrong = True
    wrong, right = replies(band=WRONG_BAND, repaired_band=WRONG_BAND), replies()
    fake_ollama.script(*[lambda body: (wrong if model_is_wrong else right)(body)] * 50)
    out = build(cli, prose_project, expect=1)
    assert "still fails after 3 attempts" in out
    assert ".scriptexec/llm-attempts/tenant_risk" in out
    assert not (prose_project / "build" / "tenant_risk" / "app.py").exists()
    # nothing that failed was cached: the next build asks again
    n = len(fake_ollama.generation_calls)
    model_is_wrong = False
    build(cli, prose_project)
    assert len(fake_ollama.generation_calls) > n


def test_frozen_uses_the_cache_and_fails_without_it(
    prose_project: Path, fake_ollama: FakeOllama, cli, monkeypatch, tmp_path: Path
) -> None:
    fake_ollama.script(*[replies()] * 50)
    build(cli, prose_project)
    n = len(fake_ollama.calls)
    cli(
        "build",
        "--frozen",
        "-B",
        "generate",
        "specs/tenant_risk.yaml",
        "--no-image",
        cwd=prose_project,
    )
    assert len(fake_ollama.calls) == n  # not even the digest was asked: it comes from the lock
    monkeypatch.setenv("SCRIPTEXEC_CACHE_DIR", str(tmp_path / "empty"))
    out = cli(
        "build", "--frozen", "specs/tenant_risk.yaml", "--no-image", cwd=prose_project, expect=1
    ).output
    assert "needs the LLM" in out and "analyze" in out


def test_unreachable_server_is_one_clear_line(prose_project: Path, cli) -> None:
    spec = prose_project / "specs" / "tenant_risk.yaml"
    text = spec.read_text()
    start = text.index('host: "') + len('host: "')
    spec.write_text(text[:start] + "http://127.0.0.1:9" + text[text.index('"', start) :])
    out = cli("build", "specs/tenant_risk.yaml", "--no-image", cwd=prose_project, expect=1).output
    error = [line for line in out.splitlines() if "error:" in line]
    assert len(error) == 1 and "http://127.0.0.1:9" in error[0] and "ollama serve" in error[0]


def test_openai_compatible_server_builds_the_same(tmp_path: Path, fake_openai, cli) -> None:
    shutil.copytree(REPO / "specs", tmp_path / "specs")
    spec = tmp_path / "specs" / "tenant_risk.yaml"
    spec.write_text(
        spec.read_text().replace(
            'generator: {provider: ollama, model: "qwen2.5-coder:7b", temperature: 0, seed: 42}',
            f'generator: {{provider: openai, model: "qwen2.5-coder:7b", host: "{fake_openai.base_url}", timeout: 10}}',
        )
    )

    def reply(body: dict[str, Any]) -> str:
        fmt = body.get("response_format") or {}
        if fmt.get("json_schema"):
            return json.dumps(minimal_instance(fmt["json_schema"]["schema"]))
        return replies()(body)

    fake_openai.script(*[reply] * 50)
    cli("build", "specs/tenant_risk.yaml", "--no-image", cwd=tmp_path)
    assert len(fake_openai.generation_calls) == 4
    cli("build", "specs/tenant_risk.yaml", "--no-image", cwd=tmp_path)
    assert len(fake_openai.generation_calls) == 4
