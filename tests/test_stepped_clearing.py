"""SteppedClearing: a coupled market cleared in steps that anyone may call, for markets too large for one
transaction.

Every market here is placed through the auction, cleared in steps of a few occupied ticks (so that
every stage is cut between zones, and a zone's walks meet sums kept from earlier steps), recorded by the
auction's `clear`, and checked three ways: the steps' result equals MarketZones' one-transaction
preview word for word, every zone's price, flow and fills equal the Python reference, and the reference
is optimal by the linear program. The full book of 34 zones × 256 ticks is `make bench`'s.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from ape.exceptions import ContractLogicError
from eth_abi import encode
from eth_utils import keccak

from support.auction_helpers import PERIOD_SECONDS, close_gate, open_period
from support.helpers import ZERO_ADDRESS, assert_logs, deploy_reverts, log, reverts, unexercised_abi_items
from support.zone_markets import FINISHED, ZONES, clear_and_check, place, run_steps

HILL, TOWN = 1, 2  # operated by the fixtures' grid operators; regions 3 to 6 have no load report (no limit)
REGIONS = (1, 2, 3, 4, 5, 6)
STEPS, ZONES_STAGE = 1, 2  # ISteppedClearing.Stage


@pytest.fixture(scope="module")
def zones(project, admin, funded_auction, grid_management, grid_operations, grid_operator):
    grid_operations.reportLoad(HILL, 100, 40, sender=grid_operator)
    deployed = project.MarketZones.deploy(admin, funded_auction, grid_management, grid_operations, sender=admin)
    for region in REGIONS:
        deployed.addZone(region, sender=admin)
    funded_auction.setMarketZones(deployed, sender=admin)
    return deployed


@pytest.fixture(scope="module")
def stepped(project, admin, zones):
    deployed = project.SteppedClearing.deploy(zones, sender=admin)
    tx = zones.setSteppedClearing(deployed, sender=admin)
    assert_logs(tx, log(zones.SteppedClearingSet, stepped=deployed.address))
    return deployed


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(zones, stepped, vault, auction_traders, fee_recipient, stranger):
    """Deploy everything before any test's own state (ape isolation)."""


@pytest.fixture
def a(funded_auction):
    return funded_auction


def place_book(a: Any, traders: Any, period: int, rng: random.Random, regions: list[int], count: int) -> list[tuple]:
    """Places `count` random orders in `regions` (0: the bus); returns the book as clear_and_check reads it."""
    book = []
    for _ in range(count):
        region = rng.choice(regions)
        is_bid = rng.random() < 0.5
        amount, tick = rng.randint(1, 6_000), rng.randint(0, 60) * 3
        book.append((region, place(a, rng.choice(traders), region, period, is_bid, amount, tick), is_bid, amount, tick))
    return book


def test_random_markets_cleared_in_small_steps_equal_one_transaction_and_the_reference(
    a, zones, stepped, fee_recipient, auction_traders, grid_operator, other_region_operator, chain
):
    """Random books in up to six zones and on the bus, Hill's and Town's links lowered at random (zero
    included), each cleared in steps of 1 to 12 occupied ticks."""
    rng = random.Random(2026)
    for _ in range(6):
        period = open_period(chain)
        limits = {}
        for region, operator in ((HILL, grid_operator), (TOWN, other_region_operator)):
            zones.setLinkLimits(region, period, 1, rng.choice([0, 3, 12, 400]), rng.choice([0, 5, 400]), sender=operator)
            limits[region] = tuple(zones.linkLimitsWh(region, period))
        regions = rng.sample([0, *REGIONS], rng.randint(2, 7))
        book = place_book(a, auction_traders, period, rng, regions, rng.randint(8, 24))
        if all(region == 0 for region, *_ in book):
            book += place_book(a, auction_traders, period, rng, [HILL], 1)
        clear_and_check(a, zones, chain, fee_recipient, period, book, limits, stepped=stepped, max_ticks=rng.randint(1, 12))


