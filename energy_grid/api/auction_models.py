"""The request bodies and answers of the auction routes (`routes/auction.py`), field for field as the API's
JSON names them, with the contracts' units in every name (Wh, per kWh, unix seconds).

Addresses and signatures are checked as in `write_models` (422 `InvalidAddress`, `InvalidSignature`);
amounts and prices must be positive and fit the ABI type they are sent as.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from energy_grid.api.schemas import Answer, MarketApprovalOut, TypedData
from energy_grid.api.write_models import Address, MarketApprovalIn, Request, SignatureHex, Uint32, Uint256

PositiveUint256 = Annotated[int, Field(ge=1, le=2**256 - 1)]


class AuctionOrderDraft(Request):
    """What a household wants to sign: a firm bid (buy) or ask (sell) for one delivery period. The
    service fills in the period when none is given, the trader's nonce and a deadline."""

    trader: Address
    side: Literal["BID", "ASK"]
    amountWh: PositiveUint256
    limitPricePerKWh: PositiveUint256  # PaymentToken base units per kWh, a tick of the market's grid
    period: PositiveUint256 | None = None  # the delivery period's index; default the next one open
    deliveryTime: PositiveUint256 | None = None  # unix s: the period delivering then (instead of `period`)
    deadline: Uint256 | None = None  # unix s: the signature's; default the chain's time + an hour
    regionId: Uint32 = 0  # the grid region whose market zone (feeder) the order trades in; 0: the common bus


class AuctionOrderMessage(Request):
    """The EIP-712 `AuctionOrder` message, as signed."""

    trader: Address
    period: Uint256
    isBid: bool
    amountWh: Uint256
    limitPricePerKWh: Uint256
    nonce: Uint256
    deadline: Uint256
    regionId: Uint32 = 0


class RelayAuctionOrder(Request):
    order: AuctionOrderMessage
    signature: SignatureHex
    # The trader's signed approval of the auction in the EnergyVault, as /auction/orders/typed-data
    # offered it: relayed before the order when the auction is not approved yet.
    marketApproval: MarketApprovalIn | None = None


class AuctionOrderTypedDataOut(Answer):
    order: dict[str, int | bool | str]  # the EIP-712 AuctionOrder message, as POST /auction/orders takes it back
    typedData: TypedData
    escrow: int  # what the order locks: PaymentToken base units for a bid, Wh for an ask
    escrowToken: Literal["PaymentToken", "EnergyToken"]
    gateClosureTime: int  # unix s: the period takes orders until then
    marketApproval: MarketApprovalOut | None


class RelayedAuctionOrderOut(Answer):
    orderId: str  # a decimal string: the id (period, side, place and trader in one word) is beyond JavaScript's exact integers
    trader: str
    period: int
    isBid: bool
    amountWh: int
    limitPricePerKWh: int
    escrow: int
    txHash: str
    blockNumber: int
    relayer: str


class ClaimedAuctionOrderOut(Answer):
    orderId: str  # a decimal string, as above
    trader: str  # who was paid: the order's trader, whoever asked for the claim
    isBid: bool
    filledWh: int
    payment: int  # bid: paid for the fill; ask: the sale's gross, fee included (PaymentToken base units)
    fee: int  # ask: the grid fee out of `payment`
    refund: int  # unfilled escrow back: PaymentToken for a bid, Wh for an ask
    creditedEnergyWh: int  # what the trader's vault balance gained, energy
    creditedPayment: int  # and PaymentToken
    clearedFirst: bool  # the relay cleared the order's market before claiming it
    txHash: str
    blockNumber: int


__all__ = [
    "AuctionOrderDraft",
    "AuctionOrderMessage",
    "AuctionOrderTypedDataOut",
    "ClaimedAuctionOrderOut",
    "RelayAuctionOrder",
    "RelayedAuctionOrderOut",
]
