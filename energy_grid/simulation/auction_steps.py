"""The auction step: the interval auction on chain, driven by the meters.

The households never send an order during the day. Each sets a standing order once (a sell and a
buy limit around the community's base price), and from then on every reading of its meter places
the interval's export as an ask and its import as a bid. What is left to the keeper is clearing a
market once its readings are in, and settling the orders the last readings left open. This object
reads the auction's price grid and the base price once, when the run is built.
"""

from __future__ import annotations

from energy_grid.contracts.sender import prepare
from energy_grid.simulation.agents import PriceGrid, standing_limits
from energy_grid.simulation.run_state import (
    GAS_CLEAR,
    GAS_SETTLE_BATCH,
    GAS_STANDING_ORDER,
    READINGS_PER_BATCH,
    RunState,
)


class Auction:
    """The households' standing orders and the keeper's clearing and settlement."""

    def __init__(self, state: RunState) -> None:
        self.state = state
        auction = state.auction.functions
        self.price_grid = PriceGrid(int(auction.minPrice().call()), int(auction.tickSize().call()), int(auction.maxPrice().call()))
        self.base_price_per_kwh = int(state.client["GridManagement"].functions.basePrice().call())
        self._zone_of_feeder: list[int] | None = None  # a zoned run's MarketZones zone ids, read once

    def zone_prices(self, period: int) -> dict[int, int]:
        """The cleared market of `period`'s price in each zone where it traded: by feeder in a zoned
        run (MarketZones' result of the feeder's zone), 0 for the one zone otherwise (the market's)."""
        state = self.state
        if not state.zoned:
            market = state.auction.functions.getMarket(period).call()
            return {0: int(market.clearingPricePerKWh)} if int(market.volumeWh) > 0 else {}
        zones = state.market_zones
        if self._zone_of_feeder is None:
            self._zone_of_feeder = [int(zones.functions.zoneOf(state.feeder_region(f)).call()) for f in range(state.feeders)]
        results = state.sender.read([prepare(zones, "getZoneResult", period, zone) for zone in self._zone_of_feeder])
        # A zone's clearing tick is 0 when it did not trade (as the audit reads it).
        return {feeder: int(result[1]) for feeder, result in enumerate(results) if int(result[0]) != 0}

    def set_standing_orders(self) -> None:
        """Each household's standing limits for its meter, once (skipped where the chain has them):
        from then on each of its readings places the interval's export and import in the auction."""
        state = self.state
        a, config, meter_registry = state.actors, state.config, state.meter_registry
        limits = [
            standing_limits(config.seed, i, self.base_price_per_kwh, config.price_spread_bps, self.price_grid)
            for i in range(len(a.households))
        ]
        on_chain = state.sender.read([prepare(meter_registry, "getStandingOrder", m) for m in a.meters])
        for household, meter, limit, current in zip(a.households, a.meters, limits, on_chain, strict=True):
            if (int(current[0]), int(current[2])) != (limit.sell_per_kwh, limit.buy_per_kwh):
                call = prepare(meter_registry, "setStandingOrder", meter, limit.sell_per_kwh, 0, limit.buy_per_kwh, 0)
                state.send_as_household(household, call, gas=GAS_STANDING_ORDER)

    def clear(self, period: int, check: bool) -> None:
        """The keeper clears the market of `period` (its clearing time has come); with `check`, only
        when the chain shows it not cleared yet."""
        auction = self.state.auction
        if not check or not auction.functions.getMarket(period).call().cleared:
            self.state.sender.send(self.state.actors.keeper, prepare(auction, "clear", period), gas=GAS_CLEAR, actor="keeper")

    def settle_all(self) -> None:
        """The keeper settles every meter's cleared orders that no later reading settled (the last two
        intervals'), in bounded batches; a batch finds nothing due where a resumed run settled it."""
        state = self.state
        meters = state.actors.meters
        for start in range(0, len(meters), READINGS_PER_BATCH):
            call = prepare(state.meter_registry, "settleStandingOrders", meters[start : start + READINGS_PER_BATCH])
            state.sender.send(state.actors.keeper, call, gas=GAS_SETTLE_BATCH, actor="keeper")
