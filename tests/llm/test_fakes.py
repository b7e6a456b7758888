"""The fake servers answer what the real clients parse: the whole Ollama client surface
scriptexec or a test may touch, and plain OpenAI-style JSON."""

from __future__ import annotations

import json
import urllib.request

import httpx
import ollama
import pytest

from .fake_ollama import VERSION, FakeOllama
from .fake_openai import FakeOpenAI
from .fake_server import DEFAULT_MODEL, minimal_instance

HELLO = [{"role": "user", "content": "hi"}]


def test_ollama_client_chat_both_ways(fake_ollama: FakeOllama) -> None:
    client = ollama.Client(host=fake_ollama.url)
    fake_ollama.script("one reply", "streamed reply")
    whole = client.chat(model=DEFAULT_MODEL, messages=HELLO, stream=False)
    assert whole.message.content == "one reply" and whole.done
    parts = list(client.chat(model=DEFAULT_MODEL, messages=HELLO, stream=True))
    assert "".join(p.message.content or "" for p in parts) == "streamed reply"
    assert [p.done for p in parts][-1] is True and parts[-1].done_reason == "stop"


def test_ollama_client_generate_both_ways(fake_ollama: FakeOllama) -> None:
    client = ollama.Client(host=fake_ollama.url)
    fake_ollama.script("generated", lambda request: f"echo {request['prompt']}")
    assert client.generate(model=DEFAULT_MODEL, prompt="p", stream=False).response == "generated"
    parts = list(client.generate(model=DEFAULT_MODEL, prompt="ping", stream=True))
    assert "".join(p.response or "" for p in parts) == "echo ping"
    assert fake_ollama.count("/api/generate") == 2


def test_ollama_client_list_show_and_version(fake_ollama: FakeOllama) -> None:
    client = ollama.Client(host=fake_ollama.url)
    fake_ollama.set_digest(DEFAULT_MODEL, "b" * 64)
    (entry,) = client.list().models
    assert (entry.model, entry.digest) == (DEFAULT_MODEL, "b" * 64)
    assert entry.details is not None and entry.details.family == "qwen2"
    shown = client.show(DEFAULT_MODEL)
    assert shown.modelfile is not None and "b" * 64 in shown.modelfile
    assert client.ps().models == []
    assert httpx.get(fake_ollama.url + "/api/version").json() == {"version": VERSION}


def test_ollama_client_errors(fake_ollama: FakeOllama) -> None:
    client = ollama.Client(host=fake_ollama.url)
    with pytest.raises(ollama.ResponseError) as caught:
        client.show("nosuch")
    assert caught.value.status_code == 404
    fake_ollama.fail_next("http500")
    with pytest.raises(ollama.ResponseError) as caught:
        client.chat(model=DEFAULT_MODEL, messages=HELLO)
    assert caught.value.status_code == 500


def test_faults_can_target_any_path(fake_ollama: FakeOllama) -> None:
    client = ollama.Client(host=fake_ollama.url)
    fake_ollama.fail_next("http500", path="/api/tags")
    client.chat(model=DEFAULT_MODEL, messages=HELLO)  # not the targeted path: unharmed
    with pytest.raises(ollama.ResponseError):
        client.list()
    assert client.list().models


def test_unknown_faults_are_refused(fake_ollama: FakeOllama) -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        fake_ollama.fail_next("gremlins")


def test_openai_fake_answers_without_streaming(fake_openai: FakeOpenAI) -> None:
    fake_openai.script("whole")
    request = urllib.request.Request(
        fake_openai.base_url + "/chat/completions",
        data=json.dumps({"model": DEFAULT_MODEL, "messages": HELLO}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        answer = json.loads(response.read())
    assert answer["choices"][0]["message"] == {"role": "assistant", "content": "whole"}


def test_minimal_instance_of_our_schemas_is_valid() -> None:
    import jsonschema

    from scriptexec.resources import schema_path

    for name in ("analysis", "plan"):
        schema = json.loads(schema_path(name).read_text())
        jsonschema.validate(minimal_instance(schema), schema)
