"""Ollama, through the official `ollama` client (loaded only when an LLM stage runs)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Generator, Mapping
from typing import TYPE_CHECKING, Any, NoReturn, cast

import httpx
import ollama
import pydantic

from scriptexec.errors import LLMError
from scriptexec.llm.base import GeneratorSettings, Message, is_local_address
from scriptexec.llm.streaming import StreamingProvider, Transient, one_line

if TYPE_CHECKING:
    from scriptexec.project import Project

DEFAULT_HOST = "http://127.0.0.1:11434"  # what the client uses when nothing is set


def _full_name(model: str) -> str:
    """Ollama's own spelling: a name without a tag means the `latest` tag."""
    return model if ":" in model.rsplit("/", 1)[-1] else f"{model}:latest"


class OllamaProvider(StreamingProvider):
    kind = "ollama"
    client_host_env = "OLLAMA_HOST"

    def __init__(
        self,
        settings: GeneratorSettings,
        project: Project,
        host: str | None,
        sources: Mapping[str, str],
    ) -> None:
        super().__init__(settings, project, host or DEFAULT_HOST, sources)
        # A server on this machine is never behind a proxy (see base.is_local_address);
        # trust_env=False keeps httpx from sending it through HTTP_PROXY.
        local = is_local_address(self.host)
        self._client = ollama.Client(host=host, timeout=settings.timeout, trust_env=not local)

    def _stream(
        self, messages: list[Message], schema: dict[str, Any] | None
    ) -> Generator[str, None, None]:
        chunks: Generator[ollama.ChatResponse, None, None] | None = None
        try:
            chunks = cast(
                "Generator[ollama.ChatResponse, None, None]",  # what the client returns
                self._client.chat(
                    model=self.settings.model,
                    messages=messages,
                    stream=True,
                    format=schema,
                    options={"temperature": self.settings.temperature, "seed": self.settings.seed},
                ),
            )
            done = False
            for chunk in chunks:
                if chunk.message.content:
                    yield chunk.message.content
                done = done or bool(chunk.done)
            if not done:
                raise Transient("the connection closed before the reply was complete")
        except Exception as exc:  # sorted into Transient / LLMError right here
            self._raise_for(exc)
        finally:
            if chunks is not None:
                chunks.close()  # closes the HTTP response, so the server stops generating

    def _fetch_digest(self) -> str:
        try:
            listing = self._client.list()
        except Exception as exc:
            self._raise_for(exc)
        wanted = _full_name(self.settings.model)
        for entry in listing.models:
            if entry.model and _full_name(entry.model) == wanted and entry.digest:
                return entry.digest
        # Not listed (or listed without a digest): /api/show names the weights blob in its
        # modelfile, so a hash of its answer changes when the model does.
        try:
            shown = self._client.show(self.settings.model)
        except ollama.ResponseError as exc:
            if exc.status_code == 404:
                have = ", ".join(sorted(e.model for e in listing.models if e.model)) or "none"
                self._raise_not_found(f"it has: {have}")
            self._raise_for(exc)
        except Exception as exc:
            self._raise_for(exc)
        described = shown.model_dump(mode="json", exclude={"modified_at"})
        canonical = json.dumps(described, sort_keys=True, separators=(",", ":"))
        return "show-sha256:" + hashlib.sha256(canonical.encode()).hexdigest()

    def _raise_not_found(self, detail: str) -> NoReturn:
        model = self.settings.model
        raise LLMError(
            f"Ollama at {self.host} has no model {model!r} ({detail}); "
            f"run `ollama pull {model}` there, or set {self.origin('model')} to a model it has"
        )

    def _raise_for(self, exc: Exception) -> NoReturn:
        """Sort a client failure into Transient (retry) or LLMError (tell the user)."""
        if isinstance(exc, (Transient, LLMError)):
            raise exc
        if isinstance(exc, ollama.ResponseError):
            status, reason = exc.status_code, one_line(str(exc.error))
            if status == 404:
                self._raise_not_found(reason)
            if status == -1 or status == 429 or status >= 500:  # -1: an error mid-stream
                raise Transient(f"server error: {reason} (status {status})") from None
            raise LLMError(f"{self.describe()} refused the request: {reason} (status {status})")
        if isinstance(exc, httpx.UnsupportedProtocol):
            raise LLMError(f"the Ollama host {self.host} is not an http(s) URL") from None
        if isinstance(exc, (httpx.ConnectError, ConnectionError)):
            # The client turns a refused connection on its non-streaming calls into a bare
            # ConnectionError with a generic text; httpx's own error says what happened.
            why = one_line(str(exc)) if isinstance(exc, httpx.ConnectError) else "refused"
            model = self.settings.model
            raise LLMError(
                f"cannot reach Ollama at {self.host} ({why}): start it with "
                f"`ollama serve` and `ollama pull {model}`, point {self.where_to_point()} "
                "at where it runs, or set generator.provider (ollama, openai, none)"
            ) from None
        if isinstance(exc, httpx.TimeoutException):
            raise Transient(f"no reply within {self.settings.timeout:g}s") from None
        if isinstance(exc, (httpx.TransportError, httpx.StreamError)):
            raise Transient(f"the connection dropped ({one_line(str(exc)) or 'no reason'})")
        if isinstance(exc, (json.JSONDecodeError, pydantic.ValidationError)):
            raise Transient(f"the server sent a garbled response ({one_line(str(exc), 120)})")
        raise exc
