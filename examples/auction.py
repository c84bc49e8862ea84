"""Plain web3.py, no ape: one quarter hour's interval auction from deposits to claims.

Three sellers offer metered PV surplus and three buyers bid for the period three quarter hours
ahead. The auction trades EnergyVault balances, so each trader first deposits what its order
escrows (an ERC-2612 permit signed here: one transaction, no separate approval) and approves the
auction as a market of its balance. After the period's end and its reading deadline (the reading
market waits for the meters' readings of the interval), anyone clears the market at one price and
a keeper claims every order into the traders' vault balances. Each fill is checked against the
Python reference rule (energy_grid.domain.auction) computed from the market's events, and each claim is
read from the trader's vault balance; the first seller withdraws its proceeds to its wallet.

    make node && make deploy     # then:
    .venv/bin/python examples/auction.py

Local chains only: dev accounts 1-6 trade (the deploy's faucet funded them) and the clock jumps to
the clearing time (anvil's evm_mine).
"""

from __future__ import annotations

import os
from typing import NamedTuple

from eth_account import Account

from energy_grid.chain.accounts import anvil_account
from energy_grid.cli.script_client import client_or_exit
from energy_grid.contracts.client import GridClient, MeterReading
from energy_grid.domain.units import INTERVAL_SECONDS

RPC_URL = os.environ.get("RPC_URL", "http://127.0.0.1:8545")
REGION = 1
# (Wh, limit price per kWh in the 6-decimal PaymentToken): on the default grid (0.05 + k x 0.001).
ASKS = [(1_000, 150_000), (800, 180_000), (600, 220_000)]
BIDS = [(700, 240_000), (500, 200_000), (900, 160_000)]


class Claimed(NamedTuple):
    """An order's claim: its fill, the reference rule's, and what the claim credited to the
    trader's vault balance (read from the balance before and after)."""

    filled_wh: int
    reference_wh: int
    energy_wh: int
    payment: int


def run(grid: GridClient) -> dict[int, Claimed]:
    """The walk-through; returns each order's claim."""
    operator = anvil_account(0)  # locally: SmartMeter operator and gateway
    sellers = [anvil_account(i) for i in (1, 2, 3)]
    buyers = [anvil_account(i) for i in (4, 5, 6)]
    vault, auction = grid.vault, grid.auction

    # Each seller's fresh meter reports a quarter hour of export; SmartMeter mints it as EnergyToken.
    meters = [Account.create().address for _ in sellers]
    for meter, seller in zip(meters, sellers, strict=True):
        grid.smart_meter.register_meter(operator, meter, seller.address, REGION)
    now = grid.w3.eth.get_block("latest")["timestamp"] + 1
    grid.mine_block_at(now)
    grid.smart_meter.submit_readings(operator, meters, [MeterReading(now, 0, 0)] * len(meters))
    grid.mine_block_at(now + INTERVAL_SECONDS)
    grid.smart_meter.submit_readings(operator, meters, [MeterReading(now + INTERVAL_SECONDS, 0, wh) for wh, _ in ASKS])

    # Into the vault: an ask escrows its energy, a bid ceil(Wh x limit / 1000) of the PaymentToken.
    for seller, (wh, _) in zip(sellers, ASKS, strict=True):
        vault.deposit_with_permit(seller, vault.energy_token, wh)
    for buyer, (wh, limit) in zip(buyers, BIDS, strict=True):
        vault.deposit_with_permit(buyer, vault.payment_token, -(-wh * limit // 1_000))
    for trader in sellers + buyers:
        if not vault.is_market_approved(trader.address, auction.address):
            vault.approve_market(trader, auction.address)

    period = auction.current_period() + 3
    orders = [auction.submit_ask(s, period, wh, price) for s, (wh, price) in zip(sellers, ASKS, strict=True)]
    orders += [auction.submit_bid(b, period, wh, price) for b, (wh, price) in zip(buyers, BIDS, strict=True)]
    traders = dict(zip(orders, sellers + buyers, strict=True))
    preview = grid.preview_auction(period)

    clears_at = auction.clearing_time(period)  # the period's end plus the reading deadline
    grid.mine_block_at(clears_at)  # the exact second: anyone may clear
    cleared = auction.clear(operator, period)
    print(f"Period {period}: {cleared.volume_wh} Wh at {cleared.clearing_price_per_kwh} per kWh (tick {cleared.clearing_tick})")
    results = {}
    for order_id in orders:
        trader = traders[order_id].address
        before = vault.balances(trader)
        claimed = auction.claim(operator, order_id)  # a keeper claims; the value goes to the trader's vault balance
        after = vault.balances(trader)
        side = "bid" if claimed.is_bid else "ask"
        results[order_id] = Claimed(
            claimed.filled_wh, preview.fills_wh[order_id], after.energy_wh - before.energy_wh, after.payment - before.payment
        )
        print(
            f"  order {order_id:#x} ({side}): filled {claimed.filled_wh} Wh (reference {preview.fills_wh[order_id]}); "
            f"vault balance +{results[order_id].energy_wh} Wh, +{results[order_id].payment} payment units"
        )

    # The balances are the trader's to withdraw at any time.
    seller = sellers[0]
    proceeds = results[orders[0]].payment
    vault.withdraw(seller, vault.payment_token, proceeds)
    print(f"Seller {seller.address} withdrew its proceeds, {proceeds} payment units, to its wallet.")
    return results


if __name__ == "__main__":
    outcome = run(client_or_exit("deployments/31337.json", RPC_URL))
    assert all(c.filled_wh == c.reference_wh for c in outcome.values()), "fills differ from the reference rule"
