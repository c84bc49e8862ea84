"""Standing orders driven by the meter: the ex-post interval market of EnergyAuction with SmartMeter and
EnergyVault, end to end on real contracts.

A household sets its limits once in SmartMeter; each gateway batch then credits the metered export to
the owner's vault balance and places it as an ask, and the metered import as a bid, in the market of the
interval measured. Covered: placement at the limits (rounded to the owner's advantage, capped, cut to the
free balance), every skip reason, clearing after the reading deadline, settlement by the meter's
next-but-one reading, by a settlement batch and with in-line clearing, the energy bought retired, firm
orders beside standing ones, exact rationing by arrival, and the vault's books after each step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from eth_abi import encode
from eth_utils import keccak

from energy_grid.deploy.system import deploy_energy_auction

from support.auction_helpers import ASKS, cost_ceil
from support.helpers import NO_FREEZE_QUERY, ZERO_ADDRESS, assert_logs, log, reverts
from support.meter_helpers import fills_in, settled_orders

PERIOD = 900
GATE = 300
MIN_PRICE, TICK, MAX_PRICE = 50_000, 1_000, 305_000
FEE_BPS = 50
REGION = 1
FREQUENCY, VOLTAGE = 50_000, 1_000
CASH = 1_000_000  # payment base units each household deposits (1 unit of a 6-decimal token)
# SkipReason
NOT_APPROVED, MARKET_CLOSED, PRICE_OFF_GRID, TICK_FULL, ALREADY_PLACED, NOTHING_FREE, PAUSED = range(7)


def tick_of(price: int) -> int:
    return (price - MIN_PRICE) // TICK


def gross(filled_wh: int, price: int) -> int:
    return filled_wh * price // 1_000


@pytest.fixture(scope="module")
def vault(project, admin, energy_token, stablecoin, smart_meter):
    v = project.EnergyVault.deploy(admin, energy_token, stablecoin, NO_FREEZE_QUERY, sender=admin)
    v.grantRole(v.CREDITOR_ROLE(), smart_meter, sender=admin)
    return v


@pytest.fixture(scope="module")
def auction(project, admin, vault, smart_meter, fee_recipient):
    """The reading market: 900 s periods, gate 300 s before, the conftest grid, a 0.5 % fee."""
    auction = deploy_energy_auction(project,
        admin, vault, smart_meter, fee_recipient, FEE_BPS, PERIOD, GATE, MIN_PRICE, TICK, MAX_PRICE, sender=admin
    )
    vault.registerMarket(auction, sender=admin)
    smart_meter.setVault(vault, auction, sender=admin)
    return auction


@dataclass
class Community:
    """Households with one meter each, read in gateway batches."""

    smart_meter: Any
    gateway: Any
    chain: Any
    owners: list[Any]
    meters: list[str]

    def registers(self, meter: str) -> list[int]:
        """The meter's import and export registers on chain (its latest reading)."""
        latest = self.smart_meter.getLatestReading(meter)
        return [latest.consumption, latest.production]

    def read(self, period: int, import_wh: list[int], export_wh: list[int], which: list[int] | None = None) -> Any:
        """One batch at the last second of `period`: household i adds import_wh[i] and export_wh[i]."""
        which = list(range(len(self.meters))) if which is None else which
        ts = (period + 1) * PERIOD - 1
        self.chain.pending_timestamp = max(self.chain.pending_timestamp, ts)
        readings = []
        for k, i in enumerate(which):
            importing, exporting = self.registers(self.meters[i])
            readings.append((ts, importing + import_wh[k], exporting + export_wh[k], FREQUENCY, VOLTAGE))
        return self.smart_meter.submitReadings([self.meters[i] for i in which], readings, sender=self.gateway)


@pytest.fixture(scope="module")
def households(accounts):
    return [accounts[i] for i in (1, 2, 3, 4)]


@pytest.fixture(scope="module")
def community(smart_meter, auction, vault, stablecoin, households, admin, accounts, chain):
    """Four households, each with a registered meter (baseline at registration), CASH deposited in the
    vault and the auction approved there."""
    meters = [accounts.generate_test_account().address for _ in households]
    for meter, owner in zip(meters, households, strict=True):
        smart_meter.registerMeter(meter, owner, REGION, 0, 0, sender=admin)
        stablecoin.addConsumerBalance(owner, 1, sender=admin)
        stablecoin.approve(vault, CASH, sender=owner)
        vault.deposit(stablecoin, CASH, sender=owner)
        vault.setMarketApproval(auction, True, sender=owner)
    return Community(smart_meter, admin, chain, list(households), meters)


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(community, fee_recipient, stranger):
    """Deploy and set up the community before any test's own state (ape isolation)."""


@pytest.fixture
def period(chain, community):
    """A period that begins after every meter's registration baseline."""
    return chain.pending_timestamp // PERIOD + 1


def set_limits(smart_meter, community, i, sell=0, sell_cap=0, buy=0, buy_cap=0):
    return smart_meter.setStandingOrder(community.meters[i], sell, sell_cap, buy, buy_cap, sender=community.owners[i])


def placed_of(auction: Any, meter: str, period: int) -> tuple[int, int, int, int]:
    """The meter's placed orders of `period` as (askWh, ask price, bidWh, bid price): one event per
    standing order is its settlement, so a placement is read from the meter's slot."""
    slot = auction.getMeteredOrders(meter)[period % 2]
    assert slot.period == period
    return (slot.askWh, MIN_PRICE + slot.askTick * TICK, slot.bidWh, MIN_PRICE + slot.bidTick * TICK)


