"""A region's meters and what they metered in an interval, read from SmartMeter.

The meters of a region are those SmartMeter registered there (MeterRegistered, indexed by region;
SmartMeter never moves a meter). What a meter metered in an interval is its load-profile entry
(getIntervalHistory): the energy imported and exported in the interval and the frequency and
voltage of the interval's last reading. The profile, not the ReadingAccepted events, because the
events do not carry frequency and voltage, and because the profile books energy in the interval of
the reading that reports it, whichever block the reading arrived in.

An interval's readings are complete once every active meter of the region has read up to the
interval's last second; a service waits for that at most `reading_delay_s` after the interval's
end, then reports from the meters that did read (a meter that is down must not hold up the grid's
figures). Meters report at the end of each interval (the simulation stamps a reading with its
interval's last second).

Power from energy: an interval's mean power is its energy × 3,600 / 900 (W from Wh).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from web3 import Web3

from energy_grid.chain.events import EventDecoder, uint_topic
from energy_grid.contracts.client import GridClient, GridError
from energy_grid.contracts.sender import TransactionSender, prepare
from energy_grid.domain.demand_response import BASELINE_DAYS
from energy_grid.domain.units import INTERVALS_PER_DAY, interval_of, interval_power_w, transformer_load_kw, transformer_loading_per_mille
from energy_grid.services.reporters.schedule import LOG_CHUNK_BLOCKS, report_due_s

MAX_HISTORY_PAGE = 96  # SmartMeter.MAX_HISTORY_PAGE: one day of intervals


class RatingUnknownError(GridError):
    """No transformer rating was given and the chain has none for the region."""


@dataclass(frozen=True)
class MeterInterval:
    """One meter's load-profile entry for one interval."""

    meter: str
    consumption_wh: int  # imported in the interval
    production_wh: int  # exported in the interval
    frequency_millihz: int  # at the interval's last reading; 0 = the meter read nothing in the interval
    voltage_per_mille: int

    @property
    def has_reading(self) -> bool:
        return self.frequency_millihz > 0


@dataclass(frozen=True)
class RegionInterval:
    """What a region's meters metered in one interval (only the meters that read in it)."""

    interval: int
    meters: tuple[MeterInterval, ...]

    @property
    def import_wh(self) -> int:
        return sum(m.consumption_wh for m in self.meters)

    @property
    def export_wh(self) -> int:
        return sum(m.production_wh for m in self.meters)

    @property
    def net_import_wh(self) -> int:
        """Import − export at the meters; negative when the region fed the grid."""
        return self.import_wh - self.export_wh

    @property
    def demand_w(self) -> int:
        return interval_power_w(self.import_wh)

    @property
    def supply_w(self) -> int:
        return interval_power_w(self.export_wh)

    @property
    def transformer_load_kw(self) -> int:
        """The transformer's load: the net import's mean power's magnitude, in whole kW."""
        return transformer_load_kw(self.net_import_wh)

    @property
    def frequency_millihz(self) -> int:
        """The median of the meters' frequencies: one meter's faulty figure does not move it."""
        return round(statistics.median(m.frequency_millihz for m in self.meters))

    @property
    def voltage_per_mille(self) -> int:
        """The lowest voltage a meter saw: the grid's weakest point, as the simulation reports it."""
        return min(m.voltage_per_mille for m in self.meters)