def test_markets_sixteen_periods_apart_share_book_words_and_each_clears_in_steps_on_its_own_orders(
    a, zones, stepped, fee_recipient, auction_traders, chain
):
    """Orders for the market 16 periods later (BookWords.RING_PERIODS) arrive between a market's own, in the
    same zones and neighbouring ticks, so that they take its book words while it is open and its later
    orders join words of its own: it still clears in steps as the reference clears its own orders, and
    the later market does too."""
    rng = random.Random(16)
    period = open_period(chain)
    later = period + 16
    books: dict[int, list[tuple]] = {period: [], later: []}
    for i in range(24):
        market = (period, later)[i % 2]
        region, is_bid = (0, HILL, TOWN)[rng.randrange(3)], rng.random() < 0.5
        amount, tick = rng.randint(1, 6_000), rng.randint(0, 11)
        books[market].append((region, place(a, rng.choice(auction_traders), region, market, is_bid, amount, tick), is_bid, amount, tick))
    # Some of the earlier market's volumes now live in words of its own (keyed by its book, as before words were shared).
    own_keys = {(((period << 8) | region) << 8) | tick // 3 for region, *_, tick in books[period]}
    slots = [keccak(encode(["uint256", "uint256"], [key, a.bookSlots().ticks])) for key in own_keys]
    assert any(int.from_bytes(word, "big") for word in a.extsload(slots))
    for market, book in books.items():
        limits = {region: tuple(zones.linkLimitsWh(region, market)) for region in (HILL, TOWN)}
        clear_and_check(a, zones, chain, fee_recipient, market, book, limits, stepped=stepped, max_ticks=rng.randint(1, 6))


def test_each_step_takes_the_next_zones_while_their_ticks_fit_and_at_least_one(a, zones, stepped, auction_traders, stranger, chain):
    """Three zones of four occupied ticks each: steps of four ticks take one zone each, a step of one
    tick still takes a whole zone, and a step of nine takes two; both stages run over every zone."""
    period = open_period(chain)
    for region in (HILL, TOWN, 3):
        for tick in range(4):
            place(a, auction_traders[0], region, period, tick % 2 == 0, 1_000 + region, 10 + 10 * region + tick)
    close_gate(chain, period)
    tx = stepped.step(period, 4, sender=stranger)
    assert_logs(tx, log(stepped.ClearingStepped, period=period, stage=STEPS, zonesLeft=2, caller=stranger.address))
    assert stepped.stageOf(period) == (STEPS, 2)
    stepped.step(period, 1, sender=stranger)
    assert stepped.stageOf(period) == (STEPS, 1)
    stepped.step(period, 4, sender=stranger)
    assert stepped.stageOf(period) == (ZONES_STAGE, 3)
    stepped.step(period, 9, sender=stranger)
    assert stepped.stageOf(period) == (ZONES_STAGE, 1)
    tx = stepped.step(period, 10**9, sender=stranger)  # capped at MAX_STEP_TICKS: the last zone
    assert_logs(tx, log(stepped.ClearingStepped, period=period, stage=FINISHED, zonesLeft=0, caller=stranger.address))
    assert stepped.stageOf(period) == (FINISHED, 0)
    assert stepped.result(period) == zones.clearMarket(period)


def test_steps_wait_for_the_clearing_time_and_stop_when_final(a, zones, stepped, fee_recipient, auction_traders, chain):
    period = open_period(chain)
    place(a, auction_traders[0], HILL, period, False, 2_000, 10)
    place(a, auction_traders[1], TOWN, period, True, 1_500, 40)
    opens_at = a.clearingTime(period)
    with reverts(stepped.StepsNotOpen, period=period, opensAt=opens_at):
        stepped.step(period, 10, sender=fee_recipient)
    with reverts(stepped.StepsNotFinished, period=period):
        stepped.result(period)
    close_gate(chain, period)
    assert stepped.stageOf(period) == (0, 0)
    assert run_steps(stepped, period, fee_recipient, 10) == 2  # one step per stage
    with reverts(stepped.StepsFinished, period=period):
        stepped.step(period, 10, sender=fee_recipient)
    a.clear(period, sender=fee_recipient)
    assert a.getMarket(period).longSide == ZONES
    assert zones.getZoneResult(period, HILL).netExportWh == 1_500


def test_a_market_cleared_in_one_transaction_takes_no_more_steps(a, zones, stepped, fee_recipient, auction_traders, chain):
    """Steps half done do not bind the auction: its clear computes the same result itself, after which
    the steps refuse."""
    period = open_period(chain)
    place(a, auction_traders[0], HILL, period, False, 2_000, 10)
    place(a, auction_traders[1], 3, period, True, 1_500, 40)
    close_gate(chain, period)
    stepped.step(period, 10, sender=fee_recipient)
    preview = zones.clearMarket(period)
    a.clear(period, sender=fee_recipient)
    assert [zones.getZoneResult(period, zone).clearingTick for zone in (HILL, 3)] == [preview.busTick] * 2
    with reverts(stepped.MarketAlreadyCleared, period=period):
        stepped.step(period, 10, sender=fee_recipient)
    with reverts(stepped.StepsNotFinished, period=period):
        stepped.result(period)


# ---- A run's inputs are frozen at its first step, and a result that does not balance is never recorded ----


def mapping_slot(key: int, base_slot: int) -> int:
    return int.from_bytes(keccak(encode(["uint256", "uint256"], [key, base_slot])), "big")


def storage_word(chain: Any, contract: Any, slot: int) -> int:
    return int(chain.provider.make_request("eth_getStorageAt", [contract.address, hex(slot), "latest"]), 16)


def set_storage_word(chain: Any, contract: Any, slot: int, word: int) -> None:
    chain.provider.make_request("anvil_setStorageAt", [contract.address, hex(slot), f"0x{word:064x}"])


def limits_slot(zones: Any, grid_operator: Any, chain: Any, period: int) -> int:
    """The slot of Hill's limits for `period` in MarketZones, found by setting them while its gate is open."""
    zones.setLinkLimits(HILL, period, 1, 6, 7, sender=grid_operator)
    word = 7 | (8 << 128)  # each limit plus one
    book = period << 8 | 1
    found = [slot for base in range(12) if storage_word(chain, zones, slot := mapping_slot(book, base)) == word]
    assert len(found) == 1
    return found[0]


def coupled_book(a: Any, auction_traders: Any, period: int) -> None:
    """Hill sells 20,000 Wh at tick 0, Town buys 20,000 Wh at tick 100: Hill's export link decides the trade."""
    place(a, auction_traders[0], HILL, period, False, 20_000, 0)
    place(a, auction_traders[1], TOWN, period, True, 20_000, 100)


def test_a_run_keeps_the_link_limits_it_started_with(
    a, zones, stepped, fee_recipient, auction_traders, grid_operator, chain
):
    """A limit of the period that changes after the run's first step (here written straight into MarketZones'
    storage, as an aliased period once could) does not reach the run: its later stages read the limits its
    first step froze, so the result balances and equals the preview from before the change."""
    period = open_period(chain)
    slot = limits_slot(zones, grid_operator, chain, period)  # Hill: 6 kW in, 7 kW out
    coupled_book(a, auction_traders, period)
    close_gate(chain, period)
    stepped.step(period, 1, sender=fee_recipient)  # STEPS: Hill, at the limits of now
    preview = zones.clearMarket(period)
    set_storage_word(chain, zones, slot, 1 | (1 << 128))  # Hill's link closed both ways
    assert zones.linkLimitsKW(HILL, period) == (0, 0)
    run_steps(stepped, period, fee_recipient, 1)
    assert stepped.result(period) == preview
    tx = a.clear(period, sender=fee_recipient)
    assert not [e for e in tx.events if e.event_name == "SteppedResultRefused"]
    assert zones.getZoneResult(period, HILL).netExportWh == 7 * PERIOD_SECONDS * 5 // 18 == preview.boughtWh


def test_a_stepped_result_whose_zones_do_not_balance_is_refused_and_the_market_clears_in_one_transaction(
    a, zones, stepped, fee_recipient, auction_traders, chain
):
    period = open_period(chain)
    coupled_book(a, auction_traders, period)
    close_gate(chain, period)
    run_steps(stepped, period, fee_recipient, 1)
    honest = stepped.result(period)
    # Hill's result word in the steps' storage claims 1 Wh more export than Town imports.
    hill_word = next(
        slot for base in range(8) if storage_word(chain, stepped, slot := mapping_slot(period << 8 | HILL, base)) == honest.zoneResults[0]
    )
    set_storage_word(chain, stepped, hill_word, honest.zoneResults[0] + (1 << 192))
    tx = a.clear(period, sender=fee_recipient)
    assert_logs_contain(tx, zones.SteppedResultRefused, period=period)
    assert [zones.getZoneResult(period, zone).netExportWh for zone in (HILL, TOWN)] == [20_000, -20_000]
    assert a.getMarket(period).volumeWh == honest.soldWh == 20_000


def test_steps_whose_sellers_would_net_more_than_buyers_pay_give_no_result(
    a, zones, stepped, fee_recipient, auction_traders, chain
):
    """The steps' totals (Wh bought, paid, Wh sold, netted) end the run's sums: sellers netting more than
    buyers pay is refused by name rather than wrapped, and the auction then clears in one transaction."""
    period = open_period(chain)
    coupled_book(a, auction_traders, period)
    close_gate(chain, period)
    run_steps(stepped, period, fee_recipient, 1)
    honest = stepped.result(period)
    kept = mapping_slot(period, 1)  # _kept: baseWh, stepBits, 4 bus sides, 2 running, rent, then the totals
    paid, netted = storage_word(chain, stepped, kept + 10), storage_word(chain, stepped, kept + 12)
    assert paid - netted == honest.surplus
    set_storage_word(chain, stepped, kept + 12, paid + 1)
    with reverts(stepped.StepsUnbalanced, period=period):
        stepped.result(period)
    tx = a.clear(period, sender=fee_recipient)
    assert_logs_contain(tx, zones.SteppedResultRefused, period=period)
    assert a.getMarket(period).volumeWh == 20_000


def assert_logs_contain(tx: Any, event: Any, **fields: Any) -> None:
    found = [e for e in tx.events if e.event_name == event.name]
    assert [{k: e.event_arguments[k] for k in fields} for e in found] == [fields]


def test_a_market_on_the_bus_alone_has_no_steps(a, stepped, fee_recipient, auction_traders, chain):
    period = open_period(chain)
    place(a, auction_traders[0], 0, period, False, 2_000, 10)
    close_gate(chain, period)
    with reverts(stepped.NoZonedOrders, period=period):
        stepped.step(period, 10, sender=fee_recipient)


def test_the_stepped_clearing_is_set_once_by_the_admin_for_these_zones(
    project, a, zones, stepped, admin, stranger, grid_management, grid_operations
):
    assert zones.steppedClearing() == stepped.address
    assert stepped.marketZones() == zones.address
    assert stepped.MAX_STEP_TICKS() >= 256
    with pytest.raises(ContractLogicError):
        zones.setSteppedClearing(stepped, sender=stranger)
    with reverts(zones.SteppedClearingAlreadySet, current=stepped.address):
        zones.setSteppedClearing(stepped, sender=admin)
    # Only the steps mark a market as begun (its clear then asks for their result).
    with reverts(zones.NotSteppedClearing, caller=stranger.address):
        zones.beginSteps(1, sender=stranger)
    other_zones = project.MarketZones.deploy(admin, a, grid_management, grid_operations, sender=admin)
    with reverts(other_zones.SteppedClearingMismatch, stepped=stepped.address, itsZones=zones.address):
        other_zones.setSteppedClearing(stepped, sender=admin)
    with deploy_reverts(project.SteppedClearing.ZeroAddress):
        project.SteppedClearing.deploy(ZERO_ADDRESS, sender=admin)


def test_every_stepped_clearing_function_error_and_event_is_exercised():
    # A run starts only once its market may clear, so the periods it keys books by are real ones.
    exempt = {"PeriodOutOfRange"}
    assert unexercised_abi_items("SteppedClearing", ["test_stepped_clearing.py"], ("function", "event", "error"), exempt) == []



# ---- The ends of the range of balancing ticks ----


def test_an_import_bound_zone_prices_above_the_middle_of_the_balancing_ticks_in_steps(
    a, zones, stepped, fee_recipient, auction_traders, other_region_operator, chain
):
    """Hill sells 1,000 Wh at tick 10; Town bids 1,000 Wh at tick 50 behind a 500 Wh import limit; the bus
    bids 500 Wh at tick 60. Everything trades but half of Town's bid: the bus balances from Hill's ask at 10
    to Town's bid at 50 and prices at their middle, 30, where Hill and the bus trade; Town's rationed bid
    sets its own price, 50, above the bus. The steps keep the sums up to the highest balancing tick and
    must reach the one-transaction result."""
    period = open_period(chain)
    zones.setLinkLimits(TOWN, period, 1, 2, 400, sender=other_region_operator)  # 2 kW: 500 Wh in
    limits = {region: tuple(zones.linkLimitsWh(region, period)) for region in (HILL, TOWN)}
    assert limits[TOWN][0] == 500
    book = [
        (HILL, place(a, auction_traders[0], HILL, period, False, 1_000, 10), False, 1_000, 10),
        (TOWN, place(a, auction_traders[1], TOWN, period, True, 1_000, 50), True, 1_000, 50),
        (0, place(a, auction_traders[2], 0, period, True, 500, 60), True, 500, 60),
    ]
    expected = clear_and_check(a, zones, chain, fee_recipient, period, book, limits, stepped=stepped, max_ticks=1)
    assert expected.net_export_wh == {0: -500, HILL: 1_000, TOWN: -500}
    assert (expected.bus_tick, expected.zone_ticks) == (30, {0: 30, HILL: 30, TOWN: 50})


def test_a_market_of_bids_only_finishes_its_steps_with_nothing_traded(a, zones, stepped, fee_recipient, auction_traders, chain):
    """Without an ask the bus's balance never passes zero, so its highest balancing tick is the grid's top
    (tick 255 of 256): the steps read their per-tick sums up to there and no further, and give the
    one-transaction result, which trades nothing."""
    period = open_period(chain)
    place(a, auction_traders[0], HILL, period, True, 2_000, 30)
    place(a, auction_traders[1], TOWN, period, True, 1_000, 200)
    close_gate(chain, period)
    preview = zones.clearMarket(period)
    run_steps(stepped, period, fee_recipient, 1)
    assert stepped.result(period) == preview
    assert (preview.boughtWh, preview.soldWh, preview.surplus) == (0, 0, 0)
