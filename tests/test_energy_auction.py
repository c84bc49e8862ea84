"""EnergyAuction: one uniform-price double auction per delivery period.

Submission and escrow, the gate closing at its exact second, clearing (each tie rule on a hand-made
book), rationing at the marginal level, claims, fees and their snapshot, pause, admin, and the
back-run that the continuous book allowed, replayed in the auction. Every custom error is asserted
with all of its arguments and every event with all of its fields.
"""

from __future__ import annotations

import pytest

from support.auction_helpers import (
    ASKS,
    BIDS,
    FEE_BPS,
    GATE_SECONDS,
    MAX_PRICE,
    MIN_PRICE,
    N_TICKS,
    NONE,
    PERIOD_SECONDS,
    TICK_SIZE,
    close_gate,
    cost_ceil,
    gate_closure_time,
    level_money,
    open_period,
    order_id,
    price,
    submit,
)
from support.helpers import DEFAULT_ADMIN_ROLE, ZERO_ADDRESS, assert_logs, deploy_reverts, log, reverts, role, unexercised_abi_items

PAUSER_ROLE = role("PAUSER_ROLE")
MAX_FEE_BPS = 1_000
WEEK = 7 * 86_400
MAX_ORDER_WH = 10**12
MAX_PRICE_PER_KWH = 10**24
MAX_UINT = 2**256 - 1


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(funded_auction, auction_traders, keeper, fee_recipient, stranger, other, admin):
    """Deploy and fund the auction, and name the accounts, before any test's own state (ape isolation)."""


@pytest.fixture
def carol(auction_traders):
    return auction_traders[2]


@pytest.fixture
def dave(auction_traders):
    return auction_traders[3]


@pytest.fixture
def period(chain):
    return open_period(chain)


def transfer(token, sender, receiver, value):
    return log(token.Transfer, **{"from": sender.address, "to": receiver.address, "value": value})


def holdings(tokens, accounts):
    """(energy, cash) of each account."""
    energy, cash = tokens
    return [(energy.balanceOf(x), cash.balanceOf(x)) for x in accounts]


def deploy_args(admin, energy_token, stablecoin, fee_recipient, /, **changes):
    """The conftest auction's constructor arguments, with `changes` by name."""
    args = {
        "admin": admin,
        "energy": energy_token,
        "payment": stablecoin,
        "recipient": fee_recipient,
        "fee_bps": FEE_BPS,
        "period": PERIOD_SECONDS,
        "gate": GATE_SECONDS,
        "min": MIN_PRICE,
        "tick": TICK_SIZE,
        "max": MAX_PRICE,
    }
    args.update(changes)
    return list(args.values())


# ----------------------------------------------------------------------------- deployment and completeness


def test_deployment_parameters_constants_and_size(a, energy_token, stablecoin, fee_recipient, admin, chain):
    assert (a.energyToken(), a.paymentToken(), a.feeRecipient()) == (energy_token.address, stablecoin.address, fee_recipient.address)
    assert (a.gridFeeBps(), a.accruedFees()) == (FEE_BPS, 0)
    assert (a.periodLength(), a.gateClosure()) == (PERIOD_SECONDS, GATE_SECONDS)
    assert (a.minPrice(), a.tickSize(), a.maxPrice(), a.tickCount()) == (MIN_PRICE, TICK_SIZE, MAX_PRICE, 256)
    assert (a.MAX_FEE_BPS(), a.MAX_TICKS(), a.MAX_PERIOD_LENGTH(), a.MAX_GATE_CLOSURE(), a.MAX_LEAD_TIME()) == (
        MAX_FEE_BPS,
        256,
        WEEK,
        WEEK,
        WEEK,
    )
    assert (a.MAX_ORDER_WH(), a.MAX_TICK_VOLUME_WH(), a.MAX_PRICE_PER_KWH()) == (MAX_ORDER_WH, MAX_ORDER_WH, MAX_PRICE_PER_KWH)
    assert a.hasRole(DEFAULT_ADMIN_ROLE, admin) and a.hasRole(PAUSER_ROLE, admin) and a.PAUSER_ROLE() == PAUSER_ROLE
    assert not a.paused()
    assert a.currentPeriod() == chain.blocks.head.timestamp // PERIOD_SECONDS
    assert 0 < len(chain.provider.get_code(a.address)) < 24_576


def test_every_function_error_and_event_is_exercised(auction):
    # RoleAdminChanged cannot happen: nothing calls OpenZeppelin's internal _setRoleAdmin.
    assert unexercised_abi_items("EnergyAuction", ["test_energy_auction.py"], ("function", "event", "error"), {"RoleAdminChanged"}) == []


