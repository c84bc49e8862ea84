"""GridManagement (participants, load, dynamic price, emergencies, operators) and GridOperations
(per-region load reports, stability, balancing)."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount
from web3.types import TxReceipt

from energy_grid.contracts.base import (
    ContractClient,
    decode_struct,
    decode_structs,
    require,
    require_amount,
    require_enum,
)
from energy_grid.contracts.structs import (
    AutomatedResponse,
    BalancingAction,
    ConsumerInfo,
    EmergencyRecord,
    GridStatus,
    LoadReport,
    Metrics,
    OperatorInfo,
    ProducerInfo,
    RegionCapacity,
    ReportedGridStatus,
    StabilityMetrics,
    StabilityResponse,
    StorageInfo,
)
from energy_grid.domain.enums import (
    ActionType,
    EnergyType,
    LoadStatus,
    StabilityLevel,
    TriggerCondition,
)


class GridManagement(ContractClient):
    # ----------------------------------------------------------------- participants (self-registered)

    def register_producer(self, producer: LocalAccount, capacity_w: int, energy_type: int) -> TxReceipt:
        require_amount("capacity_w", capacity_w)
        return self._send(producer, "registerProducer", capacity_w, int(require_enum(EnergyType, energy_type)))

    def register_consumer(self, consumer: LocalAccount, consumption_limit_wh: int) -> TxReceipt:
        """`consumption_limit_wh` is per UTC day."""
        return self._send(consumer, "registerConsumer", consumption_limit_wh)

    def register_storage(self, unit: LocalAccount, capacity_wh: int, charge_rate_w: int, discharge_rate_w: int) -> TxReceipt:
        return self._send(unit, "registerStorage", capacity_wh, charge_rate_w, discharge_rate_w)

    def report_production(self, producer: LocalAccount, output_w: int) -> TxReceipt:
        """The producer's current output, a setpoint (not a sum); an operator must have verified it."""
        return self._send(producer, "reportProduction", output_w)

    def consume_energy(self, consumer: LocalAccount, amount_wh: int, max_price_per_kwh: int) -> TxReceipt:
        """Pays ceil(amount × dynamic price / 1000) PaymentToken to the grid (approve it first);
        reverts with PriceAboveLimit when the price is above `max_price_per_kwh` by then."""
        require_amount("amount_wh", amount_wh)
        return self._send(consumer, "consumeEnergy", amount_wh, max_price_per_kwh)

    def charge_storage(self, unit: LocalAccount, amount_wh: int) -> TxReceipt:
        require_amount("amount_wh", amount_wh)
        return self._send(unit, "chargeStorage", amount_wh)

    def discharge_storage(self, unit: LocalAccount, amount_wh: int) -> TxReceipt:
        require_amount("amount_wh", amount_wh)
        return self._send(unit, "dischargeStorage", amount_wh)

    # ----------------------------------------------------------------- operators

    def register_operator(self, operator: LocalAccount, name: str, region_id: int, capacity_kw: int) -> TxReceipt:
        require(0 < len(name.encode()) <= 64, "register_operator: the name must be 1-64 bytes")
        return self._send(operator, "registerOperator", name, region_id, capacity_kw)

    def verify_operator(self, admin: LocalAccount, operator: str) -> TxReceipt:
        return self._send(admin, "verifyOperator", operator)

    def toggle_emergency_mode(self, operator: LocalAccount, region_id: int, active: bool) -> TxReceipt:
        """Switches the region's emergency mode on or off: the region's operators; the admin only off."""
        return self._send(operator, "toggleEmergencyMode", region_id, active, signature="toggleEmergencyMode(uint32,bool)")

    def toggle_own_emergency_mode(self, operator: LocalAccount) -> bool:
        """Flips the emergency mode of the operator's own region (the specification's form, without a
        region); returns the new state, True for on."""
        receipt = self._send(operator, "toggleEmergencyMode", signature="toggleEmergencyMode()")
        return bool(self.event(receipt, "EmergencyModeChanged")["active"])

    def update_grid_status(
        self, operator: LocalAccount, supply_w: int, demand_w: int, frequency_millihz: int, voltage_per_mille: int
    ) -> TxReceipt:
        return self._send(operator, "updateGridStatus", supply_w, demand_w, frequency_millihz, voltage_per_mille)

    def implement_emergency_protocol(self, operator: LocalAccount, region_id: int, severity: int, reason: bytes) -> int:
        """Declares an emergency in the region; returns its id. `reason` is up to 32 bytes."""
        require(len(reason) <= 32, "implement_emergency_protocol: the reason is at most 32 bytes")
        receipt = self._send(operator, "implementEmergencyProtocol", region_id, severity, reason.ljust(32, b"\0"))
        return self._id(receipt, "EmergencyProtocolImplemented", "emergencyId")

    def record_metrics(
        self, operator: LocalAccount, production_wh: int, consumption_wh: int, peak_load_w: int, efficiency_bps: int
    ) -> int:
        receipt = self._send(operator, "recordMetrics", production_wh, consumption_wh, peak_load_w, efficiency_bps)
        return self._id(receipt, "MetricsRecorded", "metricsId")

    def update_producer_reputation(self, operator: LocalAccount, producer: str, score: int) -> TxReceipt:
        require(0 <= score <= 100, f"update_producer_reputation: score {score} is not 0-100")
        return self._send(operator, "updateProducerReputation", producer, score)

    def verify_producer(self, operator: LocalAccount, producer: str) -> TxReceipt:
        """Its capacity counts in the grid totals and it may report output from now on."""
        return self._send(operator, "verifyProducer", producer)

    def verify_storage(self, operator: LocalAccount, unit: str) -> TxReceipt:
        """It may charge and discharge from now on."""
        return self._send(operator, "verifyStorage", unit)

    def deactivate_participant(self, operator: LocalAccount, account: str, is_producer: bool) -> TxReceipt:
        return self._send(operator, "deactivateParticipant", account, is_producer)

    def reactivate_participant(self, operator: LocalAccount, account: str, is_producer: bool) -> TxReceipt:
        return self._send(operator, "reactivateParticipant", account, is_producer)

    def emergency_shutdown(self, guardian: LocalAccount) -> TxReceipt:
        """The guardian pauses trading, settlement, metering and the auctions at once; a target it
        cannot pause is named in a ShutdownTargetFailed event."""
        return self._send(guardian, "emergencyShutdown")

    # ----------------------------------------------------------------- reads

    def grid_status(self) -> GridStatus:
        return decode_struct(GridStatus, self._call("getGridStatus"))

    def reported_grid_status(self) -> ReportedGridStatus:
        return decode_struct(ReportedGridStatus, self._call("getCurrentGridStatus"))

    def dynamic_price_per_kwh(self) -> int:
        return self._int("getDynamicPrice")

    def is_region_in_emergency(self, region_id: int) -> bool:
        return bool(self._call("isRegionInEmergency", region_id))

    def base_price_per_kwh(self) -> int:
        return self._int("basePrice")

    def get_producer(self, producer: str) -> ProducerInfo:
        return decode_struct(ProducerInfo, self._call("getProducer", producer))

    def get_consumer(self, consumer: str) -> ConsumerInfo:
        return decode_struct(ConsumerInfo, self._call("getConsumer", consumer))

    def get_storage(self, unit: str) -> StorageInfo:
        return decode_struct(StorageInfo, self._call("getStorage", unit))

    def get_operator(self, operator: str) -> OperatorInfo:
        return decode_struct(OperatorInfo, self._call("getOperator", operator))

    def get_metrics(self, metrics_id: int) -> Metrics:
        return decode_struct(Metrics, self._call("getMetrics", metrics_id))

    def get_emergency(self, emergency_id: int) -> EmergencyRecord:
        return decode_struct(EmergencyRecord, self._call("getEmergency", emergency_id))

    def operator_status(self, account: str) -> tuple[bool, int]:
        """Whether `account` may act as an operator now, and its region (0 when it is no operator)."""
        authorized, region_id = self._call("operatorStatus", account)
        return bool(authorized), int(region_id)

    def is_authorized_operator(self, account: str) -> bool:
        return bool(self._call("isAuthorizedOperator", account))


