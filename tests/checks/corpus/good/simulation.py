"""What-if simulation over revenue and expense changes, with bounds checked."""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Bounds:
    low: float
    high: float

    def check(self, name: str, value: float) -> float:
        if not self.low <= value <= self.high:
            raise ValueError(f"{name}={value} is outside [{self.low}, {self.high}]")
        return value


REVENUE = Bounds(-50, 50)


def scenarios(steps: int = 5) -> list[float]:
    width = (REVENUE.high - REVENUE.low) / (steps - 1)
    return [REVENUE.check("revenue_change_pct", REVENUE.low + i * width) for i in range(steps)]
