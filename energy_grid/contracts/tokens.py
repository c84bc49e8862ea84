"""The ERC-20s: EnergyToken (1 unit = 1 Wh), the PaymentToken (any ERC-20; MockStablecoin
locally) and the ERC-20 side of CarbonCredits and GovernanceToken."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount
from web3.types import TxReceipt

from energy_grid.contracts.base import (
    ContractClient,
    require,
    require_amount,
)
from energy_grid.domain.units import MAX_UINT256


class ERC20(ContractClient):
    """Balances and allowances in the token's base units."""

    def balance_of(self, holder: str) -> int:
        return self._int("balanceOf", holder)

    def allowance(self, owner: str, spender: str) -> int:
        return self._int("allowance", owner, spender)

    def total_supply(self) -> int:
        return self._int("totalSupply")

    def decimals(self) -> int:
        return self._int("decimals")

    def symbol(self) -> str:
        return str(self._call("symbol"))

    def name(self) -> str:
        return str(self._call("name"))

    def nonce(self, owner: str) -> int:
        """The nonce the owner's next ERC-2612 permit must carry."""
        return self._int("nonces", owner)

    def approve(self, owner: LocalAccount, spender: str, amount: int = MAX_UINT256) -> TxReceipt:
        """Lets `spender` move up to `amount` (all, by default) of the owner's tokens."""
        require(0 <= amount <= MAX_UINT256, f"approve: amount {amount} is not a uint256")
        return self._send(owner, "approve", spender, amount)

    def transfer(self, sender: LocalAccount, to: str, amount: int) -> TxReceipt:
        require_amount("amount", amount)
        return self._send(sender, "transfer", to, amount)

    def transfer_from(self, spender: LocalAccount, owner: str, to: str, amount: int) -> TxReceipt:
        require_amount("amount", amount)
        return self._send(spender, "transferFrom", owner, to, amount)


class EnergyToken(ERC20):
    """1 unit = 1 Wh (3 decimals). Minted only by SmartMeter for verified export."""

    def balance_wh(self, holder: str) -> int:
        return self.balance_of(holder)

    def burn(self, holder: LocalAccount, amount_wh: int) -> TxReceipt:
        require_amount("amount_wh", amount_wh)
        return self._send(holder, "burn", amount_wh)


class PaymentToken(ERC20):
    """The settlement currency; `add_consumer_balance` exists on the local MockStablecoin only."""

    def add_consumer_balance(self, operator: LocalAccount, consumer: str, whole_units: int) -> TxReceipt:
        """MockStablecoin's operator faucet: 1-1,000,000 whole units (a stand-in for a payment gateway)."""
        require(1 <= whole_units <= 1_000_000, f"add_consumer_balance: {whole_units} is not 1-1,000,000 whole units")
        return self._send(operator, "addConsumerBalance", consumer, whole_units)
