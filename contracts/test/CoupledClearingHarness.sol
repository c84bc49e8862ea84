// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ClearingTerms, CoupledClearing, ZoneBook, ZoneClearing} from "../market/auction/CoupledClearing.sol";

/// @title CoupledClearingHarness
/// @notice Exposes the CoupledClearing library to tests, which read it with eth_call.
contract CoupledClearingHarness {
    /// @notice Clears `zones` on a grid of `tickCount` ticks; see CoupledClearing.clear. The rent is in ticks × Wh.
    function clear(ZoneBook[] memory zones, uint256 tickCount)
        external
        pure
        returns (uint256 busTick, ZoneClearing[] memory results, uint256 rentTickWh)
    {
        CoupledClearing.Sums memory sums;
        (sums, results) = CoupledClearing.clear(zones, ClearingTerms(1, 1, tickCount, 0));
        return (sums.busTick, results, uint256(sums.rentTickWh));
    }

    /// @notice The gas one clearing of `zones` takes inside the call, without the call's own decoding.
    function clearGas(ZoneBook[] memory zones, uint256 tickCount) external view returns (uint256 gasUsed) {
        uint256 before = gasleft();
        CoupledClearing.clear(zones, ClearingTerms(1, 1, tickCount, 0));
        return before - gasleft();
    }
}
