// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {OrderMath} from "../utils/OrderMath.sol";

/// @title OrderMathHarness
/// @notice Exposes the OrderMath library to tests: the rounding of escrow, fill payments, refunds and fees.
contract OrderMathHarness {
    /// @notice Calls OrderMath.ceilMilli.
    function ceilMilli(uint256 milli) external pure returns (uint256) {
        return OrderMath.ceilMilli(milli);
    }

    /// @notice Calls OrderMath.costCeil.
    function costCeil(uint256 amountWh, uint256 pricePerKWh) external pure returns (uint256) {
        return OrderMath.costCeil(amountWh, pricePerKWh);
    }

    /// @notice Calls OrderMath.fillPayment.
    function fillPayment(uint256 carry, uint256 amountWh, uint256 pricePerKWh) external pure returns (uint256) {
        return OrderMath.fillPayment(carry, amountWh, pricePerKWh);
    }

    /// @notice Calls OrderMath.nextCarry.
    function nextCarry(uint256 carry, uint256 amountWh, uint256 pricePerKWh) external pure returns (uint256) {
        return OrderMath.nextCarry(carry, amountWh, pricePerKWh);
    }

    /// @notice Calls OrderMath.fillRefund.
    function fillRefund(uint256 refundCarryBefore, uint256 amountWh, uint256 improvementPerKWh)
        external
        pure
        returns (uint256)
    {
        return OrderMath.fillRefund(refundCarryBefore, amountWh, improvementPerKWh);
    }

    /// @notice Calls OrderMath.refundCarry.
    function refundCarry(uint256 filledWh, uint256 pricePerKWh, uint256 carry) external pure returns (uint256) {
        return OrderMath.refundCarry(filledWh, pricePerKWh, carry);
    }

    /// @notice Calls OrderMath.committed.
    function committed(uint256 filledWh, uint256 pricePerKWh, uint256 carry) external pure returns (uint256) {
        return OrderMath.committed(filledWh, pricePerKWh, carry);
    }

    /// @notice Calls OrderMath.buyEscrowLeft.
    function buyEscrowLeft(uint256 amountWh, uint256 filledWh, uint256 pricePerKWh, uint256 carry)
        external
        pure
        returns (uint256)
    {
        return OrderMath.buyEscrowLeft(amountWh, filledWh, pricePerKWh, carry);
    }

    /// @notice Calls OrderMath.fee.
    function fee(uint256 payment, uint256 feeBps) external pure returns (uint256) {
        return OrderMath.fee(payment, feeBps);
    }
}
