"""``FakeDeskClient``: pinned desk data for snapshot tests and for trying the TUI without a desk.

The states have the shape the accounts publish (``core.trading.state.build_state``); actions
are recorded in ``calls`` and answered like a desk that queued them. ``reachable=False`` plays
a desk that is down.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from tui.client import (
    AccountDetail,
    AccountInfo,
    ActionResult,
    DenialRow,
    DeskPoll,
    DiscrepancyRow,
    FillRow,
    ModelRow,
    PollRequest,
    TaskRow,
)

T0 = datetime(2025, 12, 31, 15, 30, tzinfo=UTC)


def _state(account: str, status: str, equity: str, daily: str, **extra: Any) -> dict[str, Any]:
    state: dict[str, Any] = {
        "account": account,
        "ts": T0.isoformat(),
        "status": status,
        "automation_enabled": True,
        "paused": status == "paused",
        "halted": status == "halted",
        "halt_reason": "",
        "deleting": False,
        "deleted": False,
        "last_bar_ts": (T0 - timedelta(minutes=1)).isoformat(),
        "positions": [],
        "open_orders": [],
        "pnl": {"unrealized": "0.00", "realized": "0", "daily": daily},
        "balance": {"cash": equity, "buying_power": equity, "equity": equity, "ts": T0.isoformat()},
        "model_versions": {},
        "scored": {},
        "fallbacks": {},
        "fallback_total": 0,
        "cycles": 60,
        "ledger_seq": 10,
    }
    return state | extra


def pinned_states() -> dict[str, dict[str, Any]]:
    """Three accounts: one trading with positions and an order, one paused, one blocked."""
    intraday = _state(
        "intraday",
        "trading",
        "100412.50",
        "412.50",
        positions=[
            {
                "symbol": "SYNA",
                "net": "40",
                "avg_price": "101.25",
                "mark": 103.1,
                "unrealized_pnl": "74.00",
                "realized_pnl": "0",
                "strategy": "intraday_mean_reversion",
                "stop": 99.5,
                "target": 104.0,
            },
            {
                "symbol": "SYNC",
                "net": "-25",
                "avg_price": "48.00",
                "mark": 48.6,
                "unrealized_pnl": "-15.00",
                "realized_pnl": "12.40",
                "strategy": "intraday_mean_reversion",
                "stop": 49.5,
                "target": 46.8,
            },
        ],
        open_orders=[
            {
                "client_order_id": "rd-intraday-imr-20251231-SYNB",
                "symbol": "SYNB",
                "side": "buy",
                "quantity": "30",
                "filled": "0",
                "type": "limit",
                "limit_price": "77.41",
                "status": "accepted",
                "strategy": "intraday_mean_reversion",
            }
        ],
        model_versions={"intraday_mean_reversion": "v0003"},
        scored={"intraday_mean_reversion": 118},
        fallbacks={"intraday_mean_reversion": 2},
        fallback_total=2,
    )
    intraday["pnl"] = {"unrealized": "59.00", "realized": "12.40", "daily": "412.50"}
    swing = _state("swing", "paused", "99870.00", "-130.00")
    options = _state("options", "blocked", "25000.00", "0.00")
    return {"intraday": intraday, "options": options, "swing": swing}


def pinned_events() -> list[tuple[str, dict[str, Any]]]:
    rows = [
        ("fill", "intraday", {"symbol": "SYNA", "side": "buy", "quantity": "40", "price": "101.25"}),
        ("denial", "intraday", {"rule": "max_open_positions", "reason": "5 positions open"}),
        ("override", "swing", {"cmd": "pause", "by": "ops", "accepted": True, "detail": "pause"}),
        ("alert", "options", {"alert": "reconcile_blocked", "detail": "position SYNA 7 vs 0"}),
        ("order", "intraday", {"ledger_kind": "order.accepted", "detail": "SYNB buy 30 @ 77.41"}),
    ]
    return [
        (
            f"{1767195000000 + i}-0",
            {"kind": k, "account": a, "ts": (T0 + timedelta(seconds=i)).isoformat(), "payload": p},
        )
        for i, (k, a, p) in enumerate(rows)
    ]


def pinned_detail(account_id: str) -> AccountDetail:
    if account_id != "intraday":
        return AccountDetail(
            account_id,
            "2025-12-31",
            discrepancies=(DiscrepancyRow("position", "SYNA", "7", "0", "open"),)
            if account_id == "options"
            else (),
        )
    return AccountDetail(
        account_id,
        "2025-12-31",
        fills=(
            FillRow(T0 - timedelta(minutes=40), "SYNA", "buy", "40", "101.25", "rd-intraday-imr-1"),
            FillRow(T0 - timedelta(minutes=35), "SYNC", "sell", "25", "48.00", "rd-intraday-imr-2"),
        ),
        denials=(
            DenialRow(T0 - timedelta(minutes=5), "intraday_mean_reversion", "max_open_positions", "5 open"),
        ),
    )


def pinned_models() -> list[ModelRow]:
    def row(version: str, promoted: bool, gates: str, sharpe: float) -> ModelRow:
        return ModelRow(
            "intraday_mean_reversion",
            version,
            promoted,
            datetime(2025, 12, 30, 22, 0, tzinfo=UTC),
            gates,
            {"sharpe": sharpe, "max_drawdown_pct": 4.2, "n_trades": 312},
            {
                "data window": "2025-06-02 → 2025-12-30",
                "features": "14 (3f9a1c2b7d4e)",
                "code version": "1af00ec",
                "params": "learning_rate=0.05, num_leaves=31",
            },
            (("min_sharpe", ">=", "1.0", f"{sharpe}", sharpe >= 1.0),),
            ("2025-12-30 22:10 promote v0003 (was v0002)",),
        )

    return [
        row("v0002", False, "pass", 1.31),
        row("v0003", True, "pass", 1.62),
        row("v0004", False, "fail", 0.4),
    ]


def pinned_tasks() -> list[TaskRow]:
    return [
        TaskRow(
            "pre_market.features",
            "feature_refresh",
            "desk",
            T0 + timedelta(hours=17),
            T0 - timedelta(hours=7),
            "ok",
            "20 symbols",
        ),
        TaskRow("flatten.1", "flatten", "account", T0 + timedelta(minutes=20), None, "-", ""),
        TaskRow(
            "nightly.retrain",
            "retrain",
            "desk",
            T0 + timedelta(hours=10),
            T0 - timedelta(hours=14),
            "failed",
            "tune: no trials",
        ),
    ]


class FakeDeskClient:
    """A ``DeskClient`` on pinned data (see the module docstring)."""

    def __init__(
        self,
        states: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        reachable: bool = True,
        accounts: Sequence[AccountInfo] | None = None,
    ) -> None:
        self.states = dict(pinned_states() if states is None else states)
        self.reachable = reachable
        self.calls: list[tuple[str, ...]] = []
        self.polls: list[PollRequest] = []
        self._accounts = list(
            accounts
            or [
                AccountInfo("intraday", "sim", "paper"),
                AccountInfo("options", "sim", "paper"),
                AccountInfo("swing", "alpaca", "live"),
            ]
        )

    @property
    def where(self) -> str:
        return "fake"

    def accounts(self) -> Sequence[AccountInfo]:
        return self._accounts

    def poll(self, request: PollRequest) -> DeskPoll:
        self.polls.append(request)
        if not self.reachable:
            return DeskPoll(reachable=False, error="Redis unreachable: connection refused")
        events = pinned_events() if request.since_event is None else []
        return DeskPoll(
            reachable=True,
            states=self.states,
            events=events,
            last_event=events[-1][0] if events else request.since_event,
            detail=None if request.account is None else pinned_detail(request.account),
            equity={
                "intraday": (100000.0, 100120.0, 100050.0, 100300.0, 100280.0, 100412.5),
                "swing": (100000.0, 99950.0, 99900.0, 99870.0),
                "options": (25000.0, 25000.0),
            },
            models=pinned_models() if request.models else None,
            tasks=pinned_tasks() if request.tasks else None,
        )

    def _done(self, *call: str) -> ActionResult:
        self.calls.append(call)
        return ActionResult(call[0], True, (f"{' '.join(call[1:]) or 'desk'} queued",))

    def pause(self, account_id: str, reason: str = "") -> ActionResult:
        return self._done("pause", account_id)

    def resume(self, account_id: str, reason: str = "") -> ActionResult:
        return self._done("resume", account_id)

    def acknowledge(self, account_id: str, reason: str = "") -> ActionResult:
        return self._done("acknowledge", account_id)

    def flatten(self, account_id: str, reason: str = "") -> ActionResult:
        return self._done("flatten", account_id)

    def kill_switch(self, flatten: bool, reason: str = "") -> ActionResult:
        return self._done("kill_switch", "flatten" if flatten else "halt")

    def resume_all(self, reason: str = "") -> ActionResult:
        return self._done("resume_all")

    def promote(self, strategy: str, version: str) -> ActionResult:
        return self._done("promote", strategy, version)

    def rollback(self, strategy: str) -> ActionResult:
        return self._done("rollback", strategy)

    def close(self) -> None:
        return None
