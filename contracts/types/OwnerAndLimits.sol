// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {StandingLimits, StandingLimitsLibrary} from "./StandingLimits.sol";

/// @notice A meter's owner and its standing limits, packed into the single storage word that every
/// reading of a meter with standing limits reads. From the low bits up: the owner's address (160 bits),
/// sellPricePerKWh (29), buyPricePerKWh (29), sellCapWh (19) and buyCapWh (19). Each limit is a decimal
/// float, mantissa times a power of ten: a price has a 24-bit mantissa and a 5-bit power (seven
/// significant digits, any price below 2^96, and every price up to 16,777,215 exactly), a cap a 15-bit
/// mantissa and a 4-bit power (four significant digits, and every cap up to 32,767 Wh exactly).
/// A word of zero limits holds no owner: the registry then reads the owner through the meter's index.
type OwnerAndLimits is uint256;

using OwnerAndLimitsLibrary for OwnerAndLimits global;

/// @title OwnerAndLimitsLibrary
/// @notice Stores a meter's standing limits beside its owner and gives them back as StandingLimits.
/// @dev A limit with more significant digits than its field holds is stored rounded in the owner's
/// favour: a sell price up (never above the largest price, 2^96 - 1), a buy price and the caps down. The
/// reading market rounds a limit to its grid in the same direction, so a stored limit trades what the
/// given one would, except where a grid's tick lies within the rounding (less than one part in a
/// million of a price, one in three thousand of a cap).
library OwnerAndLimitsLibrary {
    // Literal values: solc computes a constant defined from other constants at each use, with checked
    // arithmetic, and every reading of a meter with limits takes its word apart.
    uint256 private constant SELL_PRICE_SHIFT = 160;
    uint256 private constant BUY_PRICE_SHIFT = 189;
    uint256 private constant SELL_CAP_SHIFT = 218;
    uint256 private constant BUY_CAP_SHIFT = 237;
    uint256 private constant PRICES_MASK = (1 << 58) - 1; // both prices' fields, from SELL_PRICE_SHIFT
    uint256 private constant PRICE_POWER_BITS = 5;
    uint256 private constant PRICE_POWER_MASK = (1 << 5) - 1;
    uint256 private constant PRICE_MANTISSA_LIMIT = 1 << 24;
    uint256 private constant PRICE_MANTISSA_MASK = (1 << 24) - 1;
    uint256 private constant CAP_POWER_BITS = 4;
    uint256 private constant CAP_POWER_MASK = (1 << 4) - 1;
    uint256 private constant CAP_MANTISSA_LIMIT = 1 << 15;
    uint256 private constant CAP_MANTISSA_MASK = (1 << 15) - 1;
    uint256 private constant MAX_PRICE_PER_KWH = type(uint96).max;

    /// @dev The word for `owner` and the given limits, each rounded as the library's notes say. Callers
    /// guarantee that both prices fit 96 bits and both caps 32 bits.
    function store(address owner_, uint256 sellPricePerKWh, uint256 sellCapWh, uint256 buyPricePerKWh, uint256 buyCapWh)
        internal
        pure
        returns (OwnerAndLimits)
    {
        return OwnerAndLimits.wrap(
            uint256(uint160(owner_)) | (_float(sellPricePerKWh, PRICE_MANTISSA_LIMIT, PRICE_POWER_BITS, true) << SELL_PRICE_SHIFT)
                | (_float(buyPricePerKWh, PRICE_MANTISSA_LIMIT, PRICE_POWER_BITS, false) << BUY_PRICE_SHIFT)
                | (_float(sellCapWh, CAP_MANTISSA_LIMIT, CAP_POWER_BITS, false) << SELL_CAP_SHIFT)
                | (_float(buyCapWh, CAP_MANTISSA_LIMIT, CAP_POWER_BITS, false) << BUY_CAP_SHIFT)
        );
    }

    function owner(OwnerAndLimits word) internal pure returns (address) {
        return address(uint160(OwnerAndLimits.unwrap(word)));
    }

    /// @dev Returns whether either side trades: a price of zero turns its side off.
    function trades(OwnerAndLimits word) internal pure returns (bool) {
        return (OwnerAndLimits.unwrap(word) >> SELL_PRICE_SHIFT) & PRICES_MASK != 0;
    }

    /// @dev The stored limits in the layout the reading market takes (StandingLimits).
    function limits(OwnerAndLimits word) internal pure returns (StandingLimits) {
        uint256 w = OwnerAndLimits.unwrap(word);
        uint256 sellPricePerKWh = _value(w >> SELL_PRICE_SHIFT, PRICE_POWER_BITS, PRICE_POWER_MASK, PRICE_MANTISSA_MASK);
        if (sellPricePerKWh > MAX_PRICE_PER_KWH) sellPricePerKWh = MAX_PRICE_PER_KWH;
        return StandingLimitsLibrary.pack(
            sellPricePerKWh,
            _value(w >> SELL_CAP_SHIFT, CAP_POWER_BITS, CAP_POWER_MASK, CAP_MANTISSA_MASK),
            _value(w >> BUY_PRICE_SHIFT, PRICE_POWER_BITS, PRICE_POWER_MASK, PRICE_MANTISSA_MASK),
            _value(w >> BUY_CAP_SHIFT, CAP_POWER_BITS, CAP_POWER_MASK, CAP_MANTISSA_MASK)
        );
    }

    /// @dev `value` as a float field: the mantissa above the power's bits. Digits that do not fit are cut,
    /// and with `roundUp` a value that lost any is raised to the next float. The loop ends: a value below
    /// 2^96 has at most 29 digits.
    function _float(uint256 value, uint256 mantissaLimit, uint256 powerBits, bool roundUp)
        private
        pure
        returns (uint256)
    {
        uint256 mantissa = value;
        uint256 power = 0;
        bool cut = false;
        while (mantissa >= mantissaLimit) {
            if (mantissa % 10 != 0) cut = true;
            mantissa /= 10;
            ++power;
        }
        if (roundUp && cut && ++mantissa == mantissaLimit) {
            // The next float has one digit more than the field holds: the same value a power higher.
            mantissa = (mantissaLimit + 9) / 10;
            ++power;
        }
        return (mantissa << powerBits) | power;
    }

    /// @dev The value of the float field at the low end of `field`: its mantissa above the power's
    /// `powerBits`. Every reading of a meter with limits takes its four fields apart, so the power is
    /// raised by one EXP: a mantissa below 2^24 times at most 10^31 stays below 2^128.
    function _value(uint256 field, uint256 powerBits, uint256 powerMask, uint256 mantissaMask)
        private
        pure
        returns (uint256)
    {
        unchecked {
            return ((field >> powerBits) & mantissaMask) * 10 ** (field & powerMask);
        }
    }
}
