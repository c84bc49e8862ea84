// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title OrderMath
/// @notice Computes the value of energy at a price per kWh, rounded so that a BUY order's fills never pay
/// out more than the order escrowed, however the order is split.
/// @dev For a BUY order of A Wh at limit price P with fills i of w_i Wh at trade price p_i <= P:
///   C = sum w_i * p_i (what the energy costs, in milli-units of the PaymentToken),
///   D = sum w_i * (P - p_i) (the buyer's price improvement, milli-units).
///   Payment of fill i = ceil(C_i / 1000) - ceil(C_{i-1} / 1000); refund of fill i = floor(D_i / 1000) - floor(D_{i-1} / 1000).
///   Both telescope, so after fills totalling F Wh the order has paid out
///   T = ceil(C / 1000) + floor(D / 1000) <= ceil((C + D) / 1000) = ceil(F * P / 1000) <= ceil(A * P / 1000),
///   which is its escrow. The order stores only the payment carry r = C mod 1000; then
///   D mod 1000 = (F * P - r) mod 1000 and T = floor(F * P / 1000) + (0 < r <= (F * P) mod 1000 ? 1 : 0).
///   When the order is filled, escrow - T is 0 or 1 unit ("dust"): it goes back to the buyer with the last fill.
///   Arithmetic is unchecked: callers pass amounts below 2^48 Wh, prices below 2^96 and carries below 1000
///   (their storage types), so no product or sum reaches 2^146. The one subtraction that relies on the
///   proof above, in buyEscrowLeft, stays checked.
library OrderMath {
    // ---- Units ----
    // The markets' units are defined here and nowhere else. The order book, its settlement and the
    // auction all price energy per kWh, count it in Wh and take fees in basis points.

    /// @notice The number of Wh in a kWh. A price per kWh times an amount in Wh is therefore in
    /// thousandths of a payment unit.
    uint256 internal constant WH_PER_KWH = 1000;
    /// @notice The number of basis points in a whole, the unit that fee rates are given in.
    uint256 internal constant BPS = 10_000;

    /// @notice Converts `milli` thousandths of a unit to whole units, rounding up. Callers pass Wh times
    /// a price, which is below 2^146 and so far from where adding 999 could overflow.
    function ceilMilli(uint256 milli) internal pure returns (uint256) {
        unchecked {
            return (milli + WH_PER_KWH - 1) / WH_PER_KWH;
        }
    }

    /// @notice Returns what `amountWh` costs at `pricePerKWh`, rounded up. This is a BUY order's escrow,
    /// or a taker's payment.
    function costCeil(uint256 amountWh, uint256 pricePerKWh) internal pure returns (uint256) {
        unchecked {
            return ceilMilli(amountWh * pricePerKWh);
        }
    }

    /// @notice Returns the payment for a fill of `amountWh` at `pricePerKWh`, given the carry C mod 1000
    /// that the earlier fills left.
    function fillPayment(uint256 carry, uint256 amountWh, uint256 pricePerKWh) internal pure returns (uint256) {
        unchecked {
            return ceilMilli(carry + amountWh * pricePerKWh) - (carry == 0 ? 0 : 1);
        }
    }

    /// @notice Returns the carry C mod 1000 after a fill of `amountWh` at `pricePerKWh`.
    function nextCarry(uint256 carry, uint256 amountWh, uint256 pricePerKWh) internal pure returns (uint256) {
        unchecked {
            return (carry + amountWh * pricePerKWh) % WH_PER_KWH;
        }
    }

    /// @notice Returns the buyer's refund for a fill of `amountWh` whose price improved by
    /// `improvementPerKWh`, given the refund carry D mod 1000 that the earlier fills left.
    function fillRefund(uint256 refundCarry_, uint256 amountWh, uint256 improvementPerKWh)
        internal
        pure
        returns (uint256)
    {
        unchecked {
            return (refundCarry_ + amountWh * improvementPerKWh) / WH_PER_KWH;
        }
    }

    /// @notice Returns the refund carry D mod 1000 of a BUY order with limit price `pricePerKWh`,
    /// `filledWh` filled and payment carry `carry`.
    function refundCarry(uint256 filledWh, uint256 pricePerKWh, uint256 carry) internal pure returns (uint256) {
        unchecked {
            return ((filledWh * pricePerKWh) % WH_PER_KWH + WH_PER_KWH - carry) % WH_PER_KWH;
        }
    }

    /// @notice Returns T, what a BUY order's fills have taken out of its escrow as payments plus refunds.
    function committed(uint256 filledWh, uint256 pricePerKWh, uint256 carry) internal pure returns (uint256) {
        unchecked {
            uint256 milli = filledWh * pricePerKWh;
            return milli / WH_PER_KWH + (carry != 0 && carry <= milli % WH_PER_KWH ? 1 : 0);
        }
    }

    /// @notice Returns the part of a BUY order's escrow that its fills have not taken.
    function buyEscrowLeft(uint256 amountWh, uint256 filledWh, uint256 pricePerKWh, uint256 carry)
        internal
        pure
        returns (uint256)
    {
        return costCeil(amountWh, pricePerKWh) - committed(filledWh, pricePerKWh, carry);
    }

    /// @notice Returns the grid fee on `payment`, rounded down so that it is never above the stated rate.
    function fee(uint256 payment, uint256 feeBps) internal pure returns (uint256) {
        unchecked {
            return payment * feeBps / BPS;
        }
    }
}
