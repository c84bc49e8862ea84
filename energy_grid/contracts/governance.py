"""Governance, thinly: GRID votes, the governor's proposals and votes, the timelock's delay. A
proposal's calldata is built with the target contract's own class (`contract.encode_abi`)."""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum

from eth_account.signers.local import LocalAccount
from web3.types import TxReceipt

from energy_grid.contracts.base import ContractClient, require
from energy_grid.contracts.tokens import ERC20


class ProposalState(IntEnum):
    """OpenZeppelin IGovernor.ProposalState."""

    Pending = 0
    Active = 1
    Canceled = 2
    Defeated = 3
    Succeeded = 4
    Queued = 5
    Expired = 6
    Executed = 7


class OperationState(IntEnum):
    """OpenZeppelin TimelockController.OperationState."""

    Unset = 0
    Waiting = 1
    Ready = 2
    Done = 3


class VoteType(IntEnum):
    """OpenZeppelin GovernorCountingSimple."""

    Against = 0
    For = 1
    Abstain = 2


class GovernanceToken(ERC20):
    def delegate(self, holder: LocalAccount, delegatee: str) -> TxReceipt:
        """Votes count only once delegated (to oneself, too)."""
        return self._send(holder, "delegate", delegatee)

    def votes(self, account: str) -> int:
        return self._int("getVotes", account)


class EnergyGovernor(ContractClient):
    def propose(
        self, proposer: LocalAccount, targets: Sequence[str], values: Sequence[int], calldatas: Sequence[bytes], description: str
    ) -> int:
        """Returns the proposal id."""
        require(len(targets) == len(values) == len(calldatas) > 0, "propose: targets, values and calldatas must match")
        receipt = self._send(proposer, "propose", list(targets), list(values), list(calldatas), description)
        return self._id(receipt, "ProposalCreated", "proposalId")

    def cast_vote(self, voter: LocalAccount, proposal_id: int, support: VoteType) -> TxReceipt:
        return self._send(voter, "castVote", proposal_id, int(support))

    def state(self, proposal_id: int) -> ProposalState:
        return ProposalState(self._int("state", proposal_id))


class GridTimelock(ContractClient):
    def min_delay_s(self) -> int:
        return self._int("getMinDelay")

    def operation_state(self, operation_id: bytes) -> OperationState:
        return OperationState(self._int("getOperationState", operation_id))
