"""The environment overrides the spec's generator block (SCRIPTEXEC_LLM_*, the seed's
LLM_*): which wins, what is refused, and that a changed override makes the LLM stage stale,
is recorded in the lock and is named by `status`, the same as an edit of the spec."""

from __future__ import annotations

from pathlib import Path

import pytest

from scriptexec.errors import LLMError
from scriptexec.llm.base import effective_generator, make_provider, server_address
from scriptexec.project import Options, Project

from .fake_ollama import FakeOllama
from .fake_openai import FakeOpenAI
from .prose import SPEC, locked_meta, prose_project, replies

SPEC_GENERATOR = {"provider": "ollama", "model": "qwen2.5-coder:7b", "host": None, "temperature": 0}
HELLO = [{"role": "user", "content": "hi"}]


def test_without_overrides_the_spec_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_MODEL_NAME", "")  # set but empty: no override
    assert effective_generator(SPEC_GENERATOR) == {**SPEC_GENERATOR, "from_environment": {}}


def test_scriptexec_names_win_over_the_seeds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_MODEL_NAME", "seed-model")
    monkeypatch.setenv("LLM_TEMPERATURE", "0.1")
    monkeypatch.setenv("LLM_BASE_URL", "http://127.0.0.1:1234/v1")
    assert effective_generator(SPEC_GENERATOR) == {
        **SPEC_GENERATOR,
        "model": "seed-model",
        "temperature": 0.1,
        "host": "http://127.0.0.1:1234/v1",
        "from_environment": {
            "model": "LLM_MODEL_NAME",
            "temperature": "LLM_TEMPERATURE",
            "host": "LLM_BASE_URL",
        },
    }
    monkeypatch.setenv("SCRIPTEXEC_LLM_MODEL", "own-model")
    monkeypatch.setenv("SCRIPTEXEC_LLM_PROVIDER", "openai")
    effective = effective_generator(SPEC_GENERATOR)
    assert (effective["provider"], effective["model"]) == ("openai", "own-model")
    assert effective["from_environment"]["model"] == "SCRIPTEXEC_LLM_MODEL"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SCRIPTEXEC_LLM_PROVIDER", "claude", "SCRIPTEXEC_LLM_PROVIDER is 'claude'; use one of"),
        ("LLM_TEMPERATURE", "warm", "LLM_TEMPERATURE is 'warm'; set it to a number from 0 to 2"),
        ("SCRIPTEXEC_LLM_TEMPERATURE", "3", "SCRIPTEXEC_LLM_TEMPERATURE is '3'"),
    ],
)
def test_a_bad_override_is_named(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(LLMError, match=message):
        effective_generator(SPEC_GENERATOR)


def test_the_host_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An override beats the spec; the client's own variable is only a default."""
    project = Project(root=tmp_path)

    def address(generator: dict[str, object]) -> tuple[str | None, str]:
        return server_address("openai", effective_generator(generator), project)

    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:3/v1")
    assert address({"host": None}) == ("http://127.0.0.1:3/v1", "OPENAI_BASE_URL")
    assert address({"host": "http://127.0.0.1:2/v1"}) == ("http://127.0.0.1:2/v1", "generator.host")
    monkeypatch.setenv("LLM_BASE_URL", "http://127.0.0.1:1/v1")
    assert address({"host": "http://127.0.0.1:2/v1"}) == ("http://127.0.0.1:1/v1", "LLM_BASE_URL")
    monkeypatch.setenv("SCRIPTEXEC_LLM_HOST", "http://127.0.0.1:0/v1")
    assert address({"host": None}) == ("http://127.0.0.1:0/v1", "SCRIPTEXEC_LLM_HOST")
    option = Project(root=tmp_path, options=Options(llm_host="http://127.0.0.1:4/v1"))
    assert server_address("openai", effective_generator({}), option)[0] == "http://127.0.0.1:4/v1"


def test_overrides_reach_the_server(
    fake_openai: FakeOpenAI, llm_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The seed's three variables alone point a spec written for Ollama at LM Studio."""
    fake_openai.set_digest("lmstudio-model", "b" * 64)
    monkeypatch.setenv("SCRIPTEXEC_LLM_PROVIDER", "openai")
    monkeypatch.setenv("LLM_BASE_URL", fake_openai.base_url)
    monkeypatch.setenv("LLM_MODEL_NAME", "lmstudio-model")
    monkeypatch.setenv("LLM_TEMPERATURE", "0.1")
    provider = make_provider(effective_generator(SPEC_GENERATOR), llm_project)
    assert provider.chat(HELLO) == "ok"
    sent = fake_openai.generation_calls[-1].body
    assert (sent["model"], sent["temperature"]) == ("lmstudio-model", 0.1)


def test_a_new_model_override_makes_generate_stale_and_status_says_why(
    tmp_path: Path, fake_ollama: FakeOllama, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = prose_project(tmp_path, fake_ollama.url)
    fake_ollama.set_digest("qwen2.5-coder:1.5b", "c" * 64)
    fake_ollama.script(*[replies()] * 20)
    cli("build", SPEC, "--no-image", cwd=project)
    assert len(fake_ollama.generation_calls) == 2

    monkeypatch.setenv("SCRIPTEXEC_LLM_MODEL", "qwen2.5-coder:1.5b")
    status = cli("status", SPEC, cwd=project).output
    assert (
        "generate: stale: setting model changed (now SCRIPTEXEC_LLM_MODEL=qwen2.5-coder:1.5b)"
        in status
    ), status
    assert "analyze: fresh" in status and "plan: fresh" in status
    out = cli("build", SPEC, "--no-image", cwd=project).output
    assert len(fake_ollama.generation_calls) == 4, out  # both steps, asked of the new model
    assert {c.body["model"] for c in fake_ollama.generation_calls[2:]} == {"qwen2.5-coder:1.5b"}
    llm = locked_meta(project, "generate")["llm"]
    assert llm["model"] == "qwen2.5-coder:1.5b" and llm["model_digest"] == "c" * 64
    assert llm["from_environment"] == {"model": "SCRIPTEXEC_LLM_MODEL"}
    assert "up to date" in cli("build", SPEC, "--no-image", cwd=project).output

    monkeypatch.delenv("SCRIPTEXEC_LLM_MODEL")  # back to the spec's: the fast path sees it
    out = cli("-v", "build", SPEC, "--no-image", "--until", "generate", cwd=project).output
    assert "generate cached" in out and "up to date" not in out  # its first code is cached
    assert len(fake_ollama.generation_calls) == 4
    monkeypatch.setenv("LLM_TEMPERATURE", "0.2")
    status = cli("status", SPEC, cwd=project).output
    assert "setting temperature changed (now LLM_TEMPERATURE=0.2)" in status, status