def books_balance(vault, energy_token, stablecoin, holders):
    """Per token, the vault's balances of `holders` (accounts and markets) add up to its reserve, and the
    reserve is what it holds of the token."""
    energy = sum(vault.balancesOf(h)[0] for h in holders)
    cash = sum(vault.balancesOf(h)[1] for h in holders)
    assert (energy, cash) == vault.reserves()
    assert vault.reserves() == (energy_token.balanceOf(vault), stablecoin.balanceOf(vault))


@pytest.fixture
def all_holders(households, auction, fee_recipient):
    return [*households, auction, fee_recipient]


def test_a_reading_places_export_as_ask_and_import_as_bid(
    smart_meter, auction, vault, energy_token, stablecoin, community, period, all_holders
):
    set_limits(smart_meter, community, 0, sell=80_000)
    set_limits(smart_meter, community, 1, buy=100_000)
    tx = community.read(period, [0, 600, 0, 0], [1_000, 0, 0, 0], which=[0, 1, 2, 3])
    meters = community.meters
    # A placement emits nothing (the settlement is a standing order's one event): the slots tell.
    assert not [e for e in tx.events if e.event_name.startswith("MeteredOrder")]
    assert placed_of(auction, meters[0], period) == (1_000, 80_000, 0, MIN_PRICE)
    assert placed_of(auction, meters[1], period) == (0, MIN_PRICE, 600, 100_000)
    assert auction.getMeteredOrders(meters[2])[period % 2].period == 0
    # The seller's export went straight to the market; the buyer's lock left its free balance.
    assert vault.balancesOf(community.owners[0]) == (0, CASH)
    assert vault.balancesOf(community.owners[1]) == (0, CASH - cost_ceil(600, 100_000))
    assert vault.balancesOf(auction) == (1_000, cost_ceil(600, 100_000))
    assert energy_token.balanceOf(community.owners[0]) == 0
    bids, asks = auction.getTickVolumes(period)
    assert (bids[tick_of(100_000)], asks[tick_of(80_000)]) == (600, 1_000)
    orders = auction.getMeteredOrders(meters[0])
    assert orders[period % 2] == (period, False, 1_000, tick_of(80_000), 0, 0, 0, 0)
    books_balance(vault, energy_token, stablecoin, all_holders)


def test_the_market_clears_after_the_reading_deadline_and_settlement_pays_to_the_unit(
    smart_meter, auction, vault, energy_token, stablecoin, community, period, fee_recipient, admin, chain, all_holders
):
    set_limits(smart_meter, community, 0, sell=80_000)
    set_limits(smart_meter, community, 1, buy=100_000)
    community.read(period, [0, 600, 0, 0], [1_000, 0, 0, 0])
    clears_at = (period + 1) * PERIOD + PERIOD
    assert auction.clearingTime(period) == clears_at and auction.readingDeadline() == PERIOD
    chain.pending_timestamp = clears_at - 1
    with reverts(auction.GateNotClosed, period=period, gateClosureTime=clears_at):
        auction.clear(period, sender=admin)
    chain.pending_timestamp = clears_at
    auction.clear(period, sender=admin)
    market = auction.getMarket(period)
    # D = 600 up to tick 50, S = 1000 from tick 30: 600 trade on 30..50, and the ask is rationed, so its
    # limit, tick 30, is the price.
    assert (market.clearingPricePerKWh, market.volumeWh, market.longSide) == (80_000, 600, ASKS)
    supply = energy_token.totalSupply()
    tx = smart_meter.settleStandingOrders(community.meters[:2], sender=admin)
    fee = gross(600, 80_000) * FEE_BPS // 10_000
    assert_logs(
        tx,
        settled_orders(auction, community.meters[0], period, ask_wh=1_000, sold_wh=600, proceeds=gross(600, 80_000) - fee),
        settled_orders(auction, community.meters[1], period, bid_wh=600, bought_wh=600, paid=cost_ceil(600, 80_000)),
        log(vault.EnergyRetired, market=auction.address, amountWh=600),
        log(energy_token.Transfer, **{"from": vault.address, "to": "0x" + "00" * 20, "value": 600}),
    )
    assert vault.balancesOf(community.owners[0]) == (400, CASH + gross(600, 80_000) - fee)
    assert vault.balancesOf(community.owners[1]) == (0, CASH - cost_ceil(600, 80_000))
    # The bought energy was used up: retired, not credited.
    assert energy_token.totalSupply() == supply - 600
    assert vault.balancesOf(auction) == (0, auction.accruedFees())
    assert auction.accruedFees() == fee + cost_ceil(600, 80_000) - gross(600, 80_000)
    auction.withdrawFees(sender=fee_recipient)
    assert vault.balancesOf(auction) == (0, 0)
    books_balance(vault, energy_token, stablecoin, all_holders)
    # Settled once: a second batch finds nothing due.
    assert not [
        e for e in smart_meter.settleStandingOrders(community.meters[:2], sender=admin).events if e.event_name == "MeteredOrdersSettled"
    ]


def test_the_meters_next_but_one_reading_settles_and_clears_in_line(
    smart_meter, auction, vault, community, period, energy_token, stablecoin, all_holders
):
    set_limits(smart_meter, community, 0, sell=60_000)
    set_limits(smart_meter, community, 1, buy=70_000)
    community.read(period, [0, 500, 0, 0], [500, 0, 0, 0])
    community.read(period + 1, [0, 0, 0, 0], [0, 0, 0, 0])
    assert not auction.getMarket(period).cleared
    # Nobody cleared `period`: the reading of period + 2 clears it, then settles both meters.
    tx = community.read(period + 2, [0, 0, 0, 0], [0, 0, 0, 0])
    names = [e.event_name for e in tx.events]
    assert names.count("MarketCleared") == 1 and names.count("MeteredOrdersSettled") == 2
    market = auction.getMarket(period)
    assert market.cleared and market.volumeWh == 500 and market.longSide == 0
    assert vault.balancesOf(community.owners[1])[0] == 0  # bought energy retired
    books_balance(vault, energy_token, stablecoin, all_holders)


