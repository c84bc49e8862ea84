"""EnergyAuction's markets coupled across zones (MarketZones): feeders behind their transformers'
links, each with its own price when its link binds.

The books are placed through the auction and cleared there; every zone's tick and net export, the bus's
tick, each order's fill and the congestion rent are compared with the Python reference
(energy_grid.domain.coupled_auction), and money and energy are conserved to the unit: what bids pay less
what asks net is exactly what the auction accrues for the fee recipient, and every Wh bought was sold.
The random books of tests/test_coupled_clearing_contract.py prove the rule itself against the linear
program; these prove the market that runs it.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from ape.exceptions import ContractLogicError
from eth_abi import encode
from eth_utils import keccak

from energy_grid.deploy.system import deploy_energy_auction
from energy_grid.signing.auction import SignedAuctionOrder, sign_auction_order

from support.auction_helpers import FEE_BPS, MIN_PRICE, N_TICKS, PERIOD_SECONDS, TICK_SIZE, close_gate, open_period, price
from support.helpers import DEFAULT_ADMIN_ROLE, ZERO_ADDRESS, assert_logs, deploy_reverts, log, reverts, unexercised_abi_items
from support.zone_markets import ZONES, clear_and_check, place

HILL, TOWN, VALE = 1, 2, 3  # grid regions: GridOperations' fixtures operate regions 1 and 2
HILL_RATING_KW = 100  # the capacity of Hill's load report: its link's rating
NO_LIMIT = 2**64 - 1
MAX_ZONES = 34


def wh_over_period(power_kw: int) -> int:
    """What a link of `power_kw` carries over one period, Wh, rounded down."""
    return power_kw * PERIOD_SECONDS * 5 // 18


@pytest.fixture(scope="module")
def zones(project, admin, funded_auction, grid_management, grid_operations, grid_operator):
    """MarketZones of the funded auction: Hill (region 1, rated by its load report) is zone 1 and Town
    (region 2, no load report: no limit) is zone 2."""
    grid_operations.reportLoad(HILL, HILL_RATING_KW, 40, sender=grid_operator)
    deployed = project.MarketZones.deploy(admin, funded_auction, grid_management, grid_operations, sender=admin)
    deployed.addZone(HILL, sender=admin)
    deployed.addZone(TOWN, sender=admin)
    funded_auction.setMarketZones(deployed, sender=admin)
    return deployed


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(zones, vault, auction_traders, fee_recipient, stranger, admin):
    """Deploy everything before any test's own state (ape isolation)."""


@pytest.fixture
def a(funded_auction):
    return funded_auction


def test_two_feeders_with_room_share_the_bus_price(a, zones, vault, fee_recipient, auction_traders, chain):
    """Hill sells cheap, Town buys dear, and Hill's link (25,000 Wh over the period) has room: one price."""
    seller, buyer, other = auction_traders[:3]
    period = open_period(chain)
    book = [
        (HILL, place(a, seller, HILL, period, False, 10_000, 20), False, 10_000, 20),
        (TOWN, place(a, buyer, TOWN, period, True, 8_000, 60), True, 8_000, 60),
        (TOWN, place(a, other, TOWN, period, False, 3_000, 70), False, 3_000, 70),
    ]
    expected = clear_and_check(a, zones, chain, fee_recipient, period, book, {HILL: (wh_over_period(100),) * 2})
    assert expected.zone_ticks[HILL] == expected.zone_ticks[TOWN] == expected.bus_tick
    assert expected.net_export_wh[HILL] == 8_000


