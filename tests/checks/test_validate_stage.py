"""The validate stage: its declaration, its key inputs, pass and fail through run()."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from scriptexec.checks import CHECKS_VERSION
from scriptexec.errors import BuildError
from scriptexec.project import Project
from scriptexec.stages.base import StageContext, StageResult
from scriptexec.stages.validate import ValidateStage, ValidationFailed

CLEAN = b'''"""A clean program."""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


def main() -> int:
    logging.basicConfig(level=os.getenv("LOG_LEVEL", "INFO"))
    log.info("output goes to %s", os.getenv("OUTPUT_DIR", "results"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
'''


class StandInSpec:
    """Just what the validate stage reads of a Spec."""

    def __init__(self, validation: dict[str, Any] | None = None) -> None:
        self.canonical: dict[str, Any] = {"name": "demo"}
        if validation is not None:
            self.canonical["validation"] = validation


def run_stage(tmp_path: Path, files: dict[str, bytes], spec: StandInSpec) -> StageResult:
    ctx = StageContext(
        spec=spec,  # type: ignore[arg-type]
        project=Project(tmp_path),
        upstream={"generate": StageResult(files=files)},
        workdir=tmp_path,
        cancel=threading.Event(),
        progress=lambda line: None,
    )
    return ValidateStage().run(ctx)


def test_declaration(tmp_path: Path) -> None:
    stage = ValidateStage()
    spec = StandInSpec({"threshold": 0.9})
    assert stage.name == "validate"
    assert stage.reads == {"generate": ("*",)}
    assert stage.publish_dir == "_scriptexec"
    assert stage.needs_llm(spec) is False  # type: ignore[arg-type]
    inputs = stage.inputs(spec, Project(tmp_path))  # type: ignore[arg-type]
    assert inputs["spec.validation.threshold"] == 0.9
    assert inputs["setting:checks_version"] == CHECKS_VERSION
    assert inputs["setting:ruff_version"] not in ("", "missing")
    assert inputs["setting:bandit_version"] not in ("", "missing")
    json.dumps(inputs)  # JSON-able, for the stage key


def test_threshold_defaults_to_point_eight(tmp_path: Path) -> None:
    inputs = ValidateStage().inputs(StandInSpec(), Project(tmp_path))  # type: ignore[arg-type]
    assert inputs["spec.validation.threshold"] == 0.8


def test_clean_program_passes(tmp_path: Path) -> None:
    result = run_stage(tmp_path, {"app.py": CLEAN, "requirements.txt": b""}, StandInSpec())
    assert set(result.files) == {"validation.json"}
    report = json.loads(result.files["validation.json"])
    assert report["passed"] is True
    assert result.meta["score"] == report["score"] == 1.0
    assert result.meta["issues"] == {"error": 0, "warning": 0, "info": 0}


def test_under_the_threshold_fails_listing_every_issue(tmp_path: Path) -> None:
    source = CLEAN.replace(
        b"    return 0\n", b"    return len(dict(host='db.internal', port=5432))\n"
    )
    # Two warnings on one line count once: 0.95, which passes the default threshold.
    assert run_stage(tmp_path, {"app.py": source}, StandInSpec()).meta["score"] == 0.95
    with pytest.raises(ValidationFailed) as info:
        run_stage(tmp_path, {"app.py": source}, StandInSpec({"threshold": 0.99}))
    message = str(info.value)
    assert isinstance(info.value, BuildError)
    assert message.splitlines()[0] == "validation failed: score 0.95 is under the threshold 0.99"
    assert "  app.py:14: warning CFG001 host='db.internal' is fixed" in message
    assert "  app.py:14: warning CFG002 port is fixed" in message
    assert info.value.report.score == 0.95


def test_a_security_error_fails_whatever_the_threshold(tmp_path: Path) -> None:
    source = CLEAN.replace(b"    return 0\n", b"    return eval(os.environ['EXPR'])\n")
    with pytest.raises(ValidationFailed) as info:
        run_stage(tmp_path, {"app.py": source}, StandInSpec({"threshold": 0.0}))
    message = str(info.value)
    assert "1 security error(s)" in message.splitlines()[0]
    assert "  app.py:14: error SEC001 eval() runs arbitrary code" in message
    assert "  app.py:14: warning bandit:B307" in message  # bandit agrees, on the same line


def test_syntax_error_fails(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match=r"app.py:2: error SYN001 syntax error"):
        run_stage(tmp_path, {"app.py": b"x = 1\ndef (:\n"}, StandInSpec())
