// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title MeteredMarketRecorder
/// @notice A stand-in reading market for tests. It logs every recordMetered call it receives, or refuses
/// the calls once it is told to.
contract MeteredMarketRecorder {
    /// @notice The market refuses the call, as setRefusing told it to.
    /// @param entryWords The number of words the call carried.
    error RecordRefused(uint256 entryWords);

    /// @notice A recordMetered call arrived.
    /// @param caller The account that called.
    /// @param entries The words it carried.
    event Recorded(address caller, uint256[] entries);

    /// @notice Whether the coming calls are refused.
    bool public refusing;

    /// @notice From now on, refuses the calls when `refusing_` is true and logs them when it is false.
    function setRefusing(bool refusing_) external {
        refusing = refusing_;
    }

    /// @notice Logs the entries, or refuses them with RecordRefused.
    function recordMetered(uint256[] calldata entries) external {
        if (refusing) revert RecordRefused(entries.length);
        emit Recorded(msg.sender, entries);
    }
}