def test_unapproved_owner_keeps_its_energy_free(smart_meter, auction, vault, community, period):
    set_limits(smart_meter, community, 2, sell=60_000)
    vault.setMarketApproval(auction, False, sender=community.owners[2])
    tx = community.read(period, [0], [700], which=[2])
    assert_logs(
        tx,
        *[e for e in tx.events if e.event_name in ("ReadingAccepted", "ArrivedCredited", "Transfer")],
        log(auction.MeteredOrderSkipped, meter=community.meters[2], period=period, reason=NOT_APPROVED),
    )
    assert vault.balancesOf(community.owners[2]) == (700, CASH)


def test_limits_round_to_the_owners_advantage_and_caps_apply(smart_meter, auction, vault, community, period):
    set_limits(smart_meter, community, 0, sell=80_500, sell_cap=300)  # rounds up to 81_000
    set_limits(smart_meter, community, 1, buy=99_999, buy_cap=250)  # rounds down to 99_000
    set_limits(smart_meter, community, 2, sell=10)  # below the grid: sells at its bottom
    set_limits(smart_meter, community, 3, buy=10**9)  # above the grid: bids at its top
    community.read(period, [0, 400, 0, 100], [1_000, 0, 50, 0])
    m = community.meters
    placed = {meter: placed_of(auction, meter, period) for meter in m}
    assert placed[m[0]][:2] == (300, 81_000)
    assert placed[m[1]][2:] == (250, 99_000)
    assert placed[m[2]][:2] == (50, MIN_PRICE)
    assert placed[m[3]][2:] == (100, MAX_PRICE)
    # The uncapped remainder of the export stays free in the seller's balance.
    assert vault.balancesOf(community.owners[0])[0] == 700


def test_limits_beyond_the_grid_on_the_side_that_trades_nothing_are_skipped(smart_meter, auction, community, period):
    set_limits(smart_meter, community, 0, sell=MAX_PRICE + 1)
    set_limits(smart_meter, community, 1, buy=MIN_PRICE - 1)
    tx = community.read(period, [0, 300], [300, 0], which=[0, 1])
    skipped = [(e.meter, e.reason) for e in tx.events if e.event_name == "MeteredOrderSkipped"]
    assert skipped == [(community.meters[0], PRICE_OFF_GRID), (community.meters[1], PRICE_OFF_GRID)]


def test_a_bid_is_cut_to_the_free_balance_across_the_owners_meters(
    smart_meter, auction, vault, stablecoin, community, period, admin, accounts
):
    owner = community.owners[0]
    second = accounts.generate_test_account().address
    smart_meter.registerMeter(second, owner, REGION, 0, 0, sender=admin)
    community.meters.append(second)
    community.owners.append(owner)
    try:
        vault.withdraw(stablecoin, CASH - 50_000, owner, sender=owner)  # 50_000 left: 500 Wh at 0.1
        set_limits(smart_meter, community, 0, buy=100_000)
        set_limits(smart_meter, community, 4, buy=100_000)
        community.read(period, [400, 400], [0, 0], which=[0, 4])
        assert [placed_of(auction, meter, period)[2] for meter in (community.meters[0], second)] == [400, 100]
        assert vault.balancesOf(owner)[1] == 0
        # Nothing free: the next interval's bid is skipped.
        tx = community.read(period + 1, [100], [0], which=[0])
        assert [(e.meter, e.reason) for e in tx.events if e.event_name == "MeteredOrderSkipped"] == [(community.meters[0], NOTHING_FREE)]
    finally:
        community.meters.pop()
        community.owners.pop()


def test_a_second_reading_of_an_interval_leaves_a_placed_side_alone(smart_meter, vault, community, period, chain, admin):
    set_limits(smart_meter, community, 1, sell=60_000)
    meter = community.meters[1]
    registers = community.registers(meter)
    first, last = period * PERIOD + 100, (period + 1) * PERIOD - 1
    chain.pending_timestamp = first
    registers[1] += 10
    smart_meter.submitReadings([meter], [(first, *registers, FREQUENCY, VOLTAGE)], sender=admin)
    chain.pending_timestamp = last
    registers[1] += 20
    tx = smart_meter.submitReadings([meter], [(last, *registers, FREQUENCY, VOLTAGE)], sender=admin)
    assert [(e.meter, e.reason) for e in tx.events if e.event_name == "MeteredOrderSkipped"] == [(meter, ALREADY_PLACED)]
    # The second reading's export stays free in the owner's balance.
    assert vault.balancesOf(community.owners[1])[0] == 20


def test_a_reading_after_its_markets_deadline_places_nothing(smart_meter, auction, vault, community, period, chain):
    set_limits(smart_meter, community, 2, sell=60_000)
    chain.pending_timestamp = auction.clearingTime(period)
    tx = community.read(period, [0], [100], which=[2])
    assert [(e.meter, e.reason) for e in tx.events if e.event_name == "MeteredOrderSkipped"] == [(community.meters[2], MARKET_CLOSED)]
    assert vault.balancesOf(community.owners[2])[0] == 100