def test_access_control_surface(a, admin, other, stranger):
    assert a.getRoleAdmin(PAUSER_ROLE) == DEFAULT_ADMIN_ROLE == a.DEFAULT_ADMIN_ROLE()
    assert a.supportsInterface("0x7965db0b")  # IAccessControl
    assert not a.supportsInterface("0xffffffff")
    with reverts(a.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=DEFAULT_ADMIN_ROLE):
        a.grantRole(PAUSER_ROLE, stranger, sender=stranger)
    with reverts(a.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=DEFAULT_ADMIN_ROLE):
        a.revokeRole(PAUSER_ROLE, admin, sender=stranger)
    tx = a.grantRole(PAUSER_ROLE, other, sender=admin)
    assert_logs(tx, log(a.RoleGranted, role=PAUSER_ROLE, account=other.address, sender=admin.address))
    with reverts(a.AccessControlBadConfirmation):
        a.renounceRole(PAUSER_ROLE, stranger, sender=other)
    tx = a.renounceRole(PAUSER_ROLE, other, sender=other)
    assert_logs(tx, log(a.RoleRevoked, role=PAUSER_ROLE, account=other.address, sender=other.address))
    a.grantRole(PAUSER_ROLE, stranger, sender=admin)
    tx = a.revokeRole(PAUSER_ROLE, stranger, sender=admin)
    assert_logs(tx, log(a.RoleRevoked, role=PAUSER_ROLE, account=stranger.address, sender=admin.address))
    assert not a.hasRole(PAUSER_ROLE, stranger)


@pytest.mark.parametrize("field", ["admin", "energy", "payment"])
def test_constructor_rejects_zero_addresses(project, auction, admin, energy_token, stablecoin, fee_recipient, field):
    with deploy_reverts(auction.ZeroAddress):
        project.EnergyAuction.deploy(*deploy_args(admin, energy_token, stablecoin, fee_recipient, **{field: ZERO_ADDRESS}), sender=admin)


def test_constructor_rejects_bad_parameters(project, auction, admin, energy_token, stablecoin, fee_recipient):
    def deploy(**changes):
        return project.EnergyAuction.deploy(*deploy_args(admin, energy_token, stablecoin, fee_recipient, **changes), sender=admin)

    with deploy_reverts(auction.InvalidFeeRecipient, ZERO_ADDRESS):
        deploy(recipient=ZERO_ADDRESS)
    with deploy_reverts(auction.FeeTooHigh, MAX_FEE_BPS + 1, MAX_FEE_BPS):
        deploy(fee_bps=MAX_FEE_BPS + 1)
    for bad in (0, WEEK + 1):
        with deploy_reverts(auction.InvalidPeriodLength, bad, WEEK):
            deploy(period=bad)
    with deploy_reverts(auction.InvalidGateClosure, WEEK + 1, WEEK):
        deploy(gate=WEEK + 1)
    with deploy_reverts(auction.InvalidPriceGrid, 0, TICK_SIZE, MAX_PRICE):
        deploy(min=0)
    # The extremes are accepted: an hourly market, a week long period and gate, one tick, 256 ticks.
    assert deploy(period=WEEK, gate=WEEK, max=MIN_PRICE, fee_bps=MAX_FEE_BPS).tickCount() == 1
    assert deploy(period=3_600, gate=0).maxPrice() == MAX_PRICE


@pytest.mark.parametrize(
    "grid",
    [
        (0, 1_000, 100_000),  # zero minimum: a zero-priced bid escrows nothing
        (50_000, 0, 50_000),  # zero tick
        (50_000, 1_000, 49_000),  # maximum below the minimum
        (50_000, 1_000, 50_500),  # maximum off the grid
        (50_000, 1_000, 306_000),  # 257 ticks
        (MAX_PRICE_PER_KWH - 10, 1, MAX_PRICE_PER_KWH + 1),  # above the price cap
    ],
)
def test_set_price_grid_rejects_bad_grids(a, admin, grid):
    with reverts(a.InvalidPriceGrid, minPricePerKWh=grid[0], tickSizePerKWh=grid[1], maxPricePerKWh=grid[2]):
        a.setPriceGrid(*grid, sender=admin)
    assert (a.minPrice(), a.tickSize(), a.maxPrice()) == (MIN_PRICE, TICK_SIZE, MAX_PRICE)


def test_a_grid_change_applies_only_to_markets_without_orders(a, admin, alice, bob, keeper, chain, period):
    first = submit(a, alice, period, True, 1_000, 10)  # limit 60,000 on the old grid
    tx = a.setPriceGrid(100_000, 5_000, 1_375_000, sender=admin)  # 256 ticks again, coarser
    assert_logs(tx, log(a.PriceGridUpdated, minPricePerKWh=100_000, tickSizePerKWh=5_000, maxPricePerKWh=1_375_000))
    assert (a.minPrice(), a.tickSize(), a.maxPrice(), a.tickCount()) == (100_000, 5_000, 1_375_000, 256)
    # The market that has an order keeps its grid: 61,000 is still a price there, 105,000 is not.
    second = a.submitAsk(period, 1_000, 61_000, sender=bob).return_value
    with reverts(a.PriceNotOnGrid, limitPricePerKWh=105_500, minPricePerKWh=MIN_PRICE, tickSizePerKWh=TICK_SIZE, maxPricePerKWh=MAX_PRICE):
        a.submitAsk(period, 1_000, 105_500, sender=bob)
    assert a.getOrder(first).limitPricePerKWh == 60_000 and a.getOrder(second).tick == 11
    # A market without orders takes the new grid.
    with reverts(a.PriceNotOnGrid, limitPricePerKWh=61_000, minPricePerKWh=100_000, tickSizePerKWh=5_000, maxPricePerKWh=1_375_000):
        a.submitAsk(period + 1, 1_000, 61_000, sender=bob)
    later = a.submitAsk(period + 1, 1_000, 105_000, sender=bob).return_value
    assert a.getOrder(later).tick == 1
    market = a.getMarket(period + 1)
    assert (market.minPricePerKWh, market.tickSizePerKWh, market.tickCount) == (100_000, 5_000, 256)
    # An empty market cleared after the change reports a price on the new grid: its middle tick.
    close_gate(chain, period + 2)
    a.clear(period + 2, sender=keeper)
    assert a.getMarket(period + 2).clearingPricePerKWh == 100_000 + 127 * 5_000


