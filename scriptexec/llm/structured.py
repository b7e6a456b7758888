"""Structured output that fails loudly: a JSON reply, validated against a JSON Schema.

The server is asked to constrain its reply to the schema, but a small model (or a server
that ignores `format`/`response_format`) can still send something else; then the model is
asked again with what was wrong, and after the last attempt the build stops showing the
reply and the error. Nothing is guessed or filled in.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from typing import Any

from scriptexec.errors import LLMError
from scriptexec.llm.base import Message, Provider

SHOWN_REPLY_CHARS = 600  # how much of a bad reply an error message quotes
_FENCED = re.compile(r"\A```[A-Za-z0-9_-]*[ \t]*\n(?P<body>.*?)\n?```\Z", re.DOTALL)
_THINKING = re.compile(r"\A\s*<think>.*?</think>", re.DOTALL)


def parse_json_reply(reply: str) -> Any:
    """The JSON value in `reply`; tolerates a reasoning preamble and one enclosing fence.

    Raises ValueError saying where the JSON is broken.
    """
    text = _THINKING.sub("", reply).strip()
    fenced = _FENCED.match(text)
    if fenced:
        text = fenced.group("body").strip()
    if not text:
        raise ValueError("the reply is empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None


def schema_problems(data: Any, schema: dict[str, Any]) -> list[str]:
    """What is wrong with `data` under `schema`, one line each, e.g. "$.steps[0].action: ..."."""
    import jsonschema

    validator_class = jsonschema.validators.validator_for(schema)
    validator = validator_class(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{error.json_path}: {error.message}" for error in errors]


def shorten(text: str, limit: int = SHOWN_REPLY_CHARS) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


def ask_json(
    provider: Provider,
    messages: list[Message],
    schema: dict[str, Any],
    *,
    attempts: int = 3,
    cancel: threading.Event | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Ask until the reply is a JSON object valid under `schema`; at most `attempts` asks.

    Each re-ask carries the bad reply and what was wrong with it, so the model can fix it.
    Raises LLMError with the last reply (shortened) and its problems.
    """
    conversation = list(messages)
    reply, problem = "", ""
    for _ in range(max(1, attempts)):
        reply = provider.chat(conversation, schema=schema, cancel=cancel, on_progress=on_progress)
        try:
            data = parse_json_reply(reply)
        except ValueError as exc:
            problem = f"it is not valid JSON: {exc}"
        else:
            if not isinstance(data, dict):
                problem = f"it is a JSON {type(data).__name__}, not an object"
            else:
                problems = schema_problems(data, schema)
                if not problems:
                    return data
                problem = "it does not match the schema: " + "; ".join(problems[:5])
        conversation += [
            {"role": "assistant", "content": reply},
            {
                "role": "user",
                "content": f"That reply cannot be used: {problem}. "
                "Answer again with only one JSON object that matches the schema.",
            },
        ]
    raise LLMError(
        f"{provider.describe()} gave no usable JSON in {max(1, attempts)} attempt(s); "
        f"the last reply was {problem}\n--- last reply ---\n{shorten(reply)}"
    )
