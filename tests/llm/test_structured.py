"""ask_json: a JSON reply valid under the schema, re-asked with what was wrong, or a loud
failure that shows the reply."""

from __future__ import annotations

import json
from typing import Any

import pytest

from scriptexec.errors import LLMError
from scriptexec.llm.base import make_provider
from scriptexec.llm.structured import ask_json, parse_json_reply
from scriptexec.project import Project
from scriptexec.resources import schema_path

from .fake_ollama import FakeOllama
from .fake_openai import FakeOpenAI

QUESTION = [{"role": "user", "content": "Analyse the task."}]
ANALYSIS = {
    "task_type": "calculation",
    "needs_web": True,
    "needs_simulation": True,
    "data_sources": [{"name": "properties", "format": "csv", "location": "data/p.csv"}],
    "complexity": "medium",
    "summary": "Debt service coverage per property, with a what-if dashboard.",
}


@pytest.fixture
def analysis_schema() -> dict[str, Any]:
    return json.loads(schema_path("analysis").read_text())


def test_valid_reply_first_time(
    fake_llm: FakeOllama | FakeOpenAI, llm_project: Project, analysis_schema: dict[str, Any]
) -> None:
    fake_llm.script(json.dumps(ANALYSIS))
    provider = make_provider(fake_llm.generator(), llm_project)
    assert ask_json(provider, QUESTION, analysis_schema, attempts=3) == ANALYSIS
    assert len(fake_llm.generation_calls) == 1


def test_malformed_json_then_valid_is_asked_again(
    fake_llm: FakeOllama | FakeOpenAI, llm_project: Project, analysis_schema: dict[str, Any]
) -> None:
    fake_llm.fail_next("bad_json")
    fake_llm.script(json.dumps(ANALYSIS))
    provider = make_provider(fake_llm.generator(), llm_project)
    assert ask_json(provider, QUESTION, analysis_schema, attempts=3) == ANALYSIS
    first, second = fake_llm.generation_calls
    assert first.body["messages"] == QUESTION
    bad_reply, feedback = second.body["messages"][-2:]
    assert bad_reply == {"role": "assistant", "content": "this is not JSON {"}
    assert feedback["role"] == "user" and "not valid JSON" in feedback["content"]


def test_schema_violations_are_named_in_the_re_ask(
    fake_ollama: FakeOllama, llm_project: Project, analysis_schema: dict[str, Any]
) -> None:
    wrong = dict(ANALYSIS, complexity="extreme")
    fake_ollama.script(json.dumps(wrong), json.dumps(ANALYSIS))
    provider = make_provider(fake_ollama.generator(), llm_project)
    assert ask_json(provider, QUESTION, analysis_schema, attempts=2) == ANALYSIS
    feedback = fake_ollama.generation_calls[1].body["messages"][-1]["content"]
    assert "$.complexity" in feedback and "extreme" in feedback


def test_schema_violating_replies_fail_showing_the_reply_and_the_error(
    fake_llm: FakeOllama | FakeOpenAI, llm_project: Project, analysis_schema: dict[str, Any]
) -> None:
    fake_llm.fail_next("schema_violation", "schema_violation")
    provider = make_provider(fake_llm.generator(), llm_project)
    with pytest.raises(LLMError) as caught:
        ask_json(provider, QUESTION, analysis_schema, attempts=2)
    message = str(caught.value)
    assert "2 attempt(s)" in message
    assert '{"unexpected": true}' in message  # the reply
    assert "'task_type' is a required property" in message  # the validation error
    assert "Additional properties are not allowed" in message
    assert len(fake_llm.generation_calls) == 2


def test_a_long_bad_reply_is_shortened_in_the_error(
    fake_ollama: FakeOllama, llm_project: Project, analysis_schema: dict[str, Any]
) -> None:
    fake_ollama.script("nonsense " * 500)
    provider = make_provider(fake_ollama.generator(), llm_project)
    with pytest.raises(LLMError) as caught:
        ask_json(provider, QUESTION, analysis_schema, attempts=1)
    assert "more characters" in str(caught.value)
    assert len(str(caught.value)) < 1500


def test_a_json_array_is_not_an_object(fake_ollama: FakeOllama, llm_project: Project) -> None:
    fake_ollama.script("[1, 2]")
    provider = make_provider(fake_ollama.generator(), llm_project)
    with pytest.raises(LLMError, match="not an object"):
        ask_json(provider, QUESTION, {"type": "array"}, attempts=1)


@pytest.mark.parametrize(
    "reply",
    [
        '{"a": 1}',
        '  \n{"a": 1}\n',
        '```json\n{"a": 1}\n```',
        '```\n{"a": 1}\n```',
        '<think>They want JSON.</think>\n{"a": 1}',
    ],
)
def test_parse_json_reply_tolerates_wrapping(reply: str) -> None:
    assert parse_json_reply(reply) == {"a": 1}


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        ("", "empty"),
        ('Here it is: {"a": 1}', "line 1 column 1"),
        ('{"a": 1,}', "line 1 column 9"),
    ],
)
def test_parse_json_reply_says_where_it_broke(reply: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_json_reply(reply)