class RegionMeters:
    """The meters of one region, followed from SmartMeter's registrations since `from_block`."""

    def __init__(self, client: GridClient, region_id: int, *, from_block: int = 0) -> None:
        self.client = client
        self.region_id = region_id
        self.meters: list[str] = []
        self._next_block = from_block
        self._registered = EventDecoder(client["SmartMeter"], "MeterRegistered")
        self._reader = TransactionSender(client, manual_mining=False)

    def refresh(self) -> list[str]:
        """Reads the registrations since the last call; returns every meter of the region."""
        head = int(self.client.w3.eth.block_number)
        topics = [self._registered.topic, None, None, uint_topic(self.region_id)]
        while self._next_block <= head:
            end = min(self._next_block + LOG_CHUNK_BLOCKS - 1, head)
            address = self.client["SmartMeter"].address
            query = {"address": address, "topics": topics, "fromBlock": hex(self._next_block), "toBlock": hex(end)}
            for log in self._reader.rpc("eth_getLogs", [query]):
                self.meters.append(Web3.to_checksum_address(self._registered.decode(log)["meter"]))
            self._next_block = end + 1
        return self.meters

    def read_through(self, interval: int) -> tuple[list[str], list[str]]:
        """(meters that have read up to the interval's last second, active meters that have not)."""
        last_second = report_due_s(interval) - 1
        readings = self._latest_readings()
        done = [m for m, (_, read_s) in readings.items() if read_s >= last_second]
        waiting = [m for m, (active, read_s) in readings.items() if active and read_s < last_second]
        return done, waiting

    def metered_through(self, now_s: int, silent_s: int) -> int | None:
        """The latest interval that every active meter of the region has read to its last second,
        leaving out the meters silent for more than `silent_s` at `now_s` (their latest reading
        older): None when no meter is left."""
        latest = [read_s for active, read_s in self._latest_readings().values() if active and read_s >= now_s - silent_s]
        return interval_of(min(latest) + 1) - 1 if latest else None

    def _latest_readings(self) -> dict[str, tuple[bool, int]]:
        """Each meter's (active, the timestamp of its latest reading)."""
        smart_meter = self.client["SmartMeter"]
        infos = self._reader.read([prepare(smart_meter, "getMeter", meter) for meter in self.meters])
        return {meter: (bool(info[2]), int(info[4])) for meter, info in zip(self.meters, infos, strict=True)}

    def interval(self, interval: int) -> RegionInterval:
        """What the region's meters metered in `interval` (the meters without a reading left out)."""
        pages = self.history(interval, 1)
        return RegionInterval(interval, tuple(page[0] for page in pages if page[0].has_reading))

    def history(self, from_interval: int, count: int) -> list[list[MeterInterval]]:
        """Each meter's profile entries for `count` intervals from `from_interval` (at most a day)."""
        if not 1 <= count <= MAX_HISTORY_PAGE:
            raise ValueError(f"a history page holds 1..{MAX_HISTORY_PAGE} intervals, not {count}")
        smart_meter = self.client["SmartMeter"]
        calls = [prepare(smart_meter, "getIntervalHistory", meter, from_interval, count) for meter in self.meters]
        pages = self._reader.read(calls) if calls else []
        return [
            [MeterInterval(meter, int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in records]
            for meter, records in zip(self.meters, pages, strict=True)
        ]

    def loading_per_mille(self, from_interval: int, count: int, rating_kva: int) -> list[int]:
        """The transformer's loading, per mille of its rating, of each of `count` intervals."""
        pages = self.history(from_interval, count)
        intervals = [RegionInterval(from_interval + i, tuple(page[i] for page in pages)) for i in range(count)]
        return [transformer_loading_per_mille(r.net_import_wh, rating_kva) for r in intervals]

    def baseline_loading_per_mille(self, first_interval: int, rating_kva: int, days: int = BASELINE_DAYS) -> list[list[int]]:
        """The transformer's loading, per mille of its rating, in each interval of the `days` whole days
        before `first_interval` (a day's first), oldest first: DemandResponse's baseline days, from
        which the cautious forecast takes each time of day's highest."""
        return [
            self.loading_per_mille(first_interval - back * INTERVALS_PER_DAY, INTERVALS_PER_DAY, rating_kva)
            for back in range(days, 0, -1)
        ]


def transformer_rating_kva(client: GridClient, region_id: int, given_kva: int | None) -> int:
    """The region's transformer rating: the one given, else the capacity of the region's latest load
    report (what the operator last declared the region's transformers to carry)."""
    if given_kva is not None:
        return given_kva
    operations = client["GridOperations"].functions
    if int(operations.loadReportCount(region_id).call()) > 0:
        return int(operations.getCurrentLoad(region_id).call().capacityKW)
    raise RatingUnknownError(
        f"region {region_id} has no load report to take its transformer rating from; pass --rating-kva"
    )


__all__ = [
    "MeterInterval",
    "RatingUnknownError",
    "RegionInterval",
    "RegionMeters",
    "transformer_rating_kva",
]
