// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title GridTimelock
/// @notice Holds the admin role of every grid contract and carries out what EnergyGovernor's
/// proposals decide, no sooner than `getMinDelay()` seconds after they are queued: time for anyone
/// who disagrees to see the change coming and leave.
/// @dev OpenZeppelin's TimelockController as is; this contract exists so the project deploys it
/// from its own build. It always administers itself; the deploy passes no other admin.
contract GridTimelock is TimelockController {
    /// @param minDelaySeconds The least time between queueing and executing an operation.
    /// @param proposers Schedule and cancel operations (the governor).
    /// @param executors Execute ready operations; the zero address lets anyone execute.
    /// @param admin An extra admin; the zero address for none.
    constructor(uint256 minDelaySeconds, address[] memory proposers, address[] memory executors, address admin)
        TimelockController(minDelaySeconds, proposers, executors, admin)
    {}
}