def test_a_lowered_export_limit_splits_the_price_and_the_rent_accrues(
    a, zones, vault, fee_recipient, auction_traders, grid_operator, chain
):
    """Hill's operator lowers its link to 20 kW (5,000 Wh) for the period: Hill exports only that, Town
    pays more for the rest from its own asks, and the rent is the price difference times the flow."""
    seller, buyer, other = auction_traders[:3]
    period = open_period(chain)
    tx = zones.setLinkLimits(HILL, period, 1, 20, 20, sender=grid_operator)
    assert_logs(
        tx,
        log(
            zones.LinkLimitsSet,
            regionId=HILL,
            firstPeriod=period,
            periodCount=1,
            importLimitKW=20,
            exportLimitKW=20,
            operator=grid_operator.address,
        ),
    )
    assert zones.linkLimitsKW(HILL, period) == (20, 20)
    assert zones.linkLimitsWh(1, period) == (5_000, 5_000)
    book = [
        (HILL, place(a, seller, HILL, period, False, 10_000, 20), False, 10_000, 20),
        (TOWN, place(a, buyer, TOWN, period, True, 8_000, 90), True, 8_000, 90),
        (TOWN, place(a, other, TOWN, period, False, 6_000, 70), False, 6_000, 70),
    ]
    expected = clear_and_check(a, zones, chain, fee_recipient, period, book, {HILL: (5_000, 5_000)})
    assert expected.net_export_wh[HILL] == 5_000
    assert expected.zone_ticks[HILL] < expected.zone_ticks[TOWN]
    assert expected.congestion_rent_milli > 0


def test_random_books_on_three_zones_and_the_bus_clear_as_the_reference(
    a, zones, vault, fee_recipient, auction_traders, grid_operator, admin, chain
):
    """Random orders in Hill (limits lowered at random, zero included), Town and Vale (no limit) and on
    the bus, each market checked against the reference and the linear program."""
    zones.addZone(VALE, sender=admin)
    rng = random.Random(35)
    for _ in range(4):
        period = open_period(chain)
        limit_kw = rng.choice([0, 4, 12, 100])
        zones.setLinkLimits(HILL, period, 1, limit_kw, rng.choice([0, 8, 100]), sender=grid_operator)
        import_kw, export_kw = zones.linkLimitsKW(HILL, period)
        book = []
        for _ in range(14):
            zone = rng.choice([0, HILL, TOWN, VALE])
            is_bid = rng.random() < 0.5
            amount, tick = rng.randint(1, 6_000), rng.randint(0, 40) * 5
            chain_id = place(a, rng.choice(auction_traders), zone, period, is_bid, amount, tick)
            book.append((zone, chain_id, is_bid, amount, tick))
        limits = {HILL: (wh_over_period(import_kw), wh_over_period(export_kw))}
        clear_and_check(a, zones, chain, fee_recipient, period, book, limits)


def test_a_market_on_the_bus_alone_clears_as_before(a, zones, fee_recipient, auction_traders, chain):
    """Without a zone's order the market clears alone: a long side, no zone results."""
    seller, buyer = auction_traders[:2]
    period = open_period(chain)
    place(a, seller, 0, period, False, 5_000, 10)
    place(a, buyer, 0, period, True, 3_000, 30)
    assert zones.zonesOf(period) == 0
    close_gate(chain, period)
    a.clear(period, sender=fee_recipient)
    market = a.getMarket(period)
    assert market.longSide != ZONES and market.volumeWh == 3_000
    with reverts(zones.ZonesNotCleared, period=period):
        zones.getZoneResult(period, 0)


def test_the_books_read_through_extsload_match_the_auctions_own_views(a, zones, auction_traders, chain):
    seller, buyer = auction_traders[:2]
    period = open_period(chain)
    place(a, seller, 0, period, False, 5_000, 10)
    place(a, buyer, HILL, period, True, 3_000, 30)
    place(a, seller, HILL, period, False, 2_000, 30)
    assert zones.zonesOf(period) == 0b11
    assert zones.getZoneTickVolumes(period, 0) == a.getTickVolumes(period)
    bids, asks = zones.getZoneTickVolumes(period, 1)
    assert (bids[30], asks[30], sum(bids), sum(asks)) == (3_000, 2_000, 3_000, 2_000)
    slots = a.bookSlots()
    assert len(set(slots)) == 5
    zones_slot = keccak(encode(["uint256", "uint256"], [period, slots.zonesOf]))
    assert a.extsload([zones_slot]) == [(1 << 1).to_bytes(32, "big")]
    preview = zones.clearMarket(period)
    assert list(preview.zones) == [0, 1] and preview.soldWh == preview.boughtWh


