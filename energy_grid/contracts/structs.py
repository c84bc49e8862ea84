"""The contracts' structs as frozen dataclasses, field for field in ABI order, with the unit in
every name: `pricePerKWh` reads as `price_per_kwh`; a component whose ABI name lacks its unit gets
it here (`amount` -> `amount_wh`, and DemandResponse's `baselineUsageKW`, which holds W,
-> `baseline_usage_w`), its ABI name kept in the field's metadata. Times are unix seconds, money
PaymentToken base units. tests/test_client_errors.py holds every dataclass to its ABI struct.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from energy_grid.domain.enums import (
    ActionStatus,
    ActionType,
    EnergyType,
    EventStatus,
    LoadStatus,
    LongSide,
    MaintenanceKind,
    OrderStatus,
    OrderType,
    ParticipationStatus,
    ProgramType,
    StabilityLevel,
    TransactionStatus,
    TriggerCondition,
    ZoneRole,
)
from energy_grid.domain.units import FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE
from energy_grid.signing.auction import SignedAuctionOrder
from energy_grid.signing.orders import SignedOrder


@dataclass(frozen=True)
class AssetInfo:
    """IEnergyAssetNFT.AssetInfo."""

    asset_type: EnergyType
    capacity_w: int
    region_id: int
    commissioned_at: int
    meter: str
    inspected_by: str
    minted_at: int


@dataclass(frozen=True)
class AuctionOrderInfo:
    """IEnergyAuction.OrderInfo."""

    trader: str
    period: int
    is_bid: bool
    amount_wh: int
    limit_price_per_kwh: int
    tick: int
    volume_before_wh: int
    claimed: bool
    zone: int  # the zone it trades in (MarketZones); 0 for the bus


@dataclass(frozen=True)
class AutomatedResponse:
    """IGridOperations.AutomatedResponse."""

    trigger_condition: TriggerCondition
    action_type: ActionType
    target_adjustment_kw: int
    priority: int
    configured_by: str
    configured_at: int


@dataclass(frozen=True)
class BalancingAction:
    """IGridOperations.BalancingAction."""

    region_id: int
    action_type: ActionType
    status: ActionStatus
    target_kw: int
    priority: int
    initiated_by: str
    initiated_at: int
    closed_by: str
    closed_at: int


@dataclass(frozen=True)
class CleanProducerInfo:
    """ICarbonCredits.CleanProducerInfo."""

    registered: bool
    energy_type: EnergyType
    registered_at: int
    registered_from_wh: int
    issued_through_wh: int
    remainder_milligrams: int
    total_issued_grams: int


@dataclass(frozen=True)
class ConsumerInfo:
    """IGridManagement.ConsumerInfo."""

    consumption_limit_wh: int
    consumed_today_wh: int
    total_consumed_wh: int
    total_paid: int
    active: bool


@dataclass(frozen=True)
class DemandProgram:
    """IDemandPrograms.DemandProgram."""

    program_id: int
    name: str
    program_type: ProgramType
    region_id: int
    grid_operator: str
    target_reduction_mw: int
    incentive_rate_per_mw: int
    start_time: int
    end_time: int
    status: EventStatus
    total_participants: int
    total_committed_mw: int
    total_reported_mw: int


@dataclass(frozen=True)
class DemandResponseEvent:
    """IDemandResponse.DemandResponseEvent."""

    event_id: int
    grid_operator: str
    target_reduction_kw: int
    reward_per_kw: int
    start_time: int
    end_time: int
    status: EventStatus
    total_participants: int
    total_reduction_achieved_w: int = field(metadata={"abi": "totalReductionAchieved"})
    region_id: int


@dataclass(frozen=True)
class EmergencyRecord:
    """IGridManagement.EmergencyRecord."""

    region_id: int
    severity: int
    reason: bytes
    declared_by: str
    declared_at: int


@dataclass(frozen=True)
class EventBudget:
    """IDemandResponse.EventBudget."""

    budget: int
    reserved: int
    paid: int
    refunded: int
    verification_deadline: int
    verified_participants: int
    distribution_cursor: int


@dataclass(frozen=True)
class Forecast:
    """IForecastLedger.Forecast: a committed forecast as the ledger keeps it (the vectors are in its event)."""

    forecast_hash: bytes  # keccak256(abi.encode(p10Wh, p50Wh, p90Wh))
    operator: str
    committed_at: int
    committed_at_block: int  # the block whose ForecastCommitted event carries the vectors
    interval_count: int
    meter_count: int  # the region's meters at commitment: all must be tallied before scoring
    meters_tallied: int
    scored: bool


@dataclass(frozen=True)
class ForecastScore:
    """IForecastLedger.ForecastScore: coverage of [P10, P90], P90 exceedances and pinball losses (Wh,
    summed over the window, rounded down once)."""

    interval_count: int
    covered_intervals: int
    exceeded_p90_intervals: int
    pinball_p10_wh: int
    pinball_p50_wh: int
    pinball_p90_wh: int
    meters_tallied: int
    scored_at: int  # 0 in a preview


@dataclass(frozen=True)
class GridData:
    """IGridOracle.GridData."""

    frequency_millihz: int
    voltage_per_mille: int
    supply_w: int
    demand_w: int
    report_count: int
    updated_at: int


@dataclass(frozen=True)
class GridStatus:
    """IGridManagement.GridStatus."""

    total_capacity_w: int
    current_load_w: int
    utilization_bps: int
    emergency_mode: bool
    producer_output_w: int
    storage_charge_w: int
    storage_discharge_w: int
    active_producers: int
    base_price_per_kwh: int
    dynamic_price_per_kwh: int


@dataclass(frozen=True)
class IntervalRecord:
    """ISmartMeterRegistry.IntervalRecord."""

    interval: int
    consumption_wh: int
    production_wh: int
    grid_frequency_millihz: int  # of the interval's latest reading; 0: no reading in the interval
    voltage_per_mille: int


@dataclass(frozen=True)
class LoadReport:
    """IGridOperations.LoadReport."""

    sequence: int
    capacity_kw: int
    demand_kw: int
    load_percentage: int
    status: LoadStatus
    reported_at: int
    reported_by: str


@dataclass(frozen=True)
class RegionLoad:
    """IGridOperations.RegionLoad: one region's load in a batch of load reports (reportLoads)."""

    region_id: int
    capacity_kw: int
    demand_kw: int


