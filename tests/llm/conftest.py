"""Fixtures for anything that talks to an LLM: fake servers speaking the Ollama and the
OpenAI API over real HTTP on 127.0.0.1, and providers pointed at them.

tests/ is on sys.path and tests/llm is a package, so other test packages reuse them with,
in their conftest.py (import every fixture a used one depends on):

    from llm.conftest import fake_ollama, fake_openai, fast_llm_retries, llm_project  # noqa: F401
    from llm.fake_ollama import FakeOllama

    def test_x(fake_ollama, llm_project):
        fake_ollama.script('{"answer": 1}')
        provider = make_provider(fake_ollama.generator(), llm_project)
        ...
        assert fake_ollama.count("/api/chat") == 1
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scriptexec.llm.base import (
    BACKOFF_ENV,
    CLIENT_HOST_ENV,
    ENV_OVERRIDES,
    Provider,
    clear_caches,
    make_provider,
)
from scriptexec.project import Project

from .fake_ollama import FakeOllama
from .fake_openai import FakeOpenAI

TINY_BACKOFF = "0.001"  # seconds: retries in tests wait next to nothing
PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY")


@pytest.fixture(autouse=True)
def no_llm_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's shell (LLM_MODEL_NAME, OPENAI_BASE_URL, a proxy...) must not reach
    the tests; a test sets what it means to try."""
    variables = [v for names in ENV_OVERRIDES.values() for v in names]
    for variable in (*variables, *CLIENT_HOST_ENV.values(), *PROXY_VARIABLES):
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def fast_llm_retries(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tiny retry delays for every provider made during the test, and fresh digests."""
    monkeypatch.setenv(BACKOFF_ENV, TINY_BACKOFF)
    clear_caches()
    yield
    clear_caches()


@pytest.fixture
def fake_ollama(fast_llm_retries: None) -> Iterator[FakeOllama]:
    """A running fake Ollama server: .url, .script(...), .fail_next(...), .calls,
    .count(path), .set_digest(model, digest), .generator(**overrides), .hold()/.release()."""
    with FakeOllama() as server:
        yield server


@pytest.fixture
def fake_openai(fast_llm_retries: None) -> Iterator[FakeOpenAI]:
    """A running fake OpenAI-compatible server; the same API as fake_ollama, plus .base_url."""
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def llm_project(tmp_path: Path) -> Project:
    """A project in an empty directory (its .scriptexec/ holds the model file locks)."""
    return Project(root=tmp_path)


@pytest.fixture
def ollama_provider(fake_ollama: FakeOllama, llm_project: Project) -> Provider:
    return make_provider(fake_ollama.generator(), llm_project)


@pytest.fixture
def openai_provider(fake_openai: FakeOpenAI, llm_project: Project) -> Provider:
    return make_provider(fake_openai.generator(), llm_project)


@pytest.fixture(params=["ollama", "openai"])
def fake_llm(
    request: pytest.FixtureRequest, fast_llm_retries: None
) -> Iterator[FakeOllama | FakeOpenAI]:
    """Each fake server in turn: a test using it runs once per provider."""
    server_class = FakeOllama if request.param == "ollama" else FakeOpenAI
    with server_class() as server:
        yield server