def test_a_cleared_markets_occupancy_words_hold_its_zones_results_and_its_books_still_read(
    a, zones, auction_traders, fee_recipient, chain
):
    """A book's one occupancy word marks the ticks of both sides (Town's bid at 40 and ask at 35); clearing
    keeps each zone's result there, a rewrite of a slot clearing has just read. The books' views still
    show every tick's volume; a preview is refused, since there is no book left to clear."""
    seller, buyer, other = auction_traders[:3]
    period = open_period(chain)
    place(a, seller, 0, period, False, 1_000, 12)
    place(a, seller, HILL, period, False, 4_000, 10)
    place(a, buyer, TOWN, period, True, 3_000, 40)
    place(a, other, TOWN, period, False, 500, 35)
    before = {zone: zones.getZoneTickVolumes(period, zone) for zone in (0, HILL, TOWN)}
    assert before[0] == a.getTickVolumes(period)
    slots = a.bookSlots()

    def occupancy_word(zone: int) -> int:
        (word,) = a.extsload([keccak(encode(["uint256", "uint256"], [period << 8 | zone, slots.occupiedTicks]))])
        return int.from_bytes(word, "big")

    assert [occupancy_word(zone) for zone in (0, HILL, TOWN)] == [1 << 12, 1 << 10, 1 << 35 | 1 << 40]
    close_gate(chain, period)
    a.clear(period, sender=fee_recipient)

    def result_word(zone: int) -> int:
        info = zones.getZoneResult(period, zone)
        return (
            info.clearingTick
            | info.bidMarginalTick << 8 | info.bidRationedWh << 16 | info.bidLevelWh << 56
            | info.askMarginalTick << 96 | info.askRationedWh << 104 | info.askLevelWh << 144
            | info.role << 184 | (info.netExportWh % 2**64) << 192
        )

    for zone in (0, HILL, TOWN):
        assert occupancy_word(zone) == result_word(zone)
    for zone in (0, HILL, TOWN):
        assert zones.getZoneTickVolumes(period, zone) == before[zone]
    assert a.getTickVolumes(period) == before[0]
    with reverts(zones.MarketAlreadyCleared, period=period):
        zones.clearMarket(period)
    with reverts(zones.ZonesNotCleared, period=period):
        zones.getZoneResult(period, 3)  # a zone with no orders in the market


# ---- Limits: who sets them, for which periods, and what the market uses ----


def test_a_link_limit_needs_the_regions_own_operator(zones, grid_operator, other_region_operator, stranger, chain):
    period = open_period(chain)
    with reverts(zones.NotRegionOperator, account=other_region_operator.address, regionId=HILL):
        zones.setLinkLimits(HILL, period, 1, 10, 10, sender=other_region_operator)
    with reverts(zones.OperatorNotAuthorized, account=stranger.address):
        zones.setLinkLimits(HILL, period, 1, 10, 10, sender=stranger)
    with reverts(zones.ZoneUnknown, regionId=VALE):
        zones.linkLimitsKW(VALE, period)


def test_link_limits_are_bounded_and_only_for_periods_whose_gate_is_open(zones, grid_operator, chain):
    period = open_period(chain)
    for count in (0, 97):
        with reverts(zones.InvalidPeriodCount, periodCount=count, maxPeriods=96):
            zones.setLinkLimits(HILL, period, count, 10, 10, sender=grid_operator)
    with reverts(zones.LimitOutOfRange, limitKW=NO_LIMIT + 1, maxKW=NO_LIMIT):
        zones.setLinkLimits(HILL, period, 1, NO_LIMIT + 1, 10, sender=grid_operator)
    with reverts(zones.LimitOutOfRange, limitKW=NO_LIMIT + 1, maxKW=NO_LIMIT):
        zones.setLinkLimits(HILL, period, 1, 10, NO_LIMIT + 1, sender=grid_operator)
    zones.setLinkLimits(HILL, period, 96, 500, 7, sender=grid_operator)
    # The rating caps a limit set above it; the last of the 96 periods has it too.
    assert zones.linkLimitsKW(HILL, period + 95) == (HILL_RATING_KW, 7)
    assert zones.linkLimitsKW(HILL, period + 96) == (HILL_RATING_KW, HILL_RATING_KW)
    close_gate(chain, period)
    chain.mine()
    with reverts(zones.LinkPeriodClosed, period=period, gateClosureTime=period * PERIOD_SECONDS - 300):
        zones.setLinkLimits(HILL, period, 1, 10, 10, sender=grid_operator)


