"""The seed's ``is_token_valid`` filter: a cycle runs only for an account whose token works."""

from __future__ import annotations

from collections.abc import Callable

from adapters.brokers.tastytrade.execution import TastytradeExecution
from core.errors import BrokerUnavailable
from core.ports.ledger import Ledger
from core.strategies.trident import CycleResult, CycleStatus

TOKEN_INVALID_EVENT = "tastytrade.token_invalid"


def gate_cycle(
    execution: TastytradeExecution,
    ledger: Ledger,
    run: Callable[[], CycleResult],
    alert: Callable[[str], None] | None = None,
) -> CycleResult:
    """``run()`` if the account's token is valid; else skip it, record it in the ledger and alert.

    The token is probed first (one REST call, refreshing if the SDK's clock says so), so a grant
    revoked since the last cycle is caught before anything is priced or sent.
    """
    try:
        valid = execution.check_token()
    except BrokerUnavailable:
        valid = execution.token_valid
    if valid:
        return run()
    reason = f"skipped: the Tastytrade token of {execution.account_id} is invalid or expired; re-authorize it"
    ledger.append_event(TOKEN_INVALID_EVENT, {"reason": reason}, execution.account_id)
    if alert is not None:
        alert(reason)
    return CycleResult(CycleStatus.FAILED, reason=reason)
