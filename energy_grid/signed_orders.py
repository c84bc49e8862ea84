"""EIP-712 messages for EnergyTrading's relayed orders: a trader signs an order or a cancellation
off-chain, any relayer submits it (createOrderBySig, with an optional ERC-2612 permit; cancelOrderBySig).

The signer needs only the market's address and the chain id; the nonce is `market.nonces(trader)`
and advances by one with each message the market accepts. A trader withdraws what it signed before
anyone relays it by raising its own nonce (`invalidateNonces`, typed client
`EnergyTrading.invalidate_nonces`, CLI `orders invalidate-nonces`). A signature that recovers to no
address is refused for every trader, the zero address included. Used by the tests, the gas bench
and the web app's relay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data

from energy_grid.enums import OrderType
from energy_grid.units import ZERO_ADDRESS

DOMAIN_NAME = "EnergyTrading"
DOMAIN_VERSION = "1"
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

EIP712_DOMAIN = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
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


def type_string(name: str, fields: list[dict[str, str]]) -> str:
    """The EIP-712 type string, as the contract hashes it: `Name(type field,...)`."""
    members = ",".join(f"{field['type']} {field['name']}" for field in fields)
    return f"{name}({members})"


@dataclass(frozen=True)
class Signature:
    v: int
    r: bytes
    s: bytes

    def args(self) -> tuple[int, bytes, bytes]:
        return self.v, self.r, self.s

    def malleated(self) -> Signature:
        """The same signature's high-s twin (s' = n - s, v flipped): valid for ecrecover, refused by the market."""
        s = SECP256K1_N - int.from_bytes(self.s, "big")
        return Signature(55 - self.v, self.r, s.to_bytes(32, "big"))


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


def _typed(domain: dict[str, Any], primary: str, fields: list[dict[str, str]], message: dict[str, Any]) -> Any:
    typed = {
        "types": {"EIP712Domain": EIP712_DOMAIN, primary: fields},
        "primaryType": primary,
        "domain": domain,
        "message": message,
    }
    return encode_typed_data(full_message=typed)


def _sign(domain: dict[str, Any], primary: str, fields: list[dict[str, str]], message: dict[str, Any], key: Any) -> Signature:
    signed = Account.sign_message(_typed(domain, primary, fields, message), key)
    return Signature(signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big"))


def recover_order_signer(order: SignedOrder, signature: Signature, market_address: str, chain_id: int) -> str:
    """The address `signature` recovers to for `order` on the market at `market_address`, `chain_id`
    (what the market compares with the order's trader)."""
    message = _typed(market_domain(market_address, chain_id), "Order", ORDER_TYPE, order.message())
    return Account.recover_message(message, vrs=(signature.v, signature.r, signature.s))


def market_domain(market_address: str, chain_id: int) -> dict[str, Any]:
    return {"name": DOMAIN_NAME, "version": DOMAIN_VERSION, "chainId": chain_id, "verifyingContract": market_address}


def sign_order(order: SignedOrder, key: Any, market_address: str, chain_id: int) -> Signature:
    """`key` (a private key or local account) signs `order` for the market at `market_address` on `chain_id`."""
    return _sign(market_domain(market_address, chain_id), "Order", ORDER_TYPE, order.message(), key)


def sign_cancel(order_id: int, nonce: int, deadline: int, key: Any, market_address: str, chain_id: int) -> Signature:
    """`key` signs the cancellation of `order_id` (its trader's key, or the market refuses it)."""
    message = {"orderId": order_id, "nonce": nonce, "deadline": deadline}
    return _sign(market_domain(market_address, chain_id), "CancelOrder", CANCEL_ORDER_TYPE, message, key)


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
    domain = {"name": token_name, "version": "1", "chainId": chain_id, "verifyingContract": token_address}
    message = {"owner": owner, "spender": spender, "value": value, "nonce": nonce, "deadline": deadline}
    sig = _sign(domain, "Permit", PERMIT_TYPE, message, key)
    return value, deadline, sig.v, sig.r, sig.s
