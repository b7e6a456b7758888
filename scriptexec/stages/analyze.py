"""analyze: what kind of task a spec is (the seed's task analyzer).

Derived from what the spec declares, with no LLM: a web interface declared is a web task,
parameters declared are simulations. No later stage reads the analysis (it is a report,
published under _scriptexec/), so asking a model for it would cost a call, and minutes on
a small machine, for nothing the program uses; prose specs get the same derivation.
"""

from __future__ import annotations

import json
from typing import Any

from scriptexec.spec.model import Spec
from scriptexec.stages.base import StageContext, StageResult


def declared_analysis(spec: Spec) -> dict[str, Any]:
    c = spec.canonical
    web = c["interface"]["web"] is not None
    n_logic = len(c["compute"]) + len(c["summary"]) + len(c["steps"]) * 3
    n_sources = len(c["inputs"])
    complexity = "low" if n_logic + n_sources <= 6 else "medium" if n_logic <= 20 else "high"
    formats = {i["format"] for i in c["inputs"].values()}
    if web:
        task_type = "web_application"
    elif formats & {"http"}:
        task_type = "api_integration"
    elif c["compute"] or c["summary"]:
        task_type = "calculation"
    else:
        task_type = "data_processing"
    return {
        "task_type": task_type,
        "needs_web": web,
        "needs_simulation": bool(c["parameters"]),
        "data_sources": [
            {"name": n, "format": i["format"], "location": i["location"] or i["env"]}
            for n, i in c["inputs"].items()
        ],
        "complexity": complexity,
        "summary": c["description"] or c["title"],
    }


def _structure(spec: Spec) -> dict[str, Any]:
    c = spec.canonical
    return {
        "spec.title": c["title"],
        "spec.description": c["description"],
        "spec.inputs": {
            n: {"format": i["format"], "location": i["location"], "env": i["env"]}
            for n, i in c["inputs"].items()
        },
        "spec.parameters": sorted(c["parameters"]),
        "spec.compute": sorted(c["compute"]),
        "spec.summary": sorted(c["summary"]),
        # A step's name and outputs shape the task; its wording is for generate alone.
        "spec.steps": [{"name": s["name"], "produces": s["produces"]} for s in c["steps"]],
        "spec.interface.web": c["interface"]["web"] is not None,
    }


class AnalyzeStage:
    name = "analyze"
    version = 1
    reads: dict[str, tuple[str, ...]] = {}
    publish_dir = "_scriptexec"

    def inputs(self, spec: Spec, project: Any) -> dict[str, Any]:
        return _structure(spec)

    def needs_llm(self, spec: Spec) -> bool:
        return False

    def run(self, ctx: StageContext) -> StageResult:
        body = json.dumps(declared_analysis(ctx.spec), indent=2, sort_keys=True) + "\n"
        return StageResult({"analysis.json": body.encode()})
