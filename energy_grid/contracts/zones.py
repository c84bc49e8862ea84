"""MarketZones: the reading market's zones (feeders) and their links' limits, and how a market clears
across them."""

from __future__ import annotations

from typing import NamedTuple

from eth_account.signers.local import LocalAccount

from energy_grid.contracts.base import ContractClient, decode_struct, require
from energy_grid.contracts.structs import CoupledResult, ZoneInfo

NO_LIMIT = 2**64 - 1  # MarketZones.NO_LIMIT: a link without a limit, kW (and Wh in linkLimitsWh)


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
        require(0 < period_count <= 96, f"period_count must be 1 to 96, not {period_count}")
        self._send(operator, "setLinkLimits", region_id, first_period, period_count, import_kw, export_kw)

    def zone_count(self) -> int:
        return self._int("zoneCount")

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
