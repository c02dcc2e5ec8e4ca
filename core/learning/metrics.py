"""Outcome metrics of a closed trade: excursions, capture efficiency and the quality score."""

from __future__ import annotations

from collections.abc import Iterable


def excursions(path: Iterable[float]) -> tuple[float, float, int]:
    """(MFE, MAE, points): best and worst trade P&L seen, floored/capped at 0 (the entry)."""
    values = list(path)
    return max(0.0, *values), min(0.0, *values), len(values)


def capture_efficiency(realized: float, mfe: float) -> float | None:
    """realized / MFE; None when the trade was never in profit."""
    return realized / mfe if mfe > 0 else None


def _clip(x: float) -> float:
    return min(1.0, max(0.0, x))


def quality_score(realized: float, risk: float | None, mfe: float, mae: float) -> float | None:
    """100 × (0.4 outcome + 0.3 capture + 0.3 pain); see ``fields.QUALITY_DOC``."""
    if risk is None or risk <= 0:
        return None
    outcome = _clip(0.5 + 0.5 * realized / risk)
    capture = _clip(realized / mfe) if mfe > 0 else 0.0
    pain = 1.0 - _clip(abs(mae) / risk)
    return 100.0 * (0.4 * outcome + 0.3 * capture + 0.3 * pain)