# ----------------------------------------------------------------------------- submission


def test_submit_bid_escrows_payment_and_records_the_order(a, alice, stablecoin, energy_token, period):
    before = stablecoin.balanceOf(alice)
    tx = a.submitBid(period, 1_001, price(150), sender=alice)
    escrow = cost_ceil(1_001, price(150))
    oid = order_id(period, True, 1)
    assert tx.return_value == oid
    assert_logs(
        tx,
        log(
            a.OrderSubmitted,
            orderId=oid,
            period=period,
            trader=alice.address,
            isBid=True,
            amountWh=1_001,
            limitPricePerKWh=price(150),
            escrow=escrow,
        ),
        transfer(stablecoin, alice, a, escrow),
    )
    assert stablecoin.balanceOf(alice) == before - escrow and stablecoin.balanceOf(a) == escrow
    assert energy_token.balanceOf(a) == 0
    assert a.getOrder(oid) == (alice.address, period, True, 1_001, price(150), 150, 0, False)
    second = a.submitBid(period, 500, price(150), sender=alice).return_value
    assert second == order_id(period, True, 2)
    assert a.getOrder(second).volumeBeforeWh == 1_001  # C(i-1): the level's volume before it
    bids, asks = a.getTickVolumes(period)
    assert len(bids) == len(asks) == N_TICKS
    assert bids[150] == 1_501 and sum(bids) == 1_501 and sum(asks) == 0
    market = a.getMarket(period)
    assert (market.cleared, market.orderCount, market.tickCount, market.minPricePerKWh, market.tickSizePerKWh) == (
        False,
        2,
        N_TICKS,
        MIN_PRICE,
        TICK_SIZE,
    )


def test_submit_ask_escrows_energy(a, bob, energy_token, stablecoin, period):
    before = energy_token.balanceOf(bob)
    submit(a, bob, period, True, 100, 3)  # a bid first: sequence numbers are shared by both sides
    tx = a.submitAsk(period, 2_500, MAX_PRICE, sender=bob)
    oid = order_id(period, False, 2)
    assert tx.return_value == oid
    assert_logs(
        tx,
        log(
            a.OrderSubmitted,
            orderId=oid,
            period=period,
            trader=bob.address,
            isBid=False,
            amountWh=2_500,
            limitPricePerKWh=MAX_PRICE,
            escrow=2_500,
        ),
        transfer(energy_token, bob, a, 2_500),
    )
    assert energy_token.balanceOf(bob) == before - 2_500 and energy_token.balanceOf(a) == 2_500
    assert a.getOrder(oid) == (bob.address, period, False, 2_500, MAX_PRICE, N_TICKS - 1, 0, False)
    assert a.getTickVolumes(period)[1][N_TICKS - 1] == 2_500
    assert stablecoin.balanceOf(a) == cost_ceil(100, price(3))


def test_bad_submissions_revert_and_move_nothing(a, alice, energy_token, stablecoin, chain, period):
    now = chain.pending_timestamp
    chain.pending_timestamp = now  # reverted calls mine nothing: every check below runs at `now`
    before = holdings((energy_token, stablecoin), [alice, a])
    for amount in (0, MAX_ORDER_WH + 1):
        with reverts(a.AmountOutOfRange, amountWh=amount, maxAmountWh=MAX_ORDER_WH):
            a.submitBid(period, amount, MIN_PRICE, sender=alice)
        with reverts(a.AmountOutOfRange, amountWh=amount, maxAmountWh=MAX_ORDER_WH):
            a.submitAsk(period, amount, MIN_PRICE, sender=alice)
    for bad_price in (MIN_PRICE - TICK_SIZE, MAX_PRICE + TICK_SIZE, MIN_PRICE + 1, 0):
        with reverts(
            a.PriceNotOnGrid, limitPricePerKWh=bad_price, minPricePerKWh=MIN_PRICE, tickSizePerKWh=TICK_SIZE, maxPricePerKWh=MAX_PRICE
        ):
            a.submitBid(period, 1_000, bad_price, sender=alice)
    # The furthest period open now is the last whose gate closes within MAX_LEAD_TIME.
    furthest = (now + WEEK + GATE_SECONDS) // PERIOD_SECONDS
    with reverts(a.PeriodTooFarAhead, period=furthest + 1, maxPeriod=furthest):
        a.submitAsk(furthest + 1, 1_000, MIN_PRICE, sender=alice)
    with reverts(a.PeriodTooFarAhead, period=2**200, maxPeriod=furthest):
        a.submitAsk(2**200, 1_000, MIN_PRICE, sender=alice)
    past = now // PERIOD_SECONDS - 1
    with reverts(a.GateClosed, period=past, gateClosureTime=gate_closure_time(past)):
        a.submitBid(past, 1_000, MIN_PRICE, sender=alice)
    with reverts(a.GateClosed, period=0, gateClosureTime=0):
        a.submitBid(0, 1_000, MIN_PRICE, sender=alice)
    assert holdings((energy_token, stablecoin), [alice, a]) == before
    assert a.getMarket(period).orderCount == 0
    a.submitAsk(furthest, 1_000, MIN_PRICE, sender=alice)  # the furthest itself is open
    assert a.getMarket(furthest).orderCount == 1


