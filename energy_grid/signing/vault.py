"""EIP-712 messages an account signs so that a relayer can act for it in the vault and the reading
market: a market approval (`EnergyVault.approveMarketBySig`), a withdrawal from the vault
(`EnergyVault.withdrawBySig`) and a meter's standing limits (`SmartMeter.setStandingOrderBySig`;
both prices 0 remove them).

Each carries the account's nonce for that contract (`EnergyVault.nonces(account)`,
`SmartMeter.standingOrderNonces(owner)`), which every accepted message raises by one, so a signature
is used once; market approvals and withdrawals share the vault's nonce. The typed data built here is
what the contracts hash and what a browser wallet signs with `eth_signTypedData_v4`; a vault deposit
is signed as the token's ERC-2612 permit of the vault (`deposit_permit_typed_data`), which any relayer
sends with `EnergyVault.depositWithPermitFor`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_utils import keccak

from energy_grid.signing.eip712 import Signature, sign_typed_data, signing_domain, type_string, typed_data
from energy_grid.signing.orders import permit_typed_data

VAULT_DOMAIN_NAME = "EnergyVault"
METER_DOMAIN_NAME = "SmartMeter"
DOMAIN_VERSION = "1"

MARKET_APPROVAL_FIELDS = [
    {"name": "account", "type": "address"},
    {"name": "market", "type": "address"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
WITHDRAWAL_FIELDS = [
    {"name": "account", "type": "address"},
    {"name": "token", "type": "address"},
    {"name": "amount", "type": "uint256"},
    {"name": "to", "type": "address"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
STANDING_ORDER_FIELDS = [
    {"name": "meter", "type": "address"},
    {"name": "sellPricePerKWh", "type": "uint256"},
    {"name": "sellCapWh", "type": "uint256"},
    {"name": "buyPricePerKWh", "type": "uint256"},
    {"name": "buyCapWh", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
# The contracts' constants, for a client to check it speaks the same types.
MARKET_APPROVAL_TYPEHASH = keccak(text=type_string("MarketApproval", MARKET_APPROVAL_FIELDS))
WITHDRAWAL_TYPEHASH = keccak(text=type_string("Withdrawal", WITHDRAWAL_FIELDS))
STANDING_ORDER_TYPEHASH = keccak(text=type_string("StandingOrder", STANDING_ORDER_FIELDS))


@dataclass(frozen=True)
class StandingLimits:
    """A meter's standing limits as its owner signs them (prices in PaymentToken base units per kWh;
    a price of 0 leaves that side out, a cap of 0 trades all of it; both prices 0 remove the limits)."""

    meter: str
    sell_price_per_kwh: int = 0
    sell_cap_wh: int = 0
    buy_price_per_kwh: int = 0
    buy_cap_wh: int = 0

    @property
    def removes(self) -> bool:
        return self.sell_price_per_kwh == 0 and self.buy_price_per_kwh == 0

    def args(self) -> tuple[str, int, int, int, int]:
        """setStandingOrderBySig's first arguments."""
        return self.meter, self.sell_price_per_kwh, self.sell_cap_wh, self.buy_price_per_kwh, self.buy_cap_wh


def market_approval_typed_data(account: str, market: str, nonce: int, deadline: int, vault: str, chain_id: int) -> dict[str, Any]:
    """`account`'s approval of `market` in the vault at `vault`."""
    message = {"account": account, "market": market, "nonce": nonce, "deadline": deadline}
    return typed_data(signing_domain(VAULT_DOMAIN_NAME, DOMAIN_VERSION, chain_id, vault), "MarketApproval", MARKET_APPROVAL_FIELDS, message)


def withdrawal_typed_data(
    account: str, token: str, amount: int, to: str, nonce: int, deadline: int, vault: str, chain_id: int
) -> dict[str, Any]:
    """`account`'s withdrawal of `amount` of `token` to `to` from the vault at `vault`."""
    message = {"account": account, "token": token, "amount": amount, "to": to, "nonce": nonce, "deadline": deadline}
    return typed_data(signing_domain(VAULT_DOMAIN_NAME, DOMAIN_VERSION, chain_id, vault), "Withdrawal", WITHDRAWAL_FIELDS, message)


def deposit_permit_typed_data(
    token_name: str, token: str, account: str, amount: int, nonce: int, deadline: int, vault: str, chain_id: int
) -> dict[str, Any]:
    """`account`'s ERC-2612 permit of the vault for `amount` of the token `token_name` at `token`, at
    the token's permit `nonce`: what `depositWithPermitFor` takes to deposit for the account."""
    return permit_typed_data(token_name, token, chain_id, account, vault, amount, nonce, deadline)


def standing_order_typed_data(limits: StandingLimits, nonce: int, deadline: int, smart_meter: str, chain_id: int) -> dict[str, Any]:
    """The meter owner's standing `limits` for the SmartMeter at `smart_meter`."""
    message = {
        "meter": limits.meter,
        "sellPricePerKWh": limits.sell_price_per_kwh,
        "sellCapWh": limits.sell_cap_wh,
        "buyPricePerKWh": limits.buy_price_per_kwh,
        "buyCapWh": limits.buy_cap_wh,
        "nonce": nonce,
        "deadline": deadline,
    }
    domain = signing_domain(METER_DOMAIN_NAME, DOMAIN_VERSION, chain_id, smart_meter)
    return typed_data(domain, "StandingOrder", STANDING_ORDER_FIELDS, message)


def signature_bytes(signature: Signature) -> bytes:
    """r ‖ s ‖ v, as the contracts' `bytes signature` arguments take it (SignatureChecker)."""
    return signature.r + signature.s + bytes([signature.v])


def sign_market_approval(account: str, market: str, nonce: int, deadline: int, key: Any, vault: str, chain_id: int) -> bytes:
    return signature_bytes(sign_typed_data(market_approval_typed_data(account, market, nonce, deadline, vault, chain_id), key))


def sign_withdrawal(
    account: str, token: str, amount: int, to: str, nonce: int, deadline: int, key: Any, vault: str, chain_id: int
) -> bytes:
    return signature_bytes(sign_typed_data(withdrawal_typed_data(account, token, amount, to, nonce, deadline, vault, chain_id), key))


def sign_standing_order(limits: StandingLimits, nonce: int, deadline: int, key: Any, smart_meter: str, chain_id: int) -> bytes:
    return signature_bytes(sign_typed_data(standing_order_typed_data(limits, nonce, deadline, smart_meter, chain_id), key))


__all__ = [
    "MARKET_APPROVAL_FIELDS",
    "MARKET_APPROVAL_TYPEHASH",
    "STANDING_ORDER_FIELDS",
    "STANDING_ORDER_TYPEHASH",
    "WITHDRAWAL_FIELDS",
    "WITHDRAWAL_TYPEHASH",
    "StandingLimits",
    "deposit_permit_typed_data",
    "market_approval_typed_data",
    "sign_market_approval",
    "sign_standing_order",
    "sign_withdrawal",
    "signature_bytes",
    "standing_order_typed_data",
    "withdrawal_typed_data",
]
