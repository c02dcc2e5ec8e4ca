"""The learning snapshot schemas, in one place.

Every field of the entry, daily and exit snapshots and every column of the exported learning
table is a ``FieldSpec`` here. The service writes payloads with these names, the exporter
builds its polars schema from them, ``stats`` measures their coverage and
``render_markdown`` writes ``docs/learning-snapshots.md`` (a test keeps the doc in sync).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import polars as pl

from core.features import INTRADAY_FEATURES, SWING_FEATURES

SCHEMA_VERSION = 1
COVERAGE_THRESHOLD = 0.8


class FieldType(StrEnum):
    STR = "str"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    DATETIME = "datetime"
    DATE = "date"
    JSON = "json"


class Snap(StrEnum):
    """Where a field lives: a snapshot kind, every snapshot, or the export's daily aggregate."""

    ALL = "all"
    ENTRY = "entry"
    DAILY = "daily"
    EXIT = "exit"
    DAILY_AGG = "daily_agg"


class AppliesTo(StrEnum):
    """Which trades a field is expected for (coverage is measured over those only)."""

    ALL = "all"
    OPTION = "option"
    VERTICAL = "vertical"
    COMPLETE = "complete"
    FEATURE = "feature"


POLARS_TYPES: dict[FieldType, pl.DataType] = {
    FieldType.STR: pl.Utf8(),
    FieldType.INT: pl.Int64(),
    FieldType.FLOAT: pl.Float64(),
    FieldType.BOOL: pl.Boolean(),
    FieldType.DATETIME: pl.Datetime("us", "UTC"),
    FieldType.DATE: pl.Date(),
    FieldType.JSON: pl.Utf8(),
}


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field: its name (payload key and export column), type, unit and meaning.

    ``source`` is the path in the payload when it is not the top-level ``name`` (features live
    under ``features``). ``applies_to`` narrows the trades whose coverage counts.
    """

    name: str
    type: FieldType
    unit: str
    description: str
    snapshot: Snap
    applies_to: AppliesTo = AppliesTo.ALL
    source: tuple[str, ...] = ()

    @property
    def path(self) -> tuple[str, ...]:
        return self.source or (self.name,)

    @property
    def dtype(self) -> pl.DataType:
        return POLARS_TYPES[self.type]


def _f(
    name: str, type_: FieldType, unit: str, description: str, snap: Snap, applies: AppliesTo = AppliesTo.ALL
) -> FieldSpec:
    return FieldSpec(name, type_, unit, description, snap, applies)


S, INT, F, B, DT, D, J = (
    FieldType.STR,
    FieldType.INT,
    FieldType.FLOAT,
    FieldType.BOOL,
    FieldType.DATETIME,
    FieldType.DATE,
    FieldType.JSON,
)
OPT, VERT, DONE = AppliesTo.OPTION, AppliesTo.VERTICAL, AppliesTo.COMPLETE

IDENTITY_FIELDS: tuple[FieldSpec, ...] = (
    _f("trade_id", S, "", "account|group|entry fill id: links entry, daily and exit", Snap.ALL),
    _f("key", S, "", "deterministic snapshot key (kind|trade_id[|session]); never written twice", Snap.ALL),
    _f("schema_version", INT, "", f"snapshot schema version ({SCHEMA_VERSION})", Snap.ALL),
    _f("account", S, "", "raydesk account id", Snap.ALL),
)

ENTRY_FIELDS: tuple[FieldSpec, ...] = (
    _f("strategy", S, "", "strategy that opened the trade", Snap.ENTRY),
    _f(
        "entry_client_order_id",
        S,
        "",
        "client order id of the opening order (the position group)",
        Snap.ENTRY,
    ),
    _f("entry_fill_id", S, "", "first fill that opened the trade", Snap.ENTRY),
    _f("entry_ts", DT, "UTC", "time of the opening fill", Snap.ENTRY),
    _f("symbol", S, "", "underlying symbol", Snap.ENTRY),
    _f("asset_class", S, "", "equity or option", Snap.ENTRY),
    _f("structure", S, "", "equity, single_option, vertical or multi_leg", Snap.ENTRY),
    _f("direction", S, "", "long/short (one leg) or credit/debit (several legs)", Snap.ENTRY),
    _f("legs_count", INT, "legs", "number of legs of the structure", Snap.ENTRY),
    _f(
        "entry_fill_quantity",
        F,
        "units",
        "quantity of the opening fill this trade took (less on a flip)",
        Snap.ENTRY,
    ),
    _f(
        "quantity",
        F,
        "units",
        "structure units opened by the first fill (shares, contracts, spreads)",
        Snap.ENTRY,
    ),
    _f("fill_price", F, "USD/unit", "price of the opening fill (of its leg)", Snap.ENTRY),
    _f(
        "quote_bid", F, "USD/unit", "structure bid at entry (net over legs, long legs +, short -)", Snap.ENTRY
    ),
    _f("quote_ask", F, "USD/unit", "structure ask at entry (net over legs)", Snap.ENTRY),
    _f(
        "quote_mid",
        F,
        "USD/unit",
        "structure mid at entry (net; negative for a credit structure)",
        Snap.ENTRY,
    ),
    _f("quote_spread_pct", F, "%", "(ask - bid) / |mid| × 100", Snap.ENTRY),
    _f("underlying_price", F, "USD", "underlying price at entry", Snap.ENTRY),
    _f(
        "risk_basis",
        F,
        "USD",
        "capital at risk: max_risk if given, else derived from the structure",
        Snap.ENTRY,
    ),
    _f("max_risk", F, "USD", "max loss declared by the suggestion (null if not given)", Snap.ENTRY),
    _f(
        "net_delta", F, "delta/unit", "Σ side × ratio × delta over legs (per structure unit)", Snap.ENTRY, OPT
    ),
    _f("net_gamma", F, "gamma/unit", "Σ side × ratio × gamma", Snap.ENTRY, OPT),
    _f("net_theta", F, "USD/day/share", "Σ side × ratio × theta (per calendar day)", Snap.ENTRY, OPT),
    _f("net_vega", F, "USD/vol pt/share", "Σ side × ratio × vega", Snap.ENTRY, OPT),
    _f("net_iv", F, "fraction", "ratio-weighted mean implied volatility of the legs", Snap.ENTRY, OPT),
    _f("expiry", D, "", "expiry of the (nearest) option leg", Snap.ENTRY, OPT),
    _f("dte", INT, "days", "calendar days from the entry session to expiry", Snap.ENTRY, OPT),
    _f("short_strike", F, "USD", "strike of the first short option leg", Snap.ENTRY, VERT),
    _f("short_right", S, "", "C or P: right of the first short option leg", Snap.ENTRY, VERT),
    _f("long_strike", F, "USD", "strike of the first long option leg", Snap.ENTRY, VERT),
    _f("width", F, "USD", "|short_strike - long_strike|", Snap.ENTRY, VERT),
    _f("short_delta", F, "delta", "delta of the first short option leg", Snap.ENTRY, VERT),
    _f(
        "legs_json",
        J,
        "",
        "per leg: instrument, side, ratio, strike, right, bid, ask, mid, greeks",
        Snap.ENTRY,
    ),
    _f("feature_set", S, "", "intraday or swing (null if no features were given)", Snap.ENTRY),
    _f("model_score", F, "", "model score of the signal (null under the rule fallback)", Snap.ENTRY),
    _f("model_version", S, "", "model version that scored the signal, or 'rules'", Snap.ENTRY),
    _f("confidence", F, "0..1", "suggestion confidence", Snap.ENTRY),
    _f("signal", S, "", "stable key of the signal", Snap.ENTRY),
    _f("reason", S, "", "why the strategy suggested the trade", Snap.ENTRY),
    _f("index_symbol", S, "", "primary index (first configured index with data)", Snap.ENTRY),
    _f("index_level", F, "points", "primary index level at entry", Snap.ENTRY),
    _f("index_ema_fast", F, "points", "EMA(20) of the index daily closes", Snap.ENTRY),
    _f("index_ema_slow", F, "points", "EMA(50) of the index daily closes", Snap.ENTRY),
    _f("index_trend", S, "", "up / down / flat: ema_fast vs ema_slow beyond ±0.5%", Snap.ENTRY),
    _f("index_trend_strength", F, "fraction", "ema_fast / ema_slow - 1", Snap.ENTRY),
    _f("index_return_5d", F, "%", "index return over the last 5 sessions", Snap.ENTRY),
    _f("realized_vol", F, "fraction/yr", "20-session realized vol of the index, annualised", Snap.ENTRY),
    _f(
        "realized_vol_pct", F, "0..100", "percentile of realized_vol within the last 252 sessions", Snap.ENTRY
    ),
    _f("vol_regime", S, "", "low (<33), normal, high (>67) by realized_vol_pct", Snap.ENTRY),
    _f("indices_json", J, "", "level, EMAs and trend of every configured index", Snap.ENTRY),
    _f("macd", F, "USD", "MACD(12, 26) of the symbol's daily closes", Snap.ENTRY),
    _f("macd_signal", F, "USD", "EMA(9) of the MACD line", Snap.ENTRY),
    _f("macd_hist", F, "USD", "macd - macd_signal", Snap.ENTRY),
    _f("bb_upper", F, "USD", "Bollinger upper band: SMA(20) + 2 sd of daily closes", Snap.ENTRY),
    _f("bb_middle", F, "USD", "Bollinger middle band: SMA(20) of daily closes", Snap.ENTRY),
    _f("bb_lower", F, "USD", "Bollinger lower band: SMA(20) - 2 sd of daily closes", Snap.ENTRY),
    _f("bb_pct_b", F, "fraction", "(last close - lower) / (upper - lower)", Snap.ENTRY),
    _f("bb_width_pct", F, "%", "(upper - lower) / middle × 100", Snap.ENTRY),
    _f("support", F, "USD", "lowest daily close of the last 20 sessions", Snap.ENTRY),
    _f("resistance", F, "USD", "highest daily close of the last 20 sessions", Snap.ENTRY),
    _f("support_distance_pct", F, "%", "last close above support, %", Snap.ENTRY),
    _f("resistance_distance_pct", F, "%", "resistance above the last close, %", Snap.ENTRY),
    _f("sector", S, "", "sector of the symbol from the symbol metadata file", Snap.ENTRY),
    _f("session_date", D, "", "New York session date of the entry", Snap.ENTRY),
    _f("day_of_week", INT, "0=Mon", "weekday of the entry session", Snap.ENTRY),
    _f("minutes_since_open", F, "min", "minutes from the session open (null outside hours)", Snap.ENTRY),
    _f("minutes_to_close", F, "min", "minutes to the session close (null outside hours)", Snap.ENTRY),
    _f("days_to_earnings", INT, "days", "days to the next earnings date if known, else null", Snap.ENTRY),
)

FEATURE_NAMES: tuple[str, ...] = tuple(dict.fromkeys((*INTRADAY_FEATURES, *SWING_FEATURES)))
FEATURE_FIELDS: tuple[FieldSpec, ...] = tuple(
    FieldSpec(
        f"f_{n}",
        F,
        "",
        f"feature {n!r} at entry (docs/features.md)",
        Snap.ENTRY,
        AppliesTo.FEATURE,
        ("features", n),
    )
    for n in FEATURE_NAMES
)

DAILY_FIELDS: tuple[FieldSpec, ...] = (
    _f("session_date", D, "", "New York session date of the snapshot", Snap.DAILY),
    _f("ts", DT, "UTC", "time the snapshot was taken (the clock's now)", Snap.DAILY),
    _f("mark", F, "USD/unit", "structure mark (net mid over the open legs)", Snap.DAILY),
    _f("underlying_price", F, "USD", "underlying price at the mark", Snap.DAILY),
    _f("open_quantity", F, "units", "structure units still open", Snap.DAILY),
    _f("unrealized_pnl", F, "USD", "Σ (mark - avg price) × net × multiplier over open legs", Snap.DAILY),
    _f(
        "pnl",
        F,
        "USD",
        "trade P&L to date: Σ fill cash flows (after commissions) + open market value",
        Snap.DAILY,
    ),
    _f("pnl_pct", F, "%", "pnl / risk_basis × 100", Snap.DAILY),
    _f("net_delta", F, "delta/unit", "as at entry, from the marks", Snap.DAILY, OPT),
    _f("net_gamma", F, "gamma/unit", "as at entry, from the marks", Snap.DAILY, OPT),
    _f("net_theta", F, "USD/day/share", "as at entry, from the marks", Snap.DAILY, OPT),
    _f("net_vega", F, "USD/vol pt/share", "as at entry, from the marks", Snap.DAILY, OPT),
    _f("net_iv", F, "fraction", "as at entry, from the marks", Snap.DAILY, OPT),
    _f(
        "short_strike_distance",
        F,
        "USD",
        "cushion to the short strike: S-K (put), K-S (call)",
        Snap.DAILY,
        VERT,
    ),
    _f("short_strike_distance_pct", F, "%", "short_strike_distance / underlying × 100", Snap.DAILY, VERT),
    _f("days_held", INT, "days", "calendar days since the entry session", Snap.DAILY),
    _f("dte", INT, "days", "calendar days to expiry", Snap.DAILY, OPT),
)

DAILY_AGG_FIELDS: tuple[FieldSpec, ...] = (
    _f("daily_count", INT, "", "number of daily snapshots of the trade", Snap.DAILY_AGG),
    _f("daily_last_pnl", F, "USD", "pnl of the last daily snapshot", Snap.DAILY_AGG),
    _f("daily_max_pnl", F, "USD", "highest daily pnl", Snap.DAILY_AGG),
    _f("daily_min_pnl", F, "USD", "lowest daily pnl", Snap.DAILY_AGG),
    _f("daily_last_pnl_pct", F, "%", "pnl_pct of the last daily snapshot", Snap.DAILY_AGG),
    _f("daily_last_mark", F, "USD/unit", "mark of the last daily snapshot", Snap.DAILY_AGG),
    _f(
        "daily_min_short_strike_distance_pct",
        F,
        "%",
        "closest approach to the short strike",
        Snap.DAILY_AGG,
        VERT,
    ),
    _f("daily_last_days_held", INT, "days", "days_held of the last daily snapshot", Snap.DAILY_AGG),
)

EXIT_FIELDS: tuple[FieldSpec, ...] = (
    _f("exit_ts", DT, "UTC", "time of the fill that closed the trade", Snap.EXIT, DONE),
    _f("exit_fill_id", S, "", "fill that closed the trade", Snap.EXIT, DONE),
    _f("exit_client_order_id", S, "", "client order id of the closing order", Snap.EXIT, DONE),
    _f("exit_price", F, "USD/unit", "price of the closing fill (of its leg)", Snap.EXIT, DONE),
    _f("realized_pnl", F, "USD", "Σ cash flows of the trade's fills, after commissions", Snap.EXIT, DONE),
    _f("commissions", F, "USD", "Σ commissions and fees of the trade's fills", Snap.EXIT, DONE),
    _f("return_on_risk", F, "%", "realized_pnl / risk_basis × 100", Snap.EXIT, DONE),
    _f("holding_minutes", F, "min", "exit_ts - entry_ts", Snap.EXIT, DONE),
    _f("holding_days", INT, "days", "calendar days between the entry and exit sessions", Snap.EXIT, DONE),
    _f("mfe", F, "USD", "max favourable excursion: max(0, best trade pnl seen)", Snap.EXIT, DONE),
    _f("mae", F, "USD", "max adverse excursion: min(0, worst trade pnl seen)", Snap.EXIT, DONE),
    _f("capture_efficiency", F, "ratio", "realized_pnl / mfe (null when mfe = 0)", Snap.EXIT, DONE),
    _f("exit_underlying_price", F, "USD", "underlying price at exit", Snap.EXIT, DONE),
    _f("underlying_change", F, "USD", "exit_underlying_price - underlying_price at entry", Snap.EXIT, DONE),
    _f("underlying_change_pct", F, "%", "underlying_change / entry underlying × 100", Snap.EXIT, DONE),
    _f("exit_net_iv", F, "fraction", "net_iv at exit", Snap.EXIT, OPT),
    _f("iv_change", F, "fraction", "exit_net_iv - net_iv at entry (negative: IV crush)", Snap.EXIT, OPT),
    _f("win", B, "", "realized_pnl > 0", Snap.EXIT, DONE),
    _f("quality_score", F, "0..100", "see 'Quality score' below", Snap.EXIT, DONE),
    _f("path_points", INT, "", "pnl observations behind mfe/mae (daily + intraday + exit)", Snap.EXIT, DONE),
)

EXPORT_ONLY_FIELDS: tuple[FieldSpec, ...] = (_f("is_complete", B, "", "an exit snapshot exists", Snap.EXIT),)

_EXPORT_IDENTITY = tuple(f for f in IDENTITY_FIELDS if f.name in ("trade_id", "account", "schema_version"))

EXPORT_FIELDS: tuple[FieldSpec, ...] = (
    *_EXPORT_IDENTITY,
    *ENTRY_FIELDS,
    *FEATURE_FIELDS,
    *DAILY_AGG_FIELDS,
    *EXIT_FIELDS,
    *EXPORT_ONLY_FIELDS,
)
"""The columns of ``export``, in order: one row per trade."""


def export_schema() -> dict[str, pl.DataType]:
    """Column name → polars dtype of the exported learning table."""
    return {f.name: f.dtype for f in EXPORT_FIELDS}


QUALITY_DOC = """\
`quality_score` = 100 × (0.4 × outcome + 0.3 × capture + 0.3 × pain), each part in [0, 1]:

- outcome = clip(0.5 + 0.5 × realized_pnl / risk_basis, 0, 1): losing the whole risk is 0,
  breaking even 0.5, making the risk or more 1;
- capture = clip(realized_pnl / mfe, 0, 1), 0 when the trade never was in profit (mfe = 0);
- pain = 1 - clip(|mae| / risk_basis, 0, 1): how little of the risk the trade put under water.

Example: risk 1,000, realized +20, mfe 50, mae -20 → 100 × (0.4 × 0.51 + 0.3 × 0.4 + 0.3 × 0.98)
= 61.8.
"""


def _table(fields: tuple[FieldSpec, ...]) -> list[str]:
    lines = ["| field | type | unit | applies to | description |", "| --- | --- | --- | --- | --- |"]
    for f in fields:
        desc = f.description.replace("|", "\\|")
        lines.append(f"| `{f.name}` | {f.type.value} | {f.unit} | {f.applies_to.value} | {desc} |")
    return lines


def render_markdown() -> str:
    """The text of ``docs/learning-snapshots.md``, generated from the specs above."""
    parts = [
        "# Learning snapshots",
        "",
        "<!-- Generated from core/learning/fields.py by core.learning.fields.render_markdown();"
        " tests/unit/test_learning_fields.py fails when this file is out of date. -->",
        "",
        "Every trade is recorded three ways in the ledger's `snapshots` table: an **entry** snapshot",
        "when a fill opens it, a **daily** snapshot at each close while it is open, and an **exit**",
        "snapshot when the fill that closes it arrives. All three carry the same `trade_id`",
        "(`account|group|entry fill id`; the group is the instrument for one leg, the underlying",
        "and the opening client order id for several). `key` makes every write idempotent.",
        "",
        "`raydesk learning export` joins them, one row per trade (entry → daily aggregates → exit);",
        "`raydesk learning stats` reports the coverage (non-null share) of every field over the",
        f"trades it applies to, and warns below {COVERAGE_THRESHOLD:.0%}.",
        "",
        f"Schema version {SCHEMA_VERSION}. Types: str, int, float, bool, datetime (UTC), date, json",
        "(a JSON string). 'applies to' = the trades whose coverage counts: all, option (any option",
        "leg), vertical (two option legs, one short, one long), complete (closed trades), feature",
        "(trades whose feature set has the feature).",
        "",
        "## Identity (every snapshot)",
        "",
        *_table(IDENTITY_FIELDS),
        "",
        "## Entry snapshot",
        "",
        *_table(ENTRY_FIELDS),
        "",
        "Features at entry (nested under `features` in the payload, `f_<name>` in the export):",
        "",
        *_table(FEATURE_FIELDS),
        "",
        "## Daily snapshot (at the close, every open trade)",
        "",
        *_table(DAILY_FIELDS),
        "",
        "## Exit snapshot",
        "",
        *_table(EXIT_FIELDS),
        "",
        "## Export: daily aggregates and extra columns",
        "",
        *_table(DAILY_AGG_FIELDS + EXPORT_ONLY_FIELDS),
        "",
        "The export's columns, in order: `trade_id`, `account`, `schema_version`, the entry fields,",
        "the features, the daily aggregates, the exit fields, `is_complete`. Column types never",
        "depend on the data (an empty export has the same schema); nulls are allowed everywhere.",
        "Read it back with `core.learning.read(path)` (CSV is cast to the schema), polars",
        '`pl.read_parquet`, or pandas `pd.read_parquet(path, dtype_backend="pyarrow")`, which keeps',
        "the integer, boolean, date and UTC timestamp columns typed even where they hold nulls.",
        "",
        "## Recording (the account actor)",
        "",
        "- after `ledger.record_fill(fill)`: `SnapshotService.on_fill(fill, position_before,",
        "  position_after, EntryContext.from_suggestion(...))` (the context of the order's suggestion:",
        "  all its legs, the quotes seen, features, score and model version; at an exit, the quotes",
        "  at the exit);",
        "- intraday, on marks: `observe(account, marks)` (feeds the excursions; memory only);",
        "- at the close: `daily(account, now, marks)`, marks keyed by instrument id (option legs as",
        "  option quotes with greeks).",
        "",
        "## Quality score",
        "",
        QUALITY_DOC.rstrip(),
        "",
        "## Training rows",
        "",
        "`learning_rows_for_training(frame)` keeps complete trades with a feature set and returns",
        "`symbol`, `ts` (entry time), `strategy`, `feature_set`, the features under their own names,",
        "`model_score`, and the labels `label` (1 win, -1 loss, 0 flat), `label_return`",
        "(realized_pnl / risk_basis), `label_end_ts` (exit time), `quality_score` and",
        '`source` = `"trade"`.',
        "",
    ]
    return "\n".join(parts)