def test_gate_closes_at_its_exact_second(a, alice, bob, keeper, chain, period):
    closes_at = period * PERIOD_SECONDS - GATE_SECONDS
    assert a.gateClosureTime(period) == closes_at
    chain.pending_timestamp = closes_at - 1
    with reverts(a.GateNotClosed, period=period, gateClosureTime=closes_at):
        a.clear(period, sender=keeper)  # the market does not clear the second before
    chain.pending_timestamp = closes_at - 1
    a.submitBid(period, 1_000, price(100), sender=alice)  # and takes orders in it: the last second accepted
    assert a.getMarket(period).orderCount == 1
    chain.pending_timestamp = closes_at
    with reverts(a.GateClosed, period=period, gateClosureTime=closes_at):
        a.submitAsk(period, 1_000, price(100), sender=bob)  # the exact second rejected
    chain.pending_timestamp = closes_at
    a.clear(period, sender=keeper)  # and clears at it
    assert a.getMarket(period).cleared


def test_gate_closure_time_saturates(a):
    assert a.gateClosureTime(0) == 0
    assert a.gateClosureTime(1) == PERIOD_SECONDS - GATE_SECONDS
    assert a.gateClosureTime(MAX_UINT) == MAX_UINT - GATE_SECONDS


def test_tick_volume_is_bounded(project, admin, energy_token, fee_recipient, alice, chain):
    """1 TWh per side of a tick: running totals fit their 40 bits. A mintable token pays for it."""
    cash = project.ReentrantToken.deploy(sender=admin)  # never armed here: a plain mintable ERC-20
    big = project.EnergyAuction.deploy(*deploy_args(admin, energy_token, cash, fee_recipient), sender=admin)
    cash.mint(alice, 10**20, sender=alice)
    cash.approve(big, MAX_UINT, sender=alice)
    period = open_period(chain)
    big.submitBid(period, MAX_ORDER_WH - 5, MIN_PRICE, sender=alice)
    before = cash.balanceOf(alice)
    with reverts(big.TickVolumeTooLarge, period=period, tick=0, volumeWh=MAX_ORDER_WH + 1, maxVolumeWh=MAX_ORDER_WH):
        big.submitBid(period, 6, MIN_PRICE, sender=alice)
    assert cash.balanceOf(alice) == before
    big.submitBid(period, 5, MIN_PRICE, sender=alice)  # exactly the bound
    big.submitBid(period, MAX_ORDER_WH, MIN_PRICE + TICK_SIZE, sender=alice)  # another tick is another level
    assert list(big.getTickVolumes(period)[0][:2]) == [MAX_ORDER_WH, MAX_ORDER_WH]


# ----------------------------------------------------------------------------- clearing rules


def book(a, period, orders, traders):
    """Submits (trader index, is_bid, amountWh, tick) in order; returns the ids."""
    return [submit(a, traders[who], period, is_bid, amount, tick) for who, is_bid, amount, tick in orders]


def cleared(a, chain, keeper, period):
    close_gate(chain, period)
    tx = a.clear(period, sender=keeper)
    return tx, a.getMarket(period)


def fills(a, ids):
    return [a.getOrderOutcome(i).filledWh for i in ids]


def test_rule_one_most_volume(a, auction_traders, keeper, chain, period):
    """Asks 400 @ 20 and 600 @ 30, bids 500 @ 25 and 500 @ 40: the most volume, 500, trades on 30..40
    only (400 on 20..29), with the same imbalance throughout: its midpoint, 35."""
    ids = book(a, period, [(0, False, 400, 20), (1, False, 600, 30), (2, True, 500, 25), (3, True, 500, 40)], auction_traders)
    tx, m = cleared(a, chain, keeper, period)
    # D: 1,000 up to 25, 500 up to 40. S: 400 from 20, 1,000 from 30. min: 400 on 20..25, 500 on 30..40.
    # Most volume: 500 on 30..40, where |D - S| = 500 everywhere: the midpoint, 35.
    assert (m.clearingTick, m.clearingPricePerKWh, m.volumeWh) == (35, price(35), 500)
    # Asks are long: the ask at 20 (better) fills in full, the level at 30 shares the rest.
    assert (m.longSide, m.marginalTick, m.rationedWh, m.marginalLevelWh) == (ASKS, 30, 100, 600)
    assert fills(a, ids) == [400, 100, 0, 500]
    assert_logs(
        tx,
        log(
            a.MarketCleared,
            period=period,
            clearingTick=35,
            clearingPricePerKWh=price(35),
            volumeWh=500,
            longSide=ASKS,
            marginalTick=30,
            rationedWh=100,
            marginalLevelWh=600,
            feeBps=FEE_BPS,
        ),
    )


