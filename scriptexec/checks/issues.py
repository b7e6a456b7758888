"""What a check reports: an Issue at a place, and the ValidationReport over a whole program."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")  # worst first

# The code prefix says which check spoke, and so which part of the score it lowers.
# Linter findings carry the tool's own code behind a prefix: "ruff:F821", "bandit:B602".
CATEGORIES: tuple[tuple[str, str], ...] = (
    ("SYN", "syntax"),
    ("SEC1", "secrets"),  # before "SEC": the longest prefix wins
    ("SEC", "security"),
    ("CFG", "configuration"),
    ("PRA", "practices"),
    ("ruff:", "lint"),
    ("bandit:", "security"),
)


@dataclass(frozen=True)
class Issue:
    file: str  # path inside the program, as the generate stage named it
    line: int  # 1-based; 0 when a finding is about a whole file or program
    col: int  # 0-based, as `ast` counts
    severity: Severity
    code: str  # "SEC001", "CFG002", "ruff:F821", "bandit:B602"
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.severity} {self.code} {self.message}"

    @property
    def category(self) -> str:
        for prefix, name in CATEGORIES:
            if self.code.startswith(prefix):
                return name
        return "other"

    @property
    def is_security(self) -> bool:
        """Security and secrets findings, ours or bandit's: an error among them fails a build."""
        return self.category in ("security", "secrets")

    def sort_key(self) -> tuple[int, str, int, int, str]:
        return (SEVERITIES.index(self.severity), self.file, self.line, self.col, self.code)


@dataclass(frozen=True)
class ResourceEstimate:
    """A rough baseline for the program's container; see checks/resources.py for the rules."""

    memory_mb: int
    cpus: float
    data_in_memory: bool  # True when some input is read whole into memory (grows with data)
    reasons: tuple[str, ...]


@dataclass
class ValidationReport:
    issues: list[Issue]
    score: float  # 0..1, see checks/score.py
    threshold: float
    passed: bool
    resources: ResourceEstimate
    scores: dict[str, float] = field(default_factory=dict)  # per category
    tools: dict[str, str] = field(default_factory=dict)  # linter name -> version used
    checks_version: int = 0

    @property
    def blocking(self) -> list[Issue]:
        """Error-severity security issues: any one of them fails the build whatever the score."""
        return [i for i in self.issues if i.severity == "error" and i.is_security]

    def counts(self) -> dict[str, int]:
        return {sev: sum(1 for i in self.issues if i.severity == sev) for sev in SEVERITIES}

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "score": self.score,
            "threshold": self.threshold,
            "scores": dict(sorted(self.scores.items())),
            "counts": self.counts(),
            "issues": [asdict(i) | {"category": i.category} for i in self.issues],
            "resources": asdict(self.resources),
            "tools": dict(sorted(self.tools.items())),
            "checks_version": self.checks_version,
        }

    def to_json(self) -> bytes:
        """Deterministic bytes: the same report always serialises the same way."""
        text = json.dumps(self.to_dict(), indent=2, sort_keys=True, ensure_ascii=False)
        return (text + "\n").encode("utf-8")
