"""EIP-712 messages for EnergyTrading's relayed orders: a trader signs an order or a cancellation
off-chain, any relayer submits it (createOrderBySig, with an optional ERC-2612 permit; cancelOrderBySig).

The signer needs only the market's address and the chain id; the nonce is `market.nonces(trader)`
and advances by one with each message the market accepts. A trader withdraws what it signed before
anyone relays it by raising its own nonce (`invalidateNonces`, typed client
`EnergyTrading.invalidate_nonces`, CLI `orders invalidate-nonces`). A signature that recovers to no
address is refused for every trader, the zero address included. Used by the tests, the gas bench
and the web app's relay, which hands wallets the same typed data (`order_typed_data`, …) to sign.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from energy_grid.domain.enums import OrderType
from energy_grid.domain.units import ZERO_ADDRESS
from energy_grid.signing.eip712 import (
    EIP712_DOMAIN,
    SECP256K1_N,
    Signature,
    recover_typed_data_signer,
    sign_typed_data,
    signing_domain,
    type_string,
    typed_data,
)

DOMAIN_NAME = "EnergyTrading"
DOMAIN_VERSION = "1"
PERMIT_DOMAIN_VERSION = "1"  # OpenZeppelin ERC20Permit's

ORDER_TYPE = [
    {"name": "trader", "type": "address"},
    {"name": "amountWh", "type": "uint256"},
    {"name": "pricePerKWh", "type": "uint256"},
    {"name": "expiry", "type": "uint256"},
    {"name": "orderType", "type": "uint8"},
    {"name": "counterparty", "type": "address"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
CANCEL_ORDER_TYPE = [
    {"name": "orderId", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
PERMIT_TYPE = [
    {"name": "owner", "type": "address"},
    {"name": "spender", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]


@dataclass(frozen=True)
class SignedOrder:
    """IEnergyMarket.SignedOrder, field for field in ABI order; `as_tuple()` is the calldata struct.

    The counterparty (the only trader the order may trade with) is keyword-only and defaults to
    anyone, so an open order is built from its seven other fields in the order a trader thinks of them.
    """

    trader: str
    amount_wh: int
    price_per_kwh: int
    expiry: int
    order_type: OrderType
    counterparty: str = field(default=ZERO_ADDRESS, kw_only=True)
    nonce: int
    deadline: int

    def message(self) -> dict[str, Any]:
        return {
            "trader": self.trader,
            "amountWh": self.amount_wh,
            "pricePerKWh": self.price_per_kwh,
            "expiry": self.expiry,
            "orderType": int(self.order_type),
            "counterparty": self.counterparty,
            "nonce": self.nonce,
            "deadline": self.deadline,
        }

    def as_tuple(self) -> tuple[Any, ...]:
        return (
            self.trader,
            self.amount_wh,
            self.price_per_kwh,
            self.expiry,
            int(self.order_type),
            self.counterparty,
            self.nonce,
            self.deadline,
        )


def market_domain(market_address: str, chain_id: int) -> dict[str, Any]:
    return signing_domain(DOMAIN_NAME, DOMAIN_VERSION, chain_id, market_address)


def order_typed_data(message: dict[str, Any], market: str, chain_id: int) -> dict[str, Any]:
    """The typed data of an order's `message` (`SignedOrder.message()`) for the market at `market`."""
    return typed_data(market_domain(market, chain_id), "Order", ORDER_TYPE, message)


def cancel_typed_data(order_id: int, nonce: int, deadline: int, market: str, chain_id: int) -> dict[str, Any]:
    message = {"orderId": order_id, "nonce": nonce, "deadline": deadline}
    return typed_data(market_domain(market, chain_id), "CancelOrder", CANCEL_ORDER_TYPE, message)


