"""The interval auction on chain, driven by the meters: the households' standing orders, the keeper's
clearing once a market's readings are in, and the settlement of what the last readings left open.
"""

from __future__ import annotations

from energy_grid.sender import prepare
from energy_grid.simulation.agents import standing_limits
from energy_grid.simulation.run_state import (
    GAS_CLEAR,
    GAS_SETTLE_BATCH,
    GAS_STANDING_ORDER,
    READINGS_PER_BATCH,
    RunState,
)


class AuctionSteps(RunState):
    """The interval auction on chain, driven by the meters (see the module docstring)."""

    def _cleared(self, period: int) -> bool:
        return bool(self.auction.functions.getMarket(period).call().cleared)

    def _clear(self, period: int, check: bool) -> None:
        """The keeper clears the market of `period` (its clearing time has come)."""
        if not check or not self._cleared(period):
            self.sender.send(self.actors.keeper, prepare(self.auction, "clear", period), gas=GAS_CLEAR, actor="keeper")

    def _set_standing_orders(self) -> None:
        """Each household's standing limits for its meter, once (skipped where the chain has them):
        from then on each of its readings places the interval's export and import in the auction."""
        a = self.actors
        limits = [
            standing_limits(self.config.seed, i, self.base_price_per_kwh, self.config.price_spread_bps, self.price_grid)
            for i in range(len(a.households))
        ]
        on_chain = self.sender.read([prepare(self.meter_registry, "getStandingOrder", m) for m in a.meters])
        for household, meter, limit, current in zip(a.households, a.meters, limits, on_chain, strict=True):
            if (int(current[0]), int(current[2])) != (limit.sell_per_kwh, limit.buy_per_kwh):
                call = prepare(self.meter_registry, "setStandingOrder", meter, limit.sell_per_kwh, 0, limit.buy_per_kwh, 0)
                self.sender.send(household, call, gas=GAS_STANDING_ORDER, actor="households")

    def _settle_all(self) -> None:
        """The keeper settles every meter's cleared orders that no later reading settled (the last two
        intervals'), in bounded batches; a batch finds nothing due where a resumed run settled it."""
        meters = self.actors.meters
        for start in range(0, len(meters), READINGS_PER_BATCH):
            call = prepare(self.meter_registry, "settleStandingOrders", meters[start : start + READINGS_PER_BATCH])
            self.sender.send(self.actors.keeper, call, gas=GAS_SETTLE_BATCH, actor="keeper")
