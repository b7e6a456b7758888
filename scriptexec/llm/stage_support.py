"""What the generate stage and the engine need from the LLM layer.

Above all, the settings that change an LLM's answer and so belong in a stage key: the
provider, the model *and its digest* (a new build of the same tag is a new model),
temperature, seed, and the digest of every prompt template used. Not the host: the same
model behind another URL gives the same answer. Each is the *effective* value: the spec's
generator block with the environment's overrides applied (base.effective_generator), so
setting SCRIPTEXEC_LLM_MODEL makes the LLM stages stale exactly as editing the spec would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scriptexec.errors import LLMError, ScriptexecError
from scriptexec.llm.base import FROM_ENVIRONMENT, effective_generator
from scriptexec.spec.model import Spec
from scriptexec.stages.base import StageContext

PROMPTS = {"generate": ("system", "step", "repair")}


def _generator(spec: Spec) -> dict[str, Any]:
    return effective_generator(spec.canonical["generator"])


def current_model_digest(generator: dict[str, Any], project: Any) -> str:
    from scriptexec.llm.base import make_provider

    return make_provider(generator, project).model_digest()


def model_digest(spec: Spec, project: Any) -> str:
    """The digest from the server; offline (--check, --frozen) or unreachable, the locked one."""
    locked = (
        project.locked_model_digest(spec.name) if hasattr(project, "locked_model_digest") else None
    )
    if project.options.offline:
        if locked is None:
            raise LLMError(
                f"{spec.display}: needs an LLM and scriptexec.lock records no model digest for it"
            )
        return str(locked)
    try:
        return current_model_digest(_generator(spec), project)
    except ScriptexecError as exc:
        if locked is None:
            raise
        project.warn(
            f"{spec.name}: cannot ask the LLM server for the model digest ({exc}); "
            "using the locked one"
        )
        return str(locked)


def llm_inputs(spec: Spec, project: Any, stage: str) -> dict[str, Any]:
    from scriptexec.llm.prompts import prompt_digest

    gen = _generator(spec)
    values: dict[str, Any] = {
        "setting:provider": gen["provider"],
        "setting:model": gen["model"],
        "setting:model_digest": model_digest(spec, project),
        # A float either way: LLM_TEMPERATURE=0 over a spec's `temperature: 0` changes nothing.
        "setting:temperature": float(gen["temperature"]),
        "setting:seed": gen["seed"],
    }
    for name in PROMPTS[stage]:
        values[f"template:prompts/{name}.j2"] = prompt_digest(project, name)
    return values


def recorded_llm(spec: Spec, project: Any) -> dict[str, Any] | None:
    """What the fast path re-checks for an LLM spec (see llm_unchanged): the spec's
    generator, the effective one (with the overrides of that build), the model digest."""
    try:
        return {
            "generator": dict(spec.canonical["generator"]),
            "effective": _generator(spec),
            "digest": model_digest(spec, project),
        }
    except ScriptexecError:
        return None


def llm_unchanged(recorded: dict[str, Any], project: Any, warn: Callable[[str], None]) -> bool:
    """Whether a no-op build may skip an LLM spec: no override set, changed or unset since
    the last build, and the server still has the same model (asked; when it cannot answer,
    the lock's digest is trusted, with a warning)."""
    try:
        now = effective_generator(recorded["generator"])
    except LLMError:
        return False  # a bad override: the full build says what is wrong with it
    # State written before overrides existed has no "effective": its generator was it.
    before = recorded.get("effective", {**recorded["generator"], FROM_ENVIRONMENT: {}})
    if now != before:
        return False
    try:
        return current_model_digest(now, project) == recorded["digest"]
    except ScriptexecError as exc:
        warn(f"cannot check the model's digest ({exc}); using the locked one")
        return True


def llm_meta(spec: Spec, project: Any) -> dict[str, Any]:
    """What the lock records of the LLM a stage used; `from_environment` names the
    variables that overrode the spec, so a lock that disagrees with its spec says why."""
    gen = _generator(spec)
    meta: dict[str, Any] = {
        "provider": gen["provider"],
        "model": gen["model"],
        "model_digest": model_digest(spec, project),
    }
    if gen[FROM_ENVIRONMENT]:
        meta[FROM_ENVIRONMENT] = gen[FROM_ENVIRONMENT]
    return {"llm": meta}


def provider_for(ctx: StageContext) -> Any:
    from scriptexec.llm.base import make_provider

    return make_provider(_generator(ctx.spec), ctx.project)