MAX_LEAD_SECONDS = 7 * 24 * 3600  # the auction's MAX_LEAD_TIME
MAX_PERIOD = 2**48 - 1  # AuctionState.MAX_PERIOD: ratings are keyed by 48-bit periods


def test_a_closed_periods_link_limits_cannot_be_rewritten_through_a_period_that_aliases_it(
    a, zones, grid_operator, fee_recipient, auction_traders, chain
):
    """A book is keyed by period << 8 | zone, so period + 2^248 named period's book; and a gate's time
    saturates, so such a period's gate looked open. Limits go no further ahead than the auction takes
    orders, and a period past the keys' range is refused wherever it is named."""
    seller, buyer = auction_traders[:2]
    period = open_period(chain)
    zones.setLinkLimits(HILL, period, 1, 0, 1, sender=grid_operator)
    place(a, seller, HILL, period, False, 2_000, 0)
    place(a, buyer, TOWN, period, True, 2_000, 100)
    close_gate(chain, period)
    chain.mine()
    now = chain.blocks.head.timestamp
    furthest = (now + MAX_LEAD_SECONDS + 300) // PERIOD_SECONDS
    for first, count, named in ((period + 2**248, 1, period + 2**248), (2**256 - 1, 1, 2**256 - 1), (furthest + 1, 1, furthest + 1)):
        with reverts(zones.PeriodTooFarAhead, period=named, maxPeriod=furthest):
            zones.setLinkLimits(HILL, first, count, 400, 400, sender=grid_operator)
    with reverts(zones.PeriodTooFarAhead, period=furthest + 1, maxPeriod=furthest):
        zones.setLinkLimits(HILL, furthest - 1, 3, 400, 400, sender=grid_operator)
    zones.setLinkLimits(HILL, furthest - 2, 3, 400, 400, sender=grid_operator)
    assert zones.linkLimitsKW(HILL, furthest) == (HILL_RATING_KW, HILL_RATING_KW)
    # The closed period kept its limits: 1 kW out is 250 Wh over a period.
    assert zones.linkLimitsKW(HILL, period) == (0, 1)
    for view, args in ((zones.linkLimitsKW, (HILL, period + 2**248)), (zones.ratingKW, (HILL, period + 2**48))):
        with reverts(zones.PeriodOutOfRange, period=args[1], maxPeriod=MAX_PERIOD):
            view(*args)
    with reverts(zones.PeriodOutOfRange, period=period + 2**248, maxPeriod=MAX_PERIOD):
        zones.linkLimitsWh(HILL, period + 2**248)
    chain.pending_timestamp = period * PERIOD_SECONDS
    a.clear(period, sender=fee_recipient)
    assert zones.getZoneResult(period, HILL).netExportWh == wh_over_period(1)


def test_a_one_transaction_clearing_that_does_not_balance_is_refused_and_nothing_is_recorded(
    a, zones, fee_recipient, auction_traders, chain
):
    """A fee rate read as 655.35 % (the market's word written over) would have sellers net more than buyers
    pay: the clearing names the market instead of recording a wrapped surplus, and the market stays open to
    a later clear."""
    period = open_period(chain)
    place(a, auction_traders[0], HILL, period, False, 2_000, 0)
    place(a, auction_traders[1], TOWN, period, True, 2_000, 100)
    slot = int.from_bytes(keccak(encode(["uint256", "uint256"], [period, a.bookSlots().clearings])), "big")
    word = int(chain.provider.make_request("eth_getStorageAt", [a.address, hex(slot), "latest"]), 16)
    fee_bits = 0xFFFF << 32
    chain.provider.make_request("anvil_setStorageAt", [a.address, hex(slot), f"0x{word | fee_bits:064x}"])
    chain.pending_timestamp = period * PERIOD_SECONDS
    with reverts(zones.ClearingUnbalanced, period=period):
        zones.clearMarket(period)
    with reverts(zones.ClearingUnbalanced, period=period):
        a.clear(period, sender=fee_recipient)
    chain.provider.make_request("anvil_setStorageAt", [a.address, hex(slot), f"0x{word:064x}"])
    a.clear(period, sender=fee_recipient)
    assert zones.getZoneResult(period, HILL).netExportWh == 2_000


