"""The API's own answers, field for field as its JSON names them: what the event index answers is in
energy_grid.index.answers, and every route's 2xx body is one of those models or of these, so /docs
shows each response's shape. Units are in the names as in the requests (Wh, per kWh, kW, W, mHz,
per mille, unix seconds); `payment`, `fee`, `value` and `budget` are PaymentToken base units. A
field no model declares is refused (extra="forbid"): a body cannot grow past its documented shape
unnoticed.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from energy_grid.index.analytics import Bucket, Co2, ExportUse, HouseholdRow, Savings, SelfSupply, TransformerPeak
from energy_grid.index.answers import Answer
from energy_grid.index.forecasts import IntervalBand, Score, ScoreTotals


class TypedData(Answer):
    """EIP-712 typed data, as `eth_signTypedData_v4` takes it."""

    types: dict[str, list[dict[str, str]]]
    primaryType: str
    domain: dict[str, Any]
    message: dict[str, Any]


# A day, week or month of a household or the community (energy_grid.index.analytics says what each
# figure rests on). Shares are fractions (0.42), null where there was nothing to share.


class SummaryOut(Answer):
    owner: str | None  # null: the whole community
    period: str  # day, week or month
    firstDay: str  # ISO date, in the deployment's zone
    label: str
    from_s: int = Field(alias="from")
    to: int  # inclusive
    utcOffsetMinutes: int
    bucketSeconds: int
    tariffPerKWh: int
    tariffSource: str  # BASE_PRICE (GridManagement's, read now) or GIVEN
    paymentSymbol: str
    paymentDecimals: int
    meters: list[str]
    savings: Savings
    supply: SelfSupply
    export: ExportUse
    transformerPeaks: list[TransformerPeak]
    co2: Co2
    series: list[Bucket]
    households: list[HouseholdRow]  # the community's, the largest saving first; empty for a household
    notes: list[str]  # what the figures rest on, the estimates said as such, in the currency and kWh


# A region's committed forecasts against its meters (energy_grid.index.forecasts says what each
# figure rests on): net import per 900 s interval in Wh, consumption − production over the region's
# meters, negative while the feeder exports.


class ForecastsOut(Answer):
    regionId: int | None  # null: no region has a forecast yet
    regions: list[int]  # every region with a committed forecast
    from_s: int = Field(alias="from")  # the first interval's start
    to: int  # the last interval's end, inclusive
    intervalSeconds: int
    intervals: list[IntervalBand]
    scores: list[Score]  # of the forecasts whose window overlaps the range, oldest first
    scored: ScoreTotals  # the scores together


# The forecaster's forecasts that are not committed on chain (energy_grid.api.services.served_forecasts):
# Wh per 900 s interval; a region's net import is consumption − production over its meters.


class HourAheadOut(Answer):
    regionId: int
    start: int  # the interval forecast, unix s
    meteredThrough: int  # unix s: every active meter of the region had read up to here
    p10Wh: int
    p50Wh: int
    p90Wh: int


class PvForecastOut(Answer):
    dayStart: int  # unix s, the deployment's local midnight
    intervalSeconds: int
    p10Wh: list[int]  # one per interval of the day
    p50Wh: list[int]
    p90Wh: list[int]


class ServedForecastsOut(Answer):
    hourAhead: list[HourAheadOut]  # each region's latest, by region
    communityPv: PvForecastOut | None  # the next day's, made at 12:00; null: none made yet


class IndexStatusOut(Answer):
    chainId: int
    headBlock: int | None
    indexedBlock: int | None
    lagBlocks: int | None
    caughtUp: bool
    progress: float
    message: str
    skippedEvents: int  # events the follower left out (logged with their reason) since the service started


class HealthOut(Answer):
    status: str  # ok or indexing
    message: str
    index: IndexStatusOut


# ---------------------------------------------------------------- live reads


class ConfigOut(Answer):
    chainId: int
    contracts: dict[str, str]
    paymentSymbol: str
    paymentDecimals: int
    energyDecimals: int
    utcOffsetMinutes: int
    operatorRoutes: bool
    forecaster: bool  # whether /analytics/forecasts/ahead has a forecaster to ask
    auctionPeriodS: int  # the quarter-hourly auction's delivery period
    auctionClaimDelayS: int  # a period's orders may be claimed this long after its end (its market's clearing time)


class AccountOut(Answer):
    address: str
    energyBalanceWh: int
    paymentBalance: int
    paymentSymbol: str
    paymentDecimals: int
    marketNonce: int
    vaultEnergyWh: int
    vaultPayment: int
    bookApprovedInVault: bool
    ethBalanceWei: str  # a decimal string: beyond JavaScript's exact integers


# ---------------------------------------------------------------- orders


class PermitOut(Answer):
    value: int
    deadline: int
    typedData: TypedData


class MarketApprovalOut(Answer):
    deadline: int
    typedData: TypedData


class OrderTypedDataOut(Answer):
    order: dict[str, Any]  # the EIP-712 Order message, as POST /orders takes it back
    typedData: TypedData
    permit: PermitOut | None
    marketApproval: MarketApprovalOut | None


class RelayedOrderOut(Answer):
    orderId: int
    trader: str
    txHash: str
    blockNumber: int
    relayer: str
    cancelledWh: int


class CancelTypedDataOut(Answer):
    nonce: int
    deadline: int
    typedData: TypedData


class RelayedCancelOut(Answer):
    orderId: int
    txHash: str
    status: str


class RelayedReadingOut(Answer):
    meter: str
    txHash: str
    blockNumber: int


# ---------------------------------------------------------------- the vault


class EscrowOut(Answer):
    energyWh: int
    payment: int


class LockedOut(Answer):
    bookOrders: EscrowOut
    auctionOrders: EscrowOut
    standingOrders: EscrowOut


class VaultBalancesOut(Answer):
    address: str
    freeEnergyWh: int
    freePayment: int
    lockedEnergyWh: int
    lockedPayment: int
    locked: LockedOut
    readingMarket: str
    readingMarketApproved: bool
    paymentSymbol: str
    paymentDecimals: int


class MarketApprovalTypedDataOut(Answer):
    account: str
    market: str
    nonce: int
    deadline: int
    typedData: TypedData


class RelayedMarketApprovalOut(Answer):
    account: str
    market: str
    approved: bool
    txHash: str


class DepositTypedDataOut(Answer):
    account: str
    token: str
    amount: int
    nonce: int
    deadline: int
    typedData: TypedData


class RelayedDepositOut(Answer):
    account: str
    token: str
    amount: int
    txHash: str


class WithdrawalTypedDataOut(Answer):
    account: str
    token: str
    amount: int
    to: str
    nonce: int
    deadline: int
    typedData: TypedData


class RelayedWithdrawalOut(Answer):
    account: str
    token: str
    amount: int
    to: str
    txHash: str


# ---------------------------------------------------------------- standing orders


class StandingLimitsOut(Answer):
    sellPricePerKWh: int
    sellCapWh: int
    buyPricePerKWh: int
    buyCapWh: int


class PriceGridOut(Answer):
    """An auction's limit prices: from the minimum to the maximum in steps of the tick (PaymentToken base units per kWh)."""

    minPricePerKWh: int
    tickSizePerKWh: int
    maxPricePerKWh: int


class StandingOrderOut(StandingLimitsOut):
    meter: str
    owner: str
    active: bool
    vaultDelivery: bool
    readingMarket: str
    readingMarketApproved: bool
    priceGrid: PriceGridOut | None  # the grid the next readings place on: a sell price above it never sells; None: no reading market


class StandingOrderTypedDataOut(StandingLimitsOut):
    meter: str
    owner: str
    nonce: int
    deadline: int
    typedData: TypedData


class RelayedStandingOrderOut(StandingLimitsOut):
    meter: str
    cleared: bool
    txHash: str


# ---------------------------------------------------------------- the operator


class OperatorTokenOut(Answer):
    accepted: bool
    operator: str | None


class BalancingActionOut(Answer):
    actionId: int
    txHash: str


class LoadReportOut(Answer):
    regionId: int
    loadPercentage: int
    status: str
    txHash: str


class EmergencyOut(Answer):
    regionId: int
    emergencyMode: bool
    txHash: str | None  # None: the region was in that state already, nothing was sent


class DemandResponseEventOut(Answer):
    eventId: int
    regionId: int
    txHash: str
