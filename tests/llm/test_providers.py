"""Both HTTP providers against the fake servers: replies, progress, structured output,
digests, and every failure a user meets (no server, no model, 5xx, slow, cut, garbled)."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

import pytest

from scriptexec.errors import LLMError
from scriptexec.llm.base import Cancelled, Provider, clear_caches, make_provider
from scriptexec.project import Project

from .fake_ollama import FakeOllama
from .fake_openai import FakeOpenAI
from .fake_server import DEFAULT_MODEL

FakeLLM = FakeOllama | FakeOpenAI
HELLO = [{"role": "user", "content": "Say hello."}]
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["answer"],
    "properties": {"answer": {"type": "integer"}},
}


def provider_for(server: FakeLLM, project: Project, **overrides: Any) -> Provider:
    return make_provider(server.generator(**overrides), project)


def sent(server: FakeLLM) -> dict[str, Any]:
    """The body of the last generation request."""
    return server.generation_calls[-1].body


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- replies --


def test_plain_reply(fake_llm: FakeLLM, llm_project: Project) -> None:
    fake_llm.script("Hello, world.")
    assert provider_for(fake_llm, llm_project).chat(HELLO) == "Hello, world."
    assert len(fake_llm.generation_calls) == 1
    assert sent(fake_llm)["messages"] == HELLO


def test_streamed_progress_counts_chunks(fake_llm: FakeLLM, llm_project: Project) -> None:
    fake_llm.chunk_size = 4
    fake_llm.script("Hello world, this is a reply")  # 28 characters: 7 chunks
    seen: list[int] = []
    reply = provider_for(fake_llm, llm_project).chat(HELLO, on_progress=seen.append)
    assert reply == "Hello world, this is a reply"
    assert seen == [1, 2, 3, 4, 5, 6, 7]
    assert sent(fake_llm)["stream"] is True


def test_determinism_settings_are_sent(fake_llm: FakeLLM, llm_project: Project) -> None:
    provider_for(fake_llm, llm_project, temperature=0, seed=7).chat(HELLO)
    body = sent(fake_llm)
    settings = body["options"] if isinstance(fake_llm, FakeOllama) else body
    assert settings["temperature"] == 0
    assert settings["seed"] == 7


def test_structured_output_sends_the_schema(fake_llm: FakeLLM, llm_project: Project) -> None:
    fake_llm.script('{"answer": 42}')
    reply = provider_for(fake_llm, llm_project).chat(HELLO, schema=SCHEMA)
    assert json.loads(reply) == {"answer": 42}
    body = sent(fake_llm)
    if isinstance(fake_llm, FakeOllama):
        assert body["format"] == SCHEMA
    else:
        assert body["response_format"]["type"] == "json_schema"
        assert body["response_format"]["json_schema"]["schema"] == SCHEMA


def test_default_structured_reply_is_valid(fake_llm: FakeLLM, llm_project: Project) -> None:
    """Unscripted, the fakes answer a schema with its smallest valid instance."""
    reply = provider_for(fake_llm, llm_project).chat(HELLO, schema=SCHEMA)
    assert json.loads(reply) == {"answer": 0}


# -- digests --


def test_ollama_digest_comes_from_tags_and_is_cached(
    fake_ollama: FakeOllama, llm_project: Project
) -> None:
    fake_ollama.set_digest(DEFAULT_MODEL, "1" * 64)
    provider = provider_for(fake_ollama, llm_project)
    assert provider.model_digest() == "1" * 64
    assert provider_for(fake_ollama, llm_project).model_digest() == "1" * 64
    assert fake_ollama.count("/api/tags") == 1  # once per process


def test_ollama_digest_change_is_seen_by_a_new_process(
    fake_ollama: FakeOllama, llm_project: Project
) -> None:
    provider = provider_for(fake_ollama, llm_project)
    before = provider.model_digest()
    fake_ollama.set_digest(DEFAULT_MODEL, "2" * 64)  # `ollama pull` fetched a new build
    clear_caches()  # what a new process (or the next watch build) starts with
    after = provider.model_digest()
    assert (before, after) == ("a" * 64, "2" * 64)


def test_ollama_model_without_tag_means_latest(
    fake_ollama: FakeOllama, llm_project: Project
) -> None:
    fake_ollama.set_digest("llama3.2:latest", "3" * 64)
    provider = provider_for(fake_ollama, llm_project, model="llama3.2")
    assert provider.model_digest() == "3" * 64
    assert provider.chat(HELLO) == "ok"


def test_ollama_digest_falls_back_to_show(fake_ollama: FakeOllama, llm_project: Project) -> None:
    fake_ollama.set_digest(DEFAULT_MODEL, "")  # listed without a digest
    provider = provider_for(fake_ollama, llm_project)
    first = provider.model_digest()
    assert first.startswith("show-sha256:")
    assert fake_ollama.count("/api/show") == 1
    clear_caches()
    fake_ollama.models[DEFAULT_MODEL] = ""  # still unlisted, same model: same digest
    assert provider.model_digest() == first


def test_openai_digest_ignores_created_and_follows_the_entry(
    fake_openai: FakeOpenAI, llm_project: Project
) -> None:
    provider = provider_for(fake_openai, llm_project)
    first = provider.model_digest()
    clear_caches()
    assert provider.model_digest() == first  # though `created` differs on every request
    fake_openai.set_digest(DEFAULT_MODEL, "4" * 64)
    clear_caches()
    assert provider.model_digest() not in (first, "")
    assert first.startswith("models-sha256:")


def test_digest_of_a_missing_model_names_what_the_server_has(
    fake_llm: FakeLLM, llm_project: Project
) -> None:
    fake_llm.remove_model(DEFAULT_MODEL)
    fake_llm.set_digest("llama3.2:latest", "5" * 64)
    with pytest.raises(LLMError) as caught:
        provider_for(fake_llm, llm_project).model_digest()
    message = str(caught.value)
    assert DEFAULT_MODEL in message and "llama3.2:latest" in message
    if isinstance(fake_llm, FakeOllama):
        assert f"ollama pull {DEFAULT_MODEL}" in message


# -- failures --


def test_connection_refused_is_one_clear_line(llm_project: Project) -> None:
    host = f"http://127.0.0.1:{free_port()}"
    provider = make_provider({"provider": "ollama", "model": "m:7b", "host": host}, llm_project)
    with pytest.raises(LLMError) as caught:
        provider.chat(HELLO)
    message = str(caught.value)
    assert "\n" not in message
    assert host in message
    for hint in ("ollama serve", "ollama pull m:7b", "OLLAMA_HOST", "generator.provider"):
        assert hint in message


def test_openai_connection_refused_is_one_clear_line(llm_project: Project) -> None:
    host = f"http://127.0.0.1:{free_port()}/v1"
    provider = make_provider({"provider": "openai", "model": "m", "host": host}, llm_project)
    with pytest.raises(LLMError) as caught:
        provider.model_digest()
    message = str(caught.value)
    assert "\n" not in message
    assert host in message and "OPENAI_BASE_URL" in message and "generator.provider" in message


def test_model_not_found_is_not_retried(fake_llm: FakeLLM, llm_project: Project) -> None:
    with pytest.raises(LLMError) as caught:
        provider_for(fake_llm, llm_project, model="nosuch:1b").chat(HELLO)
    assert "nosuch:1b" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert len(fake_llm.generation_calls) == 1


def test_server_error_then_success(fake_llm: FakeLLM, llm_project: Project) -> None:
    fake_llm.fail_next("http500")
    fake_llm.script("fine")
    assert provider_for(fake_llm, llm_project).chat(HELLO) == "fine"
    assert len(fake_llm.generation_calls) == 2


def test_server_errors_until_the_last_attempt(fake_llm: FakeLLM, llm_project: Project) -> None:
    fake_llm.fail_next("http500", "http500", "http500")
    with pytest.raises(LLMError) as caught:
        provider_for(fake_llm, llm_project, max_attempts=3).chat(HELLO)
    assert "failed 3 time(s)" in str(caught.value)
    assert "injected server error" in str(caught.value)
    assert len(fake_llm.generation_calls) == 3


def test_slow_reply_times_out_then_retry_succeeds(fake_llm: FakeLLM, llm_project: Project) -> None:
    fake_llm.fail_next("slow")
    fake_llm.script("worth the wait")
    provider = provider_for(fake_llm, llm_project, timeout=1)
    assert provider.chat(HELLO) == "worth the wait"
    assert len(fake_llm.generation_calls) == 2


def test_always_slow_ends_in_a_clear_error(fake_llm: FakeLLM, llm_project: Project) -> None:
    fake_llm.fail_next("slow", "slow")
    provider = provider_for(fake_llm, llm_project, timeout=0.3, max_attempts=2)
    with pytest.raises(LLMError) as caught:
        provider.chat(HELLO)
    message = str(caught.value)
    assert "no reply within 0.3s" in message
    assert "generator.timeout" in message and DEFAULT_MODEL in message
    assert len(fake_llm.generation_calls) == 2


def test_dropped_connection_is_retried_and_the_partial_reply_discarded(
    fake_llm: FakeLLM, llm_project: Project
) -> None:
    fake_llm.fail_next("drop")
    fake_llm.script("the whole reply, second time")
    assert provider_for(fake_llm, llm_project).chat(HELLO) == "the whole reply, second time"
    assert len(fake_llm.generation_calls) == 2


def test_always_dropped_names_the_cause(fake_llm: FakeLLM, llm_project: Project) -> None:
    fake_llm.fail_next("drop", "drop")
    with pytest.raises(LLMError) as caught:
        provider_for(fake_llm, llm_project, max_attempts=2).chat(HELLO)
    assert "connection" in str(caught.value)


def test_garbled_stream_is_retried(fake_llm: FakeLLM, llm_project: Project) -> None:
    fake_llm.fail_next("malformed")
    fake_llm.script("clean")
    assert provider_for(fake_llm, llm_project).chat(HELLO) == "clean"
    assert len(fake_llm.generation_calls) == 2


def test_openai_api_key_is_sent_and_its_absence_explained(
    llm_project: Project, fast_llm_retries: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeOpenAI(api_key="sk-test") as server:
        monkeypatch.delenv("SCRIPTEXEC_TEST_OPENAI_KEY", raising=False)
        with pytest.raises(LLMError) as caught:
            provider_for(server, llm_project).chat(HELLO)
        assert "SCRIPTEXEC_TEST_OPENAI_KEY" in str(caught.value)
        monkeypatch.setenv("SCRIPTEXEC_TEST_OPENAI_KEY", "sk-test")
        assert provider_for(server, llm_project).chat(HELLO) == "ok"


def test_openai_base_url_without_v1_is_explained(
    fake_openai: FakeOpenAI, llm_project: Project
) -> None:
    provider = provider_for(fake_openai, llm_project, host=fake_openai.url)
    with pytest.raises(LLMError, match="usually ends in /v1"):
        provider.chat(HELLO)


# -- cancellation --


def test_cancel_mid_stream_raises_and_discards_the_reply(
    fake_llm: FakeLLM, llm_project: Project
) -> None:
    fake_llm.chunk_size = 1
    fake_llm.script("x" * 200)
    cancel = threading.Event()
    seen: list[int] = []

    def progress(count: int) -> None:
        seen.append(count)
        if count == 3:
            cancel.set()

    provider = provider_for(fake_llm, llm_project)
    with pytest.raises(Cancelled):
        provider.chat(HELLO, cancel=cancel, on_progress=progress)
    assert seen == [1, 2, 3]
    assert provider.chat(HELLO) == "ok"  # the model is free again


def test_cancel_before_the_request_sends_nothing(fake_llm: FakeLLM, llm_project: Project) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        provider_for(fake_llm, llm_project).chat(HELLO, cancel=cancel)
    assert fake_llm.generation_calls == []


def test_cancel_while_waiting_for_the_model(fake_llm: FakeLLM, llm_project: Project) -> None:
    fake_llm.hold()
    first = threading.Thread(target=provider_for(fake_llm, llm_project).chat, args=(HELLO,))
    first.start()
    try:
        assert fake_llm.wait_active(1)
        cancel = threading.Event()
        cancel.set()
        with pytest.raises(Cancelled):
            provider_for(fake_llm, llm_project).chat(HELLO, cancel=cancel)
    finally:
        fake_llm.release()
        first.join(timeout=10)
    assert len(fake_llm.generation_calls) == 1


# -- one request at a time per model --


def _chat_in_thread(provider: Provider, results: list[str]) -> threading.Thread:
    thread = threading.Thread(target=lambda: results.append(provider.chat(HELLO)))
    thread.start()
    return thread


def test_one_request_at_a_time_per_model(fake_llm: FakeLLM, llm_project: Project) -> None:
    fake_llm.hold()
    results: list[str] = []
    first = _chat_in_thread(provider_for(fake_llm, llm_project), results)
    try:
        assert fake_llm.wait_active(1)
        second = _chat_in_thread(provider_for(fake_llm, llm_project), results)
        time.sleep(0.3)  # room for the second request to overtake, if the lock let it
        assert len(fake_llm.generation_calls) == 1
    finally:
        fake_llm.release()
    first.join(timeout=10)
    second.join(timeout=10)
    assert results == ["ok", "ok"]
    assert fake_llm.max_active == 1
    assert len(fake_llm.generation_calls) == 2


def test_different_models_may_overlap(fake_llm: FakeLLM, llm_project: Project) -> None:
    """The control for the test above: the fake does record overlaps, locks are per model."""
    fake_llm.set_digest("other:1b", "6" * 64)
    fake_llm.hold()
    results: list[str] = []
    threads = [
        _chat_in_thread(provider_for(fake_llm, llm_project), results),
        _chat_in_thread(provider_for(fake_llm, llm_project, model="other:1b"), results),
    ]
    try:
        assert fake_llm.wait_active(2)
    finally:
        fake_llm.release()
        for thread in threads:
            thread.join(timeout=10)
    assert fake_llm.max_active == 2
    assert results == ["ok", "ok"]


def test_another_process_holding_the_model_lock_is_waited_for(
    fake_llm: FakeLLM, llm_project: Project
) -> None:
    import filelock

    from scriptexec.llm.lock import lock_path

    provider = provider_for(fake_llm, llm_project)
    path = lock_path(llm_project.state_dir, provider.host, DEFAULT_MODEL)  # type: ignore[attr-defined]
    path.parent.mkdir(parents=True, exist_ok=True)
    other = filelock.FileLock(path)  # flock: a second open file, as another process has
    other.acquire()
    results: list[str] = []
    try:
        thread = _chat_in_thread(provider, results)
        time.sleep(0.3)  # room for the request to go out, if the file lock let it
        assert fake_llm.generation_calls == []
    finally:
        other.release()
    thread.join(timeout=10)
    assert results == ["ok"]
