"""Edge cases across contracts: oracle data a consumer must refuse, rounding at 1 unit and at the
largest values the types allow, and every bounded batch at its maximum size under 8,000,000 gas.

Relied on, not repeated here:
- Oracles: test_price_discovery.py (missing, stale, zero, negative and future data of each source,
  the largest PriceOracle answer), test_price_oracle.py / test_regional_oracles.py and the weather and
  grid oracles' own modules (bounds, staleness, 15 reporters under 200k / 250k gas),
  test_energy_trading_price_band.py (stale data stops order creation under a price band).
- Rounding: test_settlement_fees.py (fees at 1 unit, 12 MWh at the price cap, tiny fills, escrow dust),
  test_energy_asset_shares.py (largest revenue over the largest share count), test_carbon_credits.py
  (largest retirement), test_energy_auction.py (largest order and tick volume at the minimum price).
- Bounds: test_energy_trading_book.py (32 crossings under 2,000,000 gas; pruneLevel's 64 entries),
  benchmarks (DemandResponse.distributeRewards, a batch of 50 fresh holders: 1,964,360 gas;
  DemandPrograms shares its RewardPool).

The bound tests send their hundreds of setup transactions through support.bulk_helpers.Bulk (unsigned,
each receipt's status checked); the measured transaction goes through ape.

Every gas figure measured here is printed (`GAS <operation>: <gas>`; run with -s to see them).
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import (
    AUCTION_GATE_CLOSURE_SECONDS,
    AUCTION_PERIOD_SECONDS,
    MARKET_REGION,
    ORACLE_HEARTBEAT_SECONDS,
)

from energy_grid.deploy.system import deploy_energy_auction
from energy_grid.domain.units import FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE, ZERO_ADDRESS

from support.auction_helpers import close_gate, open_period
from support.bulk_helpers import Bulk, fresh_addresses
from support.helpers import NO_FREEZE_QUERY, reverts, role
from support.market_helpers import BUY, SELL, book_on_own_vault, cost_ceil, create, crossing, reverts_from_reference
from support.oracle_helpers import mine_at

GAS_LIMIT = 8_000_000
MAX_UINT = 2**256 - 1
MAX_ORDER_AMOUNT_WH = 2**40 - 1  # EnergyTrading
PRICE_CAP_PER_KWH = 2**64 - 1  # EnergyTrading
MAX_FEE_BPS = 1_000
AUCTION_MAX_ORDER_WH = 2**36 - 1
AUCTION_MAX_PRICE_PER_KWH = 10**24
PRICE, WEATHER, GRID = 0, 1, 2
BAND_REGION = 3


@pytest.fixture(scope="module", autouse=True)
def _edge_accounts(admin, owner, other, stranger, keeper, fee_recipient, reporters, traders, accounts):
    """Resolves the session-scoped account fixtures before ape's per-test isolation (no rebasing)."""


def measured(operation: str, tx: Any) -> int:
    print(f"GAS {operation}: {tx.gas_used:,}")
    assert tx.gas_used < GAS_LIMIT, f"{operation}: {tx.gas_used:,} gas"
    return tx.gas_used


def mint_energy(energy_token: Any, admin: Any, holders: Any, amount_wh: int) -> None:
    """EnergyToken straight from METER_ROLE (granted to the test's admin), one batch."""
    energy_token.grantRole(role("METER_ROLE"), admin, sender=admin)
    energy_token.mintBatch([h.address if hasattr(h, "address") else h for h in holders], [amount_wh] * len(holders), sender=admin)


# ----------------------------------------------------------------------------- oracle data at the consumer


