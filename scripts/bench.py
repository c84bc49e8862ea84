"""`make bench`: gas per operation on an embedded anvil, against the budgets.

Steady state means a later operation of an actor whose storage already exists (a meter's later
reading, an owner whose balance is non-zero); first-time figures pay for fresh storage slots
and are printed beside them. Writes benchmarks/gas.json; exits 1 if a figure is over budget.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from ape import accounts, chain, project
from ape.cli import ConnectedProviderCommand
from ape.logging import logger
from eth_account import Account

from energy_grid.bench import GasReport
from energy_grid.deployment import deploy_system
from energy_grid.units import INTERVAL_SECONDS

OUTPUT = Path("benchmarks/gas.json")
BUDGET_SUBMIT_READING = 95_000
BUDGET_BATCHED_PER_READING_AT_100 = 45_000


class MeterFeed:
    """Registers fresh meters (each with its own owner) and builds rising readings for them."""

    def __init__(self, meter, operator) -> None:
        self.meter, self.operator = meter, operator
        self.registers: dict[str, int] = {}

    def register(self, device: str) -> str:
        # Registered with installation registers, so the very first reading already mints.
        self.meter.registerMeter(device, Account.create().address, 1, 0, 0, sender=self.operator)
        self.registers[device] = 0
        return device

    def readings(self, devices: list[str]) -> list[tuple[int, ...]]:
        chain.pending_timestamp += INTERVAL_SECONDS  # each reading starts a new profile interval
        for d in devices:
            self.registers[d] += 1_500
        return [(chain.pending_timestamp, self.registers[d], self.registers[d], 50_000, 1_000) for d in devices]


def bench_meter(report: GasReport, system, operator) -> None:
    feed = MeterFeed(system.smart_meter, operator)
    device = accounts.test_accounts[8]  # signs its own readings
    feed.register(device.address)
    first = system.smart_meter.submitReading(feed.readings([device.address])[0], sender=device)
    steady = system.smart_meter.submitReading(feed.readings([device.address])[0], sender=device)
    report.add("submitReading", steady.gas_used, BUDGET_SUBMIT_READING, f"first reading: {first.gas_used:,}")

    for size in (1, 10, 100):
        group = [feed.register(Account.create().address) for _ in range(size)]
        first = system.smart_meter.submitReadings(group, feed.readings(group), sender=operator)
        steady = system.smart_meter.submitReadings(group, feed.readings(group), sender=operator)
        report.add(
            f"submitReadings x{size}, per reading",
            steady.gas_used // size,
            BUDGET_BATCHED_PER_READING_AT_100 if size == 100 else None,
            f"first readings: {first.gas_used // size:,}",
        )


@click.command(cls=ConnectedProviderCommand)
def cli() -> None:
    logger.set_level("WARNING")
    operator = accounts.test_accounts[0]
    system = deploy_system(project, operator)
    report = GasReport()
    bench_meter(report, system, operator)
    report.print()
    report.write(OUTPUT)
    click.echo(f"Written to {OUTPUT}")
    if not report.all_within_budget:
        sys.exit(1)