def test_rule_two_least_imbalance_among_equal_volumes(a, auction_traders, keeper, chain, period):
    """min(D, S) = 1,000 on ticks 4..12; |D - S| is 500 on 4..6, 0 at 7 and 700 on 8..12: the tick is 7,
    not the range's midpoint 8."""
    orders = [(0, True, 1_000, 12), (1, True, 500, 6), (2, False, 1_000, 4), (3, False, 700, 8)]
    ids = book(a, period, orders, auction_traders)
    _, m = cleared(a, chain, keeper, period)
    assert (m.clearingTick, m.volumeWh, m.longSide) == (7, 1_000, NONE)
    assert fills(a, ids) == [1_000, 0, 1_000, 0]


def test_rule_three_midpoint_rounded_down(a, auction_traders, keeper, chain, period):
    """A bid 1,000 @ 10 and an ask 1,000 @ 5 trade 1,000 with no imbalance on 5..10: the midpoint
    7.5 rounds down to 7."""
    ids = book(a, period, [(0, True, 1_000, 10), (1, False, 1_000, 5)], auction_traders)
    _, m = cleared(a, chain, keeper, period)
    assert (m.clearingTick, m.clearingPricePerKWh, m.volumeWh, m.longSide) == (7, price(7), 1_000, NONE)
    assert fills(a, ids) == [1_000, 1_000]


def test_rationing_on_running_totals_at_a_marginal_level_better_than_the_price(a, auction_traders, keeper, chain, period):
    """Asks 300, 700 and 500 at tick 100 (T = 1,500) meet a bid of 1,000 at 105: the price is the
    midpoint 102, above the marginal level, whose asks share L = 1,000 in arrival order:
    floor(300 * 2/3) = 200, floor(1,000 * 2/3) - 200 = 466, 1,000 - 666 = 334."""
    orders = [(0, False, 300, 100), (1, False, 700, 100), (2, True, 1_000, 105), (3, False, 500, 100)]
    ids = book(a, period, orders, auction_traders)
    assert [a.getOrder(i).volumeBeforeWh for i in ids] == [0, 300, 0, 1_000]
    _, m = cleared(a, chain, keeper, period)
    assert (m.clearingTick, m.volumeWh, m.longSide, m.marginalTick, m.rationedWh, m.marginalLevelWh) == (
        102,
        1_000,
        ASKS,
        100,
        1_000,
        1_500,
    )
    assert fills(a, ids) == [200, 466, 1_000, 334]


def test_long_bids_fill_best_first_then_share_the_marginal_level(a, auction_traders, keeper, chain, period):
    """Bids 400 @ 60 (best), 300 and 301 @ 55 (marginal), 500 @ 50 (worse) against asks 800 @ 50:
    D(50) = 1,501 > S = 800; most volume 800 on 50..55 with |D - S| 701 at 50, 201 on 51..55: tick 53.
    At 53 only bids from 55 up count: the best level fills, the level at 55 shares 400 of 601."""
    orders = [(0, True, 400, 60), (1, True, 300, 55), (2, True, 500, 50), (3, True, 301, 55), (4, False, 800, 50)]
    ids = book(a, period, orders, auction_traders)
    _, m = cleared(a, chain, keeper, period)
    assert (m.clearingTick, m.volumeWh, m.longSide, m.marginalTick, m.rationedWh, m.marginalLevelWh) == (53, 800, BIDS, 55, 400, 601)
    # floor(300 * 400 / 601) = 199; floor(601 * 400 / 601) - 199 = 201.
    assert fills(a, ids) == [400, 199, 0, 201, 800]


def test_no_crossing_clears_with_volume_zero_and_refunds_everything(
    a, auction_traders, alice, bob, keeper, chain, energy_token, stablecoin, period
):
    before = holdings((energy_token, stablecoin), [alice, bob])
    bid = submit(a, alice, period, True, 1_000, 10)
    ask = submit(a, bob, period, False, 1_000, 20)
    _, m = cleared(a, chain, keeper, period)
    assert (m.volumeWh, m.longSide, m.cleared) == (0, NONE, True)
    assert a.getOrderOutcome(bid) == (0, 0, 0, cost_ceil(1_000, price(10)), False)
    assert a.getOrderOutcome(ask) == (0, 0, 0, 1_000, False)
    tx = a.claim(bid, sender=keeper)
    assert_logs(
        tx,
        log(
            a.OrderClaimed, orderId=bid, trader=alice.address, isBid=True, filledWh=0, payment=0, fee=0, refund=cost_ceil(1_000, price(10))
        ),
        transfer(stablecoin, a, alice, cost_ceil(1_000, price(10))),
    )
    tx = a.claim(ask, sender=keeper)
    assert_logs(
        tx,
        log(a.OrderClaimed, orderId=ask, trader=bob.address, isBid=False, filledWh=0, payment=0, fee=0, refund=1_000),
        transfer(energy_token, a, bob, 1_000),
    )
    assert holdings((energy_token, stablecoin), [alice, bob]) == before
    assert (energy_token.balanceOf(a), stablecoin.balanceOf(a), a.accruedFees()) == (0, 0, 0)