@dataclass(frozen=True)
class MaintenanceRecord:
    """IEnergyAssetNFT.MaintenanceRecord."""

    kind: MaintenanceKind
    performed_at: int
    recorded_at: int
    recorded_by: str
    description: str


@dataclass(frozen=True)
class MarketInfo:
    """IEnergyAuction.MarketInfo."""

    cleared: bool
    order_count: int
    tick_count: int
    min_price_per_kwh: int
    tick_size_per_kwh: int
    clearing_tick: int
    clearing_price_per_kwh: int
    volume_wh: int
    fee_bps: int
    long_side: LongSide
    marginal_tick: int
    rationed_wh: int
    marginal_level_wh: int


@dataclass(frozen=True)
class BookSlots:
    """IEnergyAuction.BookSlots: where the auction stores its markets and books, for extsload."""

    markets: int
    clearings: int
    occupied_ticks: int
    ticks: int
    zones_of: int


@dataclass(frozen=True)
class LinkLimits:
    """IMarketZones.LinkLimits: a zone's link limits for one period, Wh (2**64 - 1: no limit)."""

    import_wh: int
    export_wh: int


@dataclass(frozen=True)
class ZoneInfo:
    """IMarketZones.ZoneInfo: one zone's result in a market cleared across zones."""

    clearing_tick: int
    clearing_price_per_kwh: int
    net_export_wh: int  # negative when the zone imported
    bid_marginal_tick: int
    bid_rationed_wh: int
    bid_level_wh: int
    ask_marginal_tick: int
    ask_rationed_wh: int
    ask_level_wh: int
    role: ZoneRole  # whether the zone traded at the bus price or its link held it on one side


