"""specs/tenant_risk.yaml built against a fake LLM server: the step functions a model
might write (right, wrong, unusable) and a reply function that answers by prompt."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .fake_server import minimal_instance

REPO = Path(__file__).resolve().parents[2]
SPEC = "specs/tenant_risk.yaml"
GENERATOR = 'generator: {provider: ollama, model: "qwen2.5-coder:7b", temperature: 0, seed: 42}'
REPAIR_MARK = "This is attempt "  # how templates/prompts/repair.j2 starts

RISK_SCORE = """Here is the function:

```python
from typing import Any


def step_risk_score(row: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    score = 0
    if row["months_remaining"] is not None and row["months_remaining"] <= 6:
        score += 40
    score += min(10 * (row["late_payments_12m"] or 0), 40)
    if row["rent_to_sales_pct"] is not None and row["rent_to_sales_pct"] > 12:
        score += 20
    return {"risk_score": score}
```
"""
RISK_BAND = """```python
from typing import Any


def step_risk_band(row: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    score = row["risk_score"]
    band = "high" if score >= 60 else "medium" if score >= 30 else "low"
    return {"risk_band": band}
```"""
# Lint-clean, and wrong: an 80-point tenant comes out "medium" (the first check fails).
WRONG_BAND = RISK_BAND.replace(">= 60", ">= 90")


def without_typing_import(reply: str) -> str:
    """The reply a small model gives: the dictated signature copied, its import left out."""
    return reply.replace("from typing import Any\n", "")


def undefined_name_band(name: str = "band_of") -> str:
    """A risk_band that fails lint: `name` is used three times on one line, defined nowhere."""
    body = f'    return {{"risk_band": {name}(row) or {name}(row) or {name}(row)}}'
    return RISK_BAND.split("    score =")[0] + body + "\n```"


def prompt_of(body: dict[str, Any]) -> str:
    return "\n".join(m.get("content", "") for m in body.get("messages", []))


def is_repair(body: dict[str, Any]) -> bool:
    return REPAIR_MARK in prompt_of(body)


def step_asked(body: dict[str, Any]) -> str | None:
    """Which step a generation request is about ("risk_score", "risk_band"), if any."""
    found = re.search(r'(?:Step|the step) "(\w+)"', prompt_of(body))
    return found.group(1) if found else None


def replies(
    band: str | Callable[[int], str] = RISK_BAND,
    score: str = RISK_SCORE,
    repaired_band: str | None = None,
) -> Callable[[dict[str, Any]], str]:
    """A reply function for the fake server. `band` may be a function of how many times
    risk_band was asked (1, 2, ...); `repaired_band`, when given, answers its repairs."""
    asked = {"risk_band": 0}

    def reply(body: dict[str, Any]) -> str:
        schema = body.get("format") or (body.get("response_format") or {}).get("json_schema")
        if schema:
            return json.dumps(minimal_instance(schema.get("schema", schema)))
        if step_asked(body) == "risk_score":
            return score
        asked["risk_band"] += 1
        if repaired_band is not None and is_repair(body):
            return repaired_band
        return band(asked["risk_band"]) if callable(band) else band

    return reply


def prose_project(root: Path, host: str, provider: str = "ollama", **settings: Any) -> Path:
    """A copy of the shipped specs whose tenant_risk talks to the fake server at `host`."""
    shutil.copytree(REPO / "specs", root / "specs")
    extra = "".join(f", {k}: {json.dumps(v)}" for k, v in settings.items())
    generator = (
        f'generator: {{provider: {provider}, model: "qwen2.5-coder:7b", temperature: 0, '
        f'seed: 42, host: "{host}", timeout: 10{extra}}}'
    )
    spec = root / SPEC
    spec.write_text(spec.read_text().replace(GENERATOR, generator))
    return root


def locked_meta(project: Path, stage: str) -> dict[str, Any]:
    """What scriptexec.lock records of a stage of tenant_risk (its `meta`)."""
    import yaml

    lock = yaml.safe_load((project / "scriptexec.lock").read_text())
    meta: dict[str, Any] = lock["specs"]["tenant_risk"]["stages"][stage].get("meta", {})
    return meta


def attempts_logged(project: Path) -> dict[str, dict[str, Any]]:
    """The files under .scriptexec/llm-attempts/tenant_risk/, by name."""
    folder = project / ".scriptexec" / "llm-attempts" / "tenant_risk"
    return {p.name: json.loads(p.read_text()) for p in sorted(folder.rglob("*.json"))}