def permit_typed_data(
    token_name: str, token: str, chain_id: int, owner: str, spender: str, value: int, nonce: int, deadline: int
) -> dict[str, Any]:
    """An ERC-2612 permit of the token `token_name` at `token`."""
    domain = signing_domain(token_name, PERMIT_DOMAIN_VERSION, chain_id, token)
    message = {"owner": owner, "spender": spender, "value": value, "nonce": nonce, "deadline": deadline}
    return typed_data(domain, "Permit", PERMIT_TYPE, message)


def recover_order_signer(order: SignedOrder, signature: Signature, market_address: str, chain_id: int) -> str:
    """The address `signature` recovers to for `order` on the market at `market_address`, `chain_id`
    (what the market compares with the order's trader)."""
    return recover_typed_data_signer(order_typed_data(order.message(), market_address, chain_id), signature)


def sign_order(order: SignedOrder, key: Any, market_address: str, chain_id: int) -> Signature:
    """`key` (a private key or local account) signs `order` for the market at `market_address` on `chain_id`."""
    return sign_typed_data(order_typed_data(order.message(), market_address, chain_id), key)


def sign_cancel(order_id: int, nonce: int, deadline: int, key: Any, market_address: str, chain_id: int) -> Signature:
    """`key` signs the cancellation of `order_id` (its trader's key, or the market refuses it)."""
    return sign_typed_data(cancel_typed_data(order_id, nonce, deadline, market_address, chain_id), key)


def sign_permit(
    token_name: str,
    token_address: str,
    owner: str,
    spender: str,
    value: int,
    nonce: int,
    deadline: int,
    key: Any,
    chain_id: int,
) -> tuple[int, int, int, bytes, bytes]:
    """An ERC-2612 permit (OpenZeppelin ERC20Permit: domain version "1"), as IEnergyMarket.PermitSignature."""
    typed = permit_typed_data(token_name, token_address, chain_id, owner, spender, value, nonce, deadline)
    sig = sign_typed_data(typed, key)
    return value, deadline, sig.v, sig.r, sig.s


MARKET_APPROVAL_TYPE = [
    {"name": "account", "type": "address"},
    {"name": "market", "type": "address"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]


def market_approval_typed_data(account: str, market: str, nonce: int, deadline: int, vault_address: str, chain_id: int) -> dict[str, Any]:
    """`account`'s EIP-712 MarketApproval of `market` for the EnergyVault at `vault_address` (domain
    "EnergyVault", version "1"), at the account's vault nonce (`vault.nonces(account)`)."""
    return typed_data(
        signing_domain("EnergyVault", "1", chain_id, vault_address),
        "MarketApproval",
        MARKET_APPROVAL_TYPE,
        {"account": account, "market": market, "nonce": nonce, "deadline": deadline},
    )


def sign_market_approval(account: str, market: str, nonce: int, deadline: int, key: Any, vault_address: str, chain_id: int) -> bytes:
    """The 65-byte signature (r, s, v) of market_approval_typed_data: what a relayer submits with
    IEnergyVault.approveMarketBySig before an account's first relayed order."""
    sig = sign_typed_data(market_approval_typed_data(account, market, nonce, deadline, vault_address, chain_id), key)
    return sig.r + sig.s + bytes([sig.v])


# EIP712_DOMAIN, SECP256K1_N, Signature and type_string are energy_grid.signing.eip712's, named here too.
__all__ = [
    "CANCEL_ORDER_TYPE",
    "DOMAIN_NAME",
    "DOMAIN_VERSION",
    "EIP712_DOMAIN",
    "MARKET_APPROVAL_TYPE",
    "ORDER_TYPE",
    "PERMIT_DOMAIN_VERSION",
    "PERMIT_TYPE",
    "SECP256K1_N",
    "Signature",
    "SignedOrder",
    "cancel_typed_data",
    "market_approval_typed_data",
    "market_domain",
    "order_typed_data",
    "permit_typed_data",
    "recover_order_signer",
    "sign_cancel",
    "sign_market_approval",
    "sign_order",
    "sign_permit",
    "type_string",
]
