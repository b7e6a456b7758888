"""The score: 1.0 for a program with no findings, lowered by each finding's weight.

Weights, and why:
- error 0.25: one error alone takes a program under the default threshold of 0.8. An error
  is code that runs attacker-controlled input, leaks a credential or fails at run time.
- warning 0.05: four different warnings still pass at 0.8, a fifth fails. A warning is code
  that works but is fragile (a fixed host, a swallowed exception).
- info 0.01: style and habits; informational findings alone can cost little.

Two rules keep the sum honest:
- One line, one defect: several checkers often report the same line (our SEC001, bandit's
  B307 and a ruff rule on one `eval`), so only the worst finding on a line counts.
- A repeated habit is one habit: the findings of one code count up to a cap (3 warnings, 5
  infos), so thirty functions without type hints cost as much as five. Errors have no cap.

A syntax error scores 0: nothing else about such a program means anything.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from scriptexec.checks.issues import SEVERITIES, Issue, Severity

SYNTAX_CODES = frozenset(("SYN001", "SYN002"))
WEIGHTS: dict[Severity, float] = {"error": 0.25, "warning": 0.05, "info": 0.01}
CAPS: dict[Severity, float] = {"error": float("inf"), "warning": 0.15, "info": 0.05}


def score(issues: Iterable[Issue]) -> float:
    worst: dict[tuple[str, int], Issue] = {}
    for issue in issues:
        if issue.code in SYNTAX_CODES:
            return 0.0
        key = (issue.file, issue.line)
        rank = SEVERITIES.index(issue.severity)
        if key not in worst or rank < SEVERITIES.index(worst[key].severity):
            worst[key] = issue
    per_code: dict[str, float] = defaultdict(float)
    severity_of: dict[str, Severity] = {}
    for issue in worst.values():
        per_code[issue.code] += WEIGHTS[issue.severity]
        # A code may appear at several severities; cap it at its worst one.
        known = severity_of.get(issue.code)
        if known is None or SEVERITIES.index(issue.severity) < SEVERITIES.index(known):
            severity_of[issue.code] = issue.severity
    penalty = sum(min(total, CAPS[severity_of[code]]) for code, total in per_code.items())
    return round(max(0.0, 1.0 - penalty), 4)


def category_scores(issues: Iterable[Issue]) -> dict[str, float]:
    """The same score within each category ("security", "lint"...) that has findings."""
    by_category: dict[str, list[Issue]] = defaultdict(list)
    for issue in issues:
        by_category[issue.category].append(issue)
    return {category: score(found) for category, found in sorted(by_category.items())}
