"""test: run the generated program on the spec's checks (see scriptexec.acceptance).

It reads the program the generate stage made, the spec's checks and its input
declarations (they decide how the given rows are written); the harness version is in the
key so a change to how checks run redoes them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from scriptexec.acceptance import HARNESS_VERSION, input_declarations, run_checks
from scriptexec.errors import BuildError
from scriptexec.stages.base import StageContext, StageResult

if TYPE_CHECKING:
    from scriptexec.project import Project
    from scriptexec.spec.model import Spec

REPORT = "test-report.json"


class TestStage:
    __test__ = False  # a stage, not a pytest test class
    name = "test"
    version = 1
    reads: dict[str, tuple[str, ...]] = {"generate": ("*",)}
    publish_dir = "_scriptexec"

    def inputs(self, spec: Spec, project: Project) -> dict[str, Any]:
        c = spec.canonical
        return {
            "spec.checks": c.get("checks") or [],
            # Only what the harness uses to write each check's inputs: a field's
            # description or an input's location does not change how a check runs.
            "spec.inputs": {
                name: {
                    **{k: inp.get(k) for k in ("format", "table", "query", "records")},
                    "fields": {f: [d["type"], d["required"]] for f, d in inp["fields"].items()},
                }
                for name, inp in c["inputs"].items()
            },
            "harness": HARNESS_VERSION,
        }

    def needs_llm(self, spec: Spec) -> bool:
        return False

    def run(self, ctx: StageContext) -> StageResult:
        program = ctx.workdir / "program"
        for relpath, content in ctx.upstream["generate"].files.items():
            target = program / relpath
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        c = ctx.spec.canonical
        report = run_checks(
            program,
            c.get("checks") or [],
            input_declarations(c),
            workdir=ctx.workdir / "checks",
            cancel=ctx.cancel,
            progress=ctx.progress,
        )
        if report.failed:
            raise BuildError(f"{ctx.spec.name}: {report.failure_message()}")
        body = json.dumps(report.to_json(), indent=2, sort_keys=True) + "\n"
        meta = {"checks": len(report.results), "isolation": report.isolation}
        return StageResult({REPORT: body.encode("utf-8")}, meta)
