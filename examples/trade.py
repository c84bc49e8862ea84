"""Plain web3.py, no ape: a sell order, a buy order that crosses it on arrival, a taker fill, a
directed offer matched by a keeper, a cancel, settlement. The book escrows from EnergyVault balances:
`approve_market` approves it in the vault and lets the vault pull what a balance falls short of from
the wallet; refunds and payouts are credited in the vault, withdrawn with `grid.vault.withdraw`.

    make node && make deploy     # then:
    .venv/bin/python examples/submit_reading.py    # gives dev account 1 some EnergyToken
    .venv/bin/python examples/trade.py
"""

from __future__ import annotations

import os
import sys

from energy_grid.chain.accounts import anvil_account
from energy_grid.cli.script_client import client_or_exit
from energy_grid.contracts.client import BUY, SELL, GridError

RPC_URL = os.environ.get("RPC_URL", "http://127.0.0.1:8545")
PRICE_PER_KWH = 220_000  # PaymentToken base units (6 decimals): 0.22 per kWh
SELL_WH = 2_000  # EnergyToken dev account 1 needs for the sells below


def main() -> None:
    grid = client_or_exit("deployments/31337.json", RPC_URL)
    keeper, seller, buyer = anvil_account(0), anvil_account(1), anvil_account(2)
    if grid.energy_token.balance_of(seller.address) < SELL_WH:
        print("Dev account 1 has too little EnergyToken: run examples/submit_reading.py first.", file=sys.stderr)
        raise SystemExit(2)
    grid.approve_market(seller)
    grid.approve_market(buyer)
    expiry = grid.w3.eth.get_block("latest")["timestamp"] + 3_600

    sell = grid.trading.create_order(seller, 1_500, PRICE_PER_KWH, expiry, SELL)
    # The BUY crosses the resting SELL on arrival: 1,000 Wh at the SELL's price.
    crossing = grid.trading.place_order(buyer, 1_000, PRICE_PER_KWH + 20_000, expiry, BUY)
    (crossed,) = crossing.transaction_ids
    taken = grid.trading.fill_order(buyer, sell, 500)  # the buyer takes the SELL's last 500 Wh
    # A bilateral deal: an offer only the buyer may take, matched by a keeper with the buyer's bid.
    offer = grid.trading.create_directed_order(seller, 500, PRICE_PER_KWH, expiry, SELL, buyer.address)
    bid = grid.trading.create_order(buyer, 500, PRICE_PER_KWH, expiry, BUY)
    matched = grid.trading.match_orders(keeper, bid, offer)
    spare = grid.trading.create_order(buyer, 1_000, PRICE_PER_KWH, expiry, BUY)
    grid.trading.cancel_order(buyer, spare)
    for transaction_id in (crossed, taken, matched):
        grid.trading.settle_transaction(keeper, transaction_id)
        info = grid["EnergyTrading"].functions.getTransaction(transaction_id).call()
        print(f"Transaction {transaction_id} settled: {info[4]} Wh at {info[5]} per kWh, paid {info[6]}, fee {info[7]}")

    for name, account in (("seller", seller), ("buyer", buyer)):
        held = grid.vault.balances(account.address)
        print(f"The {name}'s vault balance: {held.energy_wh} Wh, {held.payment} payment base units")

    try:  # a second settlement is refused, and the client says why
        grid.trading.settle_transaction(keeper, matched)
    except GridError as err:
        print(f"As expected: {err}")


if __name__ == "__main__":
    main()
