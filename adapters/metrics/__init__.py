"""Metrics back ends: Ray's (exported to Prometheus by every Ray node)."""
