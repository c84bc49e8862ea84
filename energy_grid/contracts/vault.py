"""EnergyVault: the internal balances of EnergyToken (Wh) and the PaymentToken that the interval
auctions trade. An account deposits once, approves each market it trades in, and withdraws what it
holds at any time; the auctions take escrow from these balances and pay claims into them. A relayer
deposits for an account with the account's signed permit and withdraws with its signed withdrawal."""

from __future__ import annotations

from typing import Any, NamedTuple

from eth_account.signers.local import LocalAccount
from web3.contract import Contract
from web3.types import TxReceipt

from energy_grid.contracts.base import ContractClient, require, require_amount
from energy_grid.chain.errors import InvalidInputError
from energy_grid.signing.eip712 import Signature, sign_typed_data
from energy_grid.signing.vault import deposit_permit_typed_data, market_approval_typed_data, withdrawal_typed_data
from energy_grid.domain.units import ZERO_ADDRESS

PERMIT_LIFETIME_S = 3_600  # a permit signed here is relayed at once; an hour covers a slow block


class VaultBalances(NamedTuple):
    """What an account (or a market) holds in the vault."""

    energy_wh: int
    payment: int  # PaymentToken base units


class MarketRegistration(NamedTuple):
    registered: bool
    place: int  # its place among the vault's markets, never reused (meaningful only when registered)
    closed: bool  # a closed market pays out what it holds but takes nothing more


