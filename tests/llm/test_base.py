"""make_provider: settings, hosts, the `none` provider, and a light import on start-up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scriptexec.errors import LLMError
from scriptexec.llm.base import GeneratorSettings, make_provider
from scriptexec.project import Options, Project

from .fake_ollama import FakeOllama
from .fake_openai import FakeOpenAI

HELLO = [{"role": "user", "content": "hi"}]


def test_settings_defaults_follow_the_spec() -> None:
    settings = GeneratorSettings.from_generator({"model": "m"}, backoff=None)
    assert (settings.provider, settings.temperature, settings.seed) == ("ollama", 0, 42)
    assert (settings.timeout, settings.max_attempts) == (120, 3)
    assert settings.api_key_env == "OPENAI_API_KEY"


def test_backoff_from_argument_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCRIPTEXEC_LLM_BACKOFF", "0.25")
    assert GeneratorSettings.from_generator({"model": "m"}).backoff == 0.25
    assert GeneratorSettings.from_generator({"model": "m"}, backoff=0.5).backoff == 0.5


@pytest.mark.parametrize(
    ("generator", "message"),
    [
        ({"provider": "claude", "model": "m"}, "use one of ollama, openai, none"),
        ({"provider": "ollama"}, "generator.model is not set"),
        ({"provider": "ollama", "model": "m", "max_attempts": 0}, "at least 1"),
    ],
)
def test_bad_generator_sections(generator: dict[str, object], message: str) -> None:
    with pytest.raises(LLMError, match=message):
        GeneratorSettings.from_generator(generator)


@pytest.mark.parametrize("call", ["chat", "model_digest"])
def test_the_none_provider_says_what_to_set(tmp_path: Path, call: str) -> None:
    provider = make_provider({"provider": "none", "model": None}, Project(root=tmp_path))
    with pytest.raises(LLMError) as caught:
        provider.chat(HELLO) if call == "chat" else provider.model_digest()
    message = str(caught.value)
    assert "needs an LLM" in message and "\n" not in message
    for hint in ("generator.provider: ollama", "ollama serve", "ollama pull", "OPENAI_BASE_URL"):
        assert hint in message


def test_openai_without_a_base_url_says_what_to_set(
    llm_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(LLMError, match=r"set generator\.host or OPENAI_BASE_URL"):
        make_provider({"provider": "openai", "model": "m"}, llm_project)


def test_openai_base_url_must_be_a_url(llm_project: Project) -> None:
    generator = {"provider": "openai", "model": "m", "host": "127.0.0.1:1234/v1"}
    with pytest.raises(LLMError, match="not an http"):
        make_provider(generator, llm_project)


def test_ollama_host_from_the_environment(
    fake_ollama: FakeOllama, llm_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", fake_ollama.url)
    provider = make_provider(fake_ollama.generator(host=None), llm_project)
    assert fake_ollama.url in provider.describe()
    assert provider.chat(HELLO) == "ok"


def test_openai_base_url_from_the_environment(
    fake_openai: FakeOpenAI, llm_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url + "/")
    provider = make_provider(fake_openai.generator(host=None), llm_project)
    assert provider.chat(HELLO) == "ok"


def test_the_llm_host_option_wins_over_the_spec(
    fake_ollama: FakeOllama, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")
    project = Project(root=tmp_path, options=Options(llm_host=fake_ollama.url))
    provider = make_provider(fake_ollama.generator(host="http://127.0.0.1:9"), project)
    assert provider.chat(HELLO) == "ok"


def test_importing_the_llm_package_stays_light() -> None:
    """The CLI imports scriptexec.llm on start-up; the heavy clients load only when used."""
    code = (
        "import sys, scriptexec.llm, scriptexec.llm.base\n"
        "heavy = {'ollama', 'httpx', 'jsonschema', 'jinja2', 'filelock', 'pydantic'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
