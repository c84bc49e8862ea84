"""Plain web3.py, no ape: register a meter and submit readings on a `make node` chain.

    make node            # in one terminal
    make deploy          # in another
    .venv/bin/python examples/submit_reading.py
"""

from __future__ import annotations

import os

from energy_grid.chain.accounts import anvil_account
from energy_grid.cli.script_client import client_or_exit
from energy_grid.contracts.client import GridError, MeterReading

RPC_URL = os.environ.get("RPC_URL", "http://127.0.0.1:8545")
MIN_READING_INTERVAL_S = 60


def main() -> None:
    grid = client_or_exit("deployments/31337.json", RPC_URL)
    operator, owner, device = anvil_account(0), anvil_account(1), anvil_account(8)
    try:
        grid["SmartMeter"].functions.getMeter(device.address).call()
    except Exception:  # MeterUnknown: the first run on this chain registers the meter
        grid.smart_meter.register_meter(operator, device.address, owner.address, region_id=1)
        print(f"Registered meter {device.address} (owner {owner.address})")

    for added_consumption_wh, added_production_wh in ((1_200, 3_400), (800, 2_100)):
        latest = grid.smart_meter.latest_reading(device.address)
        now = grid.w3.eth.get_block("latest")["timestamp"]
        timestamp = max(now + 1, latest.timestamp + MIN_READING_INTERVAL_S)
        grid.mine_block_at(timestamp)  # a local chain's clock stands still between transactions
        reading = MeterReading(
            timestamp, latest.consumption_wh + added_consumption_wh, latest.production_wh + added_production_wh
        )
        grid.smart_meter.submit_reading(device, reading)
        print(f"Reading at {timestamp}: import {reading.consumption_wh} Wh, export {reading.production_wh} Wh")

    print(f"{owner.address} holds {grid.energy_token.balance_of(owner.address)} Wh of EnergyToken")
    try:  # the same reading again is rejected, and the client says why
        grid.smart_meter.submit_reading(device, grid.smart_meter.latest_reading(device.address))
    except GridError as err:
        print(f"As expected: {err}")


if __name__ == "__main__":
    main()
