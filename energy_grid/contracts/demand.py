"""Demand response: DemandResponse (events measured from meters, paid per kW) and
DemandPrograms (programs per region, in MW)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

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
    DemandProgram,
    DemandResponseEvent,
    EventBudget,
    ParticipationRecord,
    ProgramBudget,
    ProgramParticipant,
)
from energy_grid.domain.enums import ProgramType

MAX_VERIFICATION_BATCH = 10  # DemandResponse.MAX_VERIFICATION_BATCH: consumers per verifyReductions call


class ReductionFigures(NamedTuple):
    """What a consumer's meter shows for an event (previewReduction): average power in W over
    the baseline days and over the window, and the window's first and last interval."""

    baseline_usage_w: int
    actual_usage_w: int
    first_interval: int
    last_interval: int


class ParticipationPage(NamedTuple):
    records: list[ParticipationRecord]
    total: int


class DemandResponse(ContractClient):
    def register_grid_operator(self, admin: LocalAccount, operator: str) -> TxReceipt:
        return self._send(admin, "registerGridOperator", operator)

    def register_consumer(self, signer: LocalAccount, consumer: str, meter: str) -> TxReceipt:
        """The consumer itself or a registered grid operator; `meter` must be the consumer's."""
        return self._send(signer, "registerConsumer", consumer, meter)

    def start_event(
        self, operator: LocalAccount, region_id: int | None, target_reduction_kw: int, reward_per_kw: int, duration_s: int
    ) -> int:
        """Starts an event in `region_id`, the operator's GridManagement region, or with None in
        whichever region GridManagement lists the operator in (the specification's form, without a
        region); the operator approved target × reward PaymentToken first. Returns its id."""
        require_amount("target_reduction_kw", target_reduction_kw)
        require_amount("reward_per_kw", reward_per_kw)
        require_amount("duration_s", duration_s)
        args: tuple[int, ...] = (target_reduction_kw, reward_per_kw, duration_s)
        if region_id is None:
            receipt = self._send(operator, "startEvent", *args, signature="startEvent(uint64,uint128,uint256)")
        else:
            receipt = self._send(operator, "startEvent", region_id, *args, signature="startEvent(uint32,uint64,uint128,uint256)")
        return self._id(receipt, "EventStarted", "eventId")

    def join_event(self, consumer: LocalAccount, event_id: int) -> int:
        """Opts in ahead of the window; returns the participation id."""
        return self._id(self._send(consumer, "joinEvent", event_id), "EventJoined", "participationId")

    def preview_reduction(self, event_id: int, consumer: str) -> ReductionFigures:
        return ReductionFigures(*(int(v) for v in self._call("previewReduction", event_id, consumer)))

    def verify_reduction(self, sender: LocalAccount, event_id: int, consumer: str, figures: ReductionFigures | None = None) -> int:
        """Submits the consumer's reduction, by default exactly what its meter shows; anyone may.
        Returns the participation id."""
        args = figures if figures is not None else self.preview_reduction(event_id, consumer)
        receipt = self._send(sender, "verifyReduction", event_id, consumer, *args)
        return self._id(receipt, "ReductionVerified", "participationId")

    def verify_reductions(self, sender: LocalAccount, event_id: int, consumers: Sequence[str]) -> list[int]:
        """Verifies each consumer with its meter's own figures in one transaction (the contract's
        verifyReductions: the whole batch is refused if one consumer would be); anyone may. Returns
        the participation ids, in the consumers' order."""
        require(
            0 < len(consumers) <= MAX_VERIFICATION_BATCH,
            f"a verification batch holds 1 to {MAX_VERIFICATION_BATCH} consumers, not {len(consumers)}",
        )
        receipt = self._send(sender, "verifyReductions", event_id, list(consumers))
        return [int(e["participationId"]) for e in self.events(receipt, "ReductionVerified")]

    def claim_reward(self, consumer: LocalAccount, event_id: int) -> int:
        """Credits the consumer's reward to its EnergyVault balance; returns the amount, PaymentToken
        base units."""
        return self._paid(self._send(consumer, "claimReward", event_id))

    def _paid(self, receipt: TxReceipt) -> int:
        return sum(int(e["amount"]) for e in self.events(receipt, "RewardPaid"))

    def distribute_rewards(self, sender: LocalAccount, event_id: int) -> TxReceipt:
        """Pays verified participants' rewards into their EnergyVault balances in a bounded batch;
        after verification closes, completes the event and refunds the unspent budget to the
        operator's vault balance. Anyone may."""
        return self._send(sender, "distributeRewards", event_id)

    def cancel_event(self, operator: LocalAccount, event_id: int) -> TxReceipt:
        return self._send(operator, "cancelEvent", event_id)

    def reject_participation(self, operator: LocalAccount, event_id: int, consumer: str, reason: bytes) -> TxReceipt:
        require(len(reason) <= 32, "reject_participation: the reason is at most 32 bytes")
        return self._send(operator, "rejectParticipation", event_id, consumer, reason.ljust(32, b"\0"))

    # ----------------------------------------------------------------- reads

    def get_event(self, event_id: int) -> DemandResponseEvent:
        return decode_struct(DemandResponseEvent, self._call("getEvent", event_id))

    def event_budget(self, event_id: int) -> EventBudget:
        return decode_struct(EventBudget, self._call("getEventBudget", event_id))

    def participation(self, event_id: int, consumer: str) -> ParticipationRecord:
        return decode_struct(ParticipationRecord, self._call("getParticipation", event_id, consumer))

    def consumer_participations(self, consumer: str, cursor: int = 0, limit: int = 50) -> ParticipationPage:
        records, total = self._call("getConsumerParticipations", consumer, cursor, limit)
        return ParticipationPage(decode_structs(ParticipationRecord, records), int(total))

    def consumer_meter(self, consumer: str) -> str:
        return str(self._call("getConsumerMeter", consumer))

    def event_count(self) -> int:
        return self._int("eventCount")

    def is_grid_operator(self, account: str) -> bool:
        return bool(self._call("isGridOperator", account))

    def rewarded_through_interval(self, meter: str) -> int:
        """The meter's last interval (unix s / 900) rewarded by any event or program, 0 = none:
        only windows starting after it can still be rewarded."""
        return self._int("rewardedThroughInterval", meter)

    def rewarded_reduction_wh(self, meter: str) -> int:
        """The reduction rewarded for the meter so far across events and programs, Wh."""
        return self._int("rewardedReductionWh", meter)


