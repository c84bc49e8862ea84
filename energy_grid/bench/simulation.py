"""Throughput of the community simulation: household-intervals per second and
transactions per interval for a 100-household day, set-up and baseline upload included (the
whole `make demo` run but the deployment). The budget: a 100-household day within 3 minutes on
a 2-core machine, i.e. at least 9,600 / 180 ≈ 53 household-intervals a second.

    bench = bench_simulation(GridClient.from_manifest(manifest, url))  # a deployed local chain
    bench.within_budget, bench.household_intervals_per_second

Local chains only (the simulation sets block times); give it a chain of its own: it registers
100 households and moves the clock six days on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from energy_grid.bench.core import GasReport
from energy_grid.contracts.client import GridClient
from energy_grid.simulation.driver import SimulationConfig, run_simulation

BENCH_HOUSEHOLDS = 100
BUDGET_SECONDS = 180.0
# The community at scale: a 1,000-household day (set-up, baseline upload, the day and the audit)
# within 5 minutes on 2 cores.
SCALE_HOUSEHOLDS = 1_000
BUDGET_SCALE_SECONDS = 300
# Gas per household-interval on the simulated day alone (every actor; no set-up, no baseline upload):
# a gateway reading with its standing orders (~54,300 today: a third of the fresh load-profile word its
# meter shares with two others, its record, the owner's address, the standing orders' slot, the
# owner's vault word and events) and the interval's shared work spread over 100 households (the
# keeper's clearing and demand response, the operators' grid status and load reports, the oracles:
# ~10,500). The budgets follow
# the figures down as the hot path is cut, with some 5 % room, so that no change gives a cut back.
BUDGET_DAY_GAS_PER_HOUSEHOLD_INTERVAL = 68_000
# At scale the community is 34 feeders of 30 households, each a zone of the market: every interval
# each feeder's operator reports its transformer and the keeper clears a market coupled across all
# 34, the readings being the same as on one zone.
BUDGET_SCALE_DAY_GAS_PER_HOUSEHOLD_INTERVAL = 64_000


@dataclass(frozen=True)
class SimulationBench:
    households: int
    intervals: int
    seconds: float  # wall time of run_simulation: set-up, baseline days, the day, the audit
    transactions: int  # sent by the run's actors, from the chain's receipts
    gas: int
    day_gas: int  # the simulated day alone (from its first interval's blocks on)
    day_gas_by_actor: dict[str, int]

    @property
    def day_split(self) -> str:
        """The simulated day's gas per household-interval by actor, the largest first."""
        household_intervals = self.households * self.intervals
        shares = sorted(self.day_gas_by_actor.items(), key=lambda item: -item[1])
        return ", ".join(f"{actor} {gas // household_intervals:,}" for actor, gas in shares if gas)

    @property
    def household_intervals_per_second(self) -> float:
        return self.households * self.intervals / self.seconds

    @property
    def transactions_per_interval(self) -> float:
        return self.transactions / self.intervals

    @property
    def within_budget(self) -> bool:
        return self.seconds <= BUDGET_SECONDS * self.households * self.intervals / (BENCH_HOUSEHOLDS * 96)


def bench_simulation(client: GridClient, households: int = BENCH_HOUSEHOLDS, days: int = 1, seed: int = 0) -> SimulationBench:
    """Runs a fresh simulation (no run file: never a resume) and measures it."""
    config = SimulationConfig(households=households, days=days, seed=seed)
    started = time.monotonic()
    result = run_simulation(client, config)
    seconds = time.monotonic() - started
    return SimulationBench(
        households=households,
        intervals=config.interval_count,
        seconds=seconds,
        transactions=sum(result.transactions_by_actor.values()),
        gas=sum(result.gas_by_actor.values()),
        day_gas=sum(result.day_gas_by_actor.values()),
        day_gas_by_actor=dict(result.day_gas_by_actor),
    )


def add_to_report(report: GasReport, bench: SimulationBench) -> None:
    """The bench's figures as GasReport rows (gas per household-interval, with the throughput as notes)."""
    household_intervals = bench.households * bench.intervals
    note = (
        f"{bench.household_intervals_per_second:,.0f} household-intervals/s, "
        f"{bench.transactions_per_interval:,.0f} tx/interval, {bench.seconds:.0f} s "
        f"({'within' if bench.within_budget else 'OVER'} the {BUDGET_SECONDS:.0f} s budget)"
    )
    report.add(
        f"simulation: {bench.households} households x {bench.intervals} intervals, gas per household-interval",
        bench.gas // household_intervals,
        note=note + "; set-up and the baseline days' uploads included",
    )
    report.add(
        f"simulation: {bench.households} households x {bench.intervals} intervals, gas per household-interval, simulated day only",
        bench.day_gas // household_intervals,
        BUDGET_DAY_GAS_PER_HOUSEHOLD_INTERVAL,
        f"all actors, from the day's first interval on: {bench.day_split}",
    )


def add_scale_to_report(report: GasReport, bench: SimulationBench) -> None:
    """The run at scale as rows of their own: its wall time in seconds against BUDGET_SCALE_SECONDS,
    and its simulated day's gas per household-interval, every feeder a zone of the market."""
    feeders = -(-bench.households // SimulationConfig().households_per_feeder)
    report.add(
        f"simulation: {bench.households:,} households on {feeders} feeders, each a market zone, "
        "gas per household-interval, simulated day only",
        bench.day_gas // (bench.households * bench.intervals),
        BUDGET_SCALE_DAY_GAS_PER_HOUSEHOLD_INTERVAL,
        "all actors, from the day's first interval on: a feeder's load report and the coupled clearing every interval; "
        + bench.day_split,
    )
    report.add(
        f"simulation: {bench.households:,} households x 1 day, wall seconds",
        round(bench.seconds),
        BUDGET_SCALE_SECONDS,
        f"{bench.household_intervals_per_second:,.0f} household-intervals/s, {bench.transactions_per_interval:,.0f} tx/interval;"
        " set-up, baseline days, the day and the audit",
    )


__all__ = [
    "BENCH_HOUSEHOLDS",
    "BUDGET_SCALE_DAY_GAS_PER_HOUSEHOLD_INTERVAL",
    "BUDGET_SCALE_SECONDS",
    "BUDGET_SECONDS",
    "SCALE_HOUSEHOLDS",
    "SimulationBench",
    "add_scale_to_report",
    "add_to_report",
    "bench_simulation",
]
