"""Parquet storage of bars (hive-partitioned by timeframe and symbol) and their import."""

from adapters.store.bars import BarStore, PartitionInfo
from adapters.store.importer import BarImportError, ImportReport, RowProblem, import_bars
from adapters.store.schema import (
    BAR_COLUMNS,
    BAR_SCHEMA,
    TIMEFRAMES,
    check_schema,
    empty_bars,
    row_problems,
    validate_bars,
)

__all__ = [
    "BAR_COLUMNS",
    "BAR_SCHEMA",
    "TIMEFRAMES",
    "BarImportError",
    "BarStore",
    "ImportReport",
    "PartitionInfo",
    "RowProblem",
    "check_schema",
    "empty_bars",
    "import_bars",
    "row_problems",
    "validate_bars",
]
