"""energy_grid.domain.coupled_auction, the rule a market coupled across zones is to follow: hand-made books
with their answers, one zone against clear_market, and random books against a linear program.

The linear program and the checks every clearing must pass are in tests/support/coupled_books.py. The
prices are checked as an optimal dual, strictly: worked out from the fills and the links alone, every
zone's price lies in the range its fills allow (every order strictly in the money filled in full, none
strictly out of it filled), the bus's in the range every zone's link allows, each the tick the documented
rule picks from its range, and at those prices no allocation gains more than the clearing (weak duality
met with equality).
"""

from __future__ import annotations

import random

import pytest

from energy_grid.domain.auction import AuctionOrder, clear_market
from energy_grid.domain.coupled_auction import Zone, ZonedOrder
from energy_grid.domain.enums import ZoneRole

from support.coupled_books import (
    DEGENERATE_KINDS,
    ask,
    bid,
    check_clearing,
    check_money,
    clear,
    degenerate_book,
    random_book,
)


def test_slack_links_give_one_price_the_merged_book_would():
    """Zone 1 asks 30 Wh at tick 2, zone 2 bids 30 at tick 6; links of 50 both ways do not bind. As one book
    clear_market trades 30 at tick 4 (the midpoint of 2 … 6): both zones trade there, no rent."""
    zones = [Zone(1, 50, 50), Zone(2, 50, 50)]
    orders = [ask(1, 1, 30, 2), bid(2, 2, 30, 6)]
    result = clear(zones, orders, 10)
    merged = clear_market([o.order for o in orders], 10)
    assert (result.bus_tick, result.zone_ticks) == (merged.tick, {1: 4, 2: 4}) == (4, {1: 4, 2: 4})
    assert result.net_export_wh == {1: 30, 2: -30}
    assert result.fills_wh == merged.fills_wh == {1: 30, 2: 30}
    assert result.congestion_rent_milli == 0


def test_zero_limits_let_each_zone_clear_alone():
    """Links of 0 both ways: zone 1 (bid 10 at 7, ask 10 at 3) clears alone at tick 5, the middle of 3 … 7, where
    both fill in full; zone 2 (bid 20 at 2, ask 5 at 1) at tick 2, since its bid is rationed and so must be at
    the price; the cheap ask of zone 2 does not reach zone 1's bid."""
    zones = [Zone(1, 0, 0), Zone(2, 0, 0)]
    orders = [bid(1, 1, 10, 7), ask(1, 2, 10, 3), bid(2, 3, 20, 2), ask(2, 4, 5, 1)]
    result = clear(zones, orders, 10)
    assert result.zone_ticks == {1: 5, 2: 2}
    assert result.net_export_wh == {1: 0, 2: 0}
    assert result.fills_wh == {1: 10, 2: 10, 3: 5, 4: 5}
    assert result.volume_wh == {1: 10, 2: 5}
    assert result.congestion_rent_milli == 0


def test_a_zone_of_asks_supplies_a_zone_of_bids():
    """Zone 1 has only asks (20 Wh at tick 1, 20 at tick 5), zone 2 only a bid (30 Wh at tick 6) and may import 25.
    The bus balances only at tick 5, where zone 1 wants to export 20 … 40 (free) and zone 2 would import 30
    (bound at its import limit): zone 2 imports 25, zone 1 sells its tick-1 ask whole and 5 Wh of the other,
    so its price, and the bus's, is that ask's 5. Zone 2's bid is rationed, 25 of its 30 Wh: its price is its
    limit, 6, above the bus. The rent is (5 − 6) ticks × 1,000 × −25 Wh = 25,000 thousandths."""
    zones = [Zone(1, None, None), Zone(2, 25, None)]
    orders = [ask(1, 1, 20, 1), ask(1, 2, 20, 5), bid(2, 3, 30, 6)]
    result = clear(zones, orders, 10)
    assert result.net_export_wh == {1: 25, 2: -25}
    assert result.fills_wh == {1: 20, 2: 5, 3: 25}
    assert (result.bus_tick, result.zone_ticks) == (5, {1: 5, 2: 6})
    assert result.roles == {1: ZoneRole.COUPLED, 2: ZoneRole.IMPORT_BOUND}
    assert result.volume_wh == {1: 25, 2: 25}
    assert result.congestion_rent_milli == 25_000
    check_money(zones, orders, result)


def test_an_import_limited_zone_prices_above_the_bus():
    """Zone 1 asks 50 Wh at tick 2; zone 2 bids 50 at tick 8 and may import only 20. Zone 2 imports 20 at its
    limit. Zone 1 (free, exporting 20 of the 50 it would sell) prices the bus at its ask's 2, the only price at
    which a rationed ask is competitive; zone 2's rationed bid prices it at 8. The link is worth the whole
    spread: the rent is (2 − 8) ticks × 1,000 × −20 Wh = 120,000 thousandths."""
    zones = [Zone(1, None, None), Zone(2, 20, None)]
    orders = [ask(1, 1, 50, 2), bid(2, 2, 50, 8)]
    result = clear(zones, orders, 10)
    assert result.net_export_wh == {1: 20, 2: -20}
    assert result.fills_wh == {1: 20, 2: 20}
    assert (result.bus_tick, result.zone_ticks) == (2, {1: 2, 2: 8})
    assert result.congestion_rent_milli == 120_000
    check_money(zones, orders, result)