def test_firm_orders_trade_beside_standing_ones(
    smart_meter, auction, vault, energy_token, stablecoin, community, households, chain, admin, all_holders
):
    period = chain.pending_timestamp // PERIOD + 2
    buyer = households[3]
    # A firm ex-ante bid before the gate closes, paid from the vault.
    bid_id = auction.submitBid(period, 400, 90_000, sender=buyer).return_value
    set_limits(smart_meter, community, 0, sell=60_000)
    community.read(period, [0, 0, 0, 0], [1_000, 0, 0, 0])
    chain.pending_timestamp = auction.clearingTime(period)
    auction.clear(period, sender=admin)
    market = auction.getMarket(period)
    assert (market.volumeWh, market.longSide) == (400, ASKS)
    auction.claim(bid_id, sender=admin)
    smart_meter.settleStandingOrders([community.meters[0]], sender=admin)
    price = market.clearingPricePerKWh
    assert vault.balancesOf(buyer) == (400, CASH - cost_ceil(400, price))
    seller = vault.balancesOf(households[0])
    assert seller[0] == 600 and seller[1] == CASH + gross(400, price) - gross(400, price) * FEE_BPS // 10_000
    assert vault.balancesOf(auction) == (0, auction.accruedFees())
    books_balance(vault, energy_token, stablecoin, all_holders)