class DemandPrograms(ContractClient):
    def create_program(
        self,
        operator: LocalAccount,
        name: str,
        program_type: int,
        region_id: int,
        target_reduction_mw: int,
        incentive_rate_per_mw: int,
        duration_s: int,
    ) -> int:
        """Creates a program (the operator approved target × rate PaymentToken first); returns its id."""
        kind = int(require_enum(ProgramType, program_type))
        args = (name, kind, region_id, target_reduction_mw, incentive_rate_per_mw, duration_s)
        return self._id(self._send(operator, "createDemandProgram", *args), "DemandProgramCreated", "programId")

    def join_program(self, participant: LocalAccount, program_id: int, committed_reduction_mw: int) -> TxReceipt:
        return self._send(participant, "joinProgram", program_id, committed_reduction_mw)

    def report_reduction(self, operator: LocalAccount, program_id: int, participant: str, actual_reduction_mw: int) -> TxReceipt:
        return self._send(operator, "reportReduction", program_id, participant, actual_reduction_mw)

    def claim_reward(self, participant: LocalAccount, program_id: int) -> int:
        """Credits the participant's reward to its EnergyVault balance; returns the amount,
        PaymentToken base units."""
        receipt = self._send(participant, "claimReward", program_id)
        return sum(int(e["amount"]) for e in self.events(receipt, "RewardPaid"))

    def distribute_rewards(self, sender: LocalAccount, program_id: int) -> TxReceipt:
        return self._send(sender, "distributeRewards", program_id)

    def cancel_program(self, operator: LocalAccount, program_id: int) -> TxReceipt:
        return self._send(operator, "cancelProgram", program_id)

    def get_program(self, program_id: int) -> DemandProgram:
        return decode_struct(DemandProgram, self._call("getProgram", program_id))

    def program_budget(self, program_id: int) -> ProgramBudget:
        return decode_struct(ProgramBudget, self._call("getProgramBudget", program_id))

    def participant(self, program_id: int, participant: str) -> ProgramParticipant:
        return decode_struct(ProgramParticipant, self._call("getParticipant", program_id, participant))

    def program_count(self) -> int:
        return self._int("programCount")
