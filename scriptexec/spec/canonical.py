"""The canonical form of a spec: what it means, with how it was written removed.

Defaults are applied (taken from the schema's `default`s, the one place they are defined),
mapping keys are sorted when serialised, prose whitespace is folded and formulas are
re-printed from their syntax tree, so comments, key order, quoting, line wrapping and
spacing inside formulas never change it. Stage keys hash parts of this form.
"""

from __future__ import annotations

from typing import Any

from scriptexec.engine.keys import canonical_json  # noqa: F401 - re-exported
from scriptexec.spec.assertions import canonical_assertions
from scriptexec.spec.encodings import DEFAULT as DEFAULT_ENCODING
from scriptexec.spec.encodings import canonical_encoding
from scriptexec.spec.schema_check import spec_schema
from scriptexec.spec.semantics import Resolved, field_type


def _props(*path: str) -> dict[str, Any]:
    node: dict[str, Any] = spec_schema()
    for key in path:
        node = node["properties"][key] if key != "*" else node["additionalProperties"]
    return node["properties"]


def _defaults(section: dict[str, Any] | None, *schema_path: str) -> dict[str, Any]:
    out = {k: v.get("default") for k, v in _props(*schema_path).items()}
    out.update(section or {})
    return out


def prose(text: Any) -> str:
    """Fold whitespace: re-wrapping a paragraph must not re-ask the LLM."""
    return " ".join(str(text or "").split())


def _number(value: Any, typ: str) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if typ == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    if typ == "number" and isinstance(value, int | float):
        return float(value)
    return value


def canonical_form(data: dict[str, Any], r: Resolved) -> dict[str, Any]:
    inputs = {}
    for name, spec in data["inputs"].items():
        if name in r.upstream:  # `from`: read from another spec's results
            inputs[name] = r.upstream[name].canonical(spec)
            continue
        fields = {}
        for fname, decl in spec["fields"].items():
            typ, required = field_type(decl) or ("string", True)
            desc = decl.get("description", "") if isinstance(decl, dict) else ""
            fields[fname] = {"type": typ, "required": required, "description": prose(desc)}
            for key in ("format", "path"):  # only when set: other specs' keys stay put
                if isinstance(decl, dict) and decl.get(key):
                    fields[fname][key] = decl[key]
        inputs[name] = {
            "format": spec["format"],
            "location": spec.get("location"),
            "env": spec.get("env") or f"{name.upper()}_LOCATION",
            "table": spec.get("table"),
            "query": prose(spec["query"]) if spec.get("query") else None,
            "records": spec.get("records", ""),
            "fields": fields,
            "join_on": spec.get("join_on"),
            "repeat": spec.get("repeat"),
        }
        encoding = spec.get("encoding") or DEFAULT_ENCODING
        if canonical_encoding(encoding) != DEFAULT_ENCODING:
            # Only when not utf-8 (however spelt), so the stage keys of every other spec
            # stay put; kept as written, which is how the program's messages name it.
            inputs[name]["encoding"] = encoding
        if spec.get("outside_project") is True:
            # Only when set, so the stage keys of every spec that does not use it stay put.
            inputs[name]["outside_project"] = True
    parameters = {}
    for name, spec in (data.get("parameters") or {}).items():
        typ = spec["type"]
        parameters[name] = {
            "type": typ,
            "default": _number(spec["default"], typ),
            "min": _number(spec.get("min"), typ),
            "max": _number(spec.get("max"), typ),
            "step": spec.get("step"),
            "unit": spec.get("unit", ""),
            "label": spec.get("label") or name.replace("_", " ").capitalize(),
            "description": prose(spec.get("description", "")),
        }
    web = (data.get("interface") or {}).get("web")
    if web is not None:
        web = _defaults(web, "interface", "web")
        web["charts"] = [
            {
                "type": c["type"],
                "x": c["x"],
                "y": c["y"],
                "threshold": c.get("threshold"),
                "title": c.get("title") or f"{c['y']} by {c['x']}",
            }
            for c in web["charts"]
        ]
    groups = data.get("groups")
    if groups:
        by = groups["by"]
        groups = {
            "by": [by] if isinstance(by, str) else list(by),
            "summary": {n: c.canonical for n, c in r.group_summary.items()},
        }
    network_inputs = any(i["format"] in ("postgres", "http") for i in inputs.values())
    runtime = _defaults(data.get("runtime"), "runtime")
    if runtime["network"] == "auto":
        runtime["network"] = "bridge" if network_inputs else "none"
    return {
        "version": data["version"],
        "name": data["name"],
        "title": prose(data.get("title")) or data["name"],
        "description": prose(data.get("description")),
        "inputs": inputs,
        "rows": r.row_source,
        "parameters": parameters,
        "compute": {n: c.canonical for n, c in r.compute.items()},
        "steps": [
            {"name": s["name"], "do": prose(s["do"]), "produces": dict(s["produces"])}
            for s in data.get("steps") or []
        ],
        "summary": {n: c.canonical for n, c in r.summary.items()},
        "groups": groups or None,
        "outputs": sorted(data.get("outputs") or _props()["outputs"]["default"]),
        "interface": {"web": web},
        "assertions": canonical_assertions(data.get("assertions")),
        "checks": [_check(c) for c in data.get("checks") or []],
        "runtime": runtime,
        "generator": _defaults(data.get("generator"), "generator"),
        "validation": _defaults(data.get("validation"), "validation"),
        "on_error": data.get("on_error", "report"),
        "rules": _defaults(data.get("rules"), "rules"),
    }


def _check(check: dict[str, Any]) -> dict[str, Any]:
    expect = check["expect"]
    return {
        "name": check["name"],
        "given": check["given"],
        "parameters": check.get("parameters") or {},
        "expect": {
            "rows": expect.get("rows"),
            "summary": expect.get("summary"),
            "row_count": expect.get("row_count"),
            "error": expect.get("error"),
        },
        "tolerance": {"abs": 1e-6, "rel": 1e-9, **(check.get("tolerance") or {})},
    }