class EnergyVault(ContractClient):
    """Amounts in the token's base units (Wh for EnergyToken). `token` is the address of the vault's
    EnergyToken or its PaymentToken (`energy_token` / `payment_token`)."""

    _tokens: tuple[str, str] | None = None

    @property
    def chain_id(self) -> int:
        return int(self.w3.eth.chain_id)

    # ----------------------------------------------------------------- the account's balance

    def deposit(self, account: LocalAccount, token: str, amount: int) -> TxReceipt:
        """Moves `amount` of `token` from the wallet into the vault balance; the account allowed the
        vault the token first (ERC20.approve(account, vault, amount))."""
        self._require_token("deposit", token)
        require_amount("amount", amount)
        return self._send(account, "deposit", token, amount)

    def deposit_with_permit(self, account: LocalAccount, token: str, amount: int, deadline_s: int | None = None) -> TxReceipt:
        """`deposit` without a separate approval: the account signs an ERC-2612 permit of the vault for
        `amount` here and the vault uses it in the same transaction. `deadline_s` defaults to an hour
        after the latest block."""
        self._require_token("deposit_with_permit", token)
        require_amount("amount", amount)
        if deadline_s is None:
            deadline_s = int(self.w3.eth.get_block("latest")["timestamp"]) + PERMIT_LIFETIME_S
        signature = sign_typed_data(self.deposit_permit_typed_data(account.address, token, amount, deadline_s), account.key)
        return self._send(account, "depositWithPermit", token, amount, deadline_s, *signature.args())

    def deposit_permit_typed_data(self, account: str, token: str, amount: int, deadline_s: int) -> dict[str, Any]:
        """The ERC-2612 permit of the vault for `amount` of `token` that `account` signs so that anyone
        can deposit it for the account (`deposit_with_permit_for`), at the token's current permit nonce."""
        self._require_token("deposit_permit_typed_data", token)
        permit_token = self._token_contract(token)
        name = str(self.transactor.call(permit_token.functions.eip712Domain())[1])
        nonce = int(self.transactor.call(permit_token.functions.nonces(account)))
        return deposit_permit_typed_data(name, permit_token.address, account, amount, nonce, deadline_s, self.address, self.chain_id)

    def deposit_with_permit_for(
        self, relayer: LocalAccount, account: str, token: str, amount: int, deadline_s: int, signature: Signature
    ) -> TxReceipt:
        """Relays `account`'s signed permit (`deposit_permit_typed_data`): `amount` of `token` moves from
        its wallet into its vault balance; `relayer` pays the gas."""
        self._require_token("deposit_with_permit_for", token)
        require_amount("amount", amount)
        return self._send(relayer, "depositWithPermitFor", account, token, amount, deadline_s, *signature.args())

    def withdrawal_typed_data(self, account: str, token: str, amount: int, to: str, deadline_s: int) -> dict[str, Any]:
        """The EIP-712 withdrawal `account` signs for `withdraw_by_sig`, at its current vault nonce."""
        self._require_token("withdrawal_typed_data", token)
        return withdrawal_typed_data(account, token, amount, to, self.nonce(account), deadline_s, self.address, self.chain_id)

    def withdraw_by_sig(
        self, relayer: LocalAccount, account: str, token: str, amount: int, to: str, deadline_s: int, signature: bytes
    ) -> TxReceipt:
        """Relays `account`'s signed withdrawal (`withdrawal_typed_data`); `relayer` pays the gas."""
        self._require_token("withdraw_by_sig", token)
        require_amount("amount", amount)
        require(to.lower() != ZERO_ADDRESS, "withdraw_by_sig: the tokens cannot go to the zero address")
        return self._send(relayer, "withdrawBySig", account, token, amount, to, deadline_s, signature)

    def withdraw(self, account: LocalAccount, token: str, amount: int, to: str | None = None) -> TxReceipt:
        """Sends `amount` of `token` from the vault balance to `to` (the account's own wallet by default)."""
        self._require_token("withdraw", token)
        require_amount("amount", amount)
        recipient = account.address if to is None else to
        require(recipient.lower() != ZERO_ADDRESS, "withdraw: the tokens cannot go to the zero address")
        return self._send(account, "withdraw", token, amount, recipient)

    def balances(self, account: str) -> VaultBalances:
        energy_wh, payment = self._call("balancesOf", account)
        return VaultBalances(int(energy_wh), int(payment))

    def balance_of(self, token: str, account: str) -> int:
        self._require_token("balance_of", token)
        return self._int("balanceOf", token, account)

    # ----------------------------------------------------------------- markets

    def approve_market(self, account: LocalAccount, market: str, approved: bool = True) -> TxReceipt:
        """Lets `market` (an auction) take the account's escrow from its vault balance, or with
        `approved=False` stops it; a market the vault does not know is refused before sending."""
        registration = self.market_registration(market)
        require(registration.registered, f"approve_market: {market} is not a market registered with the vault {self.address}")
        require(not (approved and registration.closed), f"approve_market: the market {market} is closed: it takes no more orders")
        return self._send(account, "setMarketApproval", market, approved)

    def nonce(self, account: str) -> int:
        """The nonce `account`'s next signed market approval or withdrawal must carry (they share it)."""
        return self._int("nonces", account)

    def market_approval_typed_data(self, account: str, market: str, deadline_s: int) -> dict[str, Any]:
        """The EIP-712 typed data `account` signs for `approve_market_by_sig`, at its current nonce."""
        return market_approval_typed_data(account, market, self.nonce(account), deadline_s, self.address, self.chain_id)

    def approve_market_by_sig(self, relayer: LocalAccount, account: str, market: str, deadline_s: int, signature: bytes) -> TxReceipt:
        """Relays `account`'s signed approval of `market`; `relayer` pays the gas."""
        return self._send(relayer, "approveMarketBySig", account, market, deadline_s, signature)

    def is_market_approved(self, account: str, market: str) -> bool:
        """Whether `market` may take from the account's balance now (approved, registered and open)."""
        return bool(self._call("isMarketApproved", account, market))

    def market_registration(self, market: str) -> MarketRegistration:
        registered, index, closed = self._call("marketInfo", market)
        return MarketRegistration(bool(registered), int(index), bool(closed))

    # ----------------------------------------------------------------- the vault

    @property
    def energy_token(self) -> str:
        return self._token_addresses()[0]

    @property
    def payment_token(self) -> str:
        return self._token_addresses()[1]

    def reserves(self) -> VaultBalances:
        """What all balances add up to, per token: what the vault holds."""
        energy_wh, payment = self._call("reserves")
        return VaultBalances(int(energy_wh), int(payment))

    def _token_addresses(self) -> tuple[str, str]:
        if self._tokens is None:
            self._tokens = (str(self._call("energyToken")), str(self._call("paymentToken")))
        return self._tokens

    def _require_token(self, function: str, token: str) -> None:
        require(
            isinstance(token, str) and token.lower() in {t.lower() for t in self._token_addresses()},
            f"{function}: {token} is neither the vault's EnergyToken ({self.energy_token}) "
            f"nor its PaymentToken ({self.payment_token})",
        )

    def _token_contract(self, token: str) -> Contract:
        """The token as the manifest describes it (its ABI has the permit functions)."""
        name = self.transactor.contracts.name_at(token)
        if name is not None:
            return self.transactor.contracts[name]
        raise InvalidInputError(f"The token {token} is not in the manifest: its permit cannot be signed here.")


__all__ = ["EnergyVault", "MarketRegistration", "VaultBalances"]
