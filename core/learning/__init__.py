"""Learning data: entry, daily and exit snapshots of every trade, their export and health.

``fields`` defines every field once; ``SnapshotService`` writes the snapshots; ``export``
joins them one row per trade; ``stats`` reports their coverage. See
``docs/learning-snapshots.md``.
"""

from core.learning.context import (
    DailyClosesContext,
    EntryContext,
    IndexState,
    Mark,
    MarketContext,
    MarketContextProvider,
    NoMarketContext,
)
from core.learning.export import export, learning_rows_for_training, read, write
from core.learning.fields import EXPORT_FIELDS, SCHEMA_VERSION, FieldSpec, export_schema, render_markdown
from core.learning.service import SnapshotService
from core.learning.stats import FieldCoverage, GroupCoverage, LearningStats, field_group, stats

__all__ = [
    "EXPORT_FIELDS",
    "SCHEMA_VERSION",
    "DailyClosesContext",
    "EntryContext",
    "FieldCoverage",
    "FieldSpec",
    "GroupCoverage",
    "IndexState",
    "LearningStats",
    "Mark",
    "MarketContext",
    "MarketContextProvider",
    "NoMarketContext",
    "SnapshotService",
    "export",
    "export_schema",
    "field_group",
    "learning_rows_for_training",
    "read",
    "render_markdown",
    "stats",
    "write",
]
