"""Any OpenAI-compatible server: LM Studio, llama.cpp's `llama-server`, vLLM, OpenAI.

Plain urllib (no `openai` package): POST {base}/chat/completions with stream=true and read
the server-sent events. The base URL (see base.server_address: an override, generator.host,
or $OPENAI_BASE_URL) usually ends in /v1; there is no default, so prompts never go to a
hosted service by accident.

The model digest: these servers expose no weights digest, so it is the sha256 of the
canonical JSON of the model's entry in GET {base}/models, without its `created` field
(llama.cpp and vLLM fill it with the time of the request). It changes when the server
reports a different model (llama.cpp's entry carries size and parameter counts, vLLM's
its root path); a server that reports nothing but the id (LM Studio) cannot tell a new
build of the same model apart, and the stage keys then follow the model name only.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Generator, Mapping
from typing import TYPE_CHECKING, Any, NoReturn

from scriptexec.errors import LLMError
from scriptexec.llm.base import GeneratorSettings, Message, is_local_address
from scriptexec.llm.streaming import StreamingProvider, Transient, one_line

if TYPE_CHECKING:
    from scriptexec.project import Project

VOLATILE_FIELDS = ("created",)  # not part of the digest: some servers send the current time


def _error_text(body: bytes) -> str:
    """The message in an error body: {"error": {"message": ...}}, {"error": ...}, or raw."""
    text = body.decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except ValueError:
        return one_line(text)
    if isinstance(data, dict):
        error = data.get("error", data.get("detail", data))
        if isinstance(error, dict):
            error = error.get("message", error)
        return one_line(str(error))
    return one_line(text)


class OpenAIProvider(StreamingProvider):
    kind = "openai"
    client_host_env = "OPENAI_BASE_URL"

    def __init__(
        self,
        settings: GeneratorSettings,
        project: Project,
        host: str | None,
        sources: Mapping[str, str],
    ) -> None:
        if not host:
            raise LLMError(
                "generator.provider is openai but no server is named: set generator.host or "
                "OPENAI_BASE_URL (or LLM_BASE_URL, which overrides the spec) to its base URL, "
                "e.g. http://127.0.0.1:1234/v1 (LM Studio) or http://127.0.0.1:8080/v1 "
                "(llama-server)"
            )
        if not host.startswith(("http://", "https://")):
            raise LLMError(
                f"the OpenAI-compatible server {host!r} (from {sources.get('host')}) is not an "
                "http(s) URL; write it in full, e.g. http://127.0.0.1:1234/v1"
            )
        super().__init__(settings, project, host.rstrip("/"), sources)
        self._api_key = os.environ.get(settings.api_key_env) or None
        # A server on this machine is never behind a proxy: through one, a server that is
        # not running answers 502 (and is retried) instead of refusing the connection.
        no_proxy = [urllib.request.ProxyHandler({})] if is_local_address(host) else []
        self._opener = urllib.request.build_opener(*no_proxy)

    def _open(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        headers = {"Accept": "application/json, text/event-stream"}
        data = None
        if payload is not None:
            data = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        request = urllib.request.Request(
            self.host + path, data=data, headers=headers, method=method
        )
        return self._opener.open(request, timeout=self.settings.timeout)

    def _stream(
        self, messages: list[Message], schema: dict[str, Any] | None
    ) -> Generator[str, None, None]:
        payload: dict[str, Any] = {
            "model": self.settings.model,
            "messages": messages,
            "stream": True,
            "temperature": self.settings.temperature,
            "seed": self.settings.seed,
        }
        if schema is not None:
            name = re.sub(r"[^A-Za-z0-9_-]", "_", str(schema.get("title", "reply")))[:64]
            payload["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": name, "schema": schema},
            }
        try:
            with self._open("POST", "/chat/completions", payload) as response:
                finished = False
                for raw in response:
                    line = raw.decode("utf-8").strip()
                    if not line.startswith("data:"):
                        continue  # blank separators, ": keep-alive" comments, event: lines
                    data = line[len("data:") :].strip()
                    if data == "[DONE]":
                        finished = True
                        break
                    event = json.loads(data)
                    if not isinstance(event, dict):
                        raise Transient(f"the server sent a garbled event: {one_line(data)}")
                    if event.get("error"):
                        raise Transient(f"server error mid-reply: {_error_text(data.encode())}")
                    for choice in event.get("choices") or ():
                        text = (choice.get("delta") or {}).get("content")
                        if text:
                            yield text
                        finished = finished or bool(choice.get("finish_reason"))
                if not finished:
                    raise Transient("the connection closed before the reply was complete")
        except Exception as exc:  # sorted into Transient / LLMError right here
            self._raise_for(exc)

    def _fetch_digest(self) -> str:
        try:
            with self._open("GET", "/models") as response:
                listing = json.loads(response.read())
        except Exception as exc:
            self._raise_for(exc)
        entries = listing.get("data") if isinstance(listing, dict) else None
        if not isinstance(entries, list):
            raise LLMError(f"{self.host}/models did not answer with a model list")
        for entry in entries:
            if isinstance(entry, dict) and entry.get("id") == self.settings.model:
                stable = {k: v for k, v in entry.items() if k not in VOLATILE_FIELDS}
                canonical = json.dumps(stable, sort_keys=True, separators=(",", ":"))
                return "models-sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
        have = ", ".join(sorted(str(e.get("id")) for e in entries if isinstance(e, dict)))
        self._raise_not_found(f"it has: {have or 'none'}")

    def _raise_not_found(self, detail: str) -> NoReturn:
        raise LLMError(
            f"the server at {self.host} has no model {self.settings.model!r} ({detail}); "
            f"load it there, or set {self.origin('model')} to a model it serves"
        )

    def _raise_for(self, exc: Exception) -> NoReturn:
        """Sort a urllib failure into Transient (retry) or LLMError (tell the user)."""
        if isinstance(exc, (Transient, LLMError)):
            raise exc
        if isinstance(exc, urllib.error.HTTPError):
            self._raise_for_status(exc)
        if isinstance(exc, urllib.error.URLError):
            reason = exc.reason
            if isinstance(reason, TimeoutError):
                raise Transient(f"no reply within {self.settings.timeout:g}s") from None
            if isinstance(reason, ConnectionError) and not isinstance(
                reason, ConnectionRefusedError
            ):
                raise Transient(f"the connection dropped ({one_line(str(reason))})") from None
            why = "connection refused" if isinstance(reason, ConnectionRefusedError) else reason
            raise LLMError(
                f"cannot reach the OpenAI-compatible server at {self.host} ({why}): start "
                "it (LM Studio's server, `llama-server`, `vllm serve`), point "
                f"{self.where_to_point()} at where it runs (e.g. http://127.0.0.1:1234/v1), "
                "or set generator.provider (ollama, openai, none)"
            ) from None
        if isinstance(exc, TimeoutError):
            raise Transient(f"no reply within {self.settings.timeout:g}s") from None
        if isinstance(exc, (http.client.HTTPException, ConnectionError)):
            raise Transient(f"the connection dropped ({type(exc).__name__})") from None
        if isinstance(exc, ValueError):  # JSONDecodeError, UnicodeDecodeError
            raise Transient(f"the server sent a garbled response ({one_line(str(exc), 120)})")
        raise exc

    def _raise_for_status(self, exc: urllib.error.HTTPError) -> NoReturn:
        try:
            reason = _error_text(exc.read())
        except (OSError, http.client.HTTPException):
            reason = exc.reason or ""
        status = exc.code
        if status == 404:
            if "model" in reason.lower():
                self._raise_not_found(reason)
            raise LLMError(
                f"{exc.url} is not there (404: {reason}); is {self.host} the server's "
                "base URL? It usually ends in /v1"
            )
        if status in (401, 403):
            raise LLMError(
                f"the server at {self.host} refused the request ({status}: {reason}); "
                f"set {self.settings.api_key_env} to a valid API key"
            )
        if status in (408, 429) or status >= 500:
            raise Transient(f"server error: {reason} (status {status})")
        raise LLMError(f"{self.describe()} refused the request: {reason} (status {status})")
