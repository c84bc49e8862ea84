"""Plain web3.py, no ape: one quarter hour's interval auction from bids to claims.

Three sellers offer metered PV surplus and three buyers bid for the period three quarter hours
ahead; the gate closes, anyone clears the market at one price, and a keeper claims every order.
Each fill is checked against the Python reference rule (energy_grid.auction) computed from the
market's events, and printed.

    make node && make deploy     # then:
    .venv/bin/python examples/auction.py

Local chains only: dev accounts 1-6 trade (the deploy's faucet funded them) and the clock jumps to
the gate (anvil's evm_mine).
"""

from __future__ import annotations

import os

from eth_account import Account

from energy_grid.client import GridClient, MeterReading, anvil_account
from energy_grid.units import INTERVAL_SECONDS

RPC_URL = os.environ.get("RPC_URL", "http://127.0.0.1:8545")
REGION = 1
# (Wh, limit price per kWh in the 6-decimal PaymentToken): on the default grid (0.01 + k x 0.002).
ASKS = [(1_000, 150_000), (800, 180_000), (600, 220_000)]
BIDS = [(700, 240_000), (500, 200_000), (900, 160_000)]


def run(grid: GridClient) -> dict[int, tuple[int, int]]:
    """The walk-through; returns each order's (filled Wh, reference Wh)."""
    operator = anvil_account(0)  # locally: SmartMeter operator and gateway
    sellers = [anvil_account(i) for i in (1, 2, 3)]
    buyers = [anvil_account(i) for i in (4, 5, 6)]
    auction = grid["EnergyAuction"].functions

    # Each seller's fresh meter reports a quarter hour of export; SmartMeter mints it as EnergyToken.
    meters = [Account.create().address for _ in sellers]
    for meter, seller in zip(meters, sellers, strict=True):
        grid.smart_meter.register_meter(operator, meter, seller.address, REGION)
    now = grid.w3.eth.get_block("latest")["timestamp"] + 1
    grid.mine_block_at(now)
    grid.smart_meter.submit_readings(operator, meters, [MeterReading(now, 0, 0)] * len(meters))
    grid.mine_block_at(now + INTERVAL_SECONDS)
    grid.smart_meter.submit_readings(operator, meters, [MeterReading(now + INTERVAL_SECONDS, 0, wh) for wh, _ in ASKS])

    period = auction.currentPeriod().call() + 3
    for trader in sellers + buyers:
        grid.approve_auction(trader)
    orders = [grid.auction.submit_ask(s, period, wh, price) for s, (wh, price) in zip(sellers, ASKS, strict=True)]
    orders += [grid.auction.submit_bid(b, period, wh, price) for b, (wh, price) in zip(buyers, BIDS, strict=True)]
    preview = grid.preview_auction(period)

    gate = auction.gateClosureTime(period).call()
    grid.mine_block_at(gate)  # the gate's exact second: no more orders; anyone may clear
    cleared = grid.clear_auction(operator, period)
    print(f"Period {period}: {cleared['volumeWh']} Wh at {cleared['clearingPricePerKWh']} per kWh (tick {cleared['clearingTick']})")
    results = {}
    for order_id in orders:
        claimed = grid.claim_auction_order(operator, order_id)  # a keeper claims; value goes to the trader
        side = "bid" if claimed["isBid"] else "ask"
        print(
            f"  order {order_id:#x} ({side}): filled {claimed['filledWh']} Wh (reference {preview.fills_wh[order_id]}), "
            f"payment {claimed['payment']}, fee {claimed['fee']}, refund {claimed['refund']}"
        )
        results[order_id] = (int(claimed["filledWh"]), preview.fills_wh[order_id])
    return results


if __name__ == "__main__":
    outcome = run(GridClient.from_manifest("deployments/31337.json", RPC_URL))
    assert all(filled == reference for filled, reference in outcome.values()), "fills differ from the reference rule"
