"""The contracts' enums as IntEnums, member for member in declaration order (Solidity numbers an
enum's members from 0) and spelled as declared (DemandResponse's are CamelCase).
tests/test_client_errors.py holds each one to its declaration in the contract's interface (IDemandResponse …).
"""

from __future__ import annotations

from enum import IntEnum


class OrderType(IntEnum):
    """IEnergyTrading.OrderType."""

    BUY = 0
    SELL = 1


class OrderStatus(IntEnum):
    """IEnergyTrading.OrderStatus."""

    ACTIVE = 0
    FILLED = 1
    CANCELLED = 2


class TransactionStatus(IntEnum):
    """ISettlement.TransactionStatus."""

    PENDING = 0
    SETTLED = 1
    VOIDED = 2


class LongSide(IntEnum):
    """IEnergyAuction.LongSide: the side rationed at the clearing price."""

    NONE = 0
    BIDS = 1
    ASKS = 2
    ZONES = 3  # the market cleared across zones: each zone rations its own sides (MarketZones.getZoneResult)


class SkipReason(IntEnum):
    """IMeteredMarket.SkipReason: why a reading's standing orders were not placed (wholly or on one side)."""

    NOT_APPROVED = 0  # the owner has not approved the market in the vault
    MARKET_CLOSED = 1  # the interval's market is past its reading deadline or cleared
    PRICE_OFF_GRID = 2  # a sell limit above the grid's top or a buy limit below its bottom
    TICK_FULL = 3  # the tick's side would pass MAX_TICK_VOLUME_WH
    ALREADY_PLACED = 4  # an earlier reading of the interval placed that side
    NOTHING_FREE = 5  # a bid found no free payment balance
    PAUSED = 6  # the market is paused: it takes no new orders, standing ones included


class EnergyType(IntEnum):
    """IGridManagement.EnergyType (also an energy asset's type)."""

    SOLAR = 0
    WIND = 1
    HYDRO = 2
    NUCLEAR = 3
    GEOTHERMAL = 4
    BIOMASS = 5
    NATURAL_GAS = 6


class LoadStatus(IntEnum):
    """IGridOperations.LoadStatus: LOW <= 30 %, NORMAL 31-79 %, HIGH 80-94 %, CRITICAL >= 95 %."""

    LOW = 0
    NORMAL = 1
    HIGH = 2
    CRITICAL = 3


class StabilityLevel(IntEnum):
    """IGridOperations.StabilityLevel."""

    NORMAL = 0
    ALERT = 1
    EMERGENCY = 2
    CRITICAL = 3


class TriggerCondition(IntEnum):
    """IGridOperations.TriggerCondition; NONE marks a manual response and is no valid input."""

    NONE = 0
    UNDER_FREQUENCY = 1
    OVER_FREQUENCY = 2
    UNDER_VOLTAGE = 3
    OVER_VOLTAGE = 4


class ActionType(IntEnum):
    """IGridOperations.ActionType; NONE is no valid input."""

    NONE = 0
    GENERATION_UP = 1
    GENERATION_DOWN = 2
    LOAD_SHEDDING = 3
    STORAGE_DISPATCH = 4


class ActionStatus(IntEnum):
    """IGridOperations.ActionStatus; NONE = no such action."""

    NONE = 0
    PENDING = 1
    COMPLETED = 2
    CANCELLED = 3


class DataSource(IntEnum):
    """IPriceDiscovery.DataSource."""

    PRICE = 0
    WEATHER = 1
    GRID = 2


class EventStatus(IntEnum):
    """IDemandResponse.EventStatus (a demand program's status too)."""

    Active = 0
    Completed = 1
    Cancelled = 2


class ParticipationStatus(IntEnum):
    """IDemandResponse.ParticipationStatus."""

    Pending = 0  # joined ahead, not verified yet
    Verified = 1  # reduction measured, reward reserved
    Rewarded = 2  # reward paid
    Rejected = 3  # the event's operator turned the joined consumer away


class ProgramType(IntEnum):
    """IDemandPrograms.ProgramType."""

    PEAK_SHAVING = 0
    LOAD_SHIFTING = 1
    EMERGENCY_RESPONSE = 2


class MaintenanceKind(IntEnum):
    """IEnergyAssetNFT.MaintenanceKind."""

    INSPECTION = 0
    PREVENTIVE = 1
    CORRECTIVE = 2
    COMPONENT_REPLACEMENT = 3
    UPGRADE = 4


class ClearingStage(IntEnum):
    """ISteppedClearing.Stage: the stage a large coupled market's next step runs."""

    NONE = 0
    STEPS = 1  # each zone's steps of its clamped export: where the bus balances, and its price
    ZONES = 2  # each zone's flow, fills, price and role
    FINISHED = 3


class ZoneRole(IntEnum):
    """IMarketZones.ZoneRole: how a zone's price in a cleared coupled market relates to the bus's."""

    COUPLED = 0  # the bus price: its link had room, or its own price lay beyond the bus's
    EXPORT_BOUND = 1  # below the bus: held at its export limit, it would export more
    IMPORT_BOUND = 2  # above the bus: held at its import limit, it would import more


# Solidity name of each enum, as the ABI's internalType writes it ("enum IEnergyTrading.OrderType").
SOLIDITY_ENUMS: dict[str, type[IntEnum]] = {
    "IEnergyTrading.OrderType": OrderType,
    "IEnergyTrading.OrderStatus": OrderStatus,
    "ISettlement.TransactionStatus": TransactionStatus,
    "IEnergyAuction.LongSide": LongSide,
    "IMeteredMarket.SkipReason": SkipReason,
    "IGridManagement.EnergyType": EnergyType,
    "IGridOperations.LoadStatus": LoadStatus,
    "IGridOperations.StabilityLevel": StabilityLevel,
    "IGridOperations.TriggerCondition": TriggerCondition,
    "IGridOperations.ActionType": ActionType,
    "IGridOperations.ActionStatus": ActionStatus,
    "IPriceDiscovery.DataSource": DataSource,
    "IDemandResponse.EventStatus": EventStatus,
    "IDemandResponse.ParticipationStatus": ParticipationStatus,
    "IDemandPrograms.ProgramType": ProgramType,
    "IEnergyAssetNFT.MaintenanceKind": MaintenanceKind,
    "ISteppedClearing.Stage": ClearingStage,
    "IMarketZones.ZoneRole": ZoneRole,
}

__all__ = [
    "SOLIDITY_ENUMS",
    "ActionStatus",
    "ActionType",
    "ClearingStage",
    "DataSource",
    "EnergyType",
    "EventStatus",
    "LoadStatus",
    "LongSide",
    "MaintenanceKind",
    "OrderStatus",
    "OrderType",
    "ParticipationStatus",
    "ProgramType",
    "SkipReason",
    "StabilityLevel",
    "TransactionStatus",
    "TriggerCondition",
    "ZoneRole",
]
