"""A small OpenAI-compatible server of the tests' own (what LM Studio, llama-server and
vLLM answer): GET /v1/models, POST /v1/chat/completions (server-sent events with
"stream": true, else one JSON object).

Like llama-server and vLLM, each /v1/models entry carries a `created` that differs on
every request (they send the time of the request), so a digest that hashed it would
change on every call. `set_digest` changes the
entry's `meta` (llama-server reports the model's size and parameters there).
"""

from __future__ import annotations

import json
import time
from typing import Any

from .fake_server import DEFAULT_MODEL, FakeServer, _Handler


class FakeOpenAI(FakeServer):
    generation_paths = ("/v1/chat/completions",)

    def __init__(self, *args: Any, api_key: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.api_key = api_key  # when set, requests without "Bearer <api_key>" get a 401

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def generator(self, **overrides: Any) -> dict[str, Any]:
        """A spec's `generator` section pointing at this server (tight timeouts for tests)."""
        section: dict[str, Any] = {
            "provider": "openai",
            "model": DEFAULT_MODEL,
            "host": self.base_url,
            "temperature": 0,
            "seed": 42,
            "timeout": 5,
            "max_attempts": 3,
            "api_key_env": "SCRIPTEXEC_TEST_OPENAI_KEY",
        }
        section.update(overrides)
        return section

    def request_schema(self, body: dict[str, Any]) -> dict[str, Any] | None:
        response_format = body.get("response_format") or {}
        schema = (response_format.get("json_schema") or {}).get("schema")
        return schema if isinstance(schema, dict) else None

    # -- routes --

    def route(self, h: _Handler, method: str, path: str, body: dict[str, Any]) -> None:
        if self.api_key and h.headers.get("Authorization") != f"Bearer {self.api_key}":
            return self._error(h, 401, "Incorrect API key provided", "invalid_api_key")
        fault = self.take_fault(path)
        if fault == "slow":
            return self.sleep_slow(h)
        if fault == "http500":
            return self._error(h, 500, "an injected server error", "server_error")
        if (method, path) == ("GET", "/v1/models"):
            data = [self._entry(name) for name in self.models]
            return h.send_json(200, {"object": "list", "data": data})
        if (method, path) == ("POST", "/v1/chat/completions"):
            return self._complete(h, body, fault)
        self._error(h, 404, f"Unexpected endpoint or method. ({method} {path})", None)

    def _entry(self, name: str) -> dict[str, Any]:
        return {
            "id": name,
            "object": "model",
            "created": int(time.time()) + self.count("/v1/models"),  # new on every request
            "owned_by": "fake",
            "meta": {"digest": self.models[name], "n_params": 7615616512},
        }

    @staticmethod
    def _error(h: _Handler, status: int, message: str, code: str | None) -> None:
        h.send_json(
            status,
            {"error": {"message": message, "type": "invalid_request_error", "code": code}},
        )

    def _complete(self, h: _Handler, body: dict[str, Any], fault: str | None) -> None:
        model = str(body.get("model", ""))
        if fault == "not_found" or not self.has_model(model):
            message = f"The model `{model}` does not exist."
            return self._error(h, 404, message, "model_not_found")
        text = self.reply_for(body, fault)
        created = int(time.time())

        def chunk(delta: dict[str, Any], finish: str | None) -> bytes:
            event = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            return b"data: " + json.dumps(event).encode() + b"\n\n"

        with self.generating():
            if not body.get("stream"):
                if fault == "malformed":
                    return h.send_text(
                        200, '{"id": "chatcmpl-fake", "choices": [', "application/json"
                    )
                return h.send_json(
                    200,
                    {
                        "id": "chatcmpl-fake",
                        "object": "chat.completion",
                        "created": created,
                        "model": model,
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": text},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                    },
                )
            h.start_chunked("text/event-stream")
            h.write_chunk(chunk({"role": "assistant", "content": ""}, None))
            pieces = self.pieces(text)
            if fault == "drop":
                pieces = pieces[: max(1, len(pieces) // 2)]
            for piece in pieces:
                h.write_chunk(chunk({"content": piece}, None))
                self.pause_between_chunks()
            if fault == "malformed":
                h.write_chunk(b'data: {"id": "chatcmpl-fake", "choices": [\n\n')
                return h.end_chunked()
            if fault == "drop":
                return h.cut()
            h.write_chunk(chunk({}, "stop"))
            h.write_chunk(b"data: [DONE]\n\n")
            h.end_chunked()
