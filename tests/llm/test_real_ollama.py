"""The shipped prompts against a real model, for machines that have one:

    SCRIPTEXEC_TEST_OLLAMA_HOST=http://127.0.0.1:11434 \
    SCRIPTEXEC_TEST_OLLAMA_MODEL=qwen2.5-coder:7b pytest -m llm tests/llm

Skipped without a server (none can run where CI runs); the fakes cover the protocol.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from scriptexec.llm.base import make_provider
from scriptexec.llm.code import check_function, extract_code
from scriptexec.llm.prompts import prompt_messages, render_prompt
from scriptexec.llm.structured import ask_json
from scriptexec.project import Project
from scriptexec.resources import schema_path

HOST = os.environ.get("SCRIPTEXEC_TEST_OLLAMA_HOST")
MODEL = os.environ.get("SCRIPTEXEC_TEST_OLLAMA_MODEL", "qwen2.5-coder:7b")

pytestmark = [
    pytest.mark.llm,
    pytest.mark.slow,
    pytest.mark.skipif(not HOST, reason="set SCRIPTEXEC_TEST_OLLAMA_HOST to a running Ollama"),
]

DESCRIPTION = (
    "Calculate the debt service coverage ratio for each property, flag properties below "
    "the covenant, and show a dashboard with what-if simulations of revenue changes."
)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(root=tmp_path)


def test_a_real_model_fills_the_analysis_schema(project: Project) -> None:
    """Structured output (for prompts that ask for JSON, as `draft` will)."""
    provider = make_provider({"model": MODEL, "host": HOST, "timeout": 600}, project)
    assert provider.model_digest()
    schema = json.loads(schema_path("analysis").read_text())
    system, _ = render_prompt(project, "system", task="analyze")
    question = f"Analyse this task for a program generator: {DESCRIPTION}\nAnswer with JSON."
    messages = [{"role": "system", "content": system}, {"role": "user", "content": question}]
    analysis = ask_json(provider, messages, schema, attempts=3)
    assert analysis["needs_web"] is True


def test_a_real_model_writes_a_step_function(project: Project) -> None:
    provider = make_provider({"model": MODEL, "host": HOST, "timeout": 600}, project)
    messages, _ = prompt_messages(
        project,
        "step",
        title="Debt service coverage ratio",
        name="watchlist",
        do="Mark properties whose DSCR is more than 15% under the covenant",
        signature="def watchlist(row: dict, params: dict) -> dict:",
        fields={"property_id": "string", "dscr": "number"},
        parameters={"covenant": {"type": "number", "default": 1.25}},
        produces={"watchlist": "boolean"},
        examples=[],
    )
    code = extract_code(provider.chat(messages))
    check_function(code, "watchlist", ["row", "params"])
    namespace: dict[str, object] = {}
    exec(compile(code, "watchlist.py", "exec"), namespace)  # a test's own sandbox: tmp only
    watchlist = namespace["watchlist"]
    assert callable(watchlist)
    assert watchlist({"property_id": "P1", "dscr": 0.5}, {"covenant": 1.25}) == {"watchlist": True}
    assert watchlist({"property_id": "P2", "dscr": 2.0}, {"covenant": 1.25}) == {"watchlist": False}


def test_a_real_model_builds_the_prose_spec(tmp_path: Path, cli) -> None:
    """The whole pipeline on tenant_risk.yaml: two step functions, repaired until they
    pass the spec's checks, validated, packaged."""
    import shutil

    repo = Path(__file__).resolve().parents[2]
    shutil.copytree(repo / "specs", tmp_path / "specs")
    spec = tmp_path / "specs" / "tenant_risk.yaml"
    spec.write_text(
        spec.read_text().replace(
            'generator: {provider: ollama, model: "qwen2.5-coder:7b", temperature: 0, seed: 42}',
            f'generator: {{provider: ollama, model: "{MODEL}", host: "{HOST}", timeout: 600}}',
        )
    )
    cli("build", "specs/tenant_risk.yaml", "--no-image", cwd=tmp_path)
    report = json.loads(
        (tmp_path / "build" / "tenant_risk" / "_scriptexec" / "test-report.json").read_text()
    )
    assert report["failed"] == 0
    # A rebuild asks nothing: everything the model wrote is cached by its digest.
    out = cli("-v", "build", "specs/tenant_risk.yaml", "--no-image", cwd=tmp_path).output
    assert "up to date" in out
