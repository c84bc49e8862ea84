"""The interval auction on chain: who traded, clearing and claiming, buyers redeeming their purchases.
"""

from __future__ import annotations

from energy_grid.sender import prepare
from energy_grid.simulation.run_state import (
    GAS_CLAIM,
    GAS_REDEEM,
    OrderRecord,
    RunState,
    int_topic,
)


class AuctionSteps(RunState):
    """The interval auction on chain: who traded, clearing and claiming, buyers redeeming their purchases."""

    def _cleared(self, period: int) -> bool:
        return bool(self.auction.functions.getMarket(period).call().cleared)

    def _traders(self, period: int) -> set[str]:
        logs = self._logs(self.order_submitted, [self.order_submitted.topic, None, int_topic(period)])
        return {self.order_submitted.decode(log)["trader"] for log in logs}

    def _orders_on_chain(self, period: int) -> list[OrderRecord]:
        logs = self._logs(self.order_submitted, [self.order_submitted.topic, None, int_topic(period)])
        orders = []
        for log in logs:
            event = self.order_submitted.decode(log)
            household = self.household_of.get(event["trader"])
            if household is not None:
                orders.append(OrderRecord(int(event["orderId"]), household, bool(event["isBid"])))
        return orders

    def _claim_market(self, period: int, check: bool) -> list[OrderRecord]:
        orders = self.pending_orders.pop(period, [])
        if check or period not in self.periods_sent_in_full:
            orders = self._orders_on_chain(period)
            infos = self.sender.read([prepare(self.auction, "getOrder", o.order_id) for o in orders])
            orders = [o for o, info in zip(orders, infos, strict=True) if not info[7]]  # OrderInfo.claimed
        for order in orders:
            call = prepare(self.auction, "claim", order.order_id)
            self.sender.send(self.actors.keeper, call, gas=GAS_CLAIM, actor="keeper")
        return orders

    def _redeem(self, household: int, amount_wh: int) -> None:
        call = prepare(self.meter_registry, "redeemConsumption", self.actors.meters[household], amount_wh)
        self.sender.send(self.actors.households[household], call, gas=GAS_REDEEM, actor="households")

    def _redeem_all(self) -> None:
        """Check mode: each buyer redeems what it bought and has not redeemed yet (from chain)."""
        bought = self._bought_by_household()
        metered = self.sender.read([prepare(self.meter_registry, "getMeteredEnergy", m) for m in self.actors.meters])
        for household, figures in enumerate(metered):
            redeemed = int(figures[2])
            if bought.get(household, 0) > redeemed:
                self._redeem(household, bought[household] - redeemed)

    def _bought_by_household(self) -> dict[int, int]:
        bought: dict[int, int] = {}
        for log in self._logs(self.order_claimed, [self.order_claimed.topic]):
            claim = self.order_claimed.decode(log)
            household = self.household_of.get(claim["trader"])
            if household is not None and claim["isBid"]:
                bought[household] = bought.get(household, 0) + int(claim["filledWh"])
        return bought