def test_an_empty_market_clears_at_the_grid_midpoint(a, keeper, chain, period):
    market = a.getMarket(period)
    assert (market.cleared, market.tickCount, market.orderCount) == (False, 0, 0)
    tx, m = cleared(a, chain, keeper, period)
    assert (m.cleared, m.tickCount, m.clearingTick, m.volumeWh, m.orderCount) == (True, N_TICKS, 127, 0, 0)
    assert_logs(
        tx,
        log(
            a.MarketCleared,
            period=period,
            clearingTick=127,
            clearingPricePerKWh=price(127),
            volumeWh=0,
            longSide=NONE,
            marginalTick=0,
            rationedWh=0,
            marginalLevelWh=0,
            feeBps=FEE_BPS,
        ),
    )


def test_clear_errors(a, alice, keeper, chain, period):
    submit(a, alice, period, True, 1_000, 10)
    with reverts(a.GateNotClosed, period=period, gateClosureTime=gate_closure_time(period)):
        a.clear(period, sender=keeper)
    with reverts(a.GateNotClosed, period=MAX_UINT, gateClosureTime=MAX_UINT - GATE_SECONDS):
        a.clear(MAX_UINT, sender=keeper)
    close_gate(chain, period)
    a.clear(period, sender=keeper)
    with reverts(a.MarketAlreadyCleared, period=period):
        a.clear(period, sender=keeper)  # a second clear


# ----------------------------------------------------------------------------- claims and money


def test_claims_pay_the_uniform_price_fee_and_refunds(a, alice, bob, carol, keeper, fee_recipient, chain, energy_token, stablecoin, period):
    """Bob asks 1,000 @ tick 100 and Carol 999 @ 102; Alice bids 2,500 @ 150. The asks are short:
    the price is the midpoint of 102..150, tick 126, and both asks fill in full."""
    bid = submit(a, alice, period, True, 2_500, 150)
    ask = submit(a, bob, period, False, 1_000, 100)
    ask2 = submit(a, carol, period, False, 999, 102)
    with reverts(a.MarketNotCleared, period=period):
        a.claim(bid, sender=keeper)  # claims before clearing
    with reverts(a.MarketNotCleared, period=period):
        a.getOrderOutcome(bid)
    _, m = cleared(a, chain, keeper, period)
    p = price(126)
    assert (m.clearingTick, m.volumeWh, m.longSide, m.marginalTick, m.rationedWh) == (126, 1_999, BIDS, 150, 1_999)
    pay, _, _ = level_money(0, 1_999, p, FEE_BPS)
    _, gross, fee = level_money(0, 1_000, p, FEE_BPS)
    _, gross2, fee2 = level_money(0, 999, p, FEE_BPS)
    assert pay == cost_ceil(1_999, p) and gross == 1_000 * p // 1_000 and fee == gross * FEE_BPS // 10_000
    assert a.accruedFees() == pay - gross - gross2 + fee + fee2  # fees and rounding, accrued at clearing
    escrow = cost_ceil(2_500, price(150))
    alice_before, bob_before = holdings((energy_token, stablecoin), [alice, bob])

    tx = a.claim(bid, sender=keeper)  # a keeper claims for Alice: the value goes to Alice
    assert_logs(
        tx,
        log(a.OrderClaimed, orderId=bid, trader=alice.address, isBid=True, filledWh=1_999, payment=pay, fee=0, refund=escrow - pay),
        transfer(energy_token, a, alice, 1_999),
        transfer(stablecoin, a, alice, escrow - pay),
    )
    assert holdings((energy_token, stablecoin), [alice])[0] == (alice_before[0] + 1_999, alice_before[1] + escrow - pay)
    tx = a.claim(ask, sender=bob)
    assert_logs(
        tx,
        log(a.OrderClaimed, orderId=ask, trader=bob.address, isBid=False, filledWh=1_000, payment=gross, fee=fee, refund=0),
        transfer(stablecoin, a, bob, gross - fee),
    )
    assert holdings((energy_token, stablecoin), [bob])[0] == (bob_before[0], bob_before[1] + gross - fee)
    assert a.getOrderOutcome(ask) == (1_000, gross, fee, 0, True)
    assert a.getOrder(ask).claimed
    with reverts(a.AlreadyClaimed, orderId=ask):
        a.claim(ask, sender=keeper)
    a.claim(ask2, sender=keeper)

    with reverts(a.NotFeeRecipient, caller=keeper.address, feeRecipient=fee_recipient.address):
        a.withdrawFees(sender=keeper)
    accrued = a.accruedFees()
    tx = a.withdrawFees(sender=fee_recipient)
    assert_logs(
        tx, log(a.FeesWithdrawn, feeRecipient=fee_recipient.address, amount=accrued), transfer(stablecoin, a, fee_recipient, accrued)
    )
    with reverts(a.NoFeesAccrued):
        a.withdrawFees(sender=fee_recipient)
    assert (energy_token.balanceOf(a), stablecoin.balanceOf(a), a.accruedFees()) == (0, 0, 0)


