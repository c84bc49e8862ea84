// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {CalldataArrays} from "../utils/CalldataArrays.sol";

/// @title CalldataArraysHarness
/// @notice Exposes the CalldataArrays library to tests. Each function reads every element of its array
/// with CalldataArrays.at and returns them in order.
contract CalldataArraysHarness {
    /// @notice Reads an address array element by element.
    function addresses(address[] calldata array) external pure returns (address[] memory elements) {
        elements = new address[](array.length);
        for (uint256 i; i < array.length; ++i) elements[i] = CalldataArrays.at(array, i);
    }

    /// @notice Reads a uint256 array element by element.
    function uints(uint256[] calldata array) external pure returns (uint256[] memory elements) {
        elements = new uint256[](array.length);
        for (uint256 i; i < array.length; ++i) elements[i] = CalldataArrays.at(array, i);
    }

    /// @notice Reads the two int256 arrays element by element, as a batch reads its arrays side by side.
    function ints(int256[] calldata first, int256[] calldata second)
        external
        pure
        returns (int256[] memory firstElements, int256[] memory secondElements)
    {
        firstElements = new int256[](first.length);
        secondElements = new int256[](second.length);
        for (uint256 i; i < first.length; ++i) firstElements[i] = CalldataArrays.at(first, i);
        for (uint256 i; i < second.length; ++i) secondElements[i] = CalldataArrays.at(second, i);
    }
}