def test_the_bus_shares_its_marginal_level_among_zones_in_their_order():
    """Zones 1 and 2 each ask 10 Wh at tick 3, zone 3 bids 15 at tick 5; no limits. The bus balances at tick 3,
    where zones 1 and 2 would export 0 … 10 each and zone 3 import 15: the 15 Wh are shared on running
    totals in zone order, 10 × 15 // 20 = 7 to zone 1 and 20 × 15 // 20 − 7 = 8 to zone 2, as clear_market
    shares one level among orders. Everyone is free and trades at 3, the rationed asks' limit, as
    clear_market prices the merged book."""
    zones = [Zone(1, None, None), Zone(2, None, None), Zone(3, None, None)]
    orders = [ask(1, 1, 10, 3), ask(2, 2, 10, 3), bid(3, 3, 15, 5)]
    result = clear(zones, orders, 10)
    merged = clear_market([o.order for o in orders], 10)
    assert result.net_export_wh == {1: 7, 2: 8, 3: -15}
    assert result.fills_wh == merged.fills_wh == {1: 7, 2: 8, 3: 15}
    assert result.zone_ticks == {1: 3, 2: 3, 3: 3} and result.bus_tick == merged.tick == 3
    assert result.volume_wh == {1: 7, 2: 8, 3: 15}


def test_a_zone_listed_twice_or_an_order_outside_every_zone_is_refused():
    with pytest.raises(ValueError, match="a zone is listed twice"):
        clear([Zone(1, None, None), Zone(1, 0, 0)], [], 4)
    with pytest.raises(ValueError, match="order 7: zone 2 is not in the market"):
        clear([Zone(1, None, None)], [bid(2, 7, 1, 0)], 4)


def test_one_zone_clears_as_clear_market_whatever_its_limits():
    rng = random.Random(20_261_125)
    for _ in range(500):
        n_ticks = rng.randint(1, 20)
        zone = Zone(1, rng.choice([None, 0, rng.randint(1, 40)]), rng.choice([None, 0, rng.randint(1, 40)]))
        orders = [
            ZonedOrder(1, AuctionOrder(i + 1, rng.random() < 0.5, rng.choice([5, rng.randint(1, 30)]), rng.randrange(n_ticks)))
            for i in range(rng.randint(0, 12))
        ]
        result = clear([zone], orders, n_ticks)
        expected = clear_market([o.order for o in orders], n_ticks)
        assert (result.zone_ticks[1], result.volume_wh[1]) == (expected.tick, expected.volume_wh)
        # The bus has no orders of its own: with the link open both ways it prices as the zone; a link closed
        # one way or both leaves it any tick on the zone's far side.
        if zone.import_limit_wh != 0 and zone.export_limit_wh != 0:
            assert result.bus_tick == expected.tick
        assert result.fills_wh == expected.fills_wh
        assert result.net_export_wh == {1: 0}
        assert result.congestion_rent_milli == 0


def test_random_coupled_books_are_optimal_and_conserve_energy_and_money():
    rng = random.Random(7_0341)
    with_rent = large = 0
    for book in range(1_000):
        n_zones = rng.choice([1, 2, 2, 3, 3, 4, 5, 8, rng.randint(1, 40), rng.randint(34, 40)])
        n_ticks = rng.randint(1, 20)
        zones, orders = random_book(rng, n_zones, n_ticks)
        result = clear(zones, orders, n_ticks)
        check_clearing(zones, orders, n_ticks, result, f"book {book}")
        with_rent += result.congestion_rent_milli > 0
        large += n_zones >= 34
    # The books reach the cases that matter: congested links, and markets of 34 zones and more.
    assert with_rent >= 50
    assert large >= 50


@pytest.mark.parametrize("kind", DEGENERATE_KINDS)
def test_degenerate_books_are_optimal_and_priced_competitively(kind):
    """250 books of each kind where a rule most easily prices wrong: ties at the marginal tick, one-sided
    zones, every link binding, no crossing; every check of the random books holds."""
    rng = random.Random(2026_11_27 + DEGENERATE_KINDS.index(kind))
    traded = 0
    for book in range(250):
        n_zones, n_ticks = rng.randint(1, 12), rng.randint(1, 20)
        zones, orders = degenerate_book(rng, kind, n_zones, n_ticks)
        result = clear(zones, orders, n_ticks)
        check_clearing(zones, orders, n_ticks, result, f"{kind}, book {book}")
        traded += any(result.fills_wh.values())
    # With every bid below every ask nothing trades, in any zone or across any link; the other kinds trade.
    assert (traded == 0) == (kind == "no crossing")
