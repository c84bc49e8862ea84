// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEnergyMarket} from "../market/IEnergyMarket.sol";
import {MemoryArrays} from "../utils/MemoryArrays.sol";

/// @title MemoryArraysHarness
/// @notice Exposes the MemoryArrays library to tests. Each function fills an array of `size` entries,
/// numbered from 1, shortens it to its first `length` entries and returns it as the ABI encodes it.
contract MemoryArraysHarness {
    /// @notice Calls MemoryArrays.shorten on an int256 array.
    function shortenInts(uint256 size, uint256 length) external pure returns (int256[] memory array) {
        array = new int256[](size);
        for (uint256 i; i < size; ++i) array[i] = int256(i + 1);
        MemoryArrays.shorten(array, length);
    }

    /// @notice Calls MemoryArrays.shorten on a uint256 array.
    function shortenUints(uint256 size, uint256 length) external pure returns (uint256[] memory array) {
        array = new uint256[](size);
        for (uint256 i; i < size; ++i) array[i] = i + 1;
        MemoryArrays.shorten(array, length);
    }

    /// @notice Calls MemoryArrays.shorten on an address array.
    function shortenAddresses(uint256 size, uint256 length) external pure returns (address[] memory array) {
        array = new address[](size);
        for (uint256 i; i < size; ++i) array[i] = address(uint160(i + 1));
        MemoryArrays.shorten(array, length);
    }

    /// @notice Calls MemoryArrays.shorten on a page of orders, and shows that memory allocated after it
    /// stays intact.
    function shortenOrders(uint256 size, uint256 length)
        external
        pure
        returns (IEnergyMarket.OrderInfo[] memory array, uint256[] memory after_)
    {
        array = new IEnergyMarket.OrderInfo[](size);
        for (uint256 i; i < size; ++i) array[i].orderId = i + 1;
        MemoryArrays.shorten(array, length);
        after_ = new uint256[](1);
        after_[0] = 7;
    }
}
