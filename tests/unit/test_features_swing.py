"""Swing indicators against straightforward python references, per symbol."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from core.features import SWING_FEATURES, leading_null_rows, swing_features
from tests.unit.test_features_data import daily_bars

TOL = 1e-9


@pytest.fixture(scope="module")
def feats() -> pl.DataFrame:
    return swing_features(daily_bars(["AAA", "BBB", "CCC"], 320, seed=5))


def ref_window_mean(x: list[float | None], decay: float, window: int) -> np.ndarray:
    """sum(decay^k * x[t-k], k < window) / sum(decay^k); nan unless the window is full."""
    w = np.array([decay**k for k in range(window)])
    out = np.full(len(x), np.nan)
    for t in range(window - 1, len(x)):
        vals = [x[t - k] for k in range(window)]
        if any(v is None or np.isnan(v) for v in vals):
            continue
        out[t] = float(np.dot(w, np.array(vals, dtype=float)) / w.sum())
    return out


def ref_swing(part: pl.DataFrame) -> dict[str, np.ndarray]:
    h, lo, c, v = (part[k].to_list() for k in ("high", "low", "close", "volume"))
    n = len(c)
    tr: list[float | None] = [None]
    pdm: list[float | None] = [None]
    mdm: list[float | None] = [None]
    for t in range(1, n):
        tr.append(max(h[t], c[t - 1]) - min(lo[t], c[t - 1]))
        up, down = h[t] - h[t - 1], lo[t - 1] - lo[t]
        pdm.append(up if up > down and up > 0 else 0.0)
        mdm.append(down if down > up and down > 0 else 0.0)
    ema20 = ref_window_mean(c, 1 - 2 / 21, 80)
    ema50 = ref_window_mean(c, 1 - 2 / 51, 200)
    wilder = 1 - 1 / 14
    sp, sm = ref_window_mean(pdm, wilder, 56), ref_window_mean(mdm, wilder, 56)
    pdi, mdi = 100 * sp, 100 * sm  # the common /ATR cancels in DX
    with np.errstate(invalid="ignore", divide="ignore"):
        dx = np.where(pdi + mdi > 0, 100 * np.abs(pdi - mdi) / (pdi + mdi), 0.0)
    dx = np.where(np.isnan(sp), np.nan, dx)
    slope = np.full(n, np.nan)
    slope[5:] = ema20[5:] / ema20[:-5] - 1
    vz = np.full(n, np.nan)
    for t in range(19, n):
        w = np.array(v[t - 19 : t + 1])
        vz[t] = (v[t] - w.mean()) / w.std(ddof=1)
    return {
        "ema_20": ema20,
        "ema_50": ema50,
        "ema_slope": slope,
        "trend_strength": ema20 / ema50 - 1,
        "atr": ref_window_mean(tr, wilder, 56),
        "adx": ref_window_mean(dx.tolist(), wilder, 56),
        "volume_zscore": vz,
    }


def test_every_swing_feature_matches_the_reference(feats: pl.DataFrame) -> None:
    for part in feats.partition_by("symbol", maintain_order=True):
        expected = ref_swing(part)
        for name in SWING_FEATURES:
            got = part[name].to_numpy().astype(float)
            assert np.array_equal(np.isnan(got), np.isnan(expected[name])), name
            np.testing.assert_allclose(got, expected[name], rtol=TOL, atol=TOL, equal_nan=True, err_msg=name)


def test_windowed_ema_tracks_the_textbook_recursion(feats: pl.DataFrame) -> None:
    part = feats.filter(pl.col("symbol") == "AAA")
    textbook = part["close"].ewm_mean(span=20, adjust=False).to_numpy()
    got = part["ema_20"].to_numpy()
    ok = ~np.isnan(got)
    # The 80-row window drops ~1e-3 of the weight; on ~1.5% daily moves that is far below 1%.
    np.testing.assert_allclose(got[ok], textbook[ok], rtol=5e-3)


def test_warm_up_counts(feats: pl.DataFrame) -> None:
    part = feats.filter(pl.col("symbol") == "BBB")
    first = {name: int(part[name].is_null().arg_min() or 0) for name in SWING_FEATURES}
    assert first == {
        "ema_20": 79,
        "ema_50": 199,
        "ema_slope": 84,
        "trend_strength": 199,
        "adx": 111,
        "atr": 56,
        "volume_zscore": 19,
    }
    assert max(first.values()) == leading_null_rows("swing")


def test_symbols_do_not_leak_into_each_other() -> None:
    bars = daily_bars(["AAA", "BBB"], 260, seed=2)
    alone = swing_features(bars.filter(pl.col("symbol") == "BBB"))
    together = swing_features(bars).filter(pl.col("symbol") == "BBB")
    assert alone.equals(together)