def test_a_new_rating_reaches_only_periods_whose_gate_is_open(
    a, zones, grid_operations, grid_operator, stranger, fee_recipient, auction_traders, chain
):
    """A market clears with the limits in force at its gate: a rating taken after it changes later periods only."""
    seller, buyer = auction_traders[:2]
    period = open_period(chain)
    place(a, seller, HILL, period, False, 20_000, 0)
    place(a, buyer, TOWN, period, True, 20_000, 100)
    close_gate(chain, period)
    grid_operations.reportLoad(HILL, 8, 2, sender=grid_operator)
    tx = zones.syncRating(HILL, sender=stranger)
    first_open = (chain.blocks.head.timestamp + 300) // PERIOD_SECONDS + 1
    assert_logs(tx, log(zones.ZoneRatingUpdated, regionId=HILL, ratingKW=8, fromPeriod=first_open))
    assert zones.ratingKW(HILL, period) == HILL_RATING_KW
    # Up to the new rating's first period the one before holds; from it on, the new one, however far.
    assert zones.ratingKW(HILL, first_open - 1) == HILL_RATING_KW
    assert zones.ratingKW(HILL, first_open) == 8
    assert zones.ratingKW(HILL, first_open + 1_000) == 8
    chain.pending_timestamp = period * PERIOD_SECONDS
    a.clear(period, sender=fee_recipient)
    assert zones.getZoneResult(period, 1).netExportWh == 20_000  # 20,000 Wh fits 100 kW's 25,000 Wh
    with reverts(zones.ZoneUnknown, regionId=VALE):
        zones.syncRating(VALE, sender=stranger)


# ---- Zones: who adds them, and how many ----


def test_only_the_admin_adds_zones_each_once_and_at_most_max_zones(zones, admin, stranger):
    with reverts(zones.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=DEFAULT_ADMIN_ROLE):
        zones.addZone(VALE, sender=stranger)
    with reverts(zones.ZoneExists, regionId=HILL, zone=1):
        zones.addZone(HILL, sender=admin)
    tx = zones.addZone(VALE, sender=admin)
    assert_logs(tx, log(zones.ZoneAdded, regionId=VALE, zone=3, ratingKW=NO_LIMIT))
    for region in range(100, 100 + MAX_ZONES - 3):
        zones.addZone(region, sender=admin)
    assert zones.zoneCount() == MAX_ZONES == zones.MAX_ZONES()
    assert (zones.zoneOf(VALE), zones.regionOf(3), zones.zoneOf(99)) == (3, VALE, 0)
    with reverts(zones.TooManyZones, maxZones=MAX_ZONES):
        zones.addZone(99, sender=admin)
    for zone in (0, MAX_ZONES + 1):
        with reverts(zones.InvalidZone, zone=zone):
            zones.regionOf(zone)
    # A zone no region holds has no link limit: orders there would trade as on the bus.
    assert zones.linkLimitsWh(MAX_ZONES + 1, 1) == (NO_LIMIT, NO_LIMIT)


def test_the_admin_role_is_openzeppelins(zones, admin, stranger):
    assert zones.getRoleAdmin(DEFAULT_ADMIN_ROLE) == DEFAULT_ADMIN_ROLE and zones.supportsInterface("0x7965db0b")
    tx = zones.grantRole(DEFAULT_ADMIN_ROLE, stranger, sender=admin)
    assert_logs(tx, log(zones.RoleGranted, role=DEFAULT_ADMIN_ROLE, account=stranger.address, sender=admin.address))
    with reverts(zones.AccessControlBadConfirmation):
        zones.renounceRole(DEFAULT_ADMIN_ROLE, admin, sender=stranger)
    tx = zones.revokeRole(DEFAULT_ADMIN_ROLE, stranger, sender=admin)
    assert_logs(tx, log(zones.RoleRevoked, role=DEFAULT_ADMIN_ROLE, account=stranger.address, sender=admin.address))
    assert not zones.hasRole(DEFAULT_ADMIN_ROLE, stranger)


