"""Pure conversions of the IBKR adapter, and the fake TWS's messages as ib_async decodes them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from ib_async import IB, Contract

from adapters.brokers.ibkr.config import IbkrSettings
from adapters.brokers.ibkr.parsing import (
    UNSET_DOUBLE,
    bar_size,
    cleared_flag,
    combo_contract,
    combo_net,
    contract_for,
    duration,
    duration_seconds,
    farm_flag,
    instrument_of,
    parse_ib_time,
    side_of,
    signed_combo_price,
)
from configs.accounts import IbkrConnection, live_trading_allowed
from core.errors import ConfigError, InvalidValue
from core.model import (
    AccountId,
    ClientOrderId,
    Equity,
    OptionContract,
    Order,
    OrderLeg,
    OrderSide,
    Price,
    PriceEffect,
)
from simulators.ibkr import messages as m
from simulators.ibkr.wire import SERVER_VERSION, Field, fields_of, frame

PUT = OptionContract("SPY", date(2025, 6, 20), "P", Decimal("95.5"))
SPREAD = Order.combo(
    ClientOrderId("rd-spread"),
    AccountId("acct"),
    (
        OrderLeg(PUT, OrderSide.SELL),
        OrderLeg(OptionContract("SPY", date(2025, 6, 20), "P", 90), OrderSide.BUY),
    ),
    2,
    Price("1.20"),
    PriceEffect.CREDIT,
    datetime(2025, 6, 2, 14, tzinfo=UTC),
)


def test_instruments_round_trip_through_contracts() -> None:
    for instrument in (Equity("SPY"), PUT, OptionContract("SPX", date(2025, 6, 20), "C", 5000, root="SPXW")):
        assert instrument_of(contract_for(instrument, 42)) == instrument
    assert instrument_of(Contract(secType="FUT", symbol="ES")) is None
    option = contract_for(PUT)
    assert (option.lastTradeDateOrContractMonth, option.strike, option.right) == ("20250620", 95.5, "P")


def test_a_credit_spread_goes_out_as_a_buy_combo_at_a_negative_price() -> None:
    assert signed_combo_price(SPREAD) == -1.20
    assert combo_net(-1.20) == (Price("1.2"), PriceEffect.CREDIT)
    assert combo_net(0.35) == (Price("0.35"), PriceEffect.DEBIT)
    bag = combo_contract(SPREAD, {leg.instrument: i + 1 for i, leg in enumerate(SPREAD.legs)})
    assert bag.secType == "BAG"
    assert [(leg.conId, leg.ratio, leg.action) for leg in bag.comboLegs] == [(1, 1, "SELL"), (2, 1, "BUY")]


def test_sides_times_durations_and_bar_sizes() -> None:
    assert (side_of("BOT"), side_of("SLD"), side_of("BUY")) == (OrderSide.BUY, OrderSide.SELL, OrderSide.BUY)
    with pytest.raises(InvalidValue):
        side_of("HOLD")
    assert parse_ib_time("20250602 10:00:00 US/Eastern") == datetime(2025, 6, 2, 14, tzinfo=UTC)
    assert parse_ib_time("1748872800") == datetime(2025, 6, 2, 14, tzinfo=UTC)
    start = datetime(2025, 6, 2, 14, tzinfo=UTC)
    assert duration(start, start.replace(minute=30)) == "1800 S"
    assert duration_seconds(duration(start, start.replace(day=5))) == 3 * 86_400
    assert bar_size("1m") == "1 min"
    with pytest.raises(InvalidValue, match="timeframe"):
        bar_size("7m")


def test_farm_codes_name_their_farm() -> None:
    broken = farm_flag(2103, "Market data farm connection is broken:usfarm")
    assert broken == "2103:usfarm"
    assert cleared_flag(2104, "Market data farm connection is OK:usfarm") == broken
    assert cleared_flag(2104, "Market data farm connection is OK:eufarm") != broken


def test_settings_come_from_the_config_then_ibkr_env_then_defaults() -> None:
    env = {"IBKR_HOST": "10.0.0.5", "IBKR_PORT": "4002", "IBKR_CLIENT_ID": "9", "IBKR_ACCOUNT": "DU123456"}
    s = IbkrSettings.from_connection(IbkrConnection(client_id=3), env)
    assert (s.host, s.port, s.client_id, s.account) == ("10.0.0.5", 4002, 3, "DU123456")
    assert IbkrSettings.from_connection(IbkrConnection(), {}).port == 7497


def test_a_live_port_needs_the_live_opt_in() -> None:
    with pytest.raises(ConfigError, match=r"IBKR_PORT.*live"):
        IbkrSettings.from_connection(IbkrConnection(), {"IBKR_PORT": "7496"})
    with pytest.raises(ValueError, match="--live"):
        IbkrConnection(port=7496)
    with live_trading_allowed():
        assert IbkrSettings.from_connection(IbkrConnection(port=7496), {}).port == 7496
    with pytest.raises(ConfigError, match="IBKR_CLIENT_ID"):
        IbkrSettings.from_connection(IbkrConnection(), {"IBKR_CLIENT_ID": "one"})


@pytest.fixture
def decoded(caplog: pytest.LogCaptureFixture) -> Iterator[IB]:
    """An ib_async client whose decoder reads the fake's messages (no socket).

    ib_async's requests use the thread's current event loop; an ``asyncio.run`` earlier in the
    session leaves none set, so the test sets its own and closes it."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    ib = IB()
    ib.client.decoder.serverVersion = SERVER_VERSION
    try:
        yield ib
    finally:
        asyncio.set_event_loop(None)
        loop.close()
    assert [r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith("ib_async")] == []