def test_unknown_orders(a, alice, keeper, period):
    ask = submit(a, alice, period, False, 1_000, 10)
    for unknown in (0, ask + 1, ask | (1 << 63), order_id(period + 1, False, 1)):
        with reverts(a.OrderUnknown, orderId=unknown):
            a.claim(unknown, sender=keeper)
        with reverts(a.OrderUnknown, orderId=unknown):
            a.getOrder(unknown)
        with reverts(a.OrderUnknown, orderId=unknown):
            a.getOrderOutcome(unknown)


def test_fee_rate_is_fixed_when_a_market_opens(a, admin, alice, bob, keeper, chain, period):
    """The setter's bounds and event; tests/test_auction_fee_snapshot.py has the rate's rules."""
    submit(a, alice, period, True, 10_000, 200)
    ask = submit(a, bob, period, False, 10_000, 100)
    with reverts(a.FeeTooHigh, feeBps=MAX_FEE_BPS + 1, maxFeeBps=MAX_FEE_BPS):
        a.setGridFee(MAX_FEE_BPS + 1, sender=admin)
    tx = a.setGridFee(200, sender=admin)
    assert_logs(tx, log(a.GridFeeUpdated, previousBps=FEE_BPS, newBps=200))
    assert a.gridFeeBps() == 200
    submit(a, alice, period + 1, True, 10_000, 200)
    later_ask = submit(a, bob, period + 1, False, 10_000, 100)
    close_gate(chain, period + 1)
    a.clear(period, sender=keeper)
    a.clear(period + 1, sender=keeper)
    gross = 10_000 * price(150) // 1_000
    assert a.getMarket(period).feeBps == FEE_BPS and a.getOrderOutcome(ask).fee == gross * FEE_BPS // 10_000
    assert a.getMarket(period + 1).feeBps == 200 and a.getOrderOutcome(later_ask).fee == gross * 200 // 10_000


def test_fee_recipient_change(a, admin, fee_recipient, stranger, alice, bob, keeper, chain, stablecoin, period):
    submit(a, alice, period, True, 10_000, 200)
    submit(a, bob, period, False, 10_000, 100)
    close_gate(chain, period)
    a.clear(period, sender=keeper)
    with reverts(a.InvalidFeeRecipient, feeRecipient=ZERO_ADDRESS):
        a.setFeeRecipient(ZERO_ADDRESS, sender=admin)
    tx = a.setFeeRecipient(stranger, sender=admin)
    assert_logs(tx, log(a.FeeRecipientUpdated, previousRecipient=fee_recipient.address, newRecipient=stranger.address))
    assert a.feeRecipient() == stranger.address
    accrued = a.accruedFees()
    assert accrued > 0
    with reverts(a.NotFeeRecipient, caller=fee_recipient.address, feeRecipient=stranger.address):
        a.withdrawFees(sender=fee_recipient)
    a.withdrawFees(sender=stranger)  # fees accrued before the change go to the new recipient
    assert stablecoin.balanceOf(stranger) == accrued


def test_admin_functions_refuse_strangers(a, stranger):
    for call in (
        lambda: a.setPriceGrid(MIN_PRICE, TICK_SIZE, MAX_PRICE, sender=stranger),
        lambda: a.setGridFee(10, sender=stranger),
        lambda: a.setFeeRecipient(stranger, sender=stranger),
        lambda: a.unpause(sender=stranger),
    ):
        with reverts(a.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=DEFAULT_ADMIN_ROLE):
            call()
    with reverts(a.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=PAUSER_ROLE):
        a.pause(sender=stranger)


def test_pause_stops_submission_but_never_clearing_or_claims(
    a, admin, alice, bob, keeper, fee_recipient, chain, energy_token, stablecoin, period
):
    bid = submit(a, alice, period, True, 1_000, 150)
    ask = submit(a, bob, period, False, 1_000, 100)
    submit(a, alice, period + 1, True, 1_000, 150)
    close_gate(chain, period)
    a.clear(period, sender=keeper)
    tx = a.pause(sender=admin)
    assert_logs(tx, log(a.Paused, account=admin.address))
    assert a.paused()
    with reverts(a.EnforcedPause):
        a.pause(sender=admin)
    with reverts(a.EnforcedPause):
        a.submitBid(period + 2, 1_000, MIN_PRICE, sender=alice)
    with reverts(a.EnforcedPause):
        a.submitAsk(period + 2, 1_000, MIN_PRICE, sender=bob)
    # The way out stays open: clearing, claims and the fee withdrawal.
    close_gate(chain, period + 1)
    a.clear(period + 1, sender=keeper)
    assert a.getMarket(period + 1).cleared
    a.claim(bid, sender=keeper)
    a.claim(ask, sender=keeper)
    a.withdrawFees(sender=fee_recipient)
    tx = a.unpause(sender=admin)
    assert_logs(tx, log(a.Unpaused, account=admin.address))
    with reverts(a.ExpectedPause):
        a.unpause(sender=admin)
    assert submit(a, alice, period + 3, True, 1_000, 0) >> 64 == period + 3


