"""The repair loop on specs/tenant_risk.yaml against the fake Ollama server: the skeleton
imports what its signature needs, every repair prompt shows what was already tried, a model
that repeats itself is not asked again, each error is logged once, and code that lints but
computes wrong answers fails the test stage with the check's expected and actual values."""

from __future__ import annotations

from pathlib import Path

import pytest

from .fake_ollama import FakeOllama
from .prose import (
    RISK_BAND,
    RISK_SCORE,
    SPEC,
    WRONG_BAND,
    attempts_logged,
    is_repair,
    locked_meta,
    prompt_of,
    prose_project,
    replies,
    step_asked,
    undefined_name_band,
    without_typing_import,
)

FIRST_CHECK = "an expiring, late-paying, stretched tenant is high risk"


@pytest.fixture
def project(tmp_path: Path, fake_ollama: FakeOllama) -> Path:
    return prose_project(tmp_path, fake_ollama.url)


def build(cli, project: Path, *args: str, expect: int = 0) -> str:
    return cli("-v", "build", SPEC, "--no-image", *args, cwd=project, expect=expect).output


def band_prompts(server: FakeOllama) -> list[str]:
    return [prompt_of(c.body) for c in server.generation_calls if step_asked(c.body) == "risk_band"]


def test_a_reply_that_copies_the_signature_without_its_import_passes(
    project: Path, fake_ollama: FakeOllama, cli
) -> None:
    """The step prompt dictates `dict[str, Any]`: the skeleton imports Any, whether the
    reply leaves the import out or imports Any beside other names."""
    typed_band = RISK_BAND.replace("from typing import Any", "from typing import Any, Dict")
    typed_band = typed_band.replace("-> dict[str, Any]", "-> Dict[str, Any]")
    fake_ollama.script(*[replies(band=typed_band, score=without_typing_import(RISK_SCORE))] * 9)
    out = build(cli, project)
    assert len(fake_ollama.generation_calls) == 2, out  # no repair was needed
    steps = (project / "build" / "tenant_risk" / "steps.py").read_text()
    imports = [line for line in steps.splitlines() if line.startswith(("from ", "import "))]
    assert imports == [
        "from __future__ import annotations",
        "from typing import Any",
        "from typing import Dict",
    ]


def test_each_repair_shows_every_earlier_attempt_and_its_errors(
    project: Path, fake_ollama: FakeOllama, cli
) -> None:
    def band(asked: int) -> str:
        return {1: undefined_name_band("first_try"), 2: WRONG_BAND}.get(asked, RISK_BAND)

    fake_ollama.script(*[replies(band=band)] * 9)
    out = build(cli, project)
    first, second, third = band_prompts(fake_ollama)
    assert not is_repair({"messages": [{"content": first}]})
    assert "This is attempt 2 of 3" in second and "This is attempt 3 of 3" in third
    assert "first_try(row)" in second and "F821" in second  # the latest code and its error
    # The next repair carries both earlier attempts: no prompt is sent twice, so a
    # server's prompt cache cannot answer it with the same reply again.
    assert "Attempt 1 was wrong" in third and "first_try(row)" in third
    assert ">= 90" in third and f'check "{FIRST_CHECK}" failed' in third
    assert len({first, second, third}) == 3
    assert "test ran" in out


def test_the_same_code_again_stops_the_repairs(project: Path, fake_ollama: FakeOllama, cli) -> None:
    fake_ollama.script(*[replies(band=undefined_name_band())] * 9)
    out = build(cli, project, expect=1)
    assert len(band_prompts(fake_ollama)) == 2, out  # not 3: attempt 3 would be the same
    assert "the repair of step risk_band with the same code as attempt 1" in out
    assert "after attempt 1 of 3" in out and "generate FAILED" in out
    assert not (project / "build" / "tenant_risk" / "app.py").exists()
    checked = attempts_logged(project)["risk_band-1-checked.json"]
    # ruff reports the undefined name at each of its three uses on the line: said once
    assert len(checked["errors"]) == len(set(checked["errors"])) == 1
    assert "F821" in checked["errors"][0] and "band_of" in checked["errors"][0]


def test_repairs_end_after_max_attempts_and_nothing_failed_is_cached(
    project: Path, fake_ollama: FakeOllama, cli
) -> None:
    model_is_wrong = True

    def band(asked: int) -> str:
        return undefined_name_band(f"band_{asked}") if model_is_wrong else RISK_BAND

    fake_ollama.script(*[replies(band=band)] * 50)
    out = build(cli, project, expect=1)
    assert "still fails after 3 attempts" in out
    assert ".scriptexec/llm-attempts/tenant_risk" in out
    assert len(band_prompts(fake_ollama)) == 3
    assert not (project / "build" / "tenant_risk" / "app.py").exists()
    logged = attempts_logged(project)
    assert {"risk_band-1-reply.json", "risk_band-3-reply.json"} <= set(logged)
    model_is_wrong = False
    n = len(fake_ollama.generation_calls)
    build(cli, project)  # nothing that failed was cached: the next build asks again
    assert len(fake_ollama.generation_calls) > n


def test_a_repair_that_works(project: Path, fake_ollama: FakeOllama, cli) -> None:
    fake_ollama.script(*[replies(band=WRONG_BAND, repaired_band=RISK_BAND)] * 9)
    out = build(cli, project)
    assert len(band_prompts(fake_ollama)) == 2, out
    first = attempts_logged(project)["risk_band-1-checked.json"]
    assert first["errors"] and FIRST_CHECK in first["errors"][0]
    assert attempts_logged(project)["risk_band-2-checked.json"]["errors"] == []


def test_wrong_logic_that_lints_fails_the_test_stage_with_expected_and_actual(
    project: Path, fake_ollama: FakeOllama, cli
) -> None:
    """The model's logic is wrong (a tenant scoring 80 is banded "medium") and stays wrong:
    validate passes, and the test stage names the check and both values."""
    fake_ollama.script(*[replies(band=WRONG_BAND)] * 9)
    result = cli("-v", "build", SPEC, "--no-image", cwd=project, expect=1)
    out = result.output
    assert "validate ran" in out and "test FAILED" in out, out
    assert f'check "{FIRST_CHECK}"' in out
    assert '- risk_band: "high"' in out and '+ risk_band: "medium"' in out
    assert "passes validate but still fails the spec's checks" in result.stderr
    # risk_score was right, so only risk_band is asked again next time
    assert locked_meta(project, "generate")["llm"]["unverified_steps"] == ["risk_band"]
    spec = project / SPEC
    spec.write_text(spec.read_text().replace('otherwise "low"', 'and "low" below 30'))
    n = len(fake_ollama.generation_calls)
    build(cli, project, expect=1)
    assert [step_asked(c.body) for c in fake_ollama.generation_calls[n:]] == ["risk_band"] * 2
