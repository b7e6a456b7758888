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
    """The provider an (effective) `generator` section asks for; see `server_address` for
    which URL it talks to. `backoff` overrides the first retry delay (else
    $SCRIPTEXEC_LLM_BACKOFF, else 1 s)."""
    settings = GeneratorSettings.from_generator(generator, backoff=backoff)
    if settings.provider == "none":
        from scriptexec.llm.none_provider import NoneProvider

        return NoneProvider(settings)
    host, host_source = server_address(settings.provider, generator, project)
    sources = {**(generator.get(FROM_ENVIRONMENT) or {}), "host": host_source}
    if settings.provider == "ollama":
        from scriptexec.llm.ollama_provider import OllamaProvider

        return OllamaProvider(settings, project, host, sources)
    from scriptexec.llm.openai_provider import OpenAIProvider

    return OpenAIProvider(settings, project, host, sources)


# -- overrides from the environment --------------------------------------------------------

# Variables that override the spec's generator block, per setting; the first one set wins.
# SCRIPTEXEC_LLM_<SETTING> follows the generator key it replaces; the LLM_* names are the
# seed's (its LM Studio setup), so a shell set up for the seed works unchanged.
ENV_OVERRIDES: dict[str, tuple[str, ...]] = {
    "provider": ("SCRIPTEXEC_LLM_PROVIDER",),
    "model": ("SCRIPTEXEC_LLM_MODEL", "LLM_MODEL_NAME"),
    "host": ("SCRIPTEXEC_LLM_HOST", "LLM_BASE_URL"),
    "temperature": ("SCRIPTEXEC_LLM_TEMPERATURE", "LLM_TEMPERATURE"),
}
# Each client's own variable: only a default, for when neither an override nor the spec
# names a server.
CLIENT_HOST_ENV = {"ollama": "OLLAMA_HOST", "openai": "OPENAI_BASE_URL"}
# The key of an effective generator that says which settings came from which variable.
FROM_ENVIRONMENT = "from_environment"


def effective_generator(generator: Mapping[str, Any]) -> dict[str, Any]:
    """The spec's canonical generator section with the environment's overrides applied,
    and under FROM_ENVIRONMENT the variable each overridden setting came from.

    Raises LLMError for an override that is not a valid value.
    """
    values = dict(generator)
    sources: dict[str, str] = {}
    for setting, variable, text in _overrides_set():
        values[setting] = _parse_override(setting, variable, text)
        sources[setting] = variable
    values[FROM_ENVIRONMENT] = sources
    return values


def setting_source(setting: str) -> str:
    """Where a generator setting's value comes from now, for `status`:
    "SCRIPTEXEC_LLM_MODEL=qwen2.5-coder:1.5b", or "generator.model in the spec"."""
    for name, variable, text in _overrides_set():
        if name == setting:
            return f"{variable}={text}"
    return f"generator.{setting} in the spec"


def _overrides_set() -> list[tuple[str, str, str]]:
    """(setting, variable, text) of the first variable set for each overridable setting."""
    found = []
    for setting, variables in ENV_OVERRIDES.items():
        for variable in variables:
            text = os.environ.get(variable, "").strip()
            if text:  # `LLM_MODEL_NAME=` (set but empty) is no override
                found.append((setting, variable, text))
                break
    return found


def _parse_override(setting: str, variable: str, text: str) -> Any:
    if setting == "temperature":
        try:
            value = float(text)
        except ValueError:
            value = -1.0
        if not 0 <= value <= 2:
            raise LLMError(f"{variable} is {text!r}; set it to a number from 0 to 2, e.g. 0")
        return value
    if setting == "provider" and text not in PROVIDERS:
        raise LLMError(f"{variable} is {text!r}; use one of {', '.join(PROVIDERS)}")
    return text


def server_address(
    provider: str, generator: Mapping[str, Any], project: Project
) -> tuple[str | None, str]:
    """(URL, where it comes from) of the server: the llm_host option, an override
    (SCRIPTEXEC_LLM_HOST, LLM_BASE_URL), generator.host, then the client's own variable
    (OLLAMA_HOST, OPENAI_BASE_URL). (None, "") when none is set: Ollama's client then uses
    its default, and the OpenAI-compatible provider refuses to guess."""
    if project.options.llm_host:
        return project.options.llm_host, "the llm_host option"
    if generator.get("host"):
        overridden = (generator.get(FROM_ENVIRONMENT) or {}).get("host")
        return str(generator["host"]), overridden or "generator.host"
    variable = CLIENT_HOST_ENV[provider]
    if os.environ.get(variable):
        return os.environ[variable], variable
    return None, ""


def is_local_address(url: str) -> bool:
    """Whether `url` names this machine (loopback, localhost, 0.0.0.0): such a server is
    never reached through an HTTP proxy, whatever HTTP_PROXY says. Through a proxy, a
    server that is not running answers 502 (a retry, and another) instead of a refusal."""
    import ipaddress
    from urllib.parse import urlsplit

    host = urlsplit(url if "//" in url else f"//{url}").hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


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
