"""plan: the ordered steps of the program, its web routes and simulation parameters
(the seed's execution planner). Derived from the spec, with no LLM: no later stage reads
the plan (it is a report, published under _scriptexec/), so a model's wording of it would
cost a call for nothing the program uses."""

from __future__ import annotations

import json
from typing import Any

from scriptexec.spec.model import Spec
from scriptexec.stages.base import StageContext, StageResult

WEB_ROUTES = [
    ("GET", "/", "dashboard: key figures, results table, charts, simulation form"),
    ("GET", "/health", "health check"),
    ("GET", "/api/results", "current results as JSON"),
    ("POST", "/api/simulate", "re-run the calculation with parameters (bounds checked)"),
    ("GET", "/api/download", "results as csv or json"),
    ("GET", "/openapi.json", "the API description"),
]


def declared_plan(spec: Spec, analysis: dict[str, Any]) -> dict[str, Any]:
    c = spec.canonical
    steps: list[dict[str, Any]] = []

    def add(action: str, inputs: list[str], outputs: list[str], description: str) -> None:
        steps.append(
            {
                "id": f"{len(steps) + 1:02d}-{action}",
                "action": action,
                "inputs": inputs,
                "outputs": outputs,
                "description": description,
            }
        )

    for name, inp in c["inputs"].items():
        fields = list(inp["fields"])
        add(
            "load",
            [f"{inp['format']}:{inp['location'] or inp['env']}"],
            [name],
            f"read {name} ({inp['format']}), overridable by {inp['env']}",
        )
        add("validate_input", [name], fields, f"check {len(fields)} declared fields and types")
    rows = c["rows"]
    for field, formula in spec.canonical["compute"].items():
        add("compute", [rows], [field], f"{field} = {formula}")
    for step in c["steps"]:
        # Not the step's words: they are generate's input, and rewording a step must not
        # make the plan stale.
        words = f"prose step {step['name']}, coded by the LLM"
        add("llm_step", [rows], list(step["produces"]), words)
    if c["summary"]:
        add("aggregate", [rows], list(c["summary"]), "summary over all rows")
    if c["groups"]:
        add("group", [rows], list(c["groups"]["summary"]), f"per {', '.join(c['groups']['by'])}")
    add("export", [rows], list(c["outputs"]), "write results and exports")
    if analysis.get("needs_web"):
        add("serve", [rows], ["http"], "dashboard and API with what-if simulation")
    return {
        "steps": steps,
        "web_routes": [{"method": m, "path": p, "purpose": why} for m, p, why in WEB_ROUTES]
        if analysis.get("needs_web")
        else [],
        "simulation_parameters": [
            {
                "name": n,
                "type": p["type"],
                "default": p["default"],
                "min": p["min"],
                "max": p["max"],
                "unit": p["unit"],
            }
            for n, p in c["parameters"].items()
        ],
    }


class PlanStage:
    name = "plan"
    version = 2  # a prose step's entry no longer quotes its words
    reads = {"analyze": ("analysis.json",)}
    publish_dir = "_scriptexec"

    def inputs(self, spec: Spec, project: Any) -> dict[str, Any]:
        c = spec.canonical
        values: dict[str, Any] = {
            "spec.inputs": {
                n: {
                    "format": i["format"],
                    "location": i["location"],
                    "env": i["env"],
                    "fields": list(i["fields"]),
                }
                for n, i in c["inputs"].items()
            },
            "spec.rows": c["rows"],
            "spec.compute": c["compute"],
            "spec.steps": [{"name": s["name"], "produces": s["produces"]} for s in c["steps"]],
            "spec.summary": sorted(c["summary"]),
            "spec.groups": c["groups"],
            "spec.outputs": c["outputs"],
            "spec.parameters": c["parameters"],
        }
        return values

    def needs_llm(self, spec: Spec) -> bool:
        return False

    def run(self, ctx: StageContext) -> StageResult:
        analysis = json.loads(ctx.upstream["analyze"].files["analysis.json"])
        plan = declared_plan(ctx.spec, analysis)
        body = json.dumps(plan, indent=2, sort_keys=True) + "\n"
        return StageResult({"plan.json": body.encode()})
