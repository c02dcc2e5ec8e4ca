"""Model drift: live feature distributions and live hit rate against the training window.

* **Feature drift**: the population stability index of each model feature,
  ``PSI = Σ (live_i − ref_i) · ln(live_i / ref_i)`` over ten bins cut at the reference
  (training window) deciles, empty bins floored at 1e-4. The usual reading: < 0.1 stable,
  0.1–0.25 moderate, > 0.25 a significant shift (``psi_limit``, the default alert level).
  Features in price units (``ema_20``, ``ema_50``, ``atr``) are compared relative to the close
  (a price level that moved is not drift), the relative ``spread`` in price units (quotes are
  whole ticks, so a relative spread moves with the price level); rows before ``live_from`` only warm the features up.
* **Hit rate**: the share of live labelled rows where the model's side (score ≥ 0.5 means up)
  matched the label, against the reference hit rate (the out-of-sample hit rate recorded at
  registration, else the in-sample one over the training window). It has dropped when it is
  more than ``z`` binomial standard errors below the reference.

``check_drift`` reports both; ``DriftReport.drifted`` is what the nightly check alerts and
retrains on (``cluster.tasks.retrain.drift_check``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from training.dataset import LabelConfig, build_dataset
from training.model import ScoreModel
from training.registry import ModelRegistry, ModelVersion

__all__ = ["DriftReport", "check_drift", "check_promoted", "hit_rate", "psi"]

_FLOOR = 1e-4
_PRICE_UNITS = frozenset({"ema_20", "ema_50", "atr"})  # spread is already relative


def _column(frame: pl.DataFrame, feature: str) -> npt.NDArray[np.float64]:
    col = pl.col(feature).cast(pl.Float64)
    if feature in _PRICE_UNITS:
        expr = col / pl.col("close")
    elif feature == "spread":  # quotes move in whole ticks: a relative spread follows the price level
        expr = col * pl.col("close")
    else:
        expr = col
    return frame.select(expr.fill_nan(None)).to_series().to_numpy().astype(np.float64)


def psi(reference: npt.ArrayLike, live: npt.ArrayLike, bins: int = 10) -> float:
    """Population stability index of ``live`` against ``reference`` (module docstring); nan if
    either side has too few finite values."""
    ref = np.asarray(reference, dtype=np.float64)
    cur = np.asarray(live, dtype=np.float64)
    ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
    if ref.size < bins or cur.size == 0:
        return math.nan
    edges = np.unique(np.quantile(ref, np.linspace(0.0, 1.0, bins + 1)[1:-1]))
    n = edges.size + 1
    r = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=n) / ref.size
    c = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=n) / cur.size
    r, c = np.maximum(r, _FLOOR), np.maximum(c, _FLOOR)
    return float(np.sum((c - r) * np.log(c / r)))


def hit_rate(scores: npt.ArrayLike, labels: npt.ArrayLike) -> tuple[float, int]:
    """Share of rows (finite score, known label) where ``score >= 0.5`` matches ``label == 1``."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    ok = np.isfinite(s) & np.isfinite(y)
    if not ok.any():
        return math.nan, 0
    return float(np.mean((s[ok] >= 0.5) == (y[ok] == 1))), int(ok.sum())


@dataclass(frozen=True)
class DriftReport:
    """PSI per feature and the hit rates of one model over a live window."""

    strategy: str
    version: str
    psi: dict[str, float]
    hit_rate_reference: float
    hit_rate_live: float
    n_live: int
    psi_limit: float
    z: float

    @property
    def drifted_features(self) -> tuple[str, ...]:
        return tuple(k for k, v in self.psi.items() if math.isfinite(v) and v > self.psi_limit)

    @property
    def hit_rate_dropped(self) -> bool:
        p, n = self.hit_rate_reference, self.n_live
        if not (math.isfinite(p) and math.isfinite(self.hit_rate_live)) or n == 0:
            return False
        se = math.sqrt(max(p * (1.0 - p), 1e-12) / n)
        return self.hit_rate_live < p - self.z * se

    @property
    def drifted(self) -> bool:
        return bool(self.drifted_features) or self.hit_rate_dropped

    def line(self) -> str:
        worst = max(
            self.psi.items(), key=lambda kv: kv[1] if math.isfinite(kv[1]) else -1.0, default=("-", 0.0)
        )
        hits = f"hit rate {self.hit_rate_live:.3f} vs {self.hit_rate_reference:.3f} over {self.n_live} rows"
        verdict = "DRIFT" if self.drifted else "stable"
        detail = f"; drifted: {', '.join(self.drifted_features)}" if self.drifted_features else ""
        return f"{self.strategy} {self.version}: {verdict}; max PSI {worst[0]} {worst[1]:.3f}; {hits}{detail}"


def check_drift(
    model: ModelVersion,
    artifact: bytes,
    reference_bars: pl.DataFrame,
    live_bars: pl.DataFrame,
    *,
    live_from: datetime | None = None,
    psi_limit: float = 0.25,
    z: float = 2.0,
) -> DriftReport:
    """Compare ``live_bars`` (from ``live_from``; earlier rows warm up) with the training window's
    ``reference_bars`` for ``model``."""
    scorer = ScoreModel.from_bytes(artifact)
    label = LabelConfig(**model.params["label"]) if model.params.get("label") else None
    base = model.params.get("base_strategy") or model.strategy
    ref = build_dataset(reference_bars, base, label)
    live = build_dataset(live_bars, base, label)
    if live_from is not None:
        live = live.filter(pl.col("ts") >= live_from)
    values = {f: psi(_column(ref, f), _column(live, f)) for f in scorer.features}
    recorded = (model.params.get("validation") or {}).get("oos_hit_rate")
    if recorded is None:
        recorded, _ = hit_rate(scorer.predict(ref), ref["label"].cast(pl.Float64).to_numpy())
    live_hits, n = hit_rate(scorer.predict(live), live["label"].cast(pl.Float64).to_numpy())
    return DriftReport(model.strategy, model.version, values, float(recorded), live_hits, n, psi_limit, z)


def check_promoted(
    registry: ModelRegistry,
    strategy: str,
    data_dir: Path | None,
    live_start: date,
    live_end: date,
    warm_from: date,
    *,
    psi_limit: float = 0.25,
    z: float = 2.0,
) -> DriftReport | None:
    """Drift of ``strategy``'s promoted model over the sessions ``live_start..live_end`` (bars
    from ``warm_from`` warm the features up) against its training window; None without one."""
    from core.calendar import NEW_YORK
    from training.model_backtest import model_bars

    model = registry.promoted(strategy)
    if model is None:
        return None
    reference = model_bars(model, data_dir)
    live = model_bars(model, data_dir, warm_from, live_end)
    since = datetime.combine(live_start, time(0), tzinfo=NEW_YORK).astimezone(UTC)
    artifact = registry.load_artifact(model)
    return check_drift(model, artifact, reference, live, live_from=since, psi_limit=psi_limit, z=z)
