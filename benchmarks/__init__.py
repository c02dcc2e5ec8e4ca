"""Reproducible performance runs; figures in RESULTS.md."""