def test_token_reentry_is_refused(project, admin, energy_token, fee_recipient, alice, keeper, chain):
    cash = project.ReentrantToken.deploy(sender=admin)
    hostile = project.EnergyAuction.deploy(*deploy_args(admin, energy_token, cash, fee_recipient), sender=admin)
    cash.mint(alice, 10**12, sender=alice)
    cash.approve(hostile, MAX_UINT, sender=alice)
    period = open_period(chain)
    first = hostile.submitBid(period, 1_000, MIN_PRICE, sender=alice).return_value
    second = hostile.submitBid(period, 1_000, MIN_PRICE, sender=alice).return_value
    close_gate(chain, period)
    hostile.clear(period, sender=keeper)
    # The refund transfer of the first claim calls claim(second) from inside it.
    cash.arm(hostile, hostile.claim.encode_input(second), sender=alice)
    with reverts(hostile.ReentrancyGuardReentrantCall):
        hostile.claim(first, sender=keeper)
    assert cash.balanceOf(hostile) == 2 * cost_ceil(1_000, MIN_PRICE)
    assert not hostile.getOrder(first).claimed and not hostile.getOrder(second).claimed


def test_a_token_that_returns_false_is_refused(project, admin, energy_token, fee_recipient, alice, keeper, chain):
    """SafeERC20: a payment token whose transfer returns false does not count as paid."""
    cash = project.FailingToken.deploy(sender=admin)
    odd = project.EnergyAuction.deploy(*deploy_args(admin, energy_token, cash, fee_recipient), sender=admin)
    cash.mint(alice, 10**12, sender=alice)
    cash.approve(odd, MAX_UINT, sender=alice)
    period = open_period(chain)
    bid = odd.submitBid(period, 1_000, MIN_PRICE, sender=alice).return_value
    close_gate(chain, period)
    odd.clear(period, sender=keeper)
    cash.setMode(1, sender=alice)  # ReturnFalse
    with reverts(odd.SafeERC20FailedOperation, token=cash.address):
        odd.claim(bid, sender=keeper)
    assert not odd.getOrder(bid).claimed and cash.balanceOf(odd) == cost_ceil(1_000, MIN_PRICE)


# ----------------------------------------------------------------------------- the back-run


def test_the_back_run_gains_nothing_in_the_auction(a, alice, bob, carol, keeper, chain, energy_token, stablecoin, period):
    """The continuous book's back-run: a SELL at 0.10 rests, a BUY at 0.25 arrives, and an
    attacker adds a SELL at 0.25 and a BUY at 0.10 to sell to the buyer at 0.25 and buy the resting
    energy at 0.10. In the auction everyone trades at one price: the buyer and the honest seller trade
    with each other at the uniform price, the attacker's orders are outside it, and the attacker
    ends exactly where it started."""
    seller, buyer, attacker = alice, bob, carol
    t_010, t_025 = (100_000 - MIN_PRICE) // TICK_SIZE, (250_000 - MIN_PRICE) // TICK_SIZE
    before = holdings((energy_token, stablecoin), [seller, buyer, attacker])
    sell = submit(a, seller, period, False, 1_000, t_010)
    buy = submit(a, buyer, period, True, 1_000, t_025)
    attack_sell = submit(a, attacker, period, False, 1_000, t_025)
    attack_buy = submit(a, attacker, period, True, 1_000, t_010)
    _, m = cleared(a, chain, keeper, period)
    # D = 2,000 up to 0.10, 1,000 up to 0.25; S = 1,000 from 0.10, 2,000 from 0.25: 1,000 trades with
    # no imbalance strictly between them, and the price is that range's midpoint, 0.175.
    assert (m.clearingPricePerKWh, m.volumeWh, m.longSide) == (175_000, 1_000, NONE)
    assert fills(a, [sell, buy, attack_sell, attack_buy]) == [1_000, 1_000, 0, 0]
    for oid in (sell, buy, attack_sell, attack_buy):
        a.claim(oid, sender=keeper)
    after = holdings((energy_token, stablecoin), [seller, buyer, attacker])
    paid = cost_ceil(1_000, 175_000)
    assert after[2] == before[2]  # the attacker: no profit, no loss
    assert after[1] == (before[1][0] + 1_000, before[1][1] - paid)  # the buyer pays the uniform price, not 0.25
    fee = paid * FEE_BPS // 10_000
    assert after[0] == (before[0][0] - 1_000, before[0][1] + paid - fee)
