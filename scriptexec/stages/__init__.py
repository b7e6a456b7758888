"""The stage registry: one module per stage, one entry here.

Modules are imported when a stage is first needed, so `scriptexec status` on a fresh
project does not pay for jinja2 or docker.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scriptexec.stages.base import Stage

STAGE_ORDER = ("analyze", "plan", "generate", "validate", "test", "package", "image")

_MODULES = {
    "analyze": ("scriptexec.stages.analyze", "AnalyzeStage"),
    "plan": ("scriptexec.stages.plan", "PlanStage"),
    "generate": ("scriptexec.stages.generate", "GenerateStage"),
    "validate": ("scriptexec.stages.validate", "ValidateStage"),
    "test": ("scriptexec.stages.test", "TestStage"),
    "package": ("scriptexec.stages.package", "PackageStage"),
    "image": ("scriptexec.stages.image", "ImageStage"),
}


@cache
def get_stage(name: str) -> Stage:
    module, cls = _MODULES[name]
    stage: Stage = getattr(importlib.import_module(module), cls)()
    return stage
