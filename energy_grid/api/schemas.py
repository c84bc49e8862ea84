"""The API's answers, field for field as its JSON names them: every route's 2xx body is one of
these models, so /docs shows each response's shape. Units are in the names as in the requests
(Wh, per kWh, kW, W, mHz, per mille, unix seconds); `payment`, `fee`, `value` and `budget` are
PaymentToken base units. A field no model declares is refused (extra="forbid"): a body cannot grow
past its documented shape unnoticed.
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Page(Answer, Generic[T]):
    """One page of a listing, newest first, and how many items there are in all."""

    items: list[T]
    total: int
    limit: int
    offset: int


class TypedData(Answer):
    """EIP-712 typed data, as `eth_signTypedData_v4` takes it."""

    types: dict[str, list[dict[str, str]]]
    primaryType: str
    domain: dict[str, Any]
    message: dict[str, Any]


# ---------------------------------------------------------------- trading (index)


class OrderOut(Answer):
    orderId: int
    trader: str
    side: str  # BUY or SELL
    amountWh: int
    filledWh: int
    remainingWh: int
    pricePerKWh: int
    expiry: int
    expired: bool
    counterparty: str | None
    status: str  # ACTIVE, FILLED or CANCELLED
    createdAt: int
    blockNumber: int
    txHash: str


class PriceLevel(Answer):
    pricePerKWh: int
    amountWh: int
    orders: int


class OrderBookOut(Answer):
    bids: list[PriceLevel]
    asks: list[PriceLevel]


class TradeOut(Answer):
    """A trade of the order book: two orders matched (OrdersMatched), or one order taken by an account
    that brought the other side (OrderTaken, `fillOrder`), which has no order on its side."""

    transactionId: int
    buyOrderId: int | None  # None: a taker bought from a resting SELL without an order of its own
    sellOrderId: int | None  # None: a taker sold into a resting BUY without an order of its own
    buyer: str | None  # None: the order was created before the index's first block, so its trader is unknown
    seller: str | None
    amountWh: int
    pricePerKWh: int
    timestamp: int
    blockNumber: int
    txHash: str
    settled: bool
    voided: bool
    payment: int | None
    fee: int | None


class FillOut(Answer):
    market: str  # book, auction or standing
    side: str
    time: int
    amountWh: int
    pricePerKWh: int | None
    value: int | None
    id: str
    status: str
    period: int | None
    meter: str | None
    txHash: str
    blockNumber: int
    logIndex: int


class AccountFillsOut(Answer):
    account: str
    items: list[FillOut]
    limit: int


# ---------------------------------------------------------------- grid (index)


class RegionLoad(Answer):
    capacityKW: int
    demandKW: int
    loadPercentage: int
    status: str
    reportedAt: int


class RegionOracle(Answer):
    supplyW: int
    demandW: int
    frequencyMilliHz: int
    voltagePerMille: int
    updatedAt: int


class RegionStatus(Answer):
    regionId: int
    emergencyMode: bool
    load: RegionLoad | None
    oracle: RegionOracle | None


class GridStatusOut(Answer):
    """The whole grid's figures come from the operator's grid status (GRID_STATUS) when it reports
    one; else supply and demand from the meters' readings of the latest interval they all read
    through (METERS) and frequency and voltage from the regions' latest oracle figures (ORACLE)."""

    blockNumber: int | None
    timestamp: int | None
    emergencyMode: bool
    supplyW: int | None
    demandW: int | None
    updatedAt: int | None = Field(description="When supplyW and demandW were reported, or the metered interval's end")
    powerSource: Literal["GRID_STATUS", "METERS"] | None
    frequencyMilliHz: int | None
    voltagePerMille: int | None
    frequencyUpdatedAt: int | None = Field(description="When frequencyMilliHz and voltagePerMille were reported (the oldest region's)")
    frequencySource: Literal["GRID_STATUS", "ORACLE"] | None
    frequencyRegions: int | None = Field(description="ORACLE: the regions whose figures give the median frequency and lowest voltage")
    regions: list[RegionStatus]


class DemandPoint(Answer):
    timestamp: int
    demandW: int
    blockNumber: int


class SupplyPoint(Answer):
    timestamp: int
    supplyW: int
    blockNumber: int


GridSeriesSource = Literal["GRID_STATUS", "METERS", "ORACLE"]


class DemandSeriesOut(Answer):
    regionId: int | None
    source: GridSeriesSource = Field(description="GRID_STATUS or METERS (the whole grid, as /grid/status), ORACLE (a region)")
    points: list[DemandPoint]


