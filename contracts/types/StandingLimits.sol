// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice A meter's standing limits in the reading market, packed into a single storage word. From the
/// low bits up, the fields and their widths in bits are: sellPricePerKWh (96), buyPricePerKWh (96),
/// sellCapWh (32) and buyCapWh (32). A price of zero turns its side off, and a cap of zero means no cap.
/// @dev This is the layout of the limits word that IMeteredMarket.recordMetered documents, so the
/// meter registry hands the stored word to the reading market as it is, without re-encoding it.
type StandingLimits is uint256;

using StandingLimitsLibrary for StandingLimits global;

/// @title StandingLimitsLibrary
/// @notice Packs and reads StandingLimits. Every vault-delivered reading reads the word once and passes
/// it on whole; only the owner's settings and the views take it apart.
library StandingLimitsLibrary {
    uint256 private constant MASK_96 = type(uint96).max;
    uint256 private constant MASK_32 = type(uint32).max;
    uint256 private constant BUY_PRICE_SHIFT = 96;
    uint256 private constant SELL_CAP_SHIFT = 192;
    uint256 private constant BUY_CAP_SHIFT = 224;

    /// @dev Callers guarantee that both prices fit 96 bits and both caps 32 bits.
    function pack(uint256 sellPricePerKWh_, uint256 sellCapWh_, uint256 buyPricePerKWh_, uint256 buyCapWh_)
        internal
        pure
        returns (StandingLimits)
    {
        return StandingLimits.wrap(
            sellPricePerKWh_ | (buyPricePerKWh_ << BUY_PRICE_SHIFT) | (sellCapWh_ << SELL_CAP_SHIFT)
                | (buyCapWh_ << BUY_CAP_SHIFT)
        );
    }

    /// @dev Returns whether either side trades. When both prices, the low 192 bits, are zero, the meter
    /// neither sells nor buys, whatever the caps say.
    function trades(StandingLimits limits) internal pure returns (bool) {
        return uint192(StandingLimits.unwrap(limits)) != 0;
    }

    /// @dev Returns the four fields at once: both prices, then both caps. The reading market takes every
    /// reading's limits apart with this, so it is written without a call for each field.
    function unpack(StandingLimits limits)
        internal
        pure
        returns (uint256 sellPricePerKWh_, uint256 buyPricePerKWh_, uint256 sellCapWh_, uint256 buyCapWh_)
    {
        uint256 word = StandingLimits.unwrap(limits);
        return (word & MASK_96, (word >> BUY_PRICE_SHIFT) & MASK_96, (word >> SELL_CAP_SHIFT) & MASK_32, word >> BUY_CAP_SHIFT);
    }

    function sellPricePerKWh(StandingLimits limits) internal pure returns (uint256) {
        return StandingLimits.unwrap(limits) & MASK_96;
    }

    function buyPricePerKWh(StandingLimits limits) internal pure returns (uint256) {
        return (StandingLimits.unwrap(limits) >> BUY_PRICE_SHIFT) & MASK_96;
    }

    function sellCapWh(StandingLimits limits) internal pure returns (uint256) {
        return (StandingLimits.unwrap(limits) >> SELL_CAP_SHIFT) & MASK_32;
    }

    function buyCapWh(StandingLimits limits) internal pure returns (uint256) {
        return StandingLimits.unwrap(limits) >> BUY_CAP_SHIFT;
    }
}
