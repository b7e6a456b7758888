"""Debt service coverage ratio, as typed functions over a dataclass."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Property:
    property_id: str
    gross_revenue: float
    operating_expenses: float
    annual_debt_service: float


def noi(p: Property, revenue_change_pct: float = 0.0, expense_change_pct: float = 0.0) -> float:
    revenue = p.gross_revenue * (1 + revenue_change_pct / 100)
    return revenue - p.operating_expenses * (1 + expense_change_pct / 100)


def dscr(p: Property, **changes: float) -> float:
    if p.annual_debt_service == 0:
        raise ZeroDivisionError(f"{p.property_id}: no debt service")
    return noi(p, **changes) / p.annual_debt_service