class SupplySeriesOut(Answer):
    regionId: int | None
    source: GridSeriesSource = Field(description="GRID_STATUS or METERS (the whole grid, as /grid/status), ORACLE (a region)")
    points: list[SupplyPoint]


class LoadPoint(Answer):
    regionId: int
    sequence: int
    capacityKW: int
    demandKW: int
    loadPercentage: int
    status: str
    reportedAt: int
    blockNumber: int


class LoadSeriesOut(Answer):
    regionId: int | None
    points: list[LoadPoint]


# ---------------------------------------------------------------- meters (index)


class MeterOut(Answer):
    meter: str
    owner: str
    regionId: int
    registeredAt: int
    active: bool


class ReadingOut(Answer):
    timestamp: int
    consumptionWh: int
    productionWh: int
    blockNumber: int
    txHash: str


class ProductionInterval(Answer):
    timestamp: int
    productionWh: int


class ConsumptionInterval(Answer):
    timestamp: int
    consumptionWh: int


class MeterProductionOut(Answer):
    meter: str
    from_s: int = Field(alias="from")
    to: int
    productionWh: int
    intervals: list[ProductionInterval]


class MeterConsumptionOut(Answer):
    meter: str
    from_s: int = Field(alias="from")
    to: int
    consumptionWh: int
    intervals: list[ConsumptionInterval]


class StandingFillOut(Answer):
    meter: str
    period: int
    askWh: int
    soldWh: int
    proceeds: int
    bidWh: int
    boughtWh: int
    paid: int
    settledAt: int
    txHash: str


# ---------------------------------------------------------------- auction, demand response, analytics (index)


class ClearingOut(Answer):
    period: int
    clearingPricePerKWh: int
    volumeWh: int
    timestamp: int
    blockNumber: int


# A zone's role in a market cleared across zones, as MarketZones named it (IMarketZones.ZoneRole):
# COUPLED, it traded at the bus price (its link had room, or its own price lay beyond the bus's);
# EXPORT_BOUND, below the bus price, held at its export limit (it would have exported more);
# IMPORT_BOUND, above the bus price, held at its import limit. None: indexed before the index kept it.
ZoneRoleName = Literal["COUPLED", "EXPORT_BOUND", "IMPORT_BOUND"]


class ZoneClearingOut(Answer):
    period: int
    zone: int  # MarketZones' zone: 0 for the bus
    role: ZoneRoleName | None
    clearingPricePerKWh: int
    netExportWh: int  # negative: the zone imported
    timestamp: int
    blockNumber: int


class ZoneLinkOut(Answer):
    """One zone in a market cleared across zones: its price and flow, and its link in that period."""

    zone: int  # MarketZones' zone: 0 for the bus, which has no link
    regionId: int | None  # the grid region (feeder) the zone is; None for the bus
    role: ZoneRoleName | None  # whether it traded at the bus price or its link held it below or above
    clearingPricePerKWh: int
    netExportWh: int  # + out of the zone, - into it
    importLimitKW: int | None  # the limits in force for the period: the operator's, capped by the rating; None: no limit
    exportLimitKW: int | None
    importLimitWh: int | None  # what they carry over the period, as the clearing used them
    exportLimitWh: int | None


class ZoneMarketOut(Answer):
    """A market cleared across zones: the bus price every COUPLED zone traded at, and the zones."""

    period: int
    busPricePerKWh: int
    volumeWh: int  # what the asks of every zone sold
    congestionRent: int  # Σ (bus price - zone price) × net export: to the operator's fund (PaymentToken base units)
    zones: list[ZoneLinkOut]  # the zones that held orders, lowest first
    timestamp: int
    blockNumber: int


class LinkLimitsOut(Answer):
    regionId: int
    firstPeriod: int
    periodCount: int
    importLimitKW: int
    exportLimitKW: int
    operator: str
    timestamp: int
    blockNumber: int


class AuctionOrderOut(Answer):
    orderId: str  # beyond JavaScript's exact integers, so a decimal string
    period: int
    side: str
    amountWh: int
    limitPricePerKWh: int
    trader: str
    filledWh: int | None
    payment: int | None
    claimed: bool
    timestamp: int


class DemandEventOut(Answer):
    eventId: int
    operator: str
    regionId: int | None
    targetReductionKW: int
    rewardPerKW: int
    startTime: int
    endTime: int
    budget: int
    status: str
    participants: int
    verifiedParticipants: int
    rewardsVerified: int


