// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Governor} from "@openzeppelin/contracts/governance/Governor.sol";
import {GovernorCountingSimple} from "@openzeppelin/contracts/governance/extensions/GovernorCountingSimple.sol";
import {GovernorSettings} from "@openzeppelin/contracts/governance/extensions/GovernorSettings.sol";
import {GovernorTimelockControl} from "@openzeppelin/contracts/governance/extensions/GovernorTimelockControl.sol";
import {GovernorVotes} from "@openzeppelin/contracts/governance/extensions/GovernorVotes.sol";
import {GovernorVotesQuorumFraction} from
    "@openzeppelin/contracts/governance/extensions/GovernorVotesQuorumFraction.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";
import {ZeroAddress} from "../utils/GridErrors.sol";

/// @title EnergyGovernor
/// @notice Governs the grid: GRID holders propose a change (fees, base price, bounds, oracle
/// reporters and heartbeats, roles), vote For, Against or Abstain, and a proposal that reaches the
/// quorum with more For than Against is queued in the timelock and executed after its delay.
/// @dev OpenZeppelin's Governor with settings (changeable only by a proposal), simple counting,
/// votes read from GovernanceToken's timestamp clock, a quorum as a share of the supply, and the
/// timelock as executor: the timelock, not this contract, holds the grid's admin roles.
contract EnergyGovernor is
    Governor,
    GovernorSettings,
    GovernorCountingSimple,
    GovernorVotes,
    GovernorVotesQuorumFraction,
    GovernorTimelockControl
{
    /// @param token_ The voting token (GovernanceToken).
    /// @param timelock_ The timelock that executes proposals and holds the admin roles.
    /// @param votingDelaySeconds Time from a proposal to the snapshot of voting power and the start of voting.
    /// @param votingPeriodSeconds How long voting stays open.
    /// @param proposalThreshold_ Voting power needed to propose, in GRID base units.
    /// @param quorumPercent Share of the supply at the snapshot that must vote For or Abstain.
    constructor(
        IVotes token_,
        TimelockController timelock_,
        uint48 votingDelaySeconds,
        uint32 votingPeriodSeconds,
        uint256 proposalThreshold_,
        uint256 quorumPercent
    )
        Governor("EnergyGovernor")
        GovernorSettings(votingDelaySeconds, votingPeriodSeconds, proposalThreshold_)
        GovernorVotes(_nonZeroToken(token_))
        GovernorVotesQuorumFraction(quorumPercent)
        GovernorTimelockControl(timelock_)
    {
        if (address(timelock_) == address(0)) revert ZeroAddress();
    }

    /// @dev Checked in the base constructor's argument: GovernorVotesQuorumFraction's constructor
    /// already reads the token's clock, and a zero token would fail there with no reason.
    function _nonZeroToken(IVotes token_) private pure returns (IVotes) {
        if (address(token_) == address(0)) revert ZeroAddress();
        return token_;
    }

    /// @dev A quorum of 0 % would let one For vote carry any proposal, at deploy or set later.
    function _updateQuorumNumerator(uint256 newQuorumNumerator) internal override {
        if (newQuorumNumerator == 0) revert GovernorInvalidQuorumFraction(0, quorumDenominator());
        super._updateQuorumNumerator(newQuorumNumerator);
    }

    function votingDelay() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.votingDelay();
    }

    function votingPeriod() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.votingPeriod();
    }

    function proposalThreshold() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.proposalThreshold();
    }

    function quorum(uint256 timepoint) public view override(Governor, GovernorVotesQuorumFraction) returns (uint256) {
        return super.quorum(timepoint);
    }

    function state(uint256 proposalId) public view override(Governor, GovernorTimelockControl) returns (ProposalState) {
        return super.state(proposalId);
    }

    function proposalNeedsQueuing(uint256 proposalId)
        public
        view
        override(Governor, GovernorTimelockControl)
        returns (bool)
    {
        return super.proposalNeedsQueuing(proposalId);
    }

    function _queueOperations(
        uint256 proposalId,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) returns (uint48) {
        return super._queueOperations(proposalId, targets, values, calldatas, descriptionHash);
    }

    function _executeOperations(
        uint256 proposalId,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) {
        super._executeOperations(proposalId, targets, values, calldatas, descriptionHash);
    }

    function _cancel(
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) returns (uint256) {
        return super._cancel(targets, values, calldatas, descriptionHash);
    }

    function _executor() internal view override(Governor, GovernorTimelockControl) returns (address) {
        return super._executor();
    }
}