def test_rationing_at_the_marginal_tick_follows_arrival_exactly(smart_meter, auction, vault, community, period, chain, admin):
    # Three sellers at one tick, one buyer short of them: the sellers share L of T by running totals.
    for i in range(3):
        set_limits(smart_meter, community, i, sell=70_000)
    set_limits(smart_meter, community, 3, buy=70_000)
    exports = [333, 333, 334]
    community.read(period, [0, 0, 0, 500], [*exports, 0])
    chain.pending_timestamp = auction.clearingTime(period)
    auction.clear(period, sender=admin)
    market = auction.getMarket(period)
    assert (market.volumeWh, market.longSide, market.rationedWh, market.marginalLevelWh) == (500, ASKS, 500, 1_000)
    tx = smart_meter.settleStandingOrders(community.meters, sender=admin)
    sold = {e.meter: e.soldWh for e in fills_in(tx)}
    running = [0, 333, 666, 1_000]
    expected = [running[k + 1] * 500 // 1_000 - running[k] * 500 // 1_000 for k in range(3)]
    assert [sold[community.meters[k]] for k in range(3)] == expected
    assert sum(expected) == 500


def test_removing_limits_stops_placing_but_placed_orders_still_settle(smart_meter, auction, vault, community, period, chain, admin):
    set_limits(smart_meter, community, 0, sell=60_000)
    community.read(period, [0], [200], which=[0])
    tx = smart_meter.removeStandingOrder(community.meters[0], sender=community.owners[0])
    assert_logs(tx, log(smart_meter.StandingOrderRemoved, meter=community.meters[0], owner=community.owners[0].address))
    tx = community.read(period + 1, [0], [300], which=[0])
    assert not [e for e in tx.events if e.event_name.startswith("Metered")]
    assert vault.balancesOf(community.owners[0])[0] == 300
    chain.pending_timestamp = auction.clearingTime(period)
    tx = smart_meter.settleStandingOrders([community.meters[0]], sender=admin)
    # Nobody bid: the market clears in line with no volume and the ask's energy comes back.
    assert vault.balancesOf(community.owners[0])[0] == 500
    assert [e.event_name for e in tx.events if e.event_name in ("MarketCleared", "MeteredOrdersSettled")] == [
        "MarketCleared",
        "MeteredOrdersSettled",
    ]


def test_only_the_meter_registry_reports_metered_energy(auction, community, stranger):
    # One reading's three words (IMeteredMarket.recordMetered): 1 Wh exported at time 1, a sell limit.
    entry = [int(community.meters[0], 16) | 1 << 160, int(community.owners[0].address, 16) | 1 << 160, 60_000]
    with reverts(auction.NotMeterRegistry, caller=stranger.address):
        auction.recordMetered(entry, sender=stranger)


def test_reading_deadline_is_bounded_and_admin_only(auction, vault, smart_meter, admin, stranger):
    with reverts(auction.InvalidReadingDeadline, deadlineSeconds=PERIOD + 1, maxSeconds=PERIOD):
        auction.setReadingDeadline(PERIOD + 1, sender=admin)
    tx = auction.setReadingDeadline(60, sender=admin)
    assert_logs(tx, log(auction.ReadingDeadlineUpdated, previousSeconds=PERIOD, newSeconds=60))
    with reverts(auction.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=b"\x00" * 32):
        auction.setReadingDeadline(60, sender=stranger)
    assert auction.clearingTime(10) == 11 * PERIOD + 60
    assert (auction.vault(), auction.meterRegistry()) == (vault.address, smart_meter.address)


def test_a_longer_reading_deadline_never_reopens_a_market_whose_clearing_time_has_passed(
    smart_meter, auction, community, period, chain, admin
):
    """A market past its clearing time may be cleared, or half-way through its steps: a longer deadline
    that would take its interval's readings again is refused until it would not, and its readings stay out."""
    set_limits(smart_meter, community, 0, sell=60_000)
    auction.setReadingDeadline(60, sender=admin)
    chain.pending_timestamp = (period + 1) * PERIOD + 100  # 40 s past the market's clearing time
    with reverts(auction.InvalidReadingDeadline, deadlineSeconds=200, maxSeconds=100):
        auction.setReadingDeadline(200, sender=admin)
    auction.setReadingDeadline(100, sender=admin)  # the time since the interval's end: the market stays closed
    assert auction.clearingTime(period) == (period + 1) * PERIOD + 100 <= chain.pending_timestamp
    tx = community.read(period, [0], [500], which=[0])
    assert [(e.meter, e.period, e.reason) for e in tx.events if e.event_name == "MeteredOrderSkipped"] == [
        (community.meters[0], period, MARKET_CLOSED)
    ]
    # While the market of the interval just ended still takes readings, the deadline may grow to a period.
    chain.pending_timestamp = (period + 2) * PERIOD + 50
    auction.setReadingDeadline(PERIOD, sender=admin)
    assert auction.readingDeadline() == PERIOD


# ----------------------------------------------------------------------------- boundaries


def test_a_standing_sell_limit_at_the_grids_top_tick_is_placed(smart_meter, auction, community, period):
    # A limit exactly at the top tick, and one just below it that rounds up to it: both are on the grid.
    set_limits(smart_meter, community, 0, sell=MAX_PRICE)
    set_limits(smart_meter, community, 1, sell=MAX_PRICE - 1)
    tx = community.read(period, [0, 0], [100, 40], which=[0, 1])
    assert not [e for e in tx.events if e.event_name == "MeteredOrderSkipped"]
    assert placed_of(auction, community.meters[0], period) == (100, MAX_PRICE, 0, MIN_PRICE)
    assert placed_of(auction, community.meters[1], period) == (40, MAX_PRICE, 0, MIN_PRICE)
    assert auction.getTickVolumes(period)[1][tick_of(MAX_PRICE)] == 140


def test_a_standing_bids_lock_rounds_up_when_the_escrow_is_not_whole(smart_meter, auction, vault, community, period, admin):
    # A grid whose prices end in 001: 333 Wh at 100_001 per kWh cost 33_300.333, locked as 33_301.
    auction.setPriceGrid(MIN_PRICE + 1, TICK, MAX_PRICE + 1, sender=admin)
    set_limits(smart_meter, community, 1, buy=100_001)
    community.read(period, [333], [0], which=[1])
    assert placed_of(auction, community.meters[1], period)[2] == 333
    assert cost_ceil(333, 100_001) == 33_301
    assert vault.balancesOf(community.owners[1]) == (0, CASH - 33_301)
    assert vault.balancesOf(auction) == (0, 33_301)


def test_a_tick_fills_to_its_bound_and_one_wh_over_is_skipped_as_tick_full(
    smart_meter, auction, vault, energy_token, community, households, chain, admin
):
    bound = auction.MAX_TICK_VOLUME_WH()
    period = chain.pending_timestamp // PERIOD + 2  # its gate still open for the firm ask
    # A firm ask brings the tick to 1 Wh below its bound: one meter's interval holds far less.
    seller = households[3]
    energy_token.grantRole(energy_token.METER_ROLE(), admin, sender=admin)
    energy_token.mint(seller, bound - 1, sender=admin)
    energy_token.approve(vault, bound - 1, sender=seller)
    vault.deposit(energy_token, bound - 1, sender=seller)
    auction.submitAsk(period, bound - 1, 60_000, sender=seller)
    for i in (1, 2):
        set_limits(smart_meter, community, i, sell=60_000)
    # The first standing ask fills the tick exactly to its bound; the second would pass it by 1 Wh.
    tx = community.read(period, [0, 0], [1, 1], which=[1, 2])
    skipped = [(e.meter, e.period, e.reason) for e in tx.events if e.event_name == "MeteredOrderSkipped"]
    assert skipped == [(community.meters[2], period, TICK_FULL)]
    assert placed_of(auction, community.meters[1], period)[:2] == (1, 60_000)
    assert placed_of(auction, community.meters[2], period)[0] == 0
    assert auction.getTickVolumes(period)[1][tick_of(60_000)] == bound
    # The skipped export stays free in its owner's balance.
    assert vault.balancesOf(community.owners[2]) == (1, CASH)
    assert vault.balancesOf(auction)[0] == bound


# ----------------------------------------------------------------------------- a batch never fails on one meter's limits


def test_readings_of_meters_with_limits_are_credited_when_the_reading_market_is_unset(
    smart_meter, auction, vault, community, period, admin, stranger
):
    set_limits(smart_meter, community, 0, sell=60_000)
    set_limits(smart_meter, community, 1, buy=100_000)
    smart_meter.setVault(vault, ZERO_ADDRESS, sender=admin)
    # The whole gateway batch goes through: the limits have no market to trade in, so the export stays free.
    tx = community.read(period, [0, 500, 0, 0], [700, 0, 0, 0])
    assert [e.event_name for e in tx.events].count("ReadingAccepted") == 4
    assert not [e for e in tx.events if e.event_name.startswith("Metered")]
    assert vault.balancesOf(community.owners[0]) == (700, CASH)
    assert vault.balancesOf(community.owners[1]) == (0, CASH)
    assert auction.getMeteredOrders(community.meters[0])[period % 2].period == 0
    with reverts(smart_meter.NoReadingMarket):
        smart_meter.settleStandingOrders(community.meters[:1], sender=stranger)


# ----------------------------------------------------------------------------- pause


def test_a_paused_auction_skips_standing_placement_and_keeps_energy_free(smart_meter, auction, vault, community, period, admin):
    set_limits(smart_meter, community, 0, sell=60_000)
    set_limits(smart_meter, community, 1, buy=100_000)
    auction.pause(sender=admin)
    tx = community.read(period, [0, 500], [700, 0], which=[0, 1])
    skipped = [(e.meter, e.period, e.reason) for e in tx.events if e.event_name == "MeteredOrderSkipped"]
    assert skipped == [(community.meters[0], period, PAUSED), (community.meters[1], period, PAUSED)]
    # Nothing offered and nothing locked: both balances are free.
    assert vault.balancesOf(community.owners[0]) == (700, CASH)
    assert vault.balancesOf(community.owners[1]) == (0, CASH)
    assert vault.balancesOf(auction) == (0, 0)
    assert auction.getTickVolumes(period) == ([0] * 256, [0] * 256)


def test_a_paused_auction_still_settles_standing_orders_placed_before(
    smart_meter, auction, vault, community, period, chain, admin, stranger
):
    set_limits(smart_meter, community, 0, sell=60_000)
    set_limits(smart_meter, community, 1, buy=100_000)
    community.read(period, [0, 500], [700, 0], which=[0, 1])
    auction.pause(sender=admin)
    # The meters' next-but-one reading settles the paused market's earlier interval and places nothing.
    tx = community.read(period + 2, [0, 300], [200, 0], which=[0, 1])
    settled = [(e.meter, e.period, e.soldWh, e.boughtWh) for e in fills_in(tx)]
    assert settled == [(community.meters[0], period, 500, 0), (community.meters[1], period, 0, 500)]
    skipped = [(e.meter, e.reason) for e in tx.events if e.event_name == "MeteredOrderSkipped"]
    assert skipped == [(community.meters[0], PAUSED), (community.meters[1], PAUSED)]
    assert vault.balancesOf(community.owners[0])[0] == 200 + 200  # unsold of period, all of period + 2
    assert vault.balancesOf(auction)[0] == 0
    chain.pending_timestamp = auction.clearingTime(period + 2)
    tx = smart_meter.settleStandingOrders(community.meters[:2], sender=stranger)
    assert not [e for e in tx.events if e.event_name == "MeteredOrdersSettled"]


# ----------------------------------------------------------------------------- a new reading market


@pytest.fixture
def next_auction(project, admin, vault, smart_meter, fee_recipient, community):
    """A second reading market of the same vault and registry, registered in the vault and approved by
    every household."""
    market = deploy_energy_auction(project,
        admin, vault, smart_meter, fee_recipient, FEE_BPS, PERIOD, GATE, MIN_PRICE, TICK, MAX_PRICE, sender=admin
    )
    vault.registerMarket(market, sender=admin)
    for owner in community.owners:
        vault.setMarketApproval(market, True, sender=owner)
    return market


def test_standing_orders_left_in_a_retired_reading_market_still_settle(
    smart_meter, auction, next_auction, vault, energy_token, stablecoin, community, period, chain, admin, stranger, all_holders
):
    set_limits(smart_meter, community, 0, sell=60_000)
    set_limits(smart_meter, community, 1, buy=100_000)
    community.read(period, [0, 600], [1_000, 0], which=[0, 1])
    smart_meter.setVault(vault, next_auction, sender=admin)
    assert smart_meter.readingMarkets() == [auction.address, next_auction.address]
    meters = community.meters[:2]
    chain.pending_timestamp = auction.clearingTime(period)
    # The market now named holds nothing of the meters: its settlement finds nothing.
    tx = smart_meter.settleStandingOrders(meters, sender=stranger)
    assert not [e for e in tx.events if e.event_name == "MeteredOrdersSettled"]
    # The retired market settles them, cleared on the way, as it would have before the switch.
    tx = smart_meter.settleStandingOrdersIn(auction, meters, sender=stranger)
    price = auction.getMarket(period).clearingPricePerKWh
    settled = [(e.contract_address, e.meter, e.period, e.soldWh, e.boughtWh) for e in fills_in(tx)]
    assert settled == [(auction.address, meters[0], period, 600, 0), (auction.address, meters[1], period, 0, 600)]
    fee = gross(600, price) * FEE_BPS // 10_000
    assert vault.balancesOf(community.owners[0]) == (400, CASH + gross(600, price) - fee)
    assert vault.balancesOf(community.owners[1]) == (0, CASH - cost_ceil(600, price))
    assert vault.balancesOf(auction) == (0, auction.accruedFees())
    books_balance(vault, energy_token, stablecoin, [*all_holders, next_auction])
    # The import bought in the retired market still counts against redemption.
    assert auction.coveredConsumptionWh(meters[1]) == 600
    with reverts(smart_meter.RedemptionExceedsConsumption, meter=meters[1], amountWh=1, redeemableWh=0):
        smart_meter.redeemConsumption(meters[1], 1, sender=community.owners[1])
    # Readings from now on place in the new market.
    community.read(period + 2, [0, 0], [300, 0], which=[0, 1])
    assert placed_of(next_auction, meters[0], period + 2)[0] == 300


def test_after_a_change_of_reading_market_a_zone_kept_from_the_old_one_trades_on_the_bus_and_no_batch_reverts(
    project, smart_meter, auction, next_auction, vault, energy_token, stablecoin, community, chain, admin, stranger,
    grid_management, grid_operations, all_holders,
):
    """The seller's meter was synced to zone 1 of the old market; the new market has no zones. Its readings
    trade on the bus there, in the same batch as the others, and settle; back in the old market the zone holds again."""
    zones = project.MarketZones.deploy(admin, auction, grid_management, grid_operations, sender=admin)
    zones.addZone(REGION, sender=admin)
    auction.setMarketZones(zones, sender=admin)
    seller, buyer = community.meters[:2]
    smart_meter.syncMeterZone(seller, sender=stranger)
    assert smart_meter.meterZone(seller) == 1
    smart_meter.setVault(vault, next_auction, sender=admin)
    assert smart_meter.meterZone(seller) == 0
    set_limits(smart_meter, community, 0, sell=60_000)
    set_limits(smart_meter, community, 1, buy=100_000)
    period = chain.pending_timestamp // PERIOD + 1
    community.read(period, [0, 600], [1_000, 0], which=[0, 1])
    assert next_auction.getTickVolumes(period)[1][tick_of(60_000)] == 1_000  # the bus's book
    # The meters' next-but-one readings settle the interval, clearing its market on the way.
    tx = community.read(period + 2, [0, 0], [0, 0], which=[0, 1])
    settled = [(e.meter, e.soldWh, e.boughtWh) for e in fills_in(tx)]
    assert settled == [(seller, 600, 0), (buyer, 0, 600)]
    assert next_auction.getMarket(period).longSide != 3  # cleared alone, not across zones
    books_balance(vault, energy_token, stablecoin, [*all_holders, next_auction])
    smart_meter.setVault(vault, auction, sender=admin)
    assert smart_meter.meterZone(seller) == 1


def test_a_market_without_zones_places_a_readings_zone_on_the_bus(
    project, admin, vault, fee_recipient, community, chain, stranger
):
    """A registry may hand over a zone this market does not have (here a plain account stands in for it):
    the order joins the bus's book, and the market clears alone."""
    market = deploy_energy_auction(project,
        admin, vault, stranger, fee_recipient, FEE_BPS, PERIOD, GATE, MIN_PRICE, TICK, MAX_PRICE, sender=admin
    )
    vault.registerMarket(market, sender=admin)
    owner = community.owners[1]
    vault.setMarketApproval(market, True, sender=owner)
    period = chain.pending_timestamp // PERIOD + 1
    read_at = (period + 1) * PERIOD - 1
    chain.pending_timestamp = read_at
    # 600 Wh imported in zone 7, at a buy limit of 100,000 per kWh (IMeteredMarket.recordMetered's words).
    entry = [int(community.meters[1], 16) | 600 << 200 | 7 << 240, int(owner.address, 16) | read_at << 160, 100_000 << 96]
    market.recordMetered(entry, sender=stranger)
    assert market.getTickVolumes(period)[0][tick_of(100_000)] == 600
    chain.pending_timestamp = market.clearingTime(period)
    market.clear(period, sender=stranger)
    assert market.getMarket(period).cleared


# ----------------------------------------------------------------------------- redemption


def give_wallet_energy(community, vault, energy_token, i, period, amount_wh):
    """Household i exports `amount_wh` in `period` (no sell limit: it stays in its vault balance) and
    withdraws it to its wallet, so that it holds EnergyToken to redeem."""
    community.read(period, [0], [amount_wh], which=[i])
    vault.withdraw(energy_token, amount_wh, community.owners[i], sender=community.owners[i])


def test_import_a_standing_bid_bought_cannot_be_redeemed_again(
    smart_meter, auction, vault, energy_token, community, period, chain, stranger
):
    set_limits(smart_meter, community, 0, sell=60_000)
    set_limits(smart_meter, community, 1, buy=100_000)
    community.read(period, [0, 600], [1_000, 0], which=[0, 1])
    chain.pending_timestamp = auction.clearingTime(period)
    smart_meter.settleStandingOrders(community.meters[:2], sender=stranger)
    meter, owner = community.meters[1], community.owners[1]
    give_wallet_energy(community, vault, energy_token, 1, period + 2, 500)
    # The 600 Wh metered were bought and retired at settlement: none is left to redeem.
    assert smart_meter.getMeteredEnergy(meter) == (600, 500, 0)
    with reverts(smart_meter.RedemptionExceedsConsumption, meter=meter, amountWh=1, redeemableWh=0):
        smart_meter.redeemConsumption(meter, 1, sender=owner)
    assert auction.coveredConsumptionWh(meter) == 600
    assert energy_token.balanceOf(owner) == 500


def test_import_a_standing_bid_holds_is_redeemable_only_once_it_settles_unbought(
    smart_meter, auction, vault, energy_token, community, period, chain, stranger
):
    set_limits(smart_meter, community, 0, sell=60_000)
    set_limits(smart_meter, community, 1, buy=100_000)
    # 400 Wh offered against a bid of 600: 200 Wh of the bid will not be bought.
    community.read(period, [0, 600], [400, 0], which=[0, 1])
    meter, owner = community.meters[1], community.owners[1]
    give_wallet_energy(community, vault, energy_token, 1, period + 1, 500)
    # While the bid stands, the import it bids for is not redeemable.
    with reverts(smart_meter.RedemptionExceedsConsumption, meter=meter, amountWh=1, redeemableWh=0):
        smart_meter.redeemConsumption(meter, 1, sender=owner)
    assert auction.coveredConsumptionWh(meter) == 600
    chain.pending_timestamp = auction.clearingTime(period)
    smart_meter.settleStandingOrders(community.meters[:2], sender=stranger)
    assert auction.coveredConsumptionWh(meter) == 400
    with reverts(smart_meter.RedemptionExceedsConsumption, meter=meter, amountWh=201, redeemableWh=200):
        smart_meter.redeemConsumption(meter, 201, sender=owner)
    tx = smart_meter.redeemConsumption(meter, 200, sender=owner)
    assert_logs(
        tx,
        log(smart_meter.ConsumptionRedeemed, meter=meter, owner=owner.address, amountWh=200),
        log(energy_token.Transfer, **{"from": owner.address, "to": "0x" + "00" * 20, "value": 200}),
    )
    assert smart_meter.getMeteredEnergy(meter) == (600, 500, 200)


def test_the_ledger_of_retired_import_outlives_the_reuse_of_the_meters_slot(smart_meter, auction, community, period, chain, stranger):
    set_limits(smart_meter, community, 0, sell=60_000)
    set_limits(smart_meter, community, 1, buy=100_000)
    meter = community.meters[1]
    community.read(period, [0, 600], [1_000, 0], which=[0, 1])
    # Two intervals on, the slot of `period` is settled (600 bought) and reused for a bid of 300.
    community.read(period + 2, [0, 300], [0, 0], which=[0, 1])
    assert placed_of(auction, meter, period + 2)[2] == 300
    assert auction.coveredConsumptionWh(meter) == 600 + 300
    # Nobody sells in period + 2: the bid settles unbought and only the 600 stay covered.
    chain.pending_timestamp = auction.clearingTime(period + 2)
    smart_meter.settleStandingOrders([meter], sender=stranger)
    assert auction.coveredConsumptionWh(meter) == 600
    assert smart_meter.getMeteredEnergy(meter)[0] == 900


LEDGER_SHIFT, LEDGER_MAX_WH = 217, 2**39 - 1  # a placed slot's ledger of retired import: bits 217-255


def placed_storage_slot(auction: Any, chain: Any, meter: str, period: int) -> int:
    """The storage slot of the meter's placed word for `period`'s parity, found by trying the mapping's
    possible declaration slots against the word a placement of `period` just wrote."""
    key = int(meter, 16) << 1 | period % 2
    for declared in range(64):
        slot = int.from_bytes(keccak(encode(["uint256", "uint256"], [key, declared])), "big")
        word = int(chain.provider.make_request("eth_getStorageAt", [auction.address, hex(slot), "latest"]), 16)
        if word and word & (2**32 - 1) == period:
            return slot
    raise AssertionError("no placed slot of the meter holds the period")


def test_a_full_ledger_of_retired_import_covers_all_of_the_meters_consumption(
    smart_meter, auction, vault, energy_token, community, period, chain, stranger
):
    set_limits(smart_meter, community, 0, sell=60_000)
    set_limits(smart_meter, community, 1, buy=100_000)
    community.read(period, [0, 600], [1_000, 0], which=[0, 1])
    meter = community.meters[1]
    # A meter that has bought nearly 2^47 Wh in this slot's intervals (140 TWh): 100 Wh of room left.
    slot = placed_storage_slot(auction, chain, meter, period)
    word = int(chain.provider.make_request("eth_getStorageAt", [auction.address, hex(slot), "latest"]), 16)
    nearly_full = word | (LEDGER_MAX_WH - 100) << LEDGER_SHIFT
    chain.provider.make_request("anvil_setStorageAt", [auction.address, hex(slot), f"0x{nearly_full:064x}"])
    assert auction.coveredConsumptionWh(meter) == LEDGER_MAX_WH - 100 + 600
    chain.pending_timestamp = auction.clearingTime(period)
    tx = smart_meter.settleStandingOrders(community.meters[:2], sender=stranger)
    assert [e.boughtWh for e in fills_in(tx)] == [0, 600]
    # The ledger stopped at its bound instead of wrapping: the meter's consumption all reads as covered.
    assert auction.coveredConsumptionWh(meter) == 2**256 - 1
    give_wallet_energy(community, vault, energy_token, 1, period + 2, 500)
    with reverts(smart_meter.RedemptionExceedsConsumption, meter=meter, amountWh=1, redeemableWh=0):
        smart_meter.redeemConsumption(meter, 1, sender=community.owners[1])


def test_a_meter_in_a_zone_trades_at_its_zones_price_within_its_link(
    project, smart_meter, auction, vault, energy_token, stablecoin, community, households, chain, admin, stranger,
    grid_management, grid_operations, grid_operator, all_holders,
):
    """The meter's region is a zone whose operator lets 1 kW (250 Wh a period) out: its standing ask sells
    that much to a bid on the bus, at its zone's own price, and the difference accrues as congestion rent."""
    zones = project.MarketZones.deploy(admin, auction, grid_management, grid_operations, sender=admin)
    zones.addZone(REGION, sender=admin)
    auction.setMarketZones(zones, sender=admin)
    seller_meter = community.meters[0]
    tx = smart_meter.syncMeterZone(seller_meter, sender=stranger)
    assert_logs(tx, log(smart_meter.MeterZoneSynced, meter=seller_meter, regionId=REGION, zone=1))
    assert (smart_meter.meterZone(seller_meter), smart_meter.meterZone(community.meters[1])) == (1, 0)
    period = chain.pending_timestamp // PERIOD + 2
    zones.setLinkLimits(REGION, period, 1, 0, 1, sender=grid_operator)
    buyer = households[3]
    bid_id = auction.submitBid(period, 400, 90_000, sender=buyer).return_value
    set_limits(smart_meter, community, 0, sell=60_000)
    community.read(period, [0, 0, 0, 0], [1_000, 0, 0, 0])
    assert auction.getMeteredOrders(seller_meter)[period % 2].askWh == 1_000
    chain.pending_timestamp = auction.clearingTime(period)
    fees_before = auction.accruedFees()
    auction.clear(period, sender=admin)
    market = auction.getMarket(period)
    hill, bus = zones.getZoneResult(period, 1), zones.getZoneResult(period, 0)
    assert (market.longSide, market.volumeWh, hill.netExportWh, bus.netExportWh) == (3, 250, 250, -250)
    # The link binds: the zone's price lies between its seller's limit and the bus's, below the bus's.
    hill_price, bus_price = hill.clearingPricePerKWh, bus.clearingPricePerKWh
    assert 60_000 <= hill_price < bus_price <= 90_000 and bus_price == market.clearingPricePerKWh
    auction.claim(bid_id, sender=admin)
    smart_meter.settleStandingOrders([seller_meter], sender=admin)
    assert vault.balancesOf(buyer) == (250, CASH - cost_ceil(250, bus_price))
    proceeds = gross(250, hill_price) - gross(250, hill_price) * FEE_BPS // 10_000
    assert vault.balancesOf(households[0]) == (750, CASH + proceeds)
    assert auction.accruedFees() - fees_before == cost_ceil(250, bus_price) - proceeds
    assert vault.balancesOf(auction) == (0, auction.accruedFees())
    books_balance(vault, energy_token, stablecoin, all_holders)
