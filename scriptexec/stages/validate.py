"""validate: the generated program is safe, configurable and well made, or the build stops.

Reads every file the generate stage made, runs scriptexec.checks on them (AST checks, then
ruff and bandit), publishes `_scriptexec/validation.json` and records the score in the lock.
It fails when the score is under `validation.threshold` (default 0.8) or when any
error-severity security finding is present, whatever the score.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from scriptexec.checks import CHECKS_VERSION, DEFAULT_THRESHOLD, ValidationReport, check_program
from scriptexec.errors import BuildError
from scriptexec.stages.base import StageContext, StageResult

if TYPE_CHECKING:
    from scriptexec.project import Project
    from scriptexec.spec.model import Spec


class ValidationFailed(BuildError):
    """The program did not pass; `report` carries every issue (the repair loop feeds them back)."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        reasons = []
        if report.score < report.threshold:
            reasons.append(
                f"score {report.score:.2f} is under the threshold {report.threshold:.2f}"
            )
        if report.blocking:
            reasons.append(f"{len(report.blocking)} security error(s)")
        lines = [f"validation failed: {'; '.join(reasons)}", *(f"  {i}" for i in report.issues)]
        super().__init__("\n".join(lines))


def threshold(spec: Spec) -> float:
    """`validation.threshold` (the schema keeps it within 0..1), default 0.8."""
    return float(spec.canonical.get("validation", {}).get("threshold", DEFAULT_THRESHOLD))


class ValidateStage:
    name = "validate"
    reads: dict[str, tuple[str, ...]] = {"generate": ("*",)}
    publish_dir: str | None = "_scriptexec"

    def inputs(self, spec: Spec, project: Project) -> dict[str, Any]:
        from scriptexec.checks.linters import tool_versions

        tools = tool_versions()
        return {
            "spec.validation.threshold": threshold(spec),
            "setting:checks_version": CHECKS_VERSION,
            # A new ruff or bandit can find new things, and ast parses with this Python.
            "setting:ruff_version": tools["ruff"],
            "setting:bandit_version": tools["bandit"],
            "setting:checker_python": f"{sys.version_info.major}.{sys.version_info.minor}",
        }

    def needs_llm(self, spec: Spec) -> bool:
        return False

    def run(self, ctx: StageContext) -> StageResult:
        from scriptexec.codegen.vendor import split_vendored

        files, runtime = split_vendored(ctx.upstream["generate"].files)
        ctx.progress(f"validate: checking {sum(n.endswith('.py') for n in files)} Python files")
        report = check_program(
            files, threshold=threshold(ctx.spec), tmp_dir=ctx.workdir, context=runtime
        )
        if not report.passed:
            raise ValidationFailed(report)
        meta = {"score": report.score, "issues": report.counts()}
        return StageResult(files={"validation.json": report.to_json()}, meta=meta)
