"""Training: labels, splits, backtests, metrics, Tune, gates, registry."""
