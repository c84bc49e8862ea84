"""The oracle reporter: each hour, the weather to WeatherOracle and the grid's state to GridOracle,
for one region, as the simulation's interval step reports them (submitWeather, submitGridData).

Two sources (`--source`):

- `model`, the live demo: once an hour (ORACLE_REPORT_SECONDS), due at the hour's end, the state of
  the hour's last interval: the weather of the simulation's typical year at that interval's start
  (weather_model.py), and the grid's state as the region's meters metered it (region.py): the
  median of their frequencies, the lowest of their voltages, their export as the supply and their
  import as the demand, in mean W over the interval. The grid's state is due once every active
  meter has read to the hour's end, or `reading_delay_s` after it, whichever comes first; it is
  that of the hour's latest interval in which any meter read (its last, unless the meters went
  silent), and an hour in which no meter read is skipped (`no_readings`).
- `file:PATH`, production: an operator's export (observations_file.py); a row is due once the
  chain's clock passes its timestamp.

Each round, for each kind (weather, grid), the latest observation due is reported unless the
reporter's own report event (WeatherReported, GridDataReported) shows one made at or after its due
time: a restarted reporter sends only what is missing and never a report twice. Reports are stamped
with their block's time, so what came due while the reporter was down and was overtaken by a later
observation is not reported (`missed`); neither is an observation older than the oracle's
heartbeat, which the oracle would count stale at once. A report the oracle would refuse (a value
out of bounds, a report of this reporter still waiting for the others' quorum: AlreadyReported) is
logged and skipped (`refused`); without the reporter role the service stops. Should the chain go
back past blocks it saw (a node restarted on an older state), the reporter forgets what it reported
and goes by the report events the chain still holds, so a report the chain lost is sent again.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from eth_account.signers.local import LocalAccount
from web3.types import TxReceipt

from energy_grid.contracts.client import GridClient
from energy_grid.domain.units import INTERVAL_SECONDS, ORACLE_REPORT_SECONDS
from energy_grid.services.reporters.observations import GridSample, Observation
from energy_grid.services.reporters.observations_file import ObservationFile
from energy_grid.services.reporters.region import RegionMeters
from energy_grid.services.reporters.schedule import (
    DEFAULT_READING_DELAY_S,
    LOOKBACK_S,
    BlockSearch,
    OwnReports,
    interval_label,
    interval_start_s,
    missed_reports,
)
from energy_grid.services.reporters.service import RegionalServices, ReportingService
from energy_grid.services.reporters.weather_model import weather_at
from energy_grid.services.runtime import ChainHead

WEATHER, GRID = "weather", "grid"
KINDS = (WEATHER, GRID)
REPORT_EVENTS = {WEATHER: ("WeatherOracle", "WeatherReported"), GRID: ("GridOracle", "GridDataReported")}
INTERVALS_PER_REPORT = ORACLE_REPORT_SECONDS // INTERVAL_SECONDS


class Source(Protocol):
    """Where observations come from."""

    def latest_due_s(self, kind: str, now_s: int) -> int | None:
        """The due time of the latest observation of `kind` due at `now_s` (None: none yet)."""

    def observation(self, kind: str, due_s: int, now_s: int) -> Observation | None:
        """The observation due at `due_s`; None while it is not ready (the readings not all in)."""

    def count_between(self, kind: str, after_s: int, before_s: int) -> int:
        """How many observations of `kind` fell due strictly between the two times."""

    def refresh(self, reporter: OracleReporter) -> None:
        """Reads what changed in the source since the last round."""


class ModelSource:
    """The live demo: the model's weather, the grid as the region's meters metered it."""

    def __init__(self, meters: RegionMeters, reading_delay_s: int = DEFAULT_READING_DELAY_S) -> None:
        self.meters = meters
        self.reading_delay_s = reading_delay_s

    def refresh(self, reporter: OracleReporter) -> None:
        self.meters.refresh()

    def latest_due_s(self, kind: str, now_s: int) -> int | None:
        return now_s - now_s % ORACLE_REPORT_SECONDS

    def count_between(self, kind: str, after_s: int, before_s: int) -> int:
        return missed_reports(after_s, before_s, ORACLE_REPORT_SECONDS)

    def observation(self, kind: str, due_s: int, now_s: int) -> Observation | None:
        last = due_s // INTERVAL_SECONDS - 1  # the hour's last interval
        if kind == WEATHER:
            return Observation(due_s, interval_label(last), weather=weather_at(interval_start_s(last)))
        _, waiting = self.meters.read_through(last)
        if waiting and now_s < due_s + self.reading_delay_s:
            return None
        for interval in range(last, last - INTERVALS_PER_REPORT, -1):
            metered = self.meters.interval(interval)
            if metered.meters:
                grid = GridSample(metered.frequency_millihz, metered.voltage_per_mille, metered.supply_w, metered.demand_w)
                return Observation(due_s, f"{interval_label(interval)}, {len(metered.meters)} meters", grid=grid)
        return Observation(due_s, interval_label(last))


class FileSource:
    """Production: an operator's export, each row due at its timestamp."""

    def __init__(self, path: Path) -> None:
        self.file = ObservationFile(path)

    def refresh(self, reporter: OracleReporter) -> None:
        for row in self.file.refresh():
            reporter.skip("malformed", f"{self.file.path} line {row.line}: {row.reason}")

    def _rows(self, kind: str) -> list[Observation]:
        return [o for o in self.file.observations if (o.weather if kind == WEATHER else o.grid) is not None]

    def latest_due_s(self, kind: str, now_s: int) -> int | None:
        due = [o.due_s for o in self._rows(kind) if o.due_s <= now_s]
        return due[-1] if due else None

    def count_between(self, kind: str, after_s: int, before_s: int) -> int:
        return sum(1 for o in self._rows(kind) if after_s < o.due_s < before_s)

    def observation(self, kind: str, due_s: int, now_s: int) -> Observation | None:
        return next(o for o in self._rows(kind) if o.due_s == due_s)


