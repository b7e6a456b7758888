"""Spec -> program model: the plain data the program templates render.

Formulas keep their checked text here; scriptexec/codegen/sql.py compiles them to SQL.
Prose steps arrive as code written by the LLM (see stages/generate.py).
"""

from __future__ import annotations

from typing import Any

from scriptexec.spec.encodings import DEFAULT as DEFAULT_ENCODING
from scriptexec.spec.formulas import Symbol
from scriptexec.spec.locations import packaged_location
from scriptexec.spec.model import Spec


def step_function_name(step_name: str) -> str:
    return f"step_{step_name}"


def program_model(spec: Spec, step_code: dict[str, str] | None = None) -> dict[str, Any]:
    c = spec.canonical
    r = spec.resolved
    step_code = step_code or {}
    inputs = []
    for name, inp in c["inputs"].items():
        inputs.append(
            {
                "name": name,
                "format": inp["format"],
                "location": packaged_location(inp),
                "env_var": inp["env"],
                "table": inp["table"],
                "query": inp["query"],
                "records": inp["records"] or None,
                "encoding": inp.get("encoding", DEFAULT_ENCODING),
                "primary": name == c["rows"],
                "join_on": inp["join_on"],
                "repeat": inp["repeat"],
                "upstream": inp.get("from"),  # another spec whose results this reads
                "fields": [
                    {
                        "name": f,
                        "type": d["type"],
                        "required": d["required"],
                        # only when set, so that other programs' models stay as they were
                        **{k: d[k] for k in ("format", "path") if d.get(k)},
                    }
                    for f, d in inp["fields"].items()
                ],
            }
        )
    parameters = [{"name": n, **p} for n, p in c["parameters"].items()]
    compute = [
        {
            "name": n,
            "type": chk.type,
            "formula": chk.canonical,
        }
        for n, chk in r.compute.items()
    ]
    steps = [
        {
            "name": s["name"],
            "do": s["do"],
            "function": step_function_name(s["name"]),
            "produces": [{"name": f, "type": t} for f, t in s["produces"].items()],
            "code": step_code.get(s["name"], ""),
        }
        for s in c["steps"]
    ]
    columns: list[str] = []
    for inp in inputs:
        for f in inp["fields"]:
            if f["name"] not in columns:
                columns.append(f["name"])
        if inp["repeat"]:
            columns.append(inp["repeat"]["as"])
    columns += [x["name"] for x in compute]
    columns += [f["name"] for s in steps for f in s["produces"]]

    def aggregates(items: dict[str, Any]) -> list[dict[str, Any]]:
        row_scope = {n: s for n, s in r.scope.items() if s.kind in ("field", "param")}
        scope = {n: s for n, s in row_scope.items() if s.kind == "param"}
        scope.update({n: Symbol("summary", chk.type) for n, chk in items.items()})
        return [
            {
                "name": n,
                "type": chk.type,
                "formula": chk.canonical,
            }
            for n, chk in items.items()
        ]

    groups = None
    if c["groups"]:
        groups = {"by": c["groups"]["by"], "summary": aggregates(r.group_summary)}
    web = c["interface"]["web"]
    return {
        "name": c["name"],
        "title": c["title"],
        "description": c["description"],
        "inputs": inputs,
        "parameters": parameters,
        "compute": compute,
        "steps": steps,
        "columns": columns,
        "summary": aggregates(r.summary),
        "groups": groups,
        "outputs": c["outputs"],
        "web": web,
        "on_error": c["on_error"],
        "assertions": c["assertions"],
        "rules": c["rules"],
        "needs_network": c["runtime"]["network"] != "none",
    }
