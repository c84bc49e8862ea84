"""Plain web3.py and the deployment manifest only: a meter's standing orders, from deposit to fill.

Two households trade their metered energy ex post in the reading market (SmartMeter's reading market,
the first EnergyAuction). The buyer approves the vault for the PaymentToken and deposits; both approve
the reading market in the vault and set standing limits on their meters once: the seller sells its
export at 0.08 or more per kWh, the buyer buys its import at 0.20 or less. The gateway then reads both
meters: the reading credits the seller's export to its vault balance and places it as an ask, and the
buyer's import as a bid (locking what the bid may cost) in the market of the interval measured. The
next interval's readings come in; once the interval's reading deadline has passed, anyone clears its
market at one price and settles the meters' orders into the owners' vault balances. The script prints
the fill as the chain records it: the market's price and volume, what each meter sold or bought and
for how much (MeteredOrdersSettled), and the vault balances after.

    make node && make deploy     # then:
    .venv/bin/python examples/standing_order_web3.py

Local chains only: anvil's unlocked dev accounts sign (0: the deployer, the meters' operator and
gateway; 1: the seller; 2: the buyer, funded by the deploy's faucet), and the clock jumps ahead to
each interval and to the clearing time (evm_setNextBlockTimestamp and evm_mine).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, NamedTuple

from web3 import Web3
from web3.logs import DISCARD

RPC_URL = os.environ.get("RPC_URL", "http://127.0.0.1:8545")
REGION = 1
FREQUENCY_MILLIHZ, VOLTAGE_PER_MILLE = 50_000, 1_000  # nominal: 50 Hz, 100 % of nominal voltage
SELL_PER_KWH, BUY_PER_KWH = 80_000, 200_000  # PaymentToken base units (6 decimals): 0.08 and 0.20
EXPORT_WH, IMPORT_WH = 2_000, 1_500  # what the seller's meter exports and the buyer's imports in the interval
DEPOSIT = 1_000_000  # the buyer's deposit: 1 PaymentToken, enough for its bid's lock (0.30)


class MeterFill(NamedTuple):
    """One meter's settled standing orders in the interval's market (MeteredOrdersSettled)."""

    meter: str
    sold_wh: int
    proceeds: int  # after the grid fee
    bought_wh: int
    paid: int


BITS_40, BITS_128 = (1 << 40) - 1, (1 << 128) - 1


def meter_fill(args: Any) -> MeterFill:
    """MeteredOrdersSettled's figures, packed in two words as IMeteredMarket documents them: the period
    and the Wh offered, sold, bid for and bought, 40 bits each from the low bits up; the proceeds and
    what was paid, 128 bits each."""
    volumes, payments = args.periodAndVolumes, args.payments
    return MeterFill(args.meter, (volumes >> 80) & BITS_40, payments & BITS_128, (volumes >> 160) & BITS_40, payments >> 128)


class Fill(NamedTuple):
    """The interval's market as cleared, each meter's fill and the owners' vault balances after."""

    period: int
    price_per_kwh: int
    volume_wh: int
    seller: MeterFill
    buyer: MeterFill
    seller_vault: tuple[int, int]  # (energy Wh, payment base units)
    buyer_vault: tuple[int, int]


class Chain:
    """The manifest's contracts on a web3 connection, and transactions from anvil's unlocked accounts."""

    def __init__(self, w3: Web3, manifest: dict[str, Any]) -> None:
        self.w3 = w3
        entries = manifest["contracts"]
        self.contracts = {name: w3.eth.contract(address=entry["address"], abi=entry["abi"]) for name, entry in entries.items()}
        meter = self.contracts["SmartMeter"]
        # The market readings place standing orders in, with the auction's ABI.
        self.market = w3.eth.contract(address=meter.functions.readingMarket().call(), abi=entries["EnergyAuction"]["abi"])

    def __getitem__(self, name: str) -> Any:
        return self.contracts[name]

    def send(self, call: Any, sender: str) -> Any:
        receipt = self.w3.eth.wait_for_transaction_receipt(call.transact({"from": sender}))
        if receipt["status"] != 1:
            raise RuntimeError(f"{call.fn_name} reverted: {receipt['transactionHash'].hex()}")
        return receipt

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def advance_to(self, timestamp: int) -> int:
        """Local chains only (anvil): mines the next block at `timestamp` (or one second after the
        latest, if that is later); returns its time."""
        self.w3.provider.make_request("evm_setNextBlockTimestamp", [max(timestamp, self.now() + 1)])
        self.w3.provider.make_request("evm_mine", [])
        return self.now()