class OracleReporter(ReportingService):
    """Reports one region's weather and grid state from `source`, signed by a reporter of both oracles."""

    def __init__(
        self, client: GridClient, account: LocalAccount, source: Source, *, region_id: int, shared: ReportingService | None = None
    ) -> None:
        super().__init__("oracle_reporter", client, account, KINDS, shared)
        self.source = source
        self.region_id = region_id
        blocks = BlockSearch(client.w3)
        self.own = {
            kind: OwnReports(client, contract, event, region_id, account.address, blocks)
            for kind, (contract, event) in REPORT_EVENTS.items()
        }
        self.heartbeat_s = {kind: int(client[contract].functions.heartbeat().call()) for kind, (contract, _) in REPORT_EVENTS.items()}
        self._latest_sent: tuple[int, bytes] | None = None  # the block of this reporter's latest report: number, hash
        # The due time of the latest observation reported (or found reported), by kind; None: not known.
        self.last_due_s: dict[str, int | None] = {}

    def run_round(self, head: ChainHead) -> None:
        lost = self._block_lost_with_latest_report(head)
        if lost is not None:
            self.log.warning("the chain lost block %d with our latest report: reporting from the report events it holds", lost)
            self.last_due_s.clear()
            self._latest_sent = None
        self.source.refresh(self)
        for kind in KINDS:
            self._report(kind, head.timestamp_s)

    def _report(self, kind: str, now_s: int) -> None:
        due_s = self.source.latest_due_s(kind, now_s)
        if due_s is None:
            return
        if kind not in self.last_due_s:
            self.last_due_s[kind] = self._latest_reported_due(kind, now_s)
        last = self.last_due_s[kind]
        if last is not None and last >= due_s:
            return
        if self.own[kind].latest_since(due_s) is not None:  # reported by this reporter before a restart
            self.last_due_s[kind] = due_s
            return
        if now_s - due_s > self.heartbeat_s[kind]:
            self._missed(kind, last, due_s + 1)
            self.last_due_s[kind] = due_s
            return
        observation = self.source.observation(kind, due_s, now_s)
        if observation is None:
            return  # not ready: the next round looks again
        self._missed(kind, last, due_s)
        self.last_due_s[kind] = due_s
        if kind == WEATHER and observation.weather is not None:
            w = observation.weather
            call = self.client["WeatherOracle"].functions.submitWeather(
                self.region_id, w.irradiance_w_per_m2, w.temperature_milli_celsius, w.wind_speed_mm_per_s, w.cloud_cover_bps
            )
            what = (
                f"the weather of {observation.label} for region {self.region_id}: {w.irradiance_w_per_m2} W/m², "
                f"{w.temperature_milli_celsius} m°C, {w.wind_speed_mm_per_s} mm/s wind, {w.cloud_cover_bps} bps clouds"
            )
            self._sent(self.send(what, kind, call))
        elif kind == GRID and observation.grid is not None:
            g = observation.grid
            call = self.client["GridOracle"].functions.submitGridData(
                self.region_id, g.frequency_millihz, g.voltage_per_mille, g.supply_w, g.demand_w
            )
            what = (
                f"the grid state of {observation.label} for region {self.region_id}: {g.frequency_millihz} mHz, "
                f"{g.voltage_per_mille} ‰ voltage, {g.supply_w} W supply, {g.demand_w} W demand"
            )
            self._sent(self.send(what, kind, call))
        else:
            self.skip("no_readings", f"the {kind} of {observation.label}: no meter of region {self.region_id} read in it")

    def _block_lost_with_latest_report(self, head: ChainHead) -> int | None:
        """The number of the block of this reporter's latest report when that block is no longer the
        chain's at its height (the chain went back past it); None otherwise."""
        if self._latest_sent is None:
            return None
        number, block_hash = self._latest_sent
        lost = head.number < number or bytes(self.client.w3.eth.get_block(number)["hash"]) != block_hash
        return number if lost else None

    def _sent(self, receipt: TxReceipt | None) -> None:
        if receipt is not None:
            self._latest_sent = (int(receipt["blockNumber"]), bytes(receipt["blockHash"]))

    def _latest_reported_due(self, kind: str, now_s: int) -> int | None:
        """The due time of the observation this reporter's latest report (within a day) covered."""
        reported_s = self.own[kind].latest_since(now_s - LOOKBACK_S)
        return None if reported_s is None else self.source.latest_due_s(kind, reported_s)

    def _missed(self, kind: str, last_due_s: int | None, due_s: int) -> None:
        if last_due_s is None:
            return
        missed = self.source.count_between(kind, last_due_s, due_s)
        if missed:
            why = "a report is stamped with its block's time"
            self.skip("missed", f"{missed} {kind} report(s) due while the reporter was down: {why}", missed)


def every_region(
    client: GridClient,
    account: LocalAccount,
    regions: Iterable[int],
    *,
    reading_delay_s: int = DEFAULT_READING_DELAY_S,
    from_block: int = 0,
) -> RegionalServices:
    """One reporter per region, each reporting the model's weather and the grid state its region's
    meters metered, all signed by `account` (a reporter of both oracles), run as one service."""

    def reporter(region: int, shared: ReportingService | None) -> ReportingService:
        source = ModelSource(RegionMeters(client, region, from_block=from_block), reading_delay_s)
        return OracleReporter(client, account, source, region_id=region, shared=shared)

    return RegionalServices.of(regions, reporter)


__all__ = ["FileSource", "ModelSource", "OracleReporter", "Source", "every_region"]
