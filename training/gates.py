"""Promotion gates, including the deflated Sharpe ratio (Bailey & López de Prado, 2014).

Units matter in the DSR. Everything inside it is *per period* (per session for daily returns),
never annualized: the Sharpe ratio ``SR = mean / std`` of the period returns, ``T`` the number of
returns, and ``V`` the variance across trials of their per-period Sharpe ratios. Trials reported as
annualized Sharpe ratios convert with ``per_period_sharpe_variance`` (variance / periods_per_year).

    SR0 = sqrt(V) · ((1 − γ) Φ⁻¹(1 − 1/N) + γ Φ⁻¹(1 − 1/(N·e)))       expected max SR of N nulls
    DSR = Φ((SR − SR0) · sqrt(T − 1) / sqrt(1 − skew·SR + (kurt − 1)/4 · SR²))

``γ`` is the Euler–Mascheroni constant, ``skew`` and ``kurt`` the (population) skewness and
Pearson kurtosis of the returns (3 for a normal). With ``N = 1`` (or ``V = 0``) ``SR0 = 0`` and the
DSR is the probabilistic Sharpe ratio against zero. The DSR is a probability.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt

from core.errors import InvalidValue
from training.metrics import BacktestMetrics

__all__ = [
    "EULER_GAMMA",
    "DeflatedSharpe",
    "GateConfig",
    "GateReport",
    "GateResult",
    "deflated_sharpe_ratio",
    "evaluate_gates",
    "expected_max_sharpe",
    "per_period_sharpe_variance",
    "probabilistic_sharpe_ratio",
]

EULER_GAMMA = 0.5772156649015329
_NORMAL = NormalDist()


@dataclass(frozen=True, slots=True)
class GateConfig:
    """Thresholds; ``min_deflated_sharpe`` is a probability, ``max_drawdown_pct`` a percentage."""

    min_sharpe: float = 1.0
    max_drawdown_pct: float = 10.0
    min_trades: int = 100
    min_win_rate: float = 0.45
    min_deflated_sharpe: float = 0.95

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_win_rate <= 1.0:
            raise InvalidValue(f"min_win_rate must be in [0, 1], got {self.min_win_rate}")
        if not 0.0 <= self.min_deflated_sharpe <= 1.0:
            raise InvalidValue(f"min_deflated_sharpe must be in [0, 1], got {self.min_deflated_sharpe}")
        if self.max_drawdown_pct < 0 or self.min_trades < 0:
            raise InvalidValue("max_drawdown_pct and min_trades must not be negative")

    @classmethod
    def from_settings(cls, gates: Any) -> GateConfig:
        """From ``Settings.training.gates`` (a ``GatesConfig``)."""
        return cls(
            gates.min_sharpe,
            gates.max_drawdown_pct,
            gates.min_trades,
            gates.min_win_rate,
            gates.min_deflated_sharpe,
        )


@dataclass(frozen=True, slots=True)
class GateResult:
    """One gate: ``value`` compared with ``threshold`` by ``op`` (``>=`` or ``<=``)."""

    name: str
    op: str
    threshold: float
    value: float
    passed: bool


@dataclass(frozen=True, slots=True)
class DeflatedSharpe:
    """The DSR and its inputs, all per period."""

    dsr: float
    sharpe: float
    expected_max_sharpe: float
    n_obs: int
    skew: float
    kurtosis: float
    n_trials: int
    sharpe_variance: float


@dataclass(frozen=True, slots=True)
class GateReport:
    """Every gate's outcome; ``passed`` only when there are gates and each one passed."""

    gates: tuple[GateResult, ...]
    deflated: DeflatedSharpe

    @property
    def passed(self) -> bool:
        return bool(self.gates) and all(g.passed for g in self.gates)

    @property
    def failed(self) -> tuple[str, ...]:
        return tuple(g.name for g in self.gates if not g.passed)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe (non-finite floats become ``None``)."""
        out: dict[str, Any] = _json_safe(
            {
                "passed": self.passed,
                "gates": [asdict(g) for g in self.gates],
                "deflated": asdict(self.deflated),
            }
        )
        return out


def expected_max_sharpe(n_trials: int, sharpe_variance: float) -> float:
    """``SR0``: the expected maximum per-period Sharpe ratio of ``n_trials`` skill-less trials."""
    if n_trials < 1:
        raise InvalidValue(f"n_trials must be at least 1, got {n_trials}")
    if not sharpe_variance >= 0:  # also refuses nan
        raise InvalidValue(f"sharpe_variance must be non-negative, got {sharpe_variance}")
    if n_trials == 1 or sharpe_variance == 0:
        return 0.0
    z1 = _NORMAL.inv_cdf(1.0 - 1.0 / n_trials)
    z2 = _NORMAL.inv_cdf(1.0 - 1.0 / (n_trials * math.e))
    return math.sqrt(sharpe_variance) * ((1.0 - EULER_GAMMA) * z1 + EULER_GAMMA * z2)


def probabilistic_sharpe_ratio(
    sharpe: float, benchmark: float, n_obs: int, skew: float, kurtosis: float
) -> float:
    """P(true SR > ``benchmark``) given a per-period ``sharpe`` from ``n_obs`` returns; nan if undefined."""
    if n_obs < 2:
        raise InvalidValue(f"the PSR needs at least two returns, got {n_obs}")
    variance = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    if not (math.isfinite(variance) and variance > 0 and math.isfinite(sharpe)):
        return math.nan
    return _NORMAL.cdf((sharpe - benchmark) * math.sqrt(n_obs - 1) / math.sqrt(variance))


def deflated_sharpe_ratio(
    returns: Sequence[float] | npt.NDArray[np.float64], n_trials: int, sharpe_variance: float
) -> DeflatedSharpe:
    """The DSR of per-period ``returns`` chosen as the best of ``n_trials`` (module docstring)."""
    r = np.asarray(returns, dtype=np.float64)
    if r.ndim != 1 or r.size < 2 or not np.all(np.isfinite(r)):
        raise InvalidValue(f"the DSR needs at least two finite returns, got {r.size}")
    sr0 = expected_max_sharpe(n_trials, sharpe_variance)
    centred = r - r.mean()
    m2 = float(np.mean(centred**2))
    sd = float(np.std(r, ddof=1))
    if m2 == 0 or sd == 0:
        sharpe = skew = kurt = dsr = math.nan
    else:
        sharpe = float(r.mean()) / sd
        skew = float(np.mean(centred**3)) / m2**1.5
        kurt = float(np.mean(centred**4)) / m2**2
        dsr = probabilistic_sharpe_ratio(sharpe, sr0, int(r.size), skew, kurt)
    return DeflatedSharpe(dsr, sharpe, sr0, int(r.size), skew, kurt, n_trials, sharpe_variance)


def per_period_sharpe_variance(
    annualized_sharpes: Sequence[float] | npt.NDArray[np.float64], periods_per_year: int
) -> float:
    """Variance (ddof=1) of the trials' annualized Sharpe ratios, expressed per period."""
    values = np.asarray(annualized_sharpes, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size < 2:
        return 0.0
    return float(np.var(values, ddof=1)) / periods_per_year


def evaluate_gates(
    metrics: BacktestMetrics,
    n_trials: int,
    sharpe_variance_across_trials: float,
    returns: Sequence[float] | npt.NDArray[np.float64],
    config: GateConfig | None = None,
) -> GateReport:
    """Check ``metrics`` against ``config``; ``returns`` are the period returns behind the Sharpe.

    A nan value (an undefined ratio) fails its gate.
    """
    cfg = config or GateConfig()
    deflated = deflated_sharpe_ratio(returns, n_trials, sharpe_variance_across_trials)
    checks = [
        ("sharpe", ">=", cfg.min_sharpe, metrics.sharpe),
        ("max_drawdown_pct", "<=", cfg.max_drawdown_pct, metrics.max_drawdown_pct),
        ("n_trades", ">=", float(cfg.min_trades), float(metrics.n_trades)),
        ("win_rate", ">=", cfg.min_win_rate, metrics.win_rate),
        ("deflated_sharpe", ">=", cfg.min_deflated_sharpe, deflated.dsr),
    ]
    gates = tuple(
        GateResult(name, op, threshold, value, value >= threshold if op == ">=" else value <= threshold)
        for name, op, threshold, value in checks
    )
    return GateReport(gates, deflated)


def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value