class GridOperations(ContractClient):
    """Run by GridManagement's verified, authorized operators, each for its own region; power in kW."""

    def report_load(self, operator: LocalAccount, region_id: int, capacity_kw: int, demand_kw: int) -> TxReceipt:
        require_amount("capacity_kw", capacity_kw)
        return self._send(operator, "reportLoad", region_id, capacity_kw, demand_kw)

    def report_stability(
        self, operator: LocalAccount, region_id: int, frequency_millihz: int, voltage_per_mille: int, phase_angle_millideg: int = 0
    ) -> TxReceipt:
        """A CRITICAL report declares an emergency in GridManagement."""
        return self._send(operator, "reportStabilityMetrics", region_id, frequency_millihz, voltage_per_mille, phase_angle_millideg)

    def set_region_capacity(
        self, operator: LocalAccount, region_id: int, max_generation_kw: int, current_generation_kw: int, reserve_capacity_kw: int
    ) -> TxReceipt:
        fn = "setRegionCapacity"
        return self._send(operator, fn, region_id, max_generation_kw, current_generation_kw, reserve_capacity_kw)

    def initiate_balancing_action(self, operator: LocalAccount, region_id: int, action_type: int, target_kw: int, priority: int) -> int:
        action = int(require_enum(ActionType, action_type))
        require(action != ActionType.NONE, "initiate_balancing_action: NONE is no action")
        receipt = self._send(operator, "initiateBalancingAction", region_id, action, target_kw, priority)
        return self._id(receipt, "BalancingActionInitiated", "actionId")

    def complete_balancing_action(self, operator: LocalAccount, action_id: int) -> TxReceipt:
        return self._send(operator, "completeBalancingAction", action_id)

    def cancel_balancing_action(self, operator: LocalAccount, action_id: int) -> TxReceipt:
        return self._send(operator, "cancelBalancingAction", action_id)

    def configure_automated_response(
        self, operator: LocalAccount, trigger: int, action_type: int, target_adjustment_kw: int, priority: int
    ) -> TxReceipt:
        condition = int(require_enum(TriggerCondition, trigger))
        action = int(require_enum(ActionType, action_type))
        require(condition != TriggerCondition.NONE and action != ActionType.NONE, "configure_automated_response: NONE is no input")
        return self._send(operator, "configureAutomatedResponse", condition, action, target_adjustment_kw, priority)

    def trigger_stability_response(
        self, operator: LocalAccount, region_id: int, frequency_millihz: int, voltage_per_mille: int, severity: int
    ) -> int:
        level = int(require_enum(StabilityLevel, severity))
        receipt = self._send(operator, "triggerStabilityResponse", region_id, frequency_millihz, voltage_per_mille, level)
        return self._id(receipt, "StabilityResponseTriggered", "responseId")

    # ----------------------------------------------------------------- reads

    def current_load(self, region_id: int) -> LoadReport:
        return decode_struct(LoadReport, self._call("getCurrentLoad", region_id))

    def load_status(self, region_id: int) -> LoadStatus:
        return self.current_load(region_id).status

    def load_history(self, region_id: int, from_sequence: int, count: int) -> list[LoadReport]:
        return decode_structs(LoadReport, self._call("getLoadHistory", region_id, from_sequence, count))

    def stability_metrics(self, region_id: int) -> StabilityMetrics:
        return decode_struct(StabilityMetrics, self._call("getStabilityMetrics", region_id))

    def stability_level(self, frequency_millihz: int, voltage_per_mille: int) -> StabilityLevel:
        return StabilityLevel(self._int("getStabilityLevel", frequency_millihz, voltage_per_mille))

    def region_capacity(self, region_id: int) -> RegionCapacity:
        return decode_struct(RegionCapacity, self._call("getRegionCapacity", region_id))

    def balancing_action(self, action_id: int) -> BalancingAction:
        return decode_struct(BalancingAction, self._call("getBalancingAction", action_id))

    def automated_response(self, region_id: int, trigger: int) -> AutomatedResponse:
        return decode_struct(AutomatedResponse, self._call("getAutomatedResponse", region_id, trigger))

    def stability_response(self, response_id: int) -> StabilityResponse:
        return decode_struct(StabilityResponse, self._call("getStabilityResponse", response_id))
