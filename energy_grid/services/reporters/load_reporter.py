"""The operators' load reporter: each region's transformer load of each interval, to
GridOperations.reportLoad(region, capacity kW, demand kW), as the simulation's interval step
reports the transformers' rating and apparent power. One service reports one region or several
(a community of several feeders, each a region with an operator of its own): each region's report
is signed by its operator, and a region whose round fails does not hold up the others.

The load is what the region's meters metered in the interval that ended (region.py): the magnitude
of their net import (import − export) divided by the interval's length, in whole kW. The meters
measure active energy only, so reactive power, which the simulation's power flow adds, is left out;
power fed back through the transformer loads it as much as power drawn. The capacity is the
transformers' rating, from `--rating-kva`, else the capacity of the region's latest load report.

The report of an interval is due at its end, once every active meter of the region has read to
the interval's end, or `reading_delay_s` after it, whichever comes first (oracle_reporter.py does
the same with the grid's state). While no meter's reading of the interval is on chain, the gateway
or the chain is behind (a node restarted on an older state loses readings with the blocks), not
every meter down: the report then waits for the first readings as long as the interval is the
latest that ended, and is counted `missed` when the next one ends first. Before sending, the
reporter reads the region's latest load report: one stamped at or after the interval's end is that
interval's (whoever sent it), so a restarted reporter never reports an interval twice; except the
reporter's own report of an earlier interval, whose block came after this one's end. Should the
chain lose the reporter's latest report (a node restarted on an older state), the reporter goes by
the chain and reports it again.
An interval whose report window passed while the reporter was down is skipped (`missed`); one in
which no meter read although every active meter has read past it (or the region has none) is
skipped (`no_readings`); without a region's operator role the service stops.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from eth_account.signers.local import LocalAccount

from energy_grid.contracts.client import GridClient
from energy_grid.services.reporters.region import RegionMeters, transformer_rating_kva
from energy_grid.services.reporters.schedule import (
    DEFAULT_READING_DELAY_S,
    LOOKBACK_S,
    interval_label,
    last_ended_interval,
    missed_reports,
    report_due_s,
)
from energy_grid.services.reporters.service import ReportingService, ServiceConfigError
from energy_grid.services.runtime import ChainHead

LOAD = "load"
MAX_PARALLEL_REGIONS = 34  # a zoned market has at most MarketZones.MAX_ZONES regions


class _Region:
    """One region's operator, meters and what has been reported of it."""

    def __init__(self, client: GridClient, region_id: int, operator: LocalAccount, from_block: int) -> None:
        self.region_id = region_id
        self.operator = operator
        self.meters = RegionMeters(client, region_id, from_block=from_block)
        self.last_due_s: int | None = None  # the latest interval end reported or decided
        self.sent_due_s: int | None = None  # the interval end of the latest report this reporter sent
        self.sent_at_s: int | None = None  # and the time its block stamped it with
        self.started = False


class LoadReporter(ReportingService):
    """Reports each region's transformer load each interval, signed by the region's operator
    (`operators`: region → its operator's account)."""

    def __init__(
        self,
        client: GridClient,
        operators: Mapping[int, LocalAccount],
        *,
        rating_kva: int | None = None,
        reading_delay_s: int = DEFAULT_READING_DELAY_S,
        from_block: int = 0,
    ) -> None:
        if not operators:
            raise ServiceConfigError("the load reporter needs at least one region to report")
        super().__init__("load_reporter", client, next(iter(operators.values())), (LOAD,))
        self.rating_kva = rating_kva
        self.reading_delay_s = reading_delay_s
        self.regions = [_Region(client, region_id, operator, from_block) for region_id, operator in operators.items()]
        self._pool = ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_REGIONS, len(self.regions)), thread_name_prefix="load-report")

    def _reported_at(self, region_id: int) -> int | None:
        """When the region's latest load report was made; None before its first."""
        operations = self.client["GridOperations"].functions
        if int(operations.loadReportCount(region_id).call()) == 0:
            return None
        return int(operations.getCurrentLoad(region_id).call().reportedAt)

    def run_round(self, head: ChainHead) -> None:
        """Each region's round, the regions side by side: each report is due at the same interval
        end, and a report is stamped with its block's time, so thirty feeders' reports sent one
        after the other would reach into the next interval. A region's failure does not stop the
        others; the first is raised once every region had its turn."""
        if len(self.regions) == 1:
            self._report(self.regions[0], head)
            return
        failures: list[Exception] = []
        for region, failure in zip(self.regions, self._pool.map(lambda region: self._attempt(region, head), self.regions), strict=True):
            if isinstance(failure, ServiceConfigError):
                raise failure
            if failure is not None:
                self.log.warning("region %d's round failed: %s: %s", region.region_id, type(failure).__name__, failure)
                failures.append(failure)
        if failures:
            raise failures[0]

    def _attempt(self, region: _Region, head: ChainHead) -> Exception | None:
        """The region's round; what it raised, if it failed."""
        try:
            self._report(region, head)
        except Exception as err:
            return err
        return None

    def _report(self, region: _Region, head: ChainHead) -> None:
        now_s = head.timestamp_s
        interval = last_ended_interval(now_s)
        due_s = report_due_s(interval)
        reported_s = self._reported_at(region.region_id)
        if not region.started:
            region.started = True
            if reported_s is not None and now_s - reported_s <= LOOKBACK_S:
                region.last_due_s = report_due_s(last_ended_interval(reported_s))
        if region.sent_due_s is not None and (reported_s is None or reported_s < region.sent_due_s):
            # The chain went back past the block of our latest report (a node restarted on an older
            # state): what its state holds counts, and the interval is reported again when due.
            lost = interval_label(last_ended_interval(region.sent_due_s))
            self.log.warning("the chain lost region %d's load report of %s: reporting from the chain's latest on", region.region_id, lost)
            region.last_due_s = None if reported_s is None else report_due_s(last_ended_interval(reported_s))
            region.sent_due_s = None
        ours_of_before = region.sent_due_s is not None and region.sent_due_s < due_s and reported_s == region.sent_at_s
        if reported_s is not None and reported_s >= due_s and not ours_of_before:
            region.last_due_s = due_s
            return
        if region.last_due_s is not None and region.last_due_s >= due_s:
            return
        region.meters.refresh()
        read, waiting = region.meters.read_through(interval)
        if waiting and (now_s < due_s + self.reading_delay_s or not read):
            return
        missed = missed_reports(region.last_due_s, due_s)
        if missed:
            why = "a report is stamped with its block's time, and waits for the interval's first reading"
            self.skip(
                "missed",
                f"{missed} load report(s) of region {region.region_id} due while the reporter was down or no reading was on chain: {why}",
                missed,
            )
        region.last_due_s = due_s
        metered = region.meters.interval(interval)
        label = interval_label(interval)
        if not metered.meters:
            self.skip("no_readings", f"the load of {label}: no meter of region {region.region_id} read in it")
            return
        rating_kva = transformer_rating_kva(self.client, region.region_id, self.rating_kva)
        load_kw = metered.transformer_load_kw
        call = self.client["GridOperations"].functions.reportLoad(region.region_id, rating_kva, load_kw)
        what = (
            f"the load of {label} for region {region.region_id}: {load_kw} kW of {rating_kva} kVA "
            f"({len(metered.meters)} meters, net import {metered.net_import_wh} Wh)"
        )
        if self.send(what, LOAD, call, region.operator) is not None:
            region.sent_due_s, region.sent_at_s = due_s, self._reported_at(region.region_id)


__all__ = ["LoadReporter"]