@dataclass(frozen=True)
class CoupledResult:
    """IMarketZones.CoupledResult: how a market clears across its zones."""

    bus_tick: int
    sold_wh: int
    bought_wh: int
    surplus: int
    rent_tick_wh: int
    congestion_rent: int
    zones: list[int]
    zone_results: list[int]


@dataclass(frozen=True)
class MeterInfo:
    """ISmartMeterRegistry.MeterInfo."""

    owner: str
    region_id: int
    active: bool
    awaiting_baseline: bool
    last_reading_at: int
    vault_delivery: bool  # its export is credited to the owner's vault balance, not minted to the wallet


@dataclass(frozen=True)
class MeteredOrders:
    """IMeteredMarket.MeteredOrders: a meter's placed standing orders of one interval (period 0: the
    slot was never used)."""

    period: int
    settled: bool
    ask_wh: int
    ask_tick: int
    ask_before_wh: int
    bid_wh: int
    bid_tick: int
    bid_before_wh: int


@dataclass(frozen=True)
class MeterReading:
    """ISmartMeter.MeterReading: cumulative registers in Wh."""

    timestamp: int
    consumption_wh: int = field(metadata={"abi": "consumption"})
    production_wh: int = field(metadata={"abi": "production"})
    frequency_millihz: int = field(default=FREQUENCY_NOMINAL_MILLIHZ, metadata={"abi": "gridFrequency"})
    voltage_per_mille: int = field(default=VOLTAGE_NOMINAL_PER_MILLE, metadata={"abi": "voltage"})

    def as_tuple(self) -> tuple[int, int, int, int, int]:
        return (self.timestamp, self.consumption_wh, self.production_wh, self.frequency_millihz, self.voltage_per_mille)


@dataclass(frozen=True)
class Metrics:
    """IGridManagement.Metrics."""

    production_wh: int
    consumption_wh: int
    peak_load_w: int
    efficiency_bps: int
    recorded_by: str
    recorded_at: int


@dataclass(frozen=True)
class OperatorInfo:
    """IGridManagement.OperatorInfo."""

    name: str
    region_id: int
    capacity_kw: int
    verified: bool
    authorized: bool
    registered_at: int


@dataclass(frozen=True)
class Order:
    """IEnergyTrading.Order."""

    trader: str
    amount_wh: int = field(metadata={"abi": "amount"})
    price_per_kwh: int = field(metadata={"abi": "price"})
    expiry: int
    order_type: OrderType
    status: OrderStatus


@dataclass(frozen=True)
class OrderInfo:
    """IEnergyMarket.OrderInfo."""

    order_id: int
    trader: str
    amount_wh: int = field(metadata={"abi": "amount"})
    filled_wh: int = field(metadata={"abi": "filledAmount"})
    price_per_kwh: int = field(metadata={"abi": "price"})
    expiry: int
    order_type: OrderType
    status: OrderStatus
    counterparty: str
    escrow: int


@dataclass(frozen=True)
class OrderOutcome:
    """IEnergyAuction.OrderOutcome."""

    filled_wh: int
    payment: int
    fee: int
    refund: int
    claimed: bool


@dataclass(frozen=True)
class ParticipationRecord:
    """IDemandResponse.ParticipationRecord."""

    participation_id: int
    event_id: int
    consumer: str
    baseline_usage_w: int = field(metadata={"abi": "baselineUsageKW"})
    actual_usage_w: int = field(metadata={"abi": "actualUsageKW"})
    reduction_achieved_w: int = field(metadata={"abi": "reductionAchievedKW"})
    reward_amount: int
    first_interval: int = field(metadata={"abi": "meterReadingStart"})
    last_interval: int = field(metadata={"abi": "meterReadingEnd"})
    verified_at: int
    status: ParticipationStatus


@dataclass(frozen=True)
class PermitSignature:
    """IEnergyMarket.PermitSignature."""

    value: int
    deadline: int
    v: int
    r: bytes
    s: bytes


