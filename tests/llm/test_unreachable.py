"""A server that is not running is not a transient failure: one attempt, at once, and a
message naming the URL, where it came from and what to start. That holds behind an HTTP
proxy too (a sandbox's, a company's): a server on this machine is never asked through
one, which would answer 502 for a refused connection, and be retried, for half a minute."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from scriptexec.errors import LLMError
from scriptexec.llm.base import effective_generator, make_provider
from scriptexec.project import Project

from .conftest import PROXY_VARIABLES
from .fake_ollama import FakeOllama
from .fake_openai import FakeOpenAI
from .prose import SPEC, prose_project

HELLO = [{"role": "user", "content": "hi"}]
SLOW_BACKOFF = 30.0  # seconds before a retry: a test that waits this long retried


class _ProxyHandler(BaseHTTPRequestHandler):
    """What a proxy that cannot reach the upstream answers: 502, for every request."""

    protocol_version = "HTTP/1.1"
    server: Any

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        self.server.requests.append(self.path)
        body = b"502 Bad Gateway: upstream connect error (connection refused)"
        self.send_response(502)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_CONNECT = _answer


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """An HTTP proxy in the environment; yields the requests it received."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ProxyHandler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    for variable in PROXY_VARIABLES:
        monkeypatch.setenv(variable, f"http://127.0.0.1:{server.server_address[1]}")
    yield server.requests
    server.shutdown()
    server.server_close()
    thread.join()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def refused_generator(provider: str) -> dict[str, Any]:
    host = f"http://127.0.0.1:{closed_port()}" + ("/v1" if provider == "openai" else "")
    return {"provider": provider, "model": "m:7b", "host": host, "timeout": 5}


def fails_at_once(provider: Any, call: str) -> str:
    started = time.monotonic()
    with pytest.raises(LLMError) as caught:
        provider.chat(HELLO) if call == "chat" else provider.model_digest()
    assert time.monotonic() - started < SLOW_BACKOFF / 3, "a refused connection was retried"
    return str(caught.value)


@pytest.mark.parametrize("call", ["chat", "model_digest"])
@pytest.mark.parametrize("kind", ["ollama", "openai"])
def test_refused_fails_at_once_naming_the_url(
    kind: str, call: str, llm_project: Project, fast_llm_retries: None
) -> None:
    generator = refused_generator(kind)
    provider = make_provider(generator, llm_project, backoff=SLOW_BACKOFF)
    message = fails_at_once(provider, call)
    assert "\n" not in message
    assert generator["host"] in message and "refused" in message
    start = "ollama serve" if kind == "ollama" else "llama-server"
    assert start in message and "generator.provider" in message


@pytest.mark.parametrize("kind", ["ollama", "openai"])
def test_a_local_server_is_not_asked_through_a_proxy(
    kind: str, proxy: list[str], llm_project: Project, fast_llm_retries: None
) -> None:
    provider = make_provider(refused_generator(kind), llm_project, backoff=SLOW_BACKOFF)
    message = fails_at_once(provider, "chat")
    assert "refused" in message and "502" not in message
    assert proxy == []


@pytest.mark.parametrize("server_class", [FakeOllama, FakeOpenAI])
def test_a_running_local_server_answers_with_a_proxy_set(
    server_class: type[FakeOllama | FakeOpenAI],
    proxy: list[str],
    llm_project: Project,
    fast_llm_retries: None,
) -> None:
    with server_class() as server:
        assert make_provider(server.generator(), llm_project).chat(HELLO) == "ok"
    assert proxy == []


def test_the_message_names_the_override_that_chose_the_url(
    llm_project: Project, fast_llm_retries: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pointing the spec elsewhere would not help while LLM_BASE_URL overrides it."""
    url = f"http://127.0.0.1:{closed_port()}/v1"
    monkeypatch.setenv("LLM_BASE_URL", url)
    generator = effective_generator({"provider": "openai", "model": "m", "host": "http://x/v1"})
    message = fails_at_once(make_provider(generator, llm_project), "chat")
    assert url in message and "point LLM_BASE_URL (it overrides generator.host)" in message


def test_an_unreachable_server_fails_the_build_at_once(
    tmp_path: Path, cli, proxy: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCRIPTEXEC_LLM_BACKOFF", str(SLOW_BACKOFF))
    project = prose_project(tmp_path, f"http://127.0.0.1:{closed_port()}/v1", provider="openai")
    started = time.monotonic()
    out = cli("build", SPEC, "--no-image", cwd=project, expect=1).output
    assert time.monotonic() - started < SLOW_BACKOFF / 3
    errors = [line for line in out.splitlines() if "error:" in line]
    assert len(errors) == 1 and "connection refused" in errors[0], out
    assert proxy == []
