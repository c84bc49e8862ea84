// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title MeteredMarketRecorder
/// @notice A stand-in reading market for tests: logs every recordMetered call it receives, or refuses
/// it once told to.
contract MeteredMarketRecorder {
    /// @notice The market refuses the call, as told to (setRefusing).
    /// @param entryWords The number of words the call carried.
    error RecordRefused(uint256 entryWords);

    /// @notice A recordMetered call arrived.
    /// @param caller Who called.
    /// @param entries The words it carried.
    event Recorded(address caller, uint256[] entries);

    /// @notice Whether the next calls are refused.
    bool public refusing;

    /// @notice Refuses (true) or logs (false) the calls from now on.
    function setRefusing(bool refusing_) external {
        refusing = refusing_;
    }

    /// @notice Logs the entries, or refuses them with RecordRefused.
    function recordMetered(uint256[] calldata entries) external {
        if (refusing) revert RecordRefused(entries.length);
        emit Recorded(msg.sender, entries);
    }
}