@dataclass(frozen=True)
class PriceFactors:
    """IPriceDiscovery.PriceFactors."""

    price_per_kwh: int
    base_price_per_kwh: int
    demand_factor_bps: int
    supply_factor_bps: int
    time_factor_bps: int
    stability_factor_bps: int
    demand_w: int
    supply_w: int
    frequency_millihz: int
    voltage_per_mille: int
    irradiance_w_per_m2: int
    wind_speed_mm_per_s: int
    renewable_availability_bps: int
    local_hour: int
    base_price_updated_at: int
    weather_updated_at: int
    grid_updated_at: int


@dataclass(frozen=True)
class ProducerInfo:
    """IGridManagement.ProducerInfo."""

    capacity_w: int
    current_output_w: int
    total_produced_wh: int
    energy_type: EnergyType
    active: bool
    reputation_score: int
    last_report_at: int
    verified: bool


@dataclass(frozen=True)
class ProgramBudget:
    """IDemandPrograms.ProgramBudget."""

    budget: int
    reserved: int
    paid: int
    refunded: int
    verification_deadline: int
    reported_participants: int
    distribution_cursor: int


@dataclass(frozen=True)
class ProgramParticipant:
    """IDemandPrograms.ProgramParticipant."""

    meter: str
    committed_reduction_mw: int
    actual_reduction_mw: int
    metered_reduction_w: int
    reward_amount: int
    joined_at: int
    reported_at: int
    status: ParticipationStatus


@dataclass(frozen=True)
class RegionCapacity:
    """IGridOperations.RegionCapacity."""

    max_generation_kw: int
    current_generation_kw: int
    reserve_capacity_kw: int
    committed_reserve_kw: int
    committed_generation_down_kw: int
    committed_load_shedding_kw: int
    updated_at: int


@dataclass(frozen=True)
class ReportedGridStatus:
    """IGridManagement.ReportedGridStatus."""

    supply_w: int
    demand_w: int
    frequency_millihz: int
    voltage_per_mille: int
    updated_by: str
    updated_at: int
    emergency_mode: bool


@dataclass(frozen=True)
class Retirement:
    """ICarbonCredits.Retirement."""

    retirement_id: int
    retiree: str
    beneficiary: str
    amount_grams: int
    retired_at: int
    reason: str


@dataclass(frozen=True)
class RevenueInfo:
    """IEnergyAssetShares.RevenueInfo."""

    total_deposited: int
    total_claimed: int
    magnified_revenue_per_share: int
    carried_remainder: int


@dataclass(frozen=True)
class SignedReading:
    """ISmartMeterRegistry.SignedReading."""

    meter: str
    nonce: int
    deadline: int
    reading: MeterReading
    v: int
    r: bytes
    s: bytes


@dataclass(frozen=True)
class StabilityMetrics:
    """IGridOperations.StabilityMetrics."""

    frequency_millihz: int
    voltage_per_mille: int
    phase_angle_milli_degrees: int
    level: StabilityLevel
    reported_at: int
    reported_by: str


@dataclass(frozen=True)
class StabilityResponse:
    """IGridOperations.StabilityResponse."""

    region_id: int
    automated: bool
    trigger_condition: TriggerCondition
    action_type: ActionType
    target_adjustment_kw: int
    priority: int
    severity: StabilityLevel
    frequency_millihz: int
    voltage_per_mille: int
    created_by: str
    created_at: int


@dataclass(frozen=True)
class StandingOrder:
    """ISmartMeterRegistry.StandingOrder: a meter's standing limits in the reading market (0 price:
    that side is off; 0 cap: no cap)."""

    sell_price_per_kwh: int
    sell_cap_wh: int
    buy_price_per_kwh: int
    buy_cap_wh: int


@dataclass(frozen=True)
class StorageInfo:
    """IGridManagement.StorageInfo."""

    capacity_wh: int
    stored_wh: int
    charge_rate_w: int
    discharge_rate_w: int
    interval_charged_wh: int
    interval_discharged_wh: int
    verified: bool