def run(w3: Web3, manifest: dict[str, Any]) -> Fill:
    """The walk-through; prints the fill and returns it."""
    chain = Chain(w3, manifest)
    meter, vault, market = chain["SmartMeter"], chain["EnergyVault"], chain.market
    payment = chain["PaymentToken"]
    operator, seller, buyer = w3.eth.accounts[:3]
    period_length = market.functions.periodLength().call()

    # Two fresh meters (registers from 0 at registration), one per household.
    meters = [w3.eth.account.create().address for _ in range(2)]
    register = meter.get_function_by_signature("registerMeter(address,address,uint32,uint256,uint256)")
    for address, owner in zip(meters, (seller, buyer), strict=True):
        chain.send(register(address, owner, REGION, 0, 0), operator)

    # The buyer deposits (an ERC-20 allowance to the vault first); both approve the reading market.
    chain.send(payment.functions.approve(vault.address, DEPOSIT), buyer)
    chain.send(vault.functions.deposit(payment.address, DEPOSIT), buyer)
    for owner in (seller, buyer):
        chain.send(vault.functions.setMarketApproval(market.address, True), owner)

    # Standing limits, set once: (sell price, sell cap, buy price, buy cap); 0 = that side off / no cap.
    chain.send(meter.functions.setStandingOrder(meters[0], SELL_PER_KWH, 0, 0, 0), seller)
    chain.send(meter.functions.setStandingOrder(meters[1], 0, 0, BUY_PER_KWH, 0), buyer)

    # Interval `period`: the gateway reads both meters near its end; the readings place the orders.
    period = chain.now() // period_length + 1
    read_at = chain.advance_to(period * period_length + period_length - 60)
    registers = [(0, EXPORT_WH), (IMPORT_WH, 0)]  # (import, export) registers
    readings = [(read_at, imported, exported, FREQUENCY_MILLIHZ, VOLTAGE_PER_MILLE) for imported, exported in registers]
    chain.send(meter.functions.submitReadings(meters, readings), operator)
    # The next interval's readings (nothing new metered); its market takes no orders from them.
    read_at = chain.advance_to((period + 1) * period_length + period_length - 60)
    readings = [(read_at, imported, exported, FREQUENCY_MILLIHZ, VOLTAGE_PER_MILLE) for imported, exported in registers]
    chain.send(meter.functions.submitReadings(meters, readings), operator)

    # After the period's end and its reading deadline anyone clears, then anyone settles the meters.
    chain.advance_to(market.functions.clearingTime(period).call())
    chain.send(market.functions.clear(period), operator)
    receipt = chain.send(meter.functions.settleStandingOrders(meters), operator)

    cleared = market.functions.getMarket(period).call()
    settled = {
        e.args.meter: meter_fill(e.args)
        for e in market.events.MeteredOrdersSettled().process_receipt(receipt, errors=DISCARD)
        if e.args.periodAndVolumes & BITS_40 == period
    }
    fill = Fill(
        period=period,
        price_per_kwh=cleared[6],  # MarketInfo.clearingPricePerKWh
        volume_wh=cleared[7],  # MarketInfo.volumeWh
        seller=settled[meters[0]],
        buyer=settled[meters[1]],
        seller_vault=tuple(vault.functions.balancesOf(seller).call()),
        buyer_vault=tuple(vault.functions.balancesOf(buyer).call()),
    )
    print_fill(fill)
    return fill


def print_fill(fill: Fill) -> None:
    print(f"interval {fill.period}: cleared at {fill.price_per_kwh} per kWh, {fill.volume_wh} Wh traded")
    s, b = fill.seller, fill.buyer
    print(f"seller meter {s.meter}: sold {s.sold_wh} Wh for {s.proceeds} after the grid fee")
    print(f"buyer meter {b.meter}: bought {b.bought_wh} Wh for {b.paid}")
    print(f"seller vault balance: {fill.seller_vault[0]} Wh, {fill.seller_vault[1]} payment")
    print(f"buyer vault balance: {fill.buyer_vault[0]} Wh, {fill.buyer_vault[1]} payment")


def deployed_manifest(w3: Web3) -> dict[str, Any]:
    """deployments/<chainId>.json when its contracts are on this node; else one sentence saying what
    to do, on stderr, and exit status 2."""
    if not w3.is_connected():
        sys.exit(_say(f"No node answers at {RPC_URL}: start one with `make node` and deploy with `make deploy`."))
    path = Path(f"deployments/{w3.eth.chain_id}.json")
    if not path.exists():
        sys.exit(_say(f"No deployment manifest at {path}: run `make deploy` against the node at {RPC_URL}."))
    manifest: dict[str, Any] = json.loads(path.read_text())
    # A manifest left by another chain with the same id (a throwaway anvil) names addresses with no code here.
    with w3.batch_requests() as batch:
        for entry in manifest["contracts"].values():
            batch.add(w3.eth.get_code(Web3.to_checksum_address(entry["address"])))
        codes = batch.execute()
    if not all(codes):
        sys.exit(
            _say(
                f"The deployment in {path} is not on the chain at {RPC_URL} (no code at its contracts): "
                "run `make deploy` (or `make simulate`) against this node."
            )
        )
    return manifest


def _say(sentence: str) -> int:
    print(sentence, file=sys.stderr)
    return 2


def main() -> None:
    w3 = Web3(Web3.HTTPProvider(RPC_URL))
    run(w3, deployed_manifest(w3))


if __name__ == "__main__":
    main()