def test_only_the_auction_records_a_clearing(zones, stranger, chain):
    with reverts(zones.NotAuction, caller=stranger.address):
        zones.recordClearing(open_period(chain), sender=stranger)


def test_market_zones_refuse_a_zero_address(project, admin, a, grid_management, grid_operations):
    with deploy_reverts(project.MarketZones.ZeroAddress):
        project.MarketZones.deploy(ZERO_ADDRESS, a, grid_management, grid_operations, sender=admin)
    with deploy_reverts(project.MarketZones.ZeroAddress):
        project.MarketZones.deploy(admin, a, ZERO_ADDRESS, grid_operations, sender=admin)


def test_the_views_name_the_market_and_its_grid(a, zones, grid_management, grid_operations):
    assert zones.DEFAULT_ADMIN_ROLE() == DEFAULT_ADMIN_ROLE
    assert zones.auction() == a.address and a.marketZones() == zones.address
    assert (zones.periodLength(), zones.gateClosure()) == (a.periodLength(), a.gateClosure())
    assert zones.grid() == (grid_management.address, grid_operations.address)
    assert zones.MAX_LIMIT_PERIODS() == 96 and zones.NO_LIMIT() == NO_LIMIT
    assert zones.linkLimitsWh(0, 1) == (NO_LIMIT, NO_LIMIT)  # the bus has no link


# ---- The auction's side ----


def test_an_order_in_a_region_that_is_not_a_zone_is_refused(a, auction_traders, chain):
    period = open_period(chain)
    with reverts(a.RegionNotAZone, regionId=VALE):
        a.submitBidIn(VALE, period, 1_000, MIN_PRICE, sender=auction_traders[0])
    with reverts(a.RegionNotAZone, regionId=VALE):
        a.submitAskIn(VALE, period, 1_000, MIN_PRICE, sender=auction_traders[0])


def test_a_zones_order_is_announced_with_its_zone(a, zones, auction_traders, chain):
    period = open_period(chain)
    tx = a.submitAskIn(TOWN, period, 1_000, price(3), sender=auction_traders[0])
    zoned = tx.events.filter(a.OrderZoneSet)
    assert [(e.orderId, e.zone) for e in zoned] == [(tx.return_value, 2)]


def test_a_signed_order_trades_in_the_zone_its_region_names(a, zones, admin, auction_traders, stranger, chain):
    """A relayed order signed for Town's region trades in Town's zone, one signed for region 0 on the bus
    (which no zone may take), and one for a region that is no zone is refused."""
    trader = auction_traders[0]
    period = open_period(chain)
    deadline = chain.pending_timestamp + 600
    nonce = int(a.nonces(trader))

    def relay(region: int, offset: int) -> Any:
        order = SignedAuctionOrder(trader.address, period, False, 1_000, price(5), nonce + offset, deadline, region)
        signature = sign_auction_order(order, trader.private_key, a.address, chain.chain_id)
        return a.submitOrderBySig(order.as_tuple(), *signature.args(), sender=stranger)

    assert a.getOrder(relay(TOWN, 0).return_value).zone == 2
    assert a.getOrder(relay(0, 1).return_value).zone == 0
    with reverts(a.RegionNotAZone, regionId=99):
        relay(99, 2)
    with reverts(zones.RegionZeroIsTheBus):
        zones.addZone(0, sender=admin)


