"""Plain web3.py, no ape: a region through normal, high and critical load, the dynamic price
following the specification's formula and tripling in an emergency, and PriceOracle read through
Chainlink's published AggregatorV3Interface ABI.

    make node && make deploy     # then:
    .venv/bin/python examples/grid.py

Region 1 is the community's region (`make simulate` reports its load there), so the walk-through
leaves it as it found it: at the end it reports the region's load, stability and producers' output
it read at the start (a nominal 50 Hz and no load when there were none), clears the emergency it
declared, and reports the price the feed answered before.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from eth_account.signers.local import LocalAccount

from energy_grid.chain.accounts import anvil_account
from energy_grid.cli.script_client import client_or_exit
from energy_grid.contracts.client import GridClient, GridError
from energy_grid.contracts.structs import LoadReport, StabilityMetrics
from energy_grid.domain.pricing import dynamic_price

RPC_URL = os.environ.get("RPC_URL", "http://127.0.0.1:8545")
REGION = 1  # the local deployer operates region 1
REGION_CAPACITY_MW = 100
MW = 1_000_000  # W
KW_PER_MW = 1_000  # GridOperations carries power in kW
WIND, SOLAR = 1, 0  # IGridManagement.EnergyType
NOMINAL_MILLIHZ, NOMINAL_VOLTAGE_PER_MILLE = 50_000, 1_000
T = TypeVar("T")


def main() -> None:
    grid = client_or_exit("deployments/31337.json", RPC_URL)
    operator = anvil_account(0)  # locally: a verified grid operator of region 1 and an oracle reporter
    wind_farm, solar_park = anvil_account(5), anvil_account(6)
    for producer, capacity_w, kind in ((wind_farm, 60 * MW, WIND), (solar_park, 40 * MW, SOLAR)):
        try:
            grid.grid_management.register_producer(producer, capacity_w, kind)
            # Only verified capacity and output count in the price: the operator vouches for them.
            grid.grid_management.verify_producer(operator, producer.address)
        except GridError as err:  # a second run finds them registered and verified
            if "AlreadyRegistered" not in str(err):
                raise
    found = Found.read(grid, [wind_farm.address, solar_park.address])
    if found.emergency:  # the walk-through starts from normal operation, and ends as it found the region
        grid.grid_management.toggle_emergency_mode(operator, REGION, False)
    try:
        walk_through(grid, operator, wind_farm, solar_park)
    finally:
        found.restore(grid, operator, [wind_farm, solar_park])
        print(f"Region {REGION} restored: load {grid.grid_operations.load_status(REGION).name}, "
              f"emergency mode {grid.grid_management.is_region_in_emergency(REGION)}")


@dataclass(frozen=True)
class Found:
    """What the walk-through changes in region 1, as it was before."""

    load: LoadReport | None  # None: no load reported yet
    stability: StabilityMetrics | None
    emergency: bool
    outputs_w: list[int]
    price_per_kwh: int | None  # the feed's answer; None before its first round

    @classmethod
    def read(cls, grid: GridClient, producers: list[str]) -> Found:
        return cls(
            _or_none(lambda: grid.grid_operations.current_load(REGION)),
            _or_none(lambda: grid.grid_operations.stability_metrics(REGION)),
            grid.grid_management.is_region_in_emergency(REGION),
            [grid.grid_management.get_producer(p).current_output_w for p in producers],
            _or_none(lambda: grid.price_oracle.latest_round().answer_per_kwh or None),
        )

    def restore(self, grid: GridClient, operator: LocalAccount, producers: list[LocalAccount]) -> None:
        for producer, output_w in zip(producers, self.outputs_w, strict=True):
            grid.grid_management.report_production(producer, output_w)
        capacity_kw, demand_kw = (self.load.capacity_kw, self.load.demand_kw) if self.load else (REGION_CAPACITY_MW * KW_PER_MW, 0)
        grid.grid_operations.report_load(operator, REGION, capacity_kw, demand_kw)
        if self.stability is not None:
            s = self.stability
            grid.grid_operations.report_stability(operator, REGION, s.frequency_millihz, s.voltage_per_mille, s.phase_angle_milli_degrees)
        else:
            grid.grid_operations.report_stability(operator, REGION, NOMINAL_MILLIHZ, NOMINAL_VOLTAGE_PER_MILLE)
        if grid.grid_management.is_region_in_emergency(REGION) != self.emergency:
            grid.grid_management.toggle_emergency_mode(operator, REGION, self.emergency)
        if self.price_per_kwh is not None:
            grid.submit_price(operator, self.price_per_kwh)


def _or_none(read: Callable[[], T]) -> T | None:
    """A read that reverts before its first report (LoadNotReported, StabilityNotReported, …) is None."""
    try:
        return read()
    except GridError:
        return None


def walk_through(grid: GridClient, operator: LocalAccount, wind_farm: LocalAccount, solar_park: LocalAccount) -> None:
    base = grid["GridManagement"].functions.basePrice().call()
    for demand_mw in (50, 85, 97):
        grid.grid_management.report_production(wind_farm, demand_mw * MW * 6 // 10)
        grid.grid_management.report_production(solar_park, demand_mw * MW * 4 // 10)
        grid.grid_operations.report_load(operator, REGION, REGION_CAPACITY_MW * KW_PER_MW, demand_mw * KW_PER_MW)
        status = grid.grid_status()
        price = grid.grid_management.dynamic_price_per_kwh()
        assert price == dynamic_price(base, status.currentLoadW, status.totalCapacityW)
        load = grid.grid_operations.load_status(REGION).name
        print(f"{demand_mw} MW: load {load}, utilization {status.utilizationBps / 100:.2f} %, price {price}")

    grid.grid_operations.report_stability(operator, REGION, 47_800, 1_000)  # 47.8 Hz: CRITICAL, an emergency
    print(f"47.8 Hz: emergency mode {grid.grid_status().emergencyMode}, price {grid.grid_management.dynamic_price_per_kwh()} = 3 x {base}")

    grid.submit_price(operator, 250_000)
    feed = grid.chainlink_price_feed()
    round_id, answer, _, updated_at, _ = feed.functions.latestRoundData().call()
    decimals = feed.functions.decimals().call()
    print(f"{feed.functions.description().call()}: round {round_id}, {answer / 10**decimals} per kWh at {updated_at}")

    try:  # bad input is refused, and the client says why
        grid.grid_operations.report_load(operator, REGION, 0, 10)
    except GridError as err:
        print(f"As expected: {err}")


if __name__ == "__main__":
    main()
