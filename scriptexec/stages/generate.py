"""generate: the program (script, requirements, .env.example, dashboard).

Formulas are compiled and rendered from templates, with no LLM. Only the functions of
prose steps are written by the LLM (scriptexec.llm.author), each cached by its own key, so
rewording one step re-asks for that step alone.
"""

from __future__ import annotations

from typing import Any

from scriptexec.spec.model import Spec
from scriptexec.stages.base import StageContext, StageResult


class GenerateStage:
    name = "generate"
    version = 2  # programs run on DuckDB over the vendored runtime
    reads: dict[str, tuple[str, ...]] = {}
    publish_dir = ""
    frozen_aware = True  # steps' code comes from a per-step cache; author.py enforces --frozen

    def inputs(self, spec: Spec, project: Any) -> dict[str, Any]:
        from scriptexec.codegen.render import template_names
        from scriptexec.codegen.vendor import code_digests

        c = spec.canonical
        values: dict[str, Any] = {
            f"spec.{key}": c[key]
            for key in (
                "name",
                "title",
                "description",
                "inputs",
                "rows",
                "parameters",
                "compute",
                "steps",
                "summary",
                "groups",
                "outputs",
                "on_error",
                "rules",
            )
        }
        if c["assertions"]:  # only when given: other specs' keys stay put
            values["spec.assertions"] = c["assertions"]
        values["spec.interface.web"] = c["interface"]["web"]
        values["spec.runtime.network"] = c["runtime"]["network"]
        for name in template_names():
            values[f"template:{name}"] = project.template_digest(name)
        values.update(code_digests(project))  # the vendored runtime and the SQL compiler
        if self.needs_llm(spec):
            from scriptexec.llm.stage_support import llm_inputs

            values.update(llm_inputs(spec, project, "generate"))
        return values

    def needs_llm(self, spec: Spec) -> bool:
        return bool(spec.canonical["steps"])

    def run(self, ctx: StageContext) -> StageResult:
        from scriptexec.codegen.model import program_model
        from scriptexec.codegen.render import render_program

        step_code: dict[str, str] = {}
        meta: dict[str, Any] = {}
        if self.needs_llm(ctx.spec):
            from scriptexec.llm.author import write_steps

            step_code, meta = write_steps(ctx)
        files = render_program(program_model(ctx.spec, step_code), ctx.project)
        return StageResult(files, meta)
