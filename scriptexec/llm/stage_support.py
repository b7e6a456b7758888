"""What the analyze, plan and generate stages need from the LLM layer.

Above all, the settings that change an LLM's answer and so belong in a stage key: the
provider, the model *and its digest* (a new build of the same tag is a new model),
temperature, seed, and the digest of every prompt template used. Not the host: the same
model behind another URL gives the same answer.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from scriptexec.errors import LLMError, ScriptexecError
from scriptexec.resources import schema_path
from scriptexec.spec.model import Spec
from scriptexec.stages.base import StageContext

PROMPTS = {
    "analyze": ("system", "analyze"),
    "plan": ("system", "plan"),
    "generate": ("system", "step", "repair"),
}


def _generator(spec: Spec) -> dict[str, Any]:
    return dict(spec.canonical["generator"])


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
        "setting:temperature": gen["temperature"],
        "setting:seed": gen["seed"],
    }
    for name in PROMPTS[stage]:
        values[f"template:prompts/{name}.j2"] = prompt_digest(project, name)
    return values


def recorded_llm(spec: Spec, project: Any) -> dict[str, Any] | None:
    """What the fast path re-checks for an LLM spec: the generator and its model digest."""
    try:
        return {"generator": _generator(spec), "digest": model_digest(spec, project)}
    except ScriptexecError:
        return None


@functools.cache
def _schema(name: str) -> dict[str, Any]:
    with open(schema_path(name), encoding="utf-8") as fh:
        schema: dict[str, Any] = json.load(fh)
    return schema


def llm_meta(spec: Spec, project: Any) -> dict[str, Any]:
    gen = _generator(spec)
    return {
        "llm": {
            "provider": gen["provider"],
            "model": gen["model"],
            "model_digest": model_digest(spec, project),
        }
    }


def provider_for(ctx: StageContext) -> Any:
    from scriptexec.llm.base import make_provider

    return make_provider(_generator(ctx.spec), ctx.project)


def progress_callback(ctx: StageContext, what: str) -> Any:
    return lambda n: ctx.progress(f"{ctx.spec.name}: {what}: {n} tokens received")


def _ask_structured(
    ctx: StageContext, prompt: str, schema_name: str, **context: Any
) -> dict[str, Any]:
    """Render `prompt`, ask for JSON valid against `schema_name`, re-asking on bad replies."""
    from scriptexec.llm.prompts import prompt_messages
    from scriptexec.llm.structured import ask_json

    c = ctx.spec.canonical
    schema = _schema(schema_name)
    messages, _ = prompt_messages(
        ctx.project,
        prompt,
        title=c["title"],
        description=c["description"],
        schema=schema,
        task=c["title"],
        **context,
    )
    answer: dict[str, Any] = ask_json(
        provider_for(ctx),
        messages,
        schema,
        attempts=c["generator"]["max_attempts"],
        cancel=ctx.cancel,
        on_progress=progress_callback(ctx, prompt),
    )
    return answer


def ask_analysis(
    ctx: StageContext, declared: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    answer = _ask_structured(ctx, "analyze", "analysis", declared=declared)
    return answer, llm_meta(ctx.spec, ctx.project)


def ask_plan(
    ctx: StageContext, analysis: dict[str, Any], declared: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    answer = _ask_structured(ctx, "plan", "plan", analysis=analysis, declared=declared)
    return answer, llm_meta(ctx.spec, ctx.project)