class PricePoint(Answer):
    timestamp: int
    pricePerKWh: int
    volumeWh: int
    source: str  # trade or auction


class PricesOut(Answer):
    points: list[PricePoint]


class EnergyBucket(Answer):
    start: int
    productionWh: int
    consumptionWh: int
    tradedWh: int


class EnergyOut(Answer):
    bucketSeconds: int
    buckets: list[EnergyBucket]


# A day, week or month of a household or the community (energy_grid.index.analytics says what each
# figure rests on). Shares are fractions (0.42), null where there was nothing to share.


class SavingsOut(Answer):
    importWh: int
    boughtWh: int  # in the community market: book, auction and standing orders
    paid: int
    soldWh: int
    earned: int  # after the grid fee
    demandResponseRewards: int
    pendingWh: int  # book trades not settled yet, valued at their price
    billAtTariff: int  # the import at the tariff
    netCost: int  # paid − earned − rewards + the import not bought in the community at the tariff
    saved: int  # billAtTariff − netCost


class SelfSupplyOut(Answer):
    consumptionWh: int  # the meters' import
    productionWh: int  # the meters' export
    consumptionMetLocallyWh: int  # met by the community's export in the same interval
    productionUsedLocallyWh: int  # taken up by the community's import in the same interval
    selfSufficiency: float | None
    selfConsumption: float | None


class ExportUseOut(Answer):
    exportedWh: int
    soldP2pWh: int
    soldShare: float | None
    linkFullWh: int  # offered, unsold while the zone was EXPORT_BOUND
    noBuyerWh: int  # offered, unsold at its price
    notOfferedWh: int  # to the grid, unsold
    beyondCommunityDrawWh: int  # exported while the community drew less (overlaps the three above)


class TransformerPeakOut(Answer):
    regionId: int
    peakDemandKW: int
    capacityKW: int
    loadPercentage: int
    reportedAt: int
    peakWithoutDemandResponseKW: int
    reductionKnown: bool  # a verified demand-response reduction covered a report of the window


class Co2Out(Answer):
    avoidedGrams: int
    exportWh: int
    gramsCo2ePerKWh: int


class SummaryBucketOut(Answer):
    start: int
    importWh: int
    exportWh: int
    importMetLocallyWh: int


class HouseholdRowOut(Answer):
    owner: str
    meters: int
    importWh: int
    exportWh: int
    soldP2pWh: int
    saved: int


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
    savings: SavingsOut
    supply: SelfSupplyOut
    export: ExportUseOut
    transformerPeaks: list[TransformerPeakOut]
    co2: Co2Out
    series: list[SummaryBucketOut]
    households: list[HouseholdRowOut]  # the community's, the largest saving first; empty for a household
    notes: list[str]  # what the figures rest on, the estimates said as such, in the currency and kWh


# A region's committed forecasts against its meters (energy_grid.index.forecasts says what each
# figure rests on): net import per 900 s interval in Wh, consumption − production over the region's
# meters, negative while the feeder exports.


class ForecastIntervalOut(Answer):
    interval: int  # unix s / 900
    start: int  # unix s
    p10Wh: int | None  # the forecast covering the interval (the newer where two do); null: none does
    p50Wh: int | None
    p90Wh: int | None
    netImportWh: int | None  # metered; null: no meter of the region read in the interval (yet)


class ForecastScoreOut(Answer):
    firstInterval: int
    intervalCount: int
    coveredIntervals: int  # metered within [P10, P90]
    exceededP90Intervals: int  # metered above P90
    pinballP10Wh: int  # each quantile's pinball loss summed over the window
    pinballP50Wh: int
    pinballP90Wh: int
    metersTallied: int
    scorer: str
    scoredAt: int


class ForecastScoreTotalsOut(Answer):
    forecasts: int
    intervals: int
    coveredIntervals: int
    exceededP90Intervals: int
    coverage: float | None  # coveredIntervals / intervals: 0.8 for a calibrated band; null: nothing scored
    exceededP90Share: float | None  # exceededP90Intervals / intervals: 0.1 for a calibrated P90


class ForecastsOut(Answer):
    regionId: int | None  # null: no region has a forecast yet
    regions: list[int]  # every region with a committed forecast
    from_s: int = Field(alias="from")  # the first interval's start
    to: int  # the last interval's end, inclusive
    intervalSeconds: int
    intervals: list[ForecastIntervalOut]
    scores: list[ForecastScoreOut]  # of the forecasts whose window overlaps the range, oldest first
    scored: ForecastScoreTotalsOut  # the scores together


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
