"""Plain web3.py, no ape: a region through normal, high and critical load, the dynamic price
following the specification's formula and tripling in an emergency, and PriceOracle read through
Chainlink's published AggregatorV3Interface ABI.

    make node && make deploy     # then:
    .venv/bin/python examples/grid.py
"""

from __future__ import annotations

import os

from energy_grid.chain.client import GridClient, GridError, anvil_account
from energy_grid.domain.pricing import dynamic_price

RPC_URL = os.environ.get("RPC_URL", "http://127.0.0.1:8545")
REGION = 1  # the local deployer operates region 1
REGION_CAPACITY_MW = 100
MW = 1_000_000  # W
KW_PER_MW = 1_000  # GridOperations carries power in kW
WIND, SOLAR = 1, 0  # IGridManagement.EnergyType


def main() -> None:
    grid = GridClient.from_manifest("deployments/31337.json", RPC_URL)
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
    if grid.grid_management.is_region_in_emergency(REGION):  # left on by a previous run
        grid.grid_management.toggle_emergency_mode(operator, REGION, False)

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
