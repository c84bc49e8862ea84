"""Every account's EnergyVault balances rebuilt from the vault's own events, as an index does.

The vault records each change of a balance with an event naming the account (and, for a market's
move, the market): deposits and wallet pulls (Deposited), withdrawals (Withdrawn), a market's take
or give (MarketMoved: the account's signed deltas, the market's the opposite), a market's batch
(MarketBatchSettled: each entry's deltas, the market's the opposite of their sum), tokens booked
after they reached the vault (ArrivedCredited) and energy a market burned (EnergyRetired). Replaying
them from the vault's deployment block gives what `balancesOf` answers, with no other contract's
events.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from web3 import Web3
from web3.contract import Contract

from energy_grid.chain.events import EventDecoder

EVENTS = ("Deposited", "Withdrawn", "MarketMoved", "MarketBatchSettled", "ArrivedCredited", "EnergyRetired")


@dataclass
class VaultBalance:
    """One account's two balances: energy in Wh, payment in the payment token's base units."""

    energy_wh: int = 0
    payment: int = 0

    def add(self, energy_delta_wh: int, payment_delta: int) -> None:
        self.energy_wh += energy_delta_wh
        self.payment += payment_delta


def rebuild_vault_balances(w3: Web3, vault: Contract, from_block: int = 0) -> dict[str, VaultBalance]:
    """Every account's and market's balances after the latest block, from the vault's events since
    `from_block` (its deployment block, or earlier)."""
    decoders = [EventDecoder(vault, name) for name in EVENTS]
    # Raw logs (hex strings), as the decoder reads them.
    query = {"address": vault.address, "fromBlock": hex(from_block), "toBlock": "latest"}
    logs = w3.provider.make_request("eth_getLogs", [query])["result"]  # type: ignore[arg-type]
    energy_token = str(vault.functions.energyToken().call()).lower()
    return replay_vault_events(decoders, logs, energy_token)


def replay_vault_events(
    decoders: Iterable[EventDecoder], logs: Iterable[Mapping[str, Any]], energy_token: str
) -> dict[str, VaultBalance]:
    """The balances `logs` (in chain order) leave, starting from none."""
    balances: dict[str, VaultBalance] = defaultdict(VaultBalance)
    known = list(decoders)

    def credit(account: str, token: str, amount: int) -> None:
        if token.lower() == energy_token:
            balances[account].add(amount, 0)
        else:
            balances[account].add(0, amount)

    for log in logs:
        decoder = next((d for d in known if d.matches(log)), None)
        if decoder is None:
            continue
        event = decoder.decode(log)
        if decoder.name == "Deposited":
            credit(event["account"], event["token"], int(event["amount"]))
        elif decoder.name == "Withdrawn":
            credit(event["account"], event["token"], -int(event["amount"]))
        elif decoder.name == "MarketMoved":
            energy, payment = int(event["energyDeltaWh"]), int(event["paymentDelta"])
            balances[event["account"]].add(energy, payment)
            balances[event["market"]].add(-energy, -payment)
        elif decoder.name == "MarketBatchSettled":
            entries = zip(event["accounts"], event["energyDeltasWh"], event["paymentDeltas"], strict=True)
            for account, energy, payment in entries:
                balances[Web3.to_checksum_address(account)].add(int(energy), int(payment))
                balances[event["market"]].add(-int(energy), -int(payment))
        elif decoder.name == "ArrivedCredited":
            for account, amount in zip(event["accounts"], event["amounts"], strict=True):
                credit(Web3.to_checksum_address(account), event["token"], int(amount))
        else:  # EnergyRetired
            balances[event["market"]].add(-int(event["amountWh"]), 0)
    return dict(balances)