@pytest.fixture
def mock_band(project, admin, weather_oracle, grid_oracle, reporters, market, vault, energy_token, traders, chain):
    """The market's price band on a PriceDiscovery whose base price is a Chainlink-style MockPriceFeed;
    weather and grid data fresh; the seller (traders[0]) holds 10 kWh in its wallet, approved the book
    in the vault and allowed the vault its energy. Returns (market, discovery, feed, now)."""
    mint_energy(energy_token, admin, [traders[0]], 10_000)
    energy_token.approve(vault, MAX_UINT, sender=traders[0])
    vault.setMarketApproval(market, True, sender=traders[0])
    feed = project.MockPriceFeed.deploy(sender=admin)
    discovery = project.PriceDiscovery.deploy(
        admin, feed, weather_oracle, grid_oracle, 0, *(3 * [ORACLE_HEARTBEAT_SECONDS]), sender=admin
    )
    now = (chain.pending_timestamp // 86_400 + 1) * 86_400 + 12 * 3_600
    for reporter in reporters[:2]:  # two of three: a quorum
        chain.pending_timestamp = now
        weather_oracle.submitWeather(BAND_REGION, 500, 20_000, 0, 0, sender=reporter)
        chain.pending_timestamp = now
        grid_oracle.submitGridData(BAND_REGION, 50_000, 1_000, 10_000_000, 9_000_000, sender=reporter)
    market.setPriceBand(discovery, BAND_REGION, 1_000, sender=admin)
    return market, discovery, feed, now


@pytest.mark.parametrize(
    ("answer", "updated_after", "error", "fields"),
    [
        (None, 0, "MissingOracleData", lambda d, f, t: {"source": PRICE, "oracle": f.address}),
        (0, 0, "NonPositiveBasePrice", lambda d, f, t: {"oracle": f.address, "answer": 0}),
        (-1, 0, "NonPositiveBasePrice", lambda d, f, t: {"oracle": f.address, "answer": -1}),
        (-(2**255), 0, "NonPositiveBasePrice", lambda d, f, t: {"oracle": f.address, "answer": -(2**255)}),
        (
            200_000,
            2,
            "OracleDataFromFuture",
            lambda d, f, t: {"source": PRICE, "oracle": f.address, "updatedAt": t + 2, "blockTimestamp": t + 1},
        ),
        (
            200_000,
            -ORACLE_HEARTBEAT_SECONDS,
            "StaleOracleData",
            lambda d, f, t: {
                "source": PRICE,
                "oracle": f.address,
                "ageSeconds": ORACLE_HEARTBEAT_SECONDS + 1,
                "maxAgeSeconds": ORACLE_HEARTBEAT_SECONDS,
            },
        ),
    ],
    ids=["no-round", "zero", "negative", "int256-min", "one-second-ahead", "stale-by-one-second"],
)
def test_bad_feed_data_stops_banded_order_creation(
    mock_band, admin, seller, stablecoin, energy_token, chain, answer, updated_after, error, fields
):
    """A Chainlink-style feed answering what a consumer must refuse: order creation under the band
    reverts with PriceDiscovery's error, and nothing moves."""
    market, discovery, feed, now = mock_band
    if answer is not None:
        feed.setLatestRound(answer, now + updated_after, sender=admin)
    energy_token.approve(market, MAX_UINT, sender=seller)
    before = (energy_token.balanceOf(seller), energy_token.balanceOf(market))
    chain.pending_timestamp = now + 1
    with reverts_from_reference(getattr(discovery, error), **fields(discovery, feed, now)):
        market.createOrder(1_000, 200_000, now + 3_600, SELL, sender=seller)
    assert (energy_token.balanceOf(seller), energy_token.balanceOf(market)) == before


def test_feed_data_at_the_edges(mock_band, admin, seller, energy_token, chain):
    """An answer updated in this very block (age 0) is read (exactly max age: test_price_discovery.py;
    one second more: the stale case above). A base price of 1 unit per kWh rounds to a reference of 0 under
    factors below x1: the band [0, 0] then refuses every order (fail closed), never a price of 0."""
    market, discovery, feed, now = mock_band
    energy_token.approve(market, MAX_UINT, sender=seller)
    feed.setLatestRound(1, now + 5, sender=admin)
    mine_at(chain, now + 5)
    assert discovery.getReferencePrice(BAND_REGION) == 0  # age 0 accepted; 1 x 0.97 rounds down
    chain.pending_timestamp = now + 6
    with reverts(market.PriceOutsideBand, pricePerKWh=1, minPricePerKWh=0, maxPricePerKWh=0):
        market.createOrder(1_000, 1, now + 3_600, SELL, sender=seller)
    # A sound answer in the same block: the band opens around it.
    feed.setLatestRound(200_000, now + 10, sender=admin)
    mine_at(chain, now + 10)
    reference = discovery.getReferencePrice(BAND_REGION)
    assert 0 < reference < 200_000
    chain.pending_timestamp = now + 11
    tx = market.createOrder(1_000, reference, now + 7_200, SELL, sender=seller)
    assert len(tx.events.filter(market.OrderCreated)) == 1


def test_an_absurdly_large_feed_answer_is_refused_with_a_custom_error(mock_band, admin, chain):
    _market, discovery, feed, now = mock_band
    feed.setLatestRound(2**255 - 1, now, sender=admin)
    chain.pending_timestamp = now + 1
    chain.mine()
    with pytest.raises(Exception) as info:
        discovery.getReferencePrice(BAND_REGION)
    message = getattr(info.value, "revert_message", "") or ""
    assert "Panic" not in message and "0x4e487b71" not in message and "overflow" not in message.lower(), message


# ----------------------------------------------------------------------------- rounding: 1 unit and the largest values


def test_one_wh_at_one_unit_per_kwh(project, admin, energy_token, fee_recipient, traders, keeper, chain):
    """1 Wh at 1 per kWh costs 0.001 units: the buyer escrows 1 (rounded up), the seller gets it all
    (a fee of 0.5 % of 1 rounds to 0), and the market keeps nothing."""
    seller, buyer = traders[0], traders[1]
    cash = project.ReentrantToken.deploy(sender=admin)  # never armed: a mintable ERC-20
    own_vault, market = book_on_own_vault(project, admin, energy_token, cash, fee_recipient, 50, [seller, buyer])
    mint_energy(energy_token, admin, [seller], 1)
    cash.mint(buyer, 1, sender=buyer)
    expiry = chain.pending_timestamp + 3_600
    create(market, seller, 1, 1, SELL, expiry)
    _, (trade,) = crossing(market, buyer, 1, 1, BUY, expiry)
    market.settleTransaction(trade, sender=keeper)
    assert cash.balanceOf(buyer) == 0  # its unit was pulled into the vault
    assert (own_vault.balancesOf(buyer), own_vault.balancesOf(seller), own_vault.balancesOf(market)) == ((1, 0), (0, 1), (0, 0))
    assert market.accruedFees() == 0


def test_the_largest_order_at_the_price_cap_with_the_largest_fee(project, admin, energy_token, fee_recipient, traders, keeper, chain):
    """MAX_ORDER_AMOUNT_WH at PRICE_CAP_PER_KWH (about 2^94 base units) with a 10 % fee: every unit
    accounted for, the fee withdrawn whole."""
    seller, buyer = traders[0], traders[1]
    cash = project.ReentrantToken.deploy(sender=admin)
    own_vault, market = book_on_own_vault(project, admin, energy_token, cash, fee_recipient, MAX_FEE_BPS, [seller, buyer])
    mint_energy(energy_token, admin, [seller], MAX_ORDER_AMOUNT_WH)
    escrow = cost_ceil(MAX_ORDER_AMOUNT_WH, PRICE_CAP_PER_KWH)
    cash.mint(buyer, escrow, sender=buyer)
    expiry = chain.pending_timestamp + 3_600
    create(market, seller, MAX_ORDER_AMOUNT_WH, PRICE_CAP_PER_KWH, SELL, expiry)
    _, (trade,) = crossing(market, buyer, MAX_ORDER_AMOUNT_WH, PRICE_CAP_PER_KWH, BUY, expiry)
    market.settleTransaction(trade, sender=keeper)
    fee = escrow * MAX_FEE_BPS // 10_000
    assert escrow > 2**93  # within the vault's 112-bit reserve
    assert (own_vault.balancesOf(seller), own_vault.balancesOf(buyer)) == ((0, escrow - fee), (MAX_ORDER_AMOUNT_WH, 0))
    assert own_vault.balancesOf(market) == (0, fee) and market.accruedFees() == fee
    market.withdrawFees(sender=fee_recipient)
    assert own_vault.balancesOf(fee_recipient) == (0, fee) and own_vault.balancesOf(market) == (0, 0)
    assert cash.balanceOf(own_vault) == escrow


def _auction(project, admin, energy_token, cash, fee_recipient, grid, fee_bps=50):
    """An EnergyAuction of firm orders only (no meter registry) on a fresh EnergyVault of
    `energy_token` and `cash`, registered there as a market; returns the auction and the vault."""
    vault = project.EnergyVault.deploy(admin, energy_token, cash, NO_FREEZE_QUERY, sender=admin)
    auction = deploy_energy_auction(project,
        admin, vault, ZERO_ADDRESS, fee_recipient, fee_bps, AUCTION_PERIOD_SECONDS, AUCTION_GATE_CLOSURE_SECONDS, *grid, sender=admin
    )
    vault.registerMarket(auction, sender=admin)
    return auction, vault


def _join(vault: Any, auction: Any, trader: Any, token: Any, amount: int) -> None:
    """The trader deposits `amount` of `token` into the vault and approves the auction as a market of its balance."""
    token.approve(vault, amount, sender=trader)
    vault.deposit(token, amount, sender=trader)
    vault.setMarketApproval(auction, True, sender=trader)


def _clear_and_claim(auction, chain, keeper, period, orders):
    close_gate(chain, period)  # no meter registry: the market clears at its gate closure
    auction.clear(period, sender=keeper)
    for order in orders:
        auction.claim(order, sender=keeper)


def test_auction_one_wh_at_one_unit_per_kwh(project, admin, energy_token, fee_recipient, traders, keeper, chain):
    """The bidder pays ceil(0.001) = 1, the seller's gross floor(0.001) = 0: the rounding unit goes
    to the fee recipient, and the auction keeps nothing."""
    seller, buyer = traders[0], traders[1]
    cash = project.ReentrantToken.deploy(sender=admin)
    auction, vault = _auction(project, admin, energy_token, cash, fee_recipient, (1, 1, 256))
    mint_energy(energy_token, admin, [seller], 1)
    cash.mint(buyer, 1, sender=buyer)
    _join(vault, auction, seller, energy_token, 1)
    _join(vault, auction, buyer, cash, 1)
    period = open_period(chain)
    ask = auction.submitAsk(period, 1, 1, sender=seller).return_value
    bid = auction.submitBid(period, 1, 1, sender=buyer).return_value
    _clear_and_claim(auction, chain, keeper, period, [bid, ask])
    assert auction.getMarket(period).clearingPricePerKWh == 1
    auction.withdrawFees(sender=fee_recipient)
    balances = [vault.balancesOf(a) for a in (buyer, seller, fee_recipient, auction)]
    assert balances == [(1, 0), (0, 0), (0, 1), (0, 0)]
    assert vault.reserves() == (1, 1) == (energy_token.balanceOf(vault), cash.balanceOf(vault))
    vault.withdraw(cash, 1, fee_recipient, sender=fee_recipient)
    assert (cash.balanceOf(buyer), cash.balanceOf(seller), cash.balanceOf(fee_recipient)) == (0, 0, 1)
    assert cash.balanceOf(auction) == 0 and energy_token.balanceOf(auction) == 0


def test_auction_largest_order_at_the_largest_price(project, admin, energy_token, fee_recipient, traders, keeper, chain):
    """MAX_ORDER_WH at MAX_PRICE_PER_KWH (about 6.9 x 10^31 base units) with the largest fee: payments,
    proceeds and fees add up to the escrow exactly, and the auction ends holding nothing."""
    seller, buyer = traders[0], traders[1]
    cash = project.ReentrantToken.deploy(sender=admin)
    tick = 10**21
    grid = (AUCTION_MAX_PRICE_PER_KWH - 255 * tick, tick, AUCTION_MAX_PRICE_PER_KWH)
    auction, vault = _auction(project, admin, energy_token, cash, fee_recipient, grid, MAX_FEE_BPS)
    mint_energy(energy_token, admin, [seller], AUCTION_MAX_ORDER_WH)
    escrow = cost_ceil(AUCTION_MAX_ORDER_WH, AUCTION_MAX_PRICE_PER_KWH)
    cash.mint(buyer, escrow, sender=buyer)
    _join(vault, auction, seller, energy_token, AUCTION_MAX_ORDER_WH)
    _join(vault, auction, buyer, cash, escrow)
    period = open_period(chain)
    ask = auction.submitAsk(period, AUCTION_MAX_ORDER_WH, AUCTION_MAX_PRICE_PER_KWH, sender=seller).return_value
    bid = auction.submitBid(period, AUCTION_MAX_ORDER_WH, AUCTION_MAX_PRICE_PER_KWH, sender=buyer).return_value
    _clear_and_claim(auction, chain, keeper, period, [bid, ask])
    auction.withdrawFees(sender=fee_recipient)
    gross = AUCTION_MAX_ORDER_WH * AUCTION_MAX_PRICE_PER_KWH // 1_000
    fee = gross * MAX_FEE_BPS // 10_000
    assert escrow == gross == (2**36 - 1) * 10**21
    balances = [vault.balancesOf(a) for a in (seller, fee_recipient, buyer, auction)]
    assert balances == [(0, gross - fee), (0, fee), (AUCTION_MAX_ORDER_WH, 0), (0, 0)]
    assert vault.reserves() == (AUCTION_MAX_ORDER_WH, escrow) == (energy_token.balanceOf(vault), cash.balanceOf(vault))
    vault.withdraw(cash, gross - fee, seller, sender=seller)
    vault.withdraw(cash, fee, fee_recipient, sender=fee_recipient)
    assert (cash.balanceOf(seller), cash.balanceOf(fee_recipient), cash.balanceOf(buyer)) == (gross - fee, fee, 0)
    assert cash.balanceOf(auction) == 0 and energy_token.balanceOf(auction) == 0


# ----------------------------------------------------------------------------- batches at their maximum size


def _meter_batch(smart_meter, admin, chain, size):
    """`size` new meters, each registered (registers 0) to an owner who never held EnergyToken."""
    meters, owners = fresh_addresses("meter", size), fresh_addresses("meter owner", size)
    bulk = Bulk(chain)
    for meter, owner in zip(meters, owners, strict=True):
        bulk.send(admin, smart_meter, "registerMeter", meter, owner, MARKET_REGION, 0, 0)
    return meters, owners


def _readings(smart_meter, admin, chain, meters, ts, produced_wh):
    chain.pending_timestamp = ts
    reading = (ts, 0, produced_wh, FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE)
    return smart_meter.submitReadings(meters, [reading] * len(meters), sender=admin)


def test_submit_readings_at_the_largest_batch_first_readings(smart_meter, energy_token, admin, chain):
    """MAX_BATCH_SIZE meters' first readings, each minting to a fresh owner: the worst case."""
    size = smart_meter.MAX_BATCH_SIZE()
    meters, owners = _meter_batch(smart_meter, admin, chain, size)
    tx = _readings(smart_meter, admin, chain, meters, chain.pending_timestamp + 900, 1_500)
    assert [energy_token.balanceOf(o) for o in owners] == [1_500] * size
    measured(f"SmartMeter.submitReadings x{size} (first readings, fresh owners)", tx)


def test_submit_readings_at_the_largest_batch_steady(smart_meter, energy_token, admin, chain):
    """MAX_BATCH_SIZE meters reporting again an interval later (their owners hold EnergyToken)."""
    size = smart_meter.MAX_BATCH_SIZE()
    meters, owners = _meter_batch(smart_meter, admin, chain, size)
    ts = chain.pending_timestamp + 900
    for half in (meters[: size // 2], meters[size // 2 :]):
        _readings(smart_meter, admin, chain, half, ts, 1_500)
    ts += max(smart_meter.minReadingInterval(), 900)
    tx = _readings(smart_meter, admin, chain, meters, ts, 3_000)
    measured(f"SmartMeter.submitReadings x{size} (steady)", tx)
    assert [energy_token.balanceOf(o) for o in owners] == [3_000] * size


def test_mint_batch_at_the_smart_meters_batch_size(energy_token, smart_meter, admin):
    """EnergyToken.mintBatch has no bound of its own: its minter, SmartMeter, sends at most
    MAX_BATCH_SIZE; measured there, to holders who never held EnergyToken."""
    size = smart_meter.MAX_BATCH_SIZE()
    holders = fresh_addresses("holder", size)
    energy_token.grantRole(role("METER_ROLE"), admin, sender=admin)
    tx = energy_token.mintBatch(holders, [1] * size, sender=admin)
    measured(f"EnergyToken.mintBatch x{size} (fresh holders)", tx)
    assert [energy_token.balanceOf(h) for h in holders] == [1] * size


def test_settle_transactions_at_the_largest_batch(market, vault, energy_token, stablecoin, admin, keeper, fee_recipient, chain):
    """MAX_SETTLEMENT_BATCH trades, each between a seller who has never held the stablecoin and a
    buyer who has never held EnergyToken, each with a price-improvement refund: the worst case."""
    size = market.MAX_SETTLEMENT_BATCH()
    assert size == 50
    sellers, buyers = fresh_addresses("seller", size), fresh_addresses("buyer", size)
    bulk = Bulk(chain)
    bulk.set_balance(sellers + buyers, 10**18)  # gas money and nothing else
    mint_energy(energy_token, admin, sellers, 1_000)
    expiry = chain.pending_timestamp + 86_400
    first_block = chain.blocks.head.number + 1
    with bulk.impersonating(sellers + buyers):
        for seller, buyer in zip(sellers, buyers, strict=True):
            bulk.send(seller, energy_token, "approve", vault, MAX_UINT)
            bulk.send(seller, vault, "setMarketApproval", market, True)
            bulk.send(admin, stablecoin, "addConsumerBalance", buyer, 1)
            bulk.send(buyer, stablecoin, "approve", vault, MAX_UINT)
            bulk.send(buyer, vault, "setMarketApproval", market, True)
            bulk.send(seller, market, "createOrder", 1_000, 200_000, expiry, SELL)
            bulk.send(buyer, market, "createOrder", 1_000, 250_000, expiry, BUY)
    last_block = chain.blocks.head.number
    trader = {e.orderId: e.trader for e in market.OrderCreated.range(first_block, last_block + 1)}
    matches = list(market.OrdersMatched.range(first_block, last_block + 1))
    # Each buyer's order crossed its own seller's resting order, once.
    assert [(trader[e.buyOrderId], trader[e.sellOrderId]) for e in matches] == list(zip(buyers, sellers, strict=True))
    trades = [e.transactionId for e in matches]
    tx = market.settleTransactions(trades, sender=keeper)
    measured(f"EnergyTrading.settleTransactions x{size} (fresh parties, refunds)", tx)
    fee = 200_000 * 50 // 10_000
    # Credited in the vault: proceeds to the sellers, energy and the price improvement to the buyers.
    assert [vault.balancesOf(s) for s in sellers] == [(0, 200_000 - fee)] * size
    assert [vault.balancesOf(b) for b in buyers] == [(1_000, 50_000)] * size
    assert vault.balancesOf(market) == (0, market.accruedFees()) == (0, fee * size)


def test_auction_clear_with_every_tick_occupied(funded_auction, auction_traders, keeper, chain):
    """The widest market: a bid and an ask at each of the 256 ticks."""
    a = funded_auction
    assert a.tickCount() == a.MAX_TICKS() == 256
    period = open_period(chain)
    buyers, sellers = auction_traders[:3], auction_traders[3:]
    bulk = Bulk(chain)
    min_price, tick_size = a.minPrice(), a.tickSize()
    for tick in range(256):
        price = min_price + tick * tick_size
        bulk.send(buyers[tick % 3], a, "submitBid", period, 1_000, price)
        bulk.send(sellers[tick % 3], a, "submitAsk", period, 1_000, price)
    close_gate(chain, period)
    tx = a.clear(period, sender=keeper)
    measured("EnergyAuction.clear (256 ticks, bid and ask at each)", tx)
    market = a.getMarket(period)
    assert market.cleared and market.volumeWh == 128_000  # D(p) = S(p) between ticks 127 and 128


def test_emergency_shutdown_with_the_most_targets(project, grid_management, admin, vault, fee_recipient):
    """MAX_SHUTDOWN_TARGETS pausable contracts, each paused by the guardian's one call."""
    size = grid_management.MAX_SHUTDOWN_TARGETS()
    targets = [project.EnergyTrading.deploy(admin, vault, fee_recipient, 50, 1, sender=admin) for _ in range(size)]
    for target in targets:
        target.grantRole(target.PAUSER_ROLE(), grid_management, sender=admin)
    grid_management.setShutdownTargets(targets, sender=admin)
    grid_management.grantRole(grid_management.GUARDIAN_ROLE(), admin, sender=admin)
    tx = grid_management.emergencyShutdown(sender=admin)
    measured(f"GridManagement.emergencyShutdown ({size} targets)", tx)
    assert all(t.paused() for t in targets)
    with reverts(grid_management.TooManyShutdownTargets, count=size + 1, maxCount=size):
        grid_management.setShutdownTargets([*targets, targets[0]], sender=admin)
