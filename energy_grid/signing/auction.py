"""EIP-712 messages for EnergyAuction's relayed firm orders: a trader signs a bid or an ask for a
delivery period off-chain, and any relayer submits it (`EnergyAuction.submitOrderBySig`).

The order, its escrow and its payout are the signer's, as if the signer had called submitBid or
submitAsk (submitBidIn or submitAskIn when it names a grid region: it then trades in that region's
market zone), so the signer must have approved the auction in the vault (a relayer can send the signed
approval first: `energy_grid.signing.orders.sign_market_approval`). The signer needs only the
auction's address and the chain id; the nonce is `auction.nonces(trader)` and advances by one with
each signed order the auction accepts. Claims need no signature: any caller may claim an order, and
its payout always goes to its trader. Used by the tests, the gas bench and the API's relay, which
hands wallets the same typed data (`auction_order_typed_data`) to sign.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from energy_grid.signing.eip712 import (
    Signature,
    recover_typed_data_signer,
    sign_typed_data,
    signing_domain,
    typed_data,
)

AUCTION_DOMAIN_NAME = "EnergyAuction"
AUCTION_DOMAIN_VERSION = "1"
AUCTION_ORDER_PRIMARY_TYPE = "AuctionOrder"

AUCTION_ORDER_TYPE = [
    {"name": "trader", "type": "address"},
    {"name": "period", "type": "uint256"},
    {"name": "isBid", "type": "bool"},
    {"name": "amountWh", "type": "uint256"},
    {"name": "limitPricePerKWh", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
    {"name": "regionId", "type": "uint32"},
]


@dataclass(frozen=True)
class SignedAuctionOrder:
    """IEnergyAuction.SignedAuctionOrder, field for field in ABI order; `as_tuple()` is the calldata struct."""

    trader: str
    period: int
    is_bid: bool
    amount_wh: int
    limit_price_per_kwh: int
    nonce: int
    deadline: int
    region_id: int = 0  # the grid region whose market zone the order trades in; 0 for the bus

    def message(self) -> dict[str, Any]:
        return {
            "trader": self.trader,
            "period": self.period,
            "isBid": self.is_bid,
            "amountWh": self.amount_wh,
            "limitPricePerKWh": self.limit_price_per_kwh,
            "nonce": self.nonce,
            "deadline": self.deadline,
            "regionId": self.region_id,
        }

    def as_tuple(self) -> tuple[Any, ...]:
        return (
            self.trader,
            self.period,
            self.is_bid,
            self.amount_wh,
            self.limit_price_per_kwh,
            self.nonce,
            self.deadline,
            self.region_id,
        )

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> SignedAuctionOrder:
        """The order a typed-data message (`message()`, or what a wallet signed) describes."""
        return cls(
            str(message["trader"]),
            int(message["period"]),
            bool(message["isBid"]),
            int(message["amountWh"]),
            int(message["limitPricePerKWh"]),
            int(message["nonce"]),
            int(message["deadline"]),
            int(message.get("regionId", 0)),
        )


def auction_domain(auction_address: str, chain_id: int) -> dict[str, Any]:
    return signing_domain(AUCTION_DOMAIN_NAME, AUCTION_DOMAIN_VERSION, chain_id, auction_address)


def auction_order_typed_data(order: SignedAuctionOrder, auction_address: str, chain_id: int) -> dict[str, Any]:
    """The typed data a wallet signs (`eth_signTypedData_v4`) for `order` on the auction at `auction_address`."""
    return typed_data(auction_domain(auction_address, chain_id), AUCTION_ORDER_PRIMARY_TYPE, AUCTION_ORDER_TYPE, order.message())


def sign_auction_order(order: SignedAuctionOrder, key: Any, auction_address: str, chain_id: int) -> Signature:
    """`key` (a private key or local account) signs `order` for the auction at `auction_address` on `chain_id`."""
    return sign_typed_data(auction_order_typed_data(order, auction_address, chain_id), key)


def recover_auction_order_signer(order: SignedAuctionOrder, signature: Signature, auction_address: str, chain_id: int) -> str:
    """The address `signature` recovers to for `order` (what the auction compares with the order's trader)."""
    return recover_typed_data_signer(auction_order_typed_data(order, auction_address, chain_id), signature)


__all__ = [
    "AUCTION_DOMAIN_NAME",
    "AUCTION_DOMAIN_VERSION",
    "AUCTION_ORDER_PRIMARY_TYPE",
    "AUCTION_ORDER_TYPE",
    "SignedAuctionOrder",
    "auction_domain",
    "auction_order_typed_data",
    "recover_auction_order_signer",
    "sign_auction_order",
]
