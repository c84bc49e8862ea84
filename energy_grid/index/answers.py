"""What the event index's queries answer (energy_grid.index.queries), field for field as the API's
JSON names them: the API serves these models as they are, so /docs shows each response's shape.
Units are in the names (Wh, per kWh, kW, W, mHz, per mille, unix seconds); `payment`, `fee` and
`value` are PaymentToken base units. A field no model declares is refused (extra="forbid"): an
answer cannot grow past its documented shape unnoticed.
"""

from __future__ import annotations

from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Answer(BaseModel):
    """An answer only the API serves: its fields are named as its JSON names them."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


UNIT_WORDS = {"kw": "KW", "kwh": "KWh"}


def json_name(name: str) -> str:
    """A Python field's JSON name: camelCase, kW and kWh spelled as the contracts spell them, and a
    time's `_s` left out (every time in an answer is unix seconds): `reported_at_s` is `reportedAt`,
    `grams_co2e_per_kwh` is `gramsCo2ePerKWh`."""
    first, *rest = name.removesuffix("_s").split("_")
    return first + "".join(UNIT_WORDS.get(word, word.capitalize()) for word in rest)


class Figures(BaseModel):
    """An answer Python code reads too (the analytics' figures, which `energy-grid report` prints):
    its fields are snake_case with their units (`import_wh`), its JSON names the API's (`importWh`,
    by json_name), and a figure derived from others is a computed field, served with them."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=json_name, validate_by_name=True, validate_by_alias=True, serialize_by_alias=True
    )


class Page(Answer, Generic[T]):
    """One page of a listing, newest first, and how many items there are in all."""

    items: list[T]
    total: int
    limit: int
    offset: int



# ---------------------------------------------------------------- trading


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


# ---------------------------------------------------------------- grid


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


# ---------------------------------------------------------------- meters


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


# ---------------------------------------------------------------- auction, demand response, analytics


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
