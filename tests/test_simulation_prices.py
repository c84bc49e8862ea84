"""The summary's prices in a market cleared across zones, from the run's settled fills and the zones'
clearing (no chain): the average and peak clearing price are the prices households bought at, each
zone's weighted by the energy bought in it, not the bus price the market reports; and the zones'
price spread counts the zones that traded, whatever their tick (tick 0 is the bottom of the grid)."""

from __future__ import annotations

from energy_grid.simulation.ledger import prices_paid, zone_price_spreads

HILL, TOWN = 1, 2  # the feeders' zones; 0 is the bus
HILL_METER, TOWN_METER = "0x" + "11" * 20, "0x" + "22" * 20
ZONE_OF_METER = {HILL_METER: HILL, TOWN_METER: TOWN}


def fill(period: int, meter: str, bought_wh: int, sold_wh: int = 0) -> dict[str, int | str]:
    """A MeteredOrdersSettled event's fields the figures read."""
    return {"period": period, "meter": meter, "boughtWh": bought_wh, "soldWh": sold_wh}


def test_the_average_weights_each_zone_s_price_by_what_its_households_bought():
    # Midday: Hill's import held by its link at 0.192 while the bus and Town trade at 0.191. Evening:
    # both links shut, the bus reports the middle of the grid (0.177), Town's buyers pay 0.257.
    bus = {1: 191_000, 2: 177_000}
    zones = {(1, HILL): 192_000, (1, TOWN): 191_000, (2, HILL): 210_000, (2, TOWN): 257_000}
    fills = [fill(1, HILL_METER, 2_500), fill(1, TOWN_METER, 1_000, sold_wh=3_500), fill(2, TOWN_METER, 600), fill(2, HILL_METER, 0)]
    average, peak = prices_paid(fills, bus, zones, ZONE_OF_METER)
    paid = 2_500 * 192_000 + 1_000 * 191_000 + 600 * 257_000
    assert average == round(paid / (2_500 + 1_000 + 600)) and peak == 257_000
    at_the_bus = round((2_500 * 191_000 + 1_000 * 191_000 + 600 * 177_000) / 4_100)
    assert average > at_the_bus  # what the bus price said, and no one paid


def test_a_market_not_cleared_across_zones_is_at_its_own_price():
    fills = [fill(7, HILL_METER, 1_000), fill(8, TOWN_METER, 3_000)]
    average, peak = prices_paid(fills, {7: 180_000, 8: 200_000}, {}, ZONE_OF_METER)
    assert (average, peak) == (round((1_000 * 180_000 + 3_000 * 200_000) / 4_000), 200_000)
    assert prices_paid([fill(7, HILL_METER, 0, sold_wh=500)], {7: 180_000}, {}, ZONE_OF_METER) == (0, 0)  # nobody bought


def test_the_spread_counts_the_zones_that_traded_at_any_tick_and_no_other():
    bottom_of_grid, tick_10 = 50_000, 60_000
    prices = {(3, HILL): bottom_of_grid, (3, TOWN): tick_10, (3, 0): 90_000, (4, HILL): 70_000, (4, TOWN): 70_000}
    traded = {(3, HILL), (3, TOWN), (4, HILL), (4, TOWN)}  # the bus zone held orders in 3 but traded none
    assert sorted(zone_price_spreads(prices, traded)) == [0, tick_10 - bottom_of_grid]
    assert zone_price_spreads(prices, {(3, TOWN)}) == [0]
