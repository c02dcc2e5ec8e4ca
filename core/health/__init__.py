"""The desk's health: pure checks (``core.health.checks``) over what the ledger, task runs,
caches and disk report."""
