// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {BitMath} from "../utils/BitMath.sol";

/// @title PriceLevels
/// @notice This library keeps the occupied price levels of one side of an order book as a
/// hierarchical bitmap over 72-bit prices. It stacks the idea of Uniswap v3's tick bitmap: at height 0
/// a 256-bit word holds one bit per price, and a bit at height h + 1 is set exactly when the word it
/// stands for at height h is not zero. Nine heights of 8 bits cover every price below 2^72, and the
/// top height is a single word. Finding the next occupied price above or below any price therefore
/// reads at most 2 × 9 words, however many levels or orders the book holds.
/// @dev The words live in one mapping per book, keyed by (side, height, word index), so that both sides
/// of a market share it. Price 0 is never a level, because orders have a non-zero price, so a result
/// of 0 means "none".
library PriceLevels {
    /// @notice The number of bits in a price. Levels exist for the prices 1 .. 2^72 - 1.
    uint256 internal constant PRICE_BITS = 72;
    /// @notice The number of heights in the bitmap, which is PRICE_BITS / 8.
    uint256 internal constant HEIGHT = 9;

    /// @notice Marks `price` occupied on `side`.
    function insert(mapping(uint256 => uint256) storage words, uint256 side, uint256 price) internal {
        unchecked {
            for (uint256 h; h < HEIGHT; ++h) {
                uint256 key = _key(side, h, price >> (8 * h + 8));
                uint256 word = words[key];
                words[key] = word | (1 << ((price >> (8 * h)) & 0xff));
                // A word that already had a bit set is already marked at the heights above, so the loop can stop.
                if (word != 0) return;
            }
        }
    }

    /// @notice Marks `price` free on `side`.
    function remove(mapping(uint256 => uint256) storage words, uint256 side, uint256 price) internal {
        unchecked {
            for (uint256 h; h < HEIGHT; ++h) {
                uint256 key = _key(side, h, price >> (8 * h + 8));
                uint256 word = words[key] & ~(1 << ((price >> (8 * h)) & 0xff));
                words[key] = word;
                // The word still stands for other levels, so the bits at the heights above must stay set.
                if (word != 0) return;
            }
        }
    }

    /// @notice Returns the next occupied price on `side`, in priority order, starting from `price`. For
    /// side 1 (asks) this is the lowest price at or above `price`, and for side 0 (bids) it is the
    /// highest price at or below it. It returns 0 when there is none.
    function next(mapping(uint256 => uint256) storage words, uint256 side, uint256 price)
        internal
        view
        returns (uint256)
    {
        bool up = side != 0;
        if (price >> PRICE_BITS != 0) {
            if (up) return 0;
            price = (1 << PRICE_BITS) - 1;
        }
        unchecked {
            // `pos` is the position searched at height h, which is a price shifted right by 8h bits.
            uint256 pos = price;
            uint256 h;
            while (true) {
                uint256 bit = pos & 0xff;
                uint256 word = words[_key(side, h, pos >> 8)]
                    & (up ? type(uint256).max << bit : type(uint256).max >> (255 - bit));
                if (word != 0) {
                    pos = (pos & ~uint256(0xff)) | _first(word, up);
                    break;
                }
                if (++h == HEIGHT) return 0;
                // Continue one height up, strictly beyond the word that was just searched.
                if (up) {
                    pos = (pos >> 8) + 1;
                } else {
                    if (pos >> 8 == 0) return 0;
                    pos = (pos >> 8) - 1;
                }
            }
            while (h != 0) {
                --h;
                pos = (pos << 8) | _first(words[_key(side, h, pos)], up);
            }
            return pos;
        }
    }

    /// @dev Returns the lowest set bit of a non-zero word when searching up, and the highest otherwise.
    function _first(uint256 word, bool up) private pure returns (uint256) {
        return up ? BitMath.lowestBit(word) : BitMath.highestBit(word);
    }

    function _key(uint256 side, uint256 height, uint256 index) private pure returns (uint256) {
        unchecked {
            return (side << 160) | (height << 128) | index;
        }
    }
}