@dataclass(frozen=True)
class TransactionInfo:
    """ISettlement.TransactionInfo."""

    buyer: str
    seller: str
    buy_order_id: int
    sell_order_id: int
    amount_wh: int
    price_per_kwh: int
    payment: int
    fee: int
    buyer_refund: int
    status: TransactionStatus
    matched_at: int
    fee_bps: int


@dataclass(frozen=True)
class WeatherData:
    """IWeatherOracle.WeatherData."""

    irradiance_w_per_m2: int
    temperature_milli_celsius: int
    wind_speed_mm_per_s: int
    cloud_cover_bps: int
    report_count: int
    updated_at: int


# The dataclass of each struct, by the name the ABI's internalType gives it.
SOLIDITY_STRUCTS: dict[str, type] = {
    "IEnergyAssetNFT.AssetInfo": AssetInfo,
    "IEnergyAuction.OrderInfo": AuctionOrderInfo,
    "IGridOperations.AutomatedResponse": AutomatedResponse,
    "IGridOperations.BalancingAction": BalancingAction,
    "ICarbonCredits.CleanProducerInfo": CleanProducerInfo,
    "IGridManagement.ConsumerInfo": ConsumerInfo,
    "IDemandPrograms.DemandProgram": DemandProgram,
    "IDemandResponse.DemandResponseEvent": DemandResponseEvent,
    "IGridManagement.EmergencyRecord": EmergencyRecord,
    "IDemandResponse.EventBudget": EventBudget,
    "IForecastLedger.Forecast": Forecast,
    "IForecastLedger.ForecastScore": ForecastScore,
    "IGridOracle.GridData": GridData,
    "IGridManagement.GridStatus": GridStatus,
    "ISmartMeterRegistry.IntervalRecord": IntervalRecord,
    "IGridOperations.LoadReport": LoadReport,
    "IGridOperations.RegionLoad": RegionLoad,
    "IEnergyAssetNFT.MaintenanceRecord": MaintenanceRecord,
    "IEnergyAuction.MarketInfo": MarketInfo,
    "IEnergyAuction.BookSlots": BookSlots,
    "IMarketZones.ZoneInfo": ZoneInfo,
    "IMarketZones.LinkLimits": LinkLimits,
    "IMarketZones.CoupledResult": CoupledResult,
    "ISmartMeterRegistry.MeterInfo": MeterInfo,
    "IMeteredMarket.MeteredOrders": MeteredOrders,
    "ISmartMeter.MeterReading": MeterReading,
    "IGridManagement.Metrics": Metrics,
    "IGridManagement.OperatorInfo": OperatorInfo,
    "IEnergyTrading.Order": Order,
    "IEnergyMarket.OrderInfo": OrderInfo,
    "IEnergyAuction.OrderOutcome": OrderOutcome,
    "IDemandResponse.ParticipationRecord": ParticipationRecord,
    "IEnergyMarket.PermitSignature": PermitSignature,
    "IPriceDiscovery.PriceFactors": PriceFactors,
    "IGridManagement.ProducerInfo": ProducerInfo,
    "IDemandPrograms.ProgramBudget": ProgramBudget,
    "IDemandPrograms.ProgramParticipant": ProgramParticipant,
    "IGridOperations.RegionCapacity": RegionCapacity,
    "IGridManagement.ReportedGridStatus": ReportedGridStatus,
    "ICarbonCredits.Retirement": Retirement,
    "IEnergyAssetShares.RevenueInfo": RevenueInfo,
    "IEnergyMarket.SignedOrder": SignedOrder,
    "IEnergyAuction.SignedAuctionOrder": SignedAuctionOrder,
    "ISmartMeterRegistry.SignedReading": SignedReading,
    "IGridOperations.StabilityMetrics": StabilityMetrics,
    "IGridOperations.StabilityResponse": StabilityResponse,
    "ISmartMeterRegistry.StandingOrder": StandingOrder,
    "IGridManagement.StorageInfo": StorageInfo,
    "ISettlement.TransactionInfo": TransactionInfo,
    "IWeatherOracle.WeatherData": WeatherData,
}