def feed(ib: IB, *messages: Sequence[Field]) -> None:
    for message in messages:
        raw = frame(*message)
        ib.client.decoder.interpret(fields_of(raw[4:]))


def test_the_fake_tws_messages_decode_in_ib_async(decoded: IB) -> None:
    legs = ((101, 1, "SELL"), (102, 1, "BUY"))
    bag = m.WireContract(28812380, "SPY", "BAG", legs=legs)
    order = m.WireOrder(
        3, 7, 2_000_000_001, bag, "BUY", 2.0, "LMT", -1.2, UNSET_DOUBLE, "DAY", "DU1", "rd-x", "Submitted"
    )
    feed(decoded, m.open_order(order), m.order_status(order, 2.0, 0.0, 0.0))
    (trade,) = decoded.openTrades()
    assert (trade.order.orderRef, trade.order.permId, trade.order.lmtPrice) == ("rd-x", 2_000_000_001, -1.2)
    assert [(c.conId, c.action) for c in trade.contract.comboLegs] == [(101, "SELL"), (102, "BUY")]
    put = m.wire_contract(PUT, 101)
    execution = m.WireExecution(
        "e1",
        3,
        7,
        2_000_000_001,
        put,
        datetime(2025, 6, 2, 14, tzinfo=UTC),
        "DU1",
        "SLD",
        2,
        2.25,
        2,
        2.25,
        "rd-x",
        1.3,
    )
    feed(decoded, m.exec_details(-1, execution), m.commission_report(execution))
    (fill,) = decoded.fills()
    assert instrument_of(fill.contract) == PUT
    assert (fill.execution.side, fill.execution.shares, fill.commissionReport.commission) == ("SLD", 2, 1.3)
    done = m.WireOrder(
        4,
        7,
        2_000_000_002,
        put,
        "SELL",
        1.0,
        "MKT",
        UNSET_DOUBLE,
        UNSET_DOUBLE,
        "GTC",
        "DU1",
        "rd-y",
        "Cancelled",
        0.0,
        "20250602 14:00:00 UTC",
    )
    decoded.wrapper.startReq("completedOrders")
    feed(decoded, m.completed_order(done), [102])
    assert [t.order.orderRef for t in decoded.trades() if t.orderStatus.status == "Cancelled"] == ["rd-y"]


def test_contract_details_and_chain_parameters_decode(decoded: IB) -> None:
    future = decoded.wrapper.startReq(5)
    feed(decoded, m.contract_details(5, m.wire_contract(PUT, 101), 9), [52, 1, 5])
    (details,) = future.result()
    assert instrument_of(details.contract) == PUT and details.contract.conId == 101
    chains = decoded.wrapper.startReq(6)
    feed(decoded, m.sec_def_opt_params(6, 9, "SPY", ["20250620"], [90.0, 95.5]), [76, 6])
    (chain,) = chains.result()
    assert (chain.expirations, chain.strikes) == (["20250620"], [90.0, 95.5])