def test_the_market_zones_are_set_once_by_the_admin_for_this_auction(
    project, a, zones, admin, stranger, grid_management, grid_operations, vault, fee_recipient
):
    with pytest.raises(ContractLogicError):
        a.setMarketZones(zones, sender=stranger)
    with reverts(a.MarketZonesAlreadySet, zones=zones.address):
        a.setMarketZones(zones, sender=admin)
    other = deploy_energy_auction(project,
        admin, vault, "0x" + "00" * 20, fee_recipient, FEE_BPS, PERIOD_SECONDS, 300, MIN_PRICE, TICK_SIZE, price(N_TICKS - 1), sender=admin
    )
    with reverts(other.MarketZonesMismatch, zones=zones.address, itsAuction=a.address):
        other.setMarketZones(zones, sender=admin)
    own = project.MarketZones.deploy(admin, other, grid_management, grid_operations, sender=admin)
    tx = other.setMarketZones(own, sender=admin)
    assert_logs(tx, log(other.MarketZonesSet, zones=own.address))


def test_every_market_zones_function_error_and_event_is_exercised():
    exempt = {
        "RoleAdminChanged",  # nothing calls OpenZeppelin's internal _setRoleAdmin
        "CheckpointUnorderedInsertion",  # ratings are pushed in time order, from the first open period on
    }
    modules = ["test_auction_zones.py", "test_stepped_clearing.py", "support/zone_markets.py"]
    assert unexercised_abi_items("MarketZones", modules, ("function", "event", "error"), exempt) == []


def test_auction_state_reads_the_slots_solidity_lays_out(project, admin, a):
    """AuctionState: the slots it reads the auction's mappings at are where the auction keeps them
    (AuctionStorage's layout, as the auction reports it), the harness's mappings sit at those slots, and a
    word stored through Solidity reads back at the slot Solidity hashes for its key."""
    harness = project.AuctionStateHarness.deploy(sender=admin)
    assert harness.auctionSlots() == tuple(a.bookSlots())
    assert harness.slots() == (4, 5, 6, 7)
    harness.setWord(7, 12_345, sender=admin)
    slot = keccak(encode(["uint256", "uint256"], [7, 6]))
    assert harness.extsload([slot, b"\0" * 32]) == [(12_345).to_bytes(32, "big"), b"\0" * 32]


def test_auction_state_reads_every_zones_ticks_in_one_call(project, admin):
    """AuctionState.readLevels: each zone's occupied ticks in ascending order, each with its bids' and asks'
    volumes above the tick, read out of the word it shares with its neighbours, over runs of empty ticks and
    up to the grid's last tick; each zone's bids in all; the bus (zone 0) and a zone without ticks too. A
    word is read where the market keeps it (BookWords): the shared word the market holds, else its own word,
    also when the shared word is held by another market."""
    harness = project.AuctionStateHarness.deploy(sender=admin)
    period, max36, ring = 7, 2**36 - 1, 16
    # Zone 2 holds neighbours in one word (ticks 15, 16 and 17), a tick alone in its word and the grid's last.
    books = {0: {0: (5, 6)}, 2: {3: (1_000, 0), 15: (4, 0), 16: (0, 8), 17: (0, 2), 100: (7, 9), 255: (max36, max36)}, 5: {}}
    for zone, ticks in books.items():
        words: dict[int, int] = {}
        for tick, (bid_wh, ask_wh) in ticks.items():
            words[tick // 3] = words.get(tick // 3, 0) | (bid_wh | ask_wh << 36) << (72 * (tick % 3))
        for index, word in words.items():
            shared = 1 << 255 | (period % ring) << 16 | zone << 8 | index
            own = (((period << 8) | zone) << 8) | index
            if zone == 2 and index != 5:
                harness.setTick(shared, word | (period + 1) << 216, sender=admin)  # the market holds its shared word
            else:
                # The bus and zone 2's word of ticks 15-17 are in the market's own words; the shared word
                # of the latter is held by the market 16 periods later, with volumes of its own.
                harness.setTick(own, word, sender=admin)
                if index == 5:
                    harness.setTick(shared, 123 | (period + ring + 1) << 216, sender=admin)
    zones = list(books)
    occupied = [sum(1 << tick for tick in books[zone]) for zone in zones]
    levels, bids = harness.readLevels(harness, period, zones, occupied)
    assert [list(zone_levels) for zone_levels in levels] == [
        [tick | bid_wh << 8 | ask_wh << 72 for tick, (bid_wh, ask_wh) in sorted(books[zone].items())] for zone in zones
    ]
    assert list(bids) == [5, 1_011 + max36, 0]
