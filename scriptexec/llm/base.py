"""The one small interface every LLM provider implements, and the factory that picks one.

This module is imported when a spec is loaded or a stage key is computed, so it uses the
standard library only: the `ollama` client, `jsonschema` and `jinja2` are imported by the
modules that need them, which load only when an LLM stage runs.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Protocol

from scriptexec.errors import Interrupted, LLMError

if TYPE_CHECKING:
    from scriptexec.project import Project

PROVIDERS = ("ollama", "openai", "none")
DEFAULT_MODEL = "qwen2.5-coder:7b"  # only named in hints when a spec sets no model
BACKOFF_ENV = "SCRIPTEXEC_LLM_BACKOFF"  # seconds before the first retry; tests set it tiny

Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": "..."}


class Cancelled(Interrupted):
    """The caller's cancel event was set while a request was waiting or streaming.

    A subclass of Interrupted (not LLMError): nothing went wrong with the model, the build
    was interrupted or superseded, and the half-received reply is thrown away.
    """


class Provider(Protocol):
    def describe(self) -> str:
        """Which model on which server, for messages: "ollama model 'x' at http://..."."""
        ...

    def model_digest(self) -> str:
        """An identifier of the exact model build; part of every LLM stage key.

        Asked of the server once per process and cached.
        """
        ...

    def chat(
        self,
        messages: list[Message],
        *,
        schema: dict[str, Any] | None = None,
        cancel: threading.Event | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> str:
        """The model's full reply to `messages`.

        With `schema` the server is asked to constrain the reply to that JSON Schema (the
        caller still validates it: see structured.ask_json). The reply is streamed;
        `on_progress` receives the running count of chunks received. When `cancel` is set
        the call raises Cancelled instead of returning.
        """
        ...


@dataclass(frozen=True)
class GeneratorSettings:
    """The spec's `generator` section with its defaults, plus the retry delay.

    temperature, seed and the model digest change answers and belong in stage keys;
    host, timeout, max_attempts, api_key_env and backoff do not.
    """

    provider: str = "ollama"
    model: str = ""
    host: str | None = None
    temperature: float = 0
    seed: int = 42
    timeout: float = 120  # seconds without a byte from the server before an attempt fails
    max_attempts: int = 3
    api_key_env: str = "OPENAI_API_KEY"
    backoff: float = 1.0  # seconds before the first retry, doubled before each next one

    @classmethod
    def from_generator(
        cls, generator: Mapping[str, Any], *, backoff: float | None = None
    ) -> GeneratorSettings:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in generator.items() if k in known and v is not None}
        if backoff is not None:
            values["backoff"] = backoff
        elif "backoff" not in values and os.environ.get(BACKOFF_ENV):
            values["backoff"] = float(os.environ[BACKOFF_ENV])
        settings = cls(**values)
        if settings.provider not in PROVIDERS:
            raise LLMError(
                f"generator.provider is {settings.provider!r}; use one of {', '.join(PROVIDERS)}"
            )
        if settings.provider != "none" and not settings.model:
            raise LLMError(
                f"generator.model is not set; name the {settings.provider} model to use, "
                f"e.g. model: {DEFAULT_MODEL!r}"
            )
        if settings.max_attempts < 1:
            raise LLMError("generator.max_attempts must be at least 1")
        return settings


def make_provider(
    generator: Mapping[str, Any], project: Project, *, backoff: float | None = None
) -> Provider:
    """The provider the spec's canonical `generator` section asks for.

    The host is, in order: the --llm-host option (project.options.llm_host), generator.host,
    then the provider's environment variable (OLLAMA_HOST or OPENAI_BASE_URL).
    `backoff` overrides the first retry delay (else $SCRIPTEXEC_LLM_BACKOFF, else 1 s).
    """
    settings = GeneratorSettings.from_generator(generator, backoff=backoff)
    host = project.options.llm_host or settings.host
    if settings.provider == "ollama":
        from scriptexec.llm.ollama_provider import OllamaProvider

        return OllamaProvider(settings, project, host)
    if settings.provider == "openai":
        from scriptexec.llm.openai_provider import OpenAIProvider

        return OpenAIProvider(settings, project, host)
    from scriptexec.llm.none_provider import NoneProvider

    return NoneProvider(settings)


# Model digests, asked of a server once per process: (provider, host, model) -> digest.
_digests: dict[tuple[str, str, str], str] = {}
_digests_lock = threading.Lock()


def cached_digest(key: tuple[str, str, str], compute: Callable[[], str]) -> str:
    with _digests_lock:
        if key in _digests:
            return _digests[key]
    digest = compute()  # outside the lock: a slow server must not block other models
    with _digests_lock:
        return _digests.setdefault(key, digest)


def clear_caches() -> None:
    """Forget the model digests asked so far (a long `watch` calls it before each build)."""
    with _digests_lock:
        _digests.clear()
