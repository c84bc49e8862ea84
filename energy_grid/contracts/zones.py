"""MarketZones: the reading market's zones (feeders) and their links' limits, and how a market clears
across them."""

from __future__ import annotations

from typing import NamedTuple

from eth_account.signers.local import LocalAccount
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError, Web3RPCError

from energy_grid.contracts.base import ContractClient, decode_struct, require
from energy_grid.contracts.structs import CoupledResult, ZoneInfo
from energy_grid.domain.enums import ClearingStage

NO_LIMIT = 2**64 - 1  # MarketZones.NO_LIMIT: a link without a limit, kW (and Wh in linkLimitsWh)
MAX_LIMIT_PERIODS = 96  # MarketZones.MAX_LIMIT_PERIODS: the most periods one setLinkLimits call covers
# A clear that needs more gas than this runs its steps first (SteppedClearing): the most one
# transaction of ours takes, well under a block's 30,000,000 and the 16,777,216 per-transaction cap.
ONE_TRANSACTION_CLEAR_GAS = 15_000_000


def needs_steps(clear: ContractFunction, sender: str, gas_cap: int = ONE_TRANSACTION_CLEAR_GAS) -> bool:
    """Whether an auction's `clear(period)` call would take more than `gas_cap` gas in one transaction,
    or more than the node lets one use. A clear that reverts for a reason of its own does not need steps:
    sending it explains the reason."""
    try:
        return int(clear.estimate_gas({"from": sender})) > gas_cap
    except ContractLogicError:
        return False
    except Web3RPCError:  # the node's "out of gas" or "gas required exceeds allowance"
        return True


class LinkLimitsKW(NamedTuple):
    """A zone's link limits in force for one period, kW (NO_LIMIT: none)."""

    import_kw: int
    export_kw: int


class MarketZones(ContractClient):
    """Zones are grid regions behind their own transformers. A market whose orders name zones clears
    across them: zones whose links have room share the bus's price, a zone whose link binds gets its own,
    and the difference times the flow (the congestion rent) accrues to the fee recipient."""

    def add_zone(self, admin: LocalAccount, region_id: int) -> int:
        """Adds the region as the next zone, rated at its latest load report's capacity; returns the zone."""
        return self._id(self._send(admin, "addZone", region_id), "ZoneAdded", "zone")

    def sync_rating(self, sender: LocalAccount, region_id: int) -> int:
        """Takes the zone's rating again from GridOperations for the periods whose gate is open; returns
        the first period it applies to."""
        return self._id(self._send(sender, "syncRating", region_id), "ZoneRatingUpdated", "fromPeriod")

    def set_link_limits(
        self, operator: LocalAccount, region_id: int, first_period: int, period_count: int, import_kw: int, export_kw: int
    ) -> None:
        """The region's operator limits its link for `period_count` (1 to 96) periods whose gate is open."""
        require(0 < period_count <= MAX_LIMIT_PERIODS, f"period_count must be 1 to {MAX_LIMIT_PERIODS}, not {period_count}")
        self._send(operator, "setLinkLimits", region_id, first_period, period_count, import_kw, export_kw)

    def zone_count(self) -> int:
        return self._int("zoneCount")

    def auction(self) -> str:
        """The auction whose markets these zones couple."""
        return str(self._call("auction"))

    def zone_of(self, region_id: int) -> int:
        """The region's zone, or 0 if it is not one."""
        return self._int("zoneOf", region_id)

    def region_of(self, zone: int) -> int:
        return self._int("regionOf", zone)

    def regions(self) -> dict[int, int]:
        """Every zone's region, by zone."""
        return {zone: self.region_of(zone) for zone in range(1, self.zone_count() + 1)}

    def link_limits_kw(self, region_id: int, period: int) -> LinkLimitsKW:
        return LinkLimitsKW(*self._call("linkLimitsKW", region_id, period))

    def period_length(self) -> int:
        """The market's period length, seconds."""
        return self._int("periodLength")

    def gate_closure(self) -> int:
        """The gate closure, seconds before a period starts: limits are set before it."""
        return self._int("gateClosure")

    def zones_of(self, period: int) -> list[int]:
        """The zones holding orders in the period's market (0, the bus, only beside another zone)."""
        bits = self._int("zonesOf", period)
        return [zone for zone in range(bits.bit_length()) if bits >> zone & 1]

    def zone_result(self, period: int, zone: int) -> ZoneInfo:
        """A zone's price, net export and rationing in a market cleared across zones."""
        return decode_struct(ZoneInfo, self._call("getZoneResult", period, zone))

    def zone_tick_volumes(self, period: int, zone: int) -> tuple[list[int], list[int]]:
        """Bid and ask Wh at every tick of one zone's book."""
        bids, asks = self._call("getZoneTickVolumes", period, zone)
        return list(bids), list(asks)

    def preview(self, period: int) -> CoupledResult:
        """How the market would clear across its zones now, with the limits in force for it."""
        return decode_struct(CoupledResult, self._call("clearMarket", period))


class SteppedClearing(ContractClient):
    """Clears the reading market's coupled markets that are too large for one transaction, in steps
    anyone may send, each reading at most MAX_STEP_TICKS occupied ticks. After the last step the
    auction's `clear` records the result, which equals the one-transaction clearing."""

    def step(self, sender: LocalAccount, period: int, max_ticks: int = 0) -> ClearingStage:
        """Runs the next step (of at most `max_ticks` occupied ticks; 0: MAX_STEP_TICKS) from the market's
        clearing time on; returns the stage the next step runs."""
        receipt = self._send(sender, "step", period, max_ticks or self.max_step_ticks())
        return ClearingStage(int(self.event(receipt, "ClearingStepped")["stage"]))

    def run(self, sender: LocalAccount, period: int, max_ticks: int = 0) -> int:
        """Steps until the market's result is final; returns the number of steps sent."""
        count = 0
        while self.stage(period)[0] != ClearingStage.FINISHED:
            self.step(sender, period, max_ticks)
            count += 1
        return count

    def stage(self, period: int) -> tuple[ClearingStage, int]:
        """The stage the market's next step runs and the zones left in it."""
        stage, zones_left = self._call("stageOf", period)
        return ClearingStage(int(stage)), int(zones_left)

    def max_step_ticks(self) -> int:
        return self._int("MAX_STEP_TICKS")

    def market_zones(self) -> str:
        """The MarketZones whose markets these steps clear."""
        return str(self._call("marketZones"))

    def result(self, period: int) -> CoupledResult:
        """The final result, once every step ran."""
        return decode_struct(CoupledResult, self._call("result", period))

