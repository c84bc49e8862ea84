// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @dev One vault account in one storage word. The vault keeps an account's two balances, its market
/// approvals and, for a market, the market's registration together, so that a market's move reads and
/// writes one slot of the account and one of the market.
///
/// Layout, from the lowest bit:
/// - bits 0..111: the energy balance in Wh;
/// - bits 112..223: the payment balance in the payment token's base units;
/// - bits 224..247: the approvals, one bit per market place (bit i: the market at place i may move
///   this balance);
/// - bits 248..255: a market's registration: its place + 1 in the low seven bits (0: not a market),
///   and the top bit set once the market is closed.
type VaultAccount is uint256;

using VaultAccountLibrary for VaultAccount global;

/// @title VaultAccountLibrary
/// @notice Named reads and writes of the fields of a VaultAccount word.
/// @dev Nothing here checks a bound: the vault keeps every balance within MAX_BALANCE (its reserve bound,
/// which no single balance can pass) and every place below MAX_PLACES, so no field ever carries into
/// its neighbour. The setters return a new word, which the vault writes back to storage itself; only
/// creditTokenIn, the credit in place of a batch, reads and writes the vault's mapping here.
library VaultAccountLibrary {
    /// @dev The largest energy or payment balance a word holds.
    uint256 internal constant MAX_BALANCE = type(uint112).max;
    /// @dev How many market places the approval bits have room for.
    uint256 internal constant MAX_PLACES = 24;

    uint256 private constant BALANCE_MASK = type(uint112).max;
    uint256 private constant PAYMENT_SHIFT = 112;
    uint256 private constant APPROVALS_SHIFT = 224;
    uint256 private constant REGISTRATION_SHIFT = 248;
    uint256 private constant CLOSED = 0x80;
    uint256 private constant APPROVALS_MASK = (1 << MAX_PLACES) - 1;

    // ----------------------------------------------------------------------------- balances
    // The two balances sit side by side in the low 224 bits, so a move of both is one addition or one
    // subtraction of the word: the payment amount shifted into its place, plus the energy amount.

    /// @dev The energy balance in Wh.
    function energyWh(VaultAccount account) internal pure returns (uint256) {
        return VaultAccount.unwrap(account) & BALANCE_MASK;
    }

    /// @dev The payment balance in the payment token's base units.
    function payment(VaultAccount account) internal pure returns (uint256) {
        return (VaultAccount.unwrap(account) >> PAYMENT_SHIFT) & BALANCE_MASK;
    }

    /// @dev `account` with both balances replaced, its approvals and registration kept. Each balance must
    /// be at most MAX_BALANCE.
    function withBalances(VaultAccount account, uint256 newEnergyWh, uint256 newPayment)
        internal
        pure
        returns (VaultAccount)
    {
        uint256 kept = VaultAccount.unwrap(account) >> APPROVALS_SHIFT << APPROVALS_SHIFT;
        return VaultAccount.wrap(kept | newEnergyWh | (newPayment << PAYMENT_SHIFT));
    }

    /// @dev `account` with `amountWh` added to its energy balance and `amount` to its payment balance.
    /// Neither sum may pass MAX_BALANCE: the caller knows it from the reserve bound.
    function credit(VaultAccount account, uint256 amountWh, uint256 amount) internal pure returns (VaultAccount) {
        unchecked {
            return VaultAccount.wrap(VaultAccount.unwrap(account) + amountWh + (amount << PAYMENT_SHIFT));
        }
    }

    /// @dev `account` with `amountWh` taken from its energy balance and `amount` from its payment balance.
    /// Neither may exceed the balance it is taken from: the caller has checked both.
    function debit(VaultAccount account, uint256 amountWh, uint256 amount) internal pure returns (VaultAccount) {
        unchecked {
            return VaultAccount.wrap(VaultAccount.unwrap(account) - amountWh - (amount << PAYMENT_SHIFT));
        }
    }

    // ----------------------------------------------------------------------------- approvals
    // A market's approval bit is 1 << its place (see approvalBit); an account approves the market by
    // setting that bit among its own approvals.

    /// @dev Whether `account` lets the market whose approval bit is `bit` move its balances (false for a
    /// zero bit).
    function approves(VaultAccount account, uint256 bit) internal pure returns (bool) {
        return (VaultAccount.unwrap(account) >> APPROVALS_SHIFT) & bit != 0;
    }

    /// @dev `account` with the approval of the market whose approval bit is `bit` set or cleared.
    function withApproval(VaultAccount account, uint256 bit, bool approved) internal pure returns (VaultAccount) {
        uint256 word = VaultAccount.unwrap(account);
        return VaultAccount.wrap(approved ? word | (bit << APPROVALS_SHIFT) : word & ~(bit << APPROVALS_SHIFT));
    }

    // ----------------------------------------------------------------------------- market registration
    // Only a market's own word carries a registration. A place is given once and never again, so an
    // approval bit can never pass to a contract the account did not approve.

    /// @dev Whether the word is a registered market's (open or closed).
    function isMarket(VaultAccount account) internal pure returns (bool) {
        return VaultAccount.unwrap(account) >> REGISTRATION_SHIFT != 0;
    }

    /// @dev Whether the word is a closed market's.
    function isClosed(VaultAccount account) internal pure returns (bool) {
        return (VaultAccount.unwrap(account) >> REGISTRATION_SHIFT) & CLOSED != 0;
    }

    /// @dev The market's place, 0..MAX_PLACES-1. Only for a registered market's word: for any other it wraps
    /// to 2^256 - 1.
    function place(VaultAccount account) internal pure returns (uint256) {
        unchecked {
            return ((VaultAccount.unwrap(account) >> REGISTRATION_SHIFT) & ~CLOSED) - 1;
        }
    }

    /// @dev The market's approval bit, 1 << its place; 0 for a word that is no market's (its place wraps to
    /// 2^256 - 1, and a shift by that much leaves nothing).
    function approvalBit(VaultAccount account) internal pure returns (uint256) {
        return 1 << place(account);
    }

    /// @dev The approval bit of an open market; 0 for a closed market or a word that is no market's, so
    /// that no account approves it.
    function openApprovalBit(VaultAccount account) internal pure returns (uint256) {
        // Without a branch: for no market the shift is by 2^256 - 1, and for a closed market by its place
        // plus 128; either puts the bit outside the approval bits, and the mask drops it.
        unchecked {
            return (1 << ((VaultAccount.unwrap(account) >> REGISTRATION_SHIFT) - 1)) & APPROVALS_MASK;
        }
    }

    /// @dev `account` registered as the open market at `marketPlace` (below MAX_PLACES). Only for a word
    /// that is no market's yet.
    function withPlace(VaultAccount account, uint256 marketPlace) internal pure returns (VaultAccount) {
        return VaultAccount.wrap(VaultAccount.unwrap(account) | ((marketPlace + 1) << REGISTRATION_SHIFT));
    }

    /// @dev `account` marked closed. Only for a registered market's word.
    function withClosed(VaultAccount account) internal pure returns (VaultAccount) {
        return VaultAccount.wrap(VaultAccount.unwrap(account) | (CLOSED << REGISTRATION_SHIFT));
    }

    // ----------------------------------------------------------------------------- storage
    // A deposit, and each entry of creditArrived's batch, credits one balance of one account in place.
    // Written as `accounts[account] = accounts[account].credit(...)`, Solidity hashes the key twice,
    // once for the read and once for the write; creditTokenIn hashes it once and adds without a branch.

    /// @dev Adds `amount` to the energy balance of `account`'s word in `accounts` if `isEnergy`, else to its
    /// payment balance. The sum may not pass MAX_BALANCE: the caller knows it from the reserve bound.
    function creditTokenIn(mapping(address => VaultAccount) storage accounts, address account, bool isEnergy, uint256 amount)
        internal
    {
        // slither-disable-next-line assembly: the mapping's slot hashed as Solidity does, then one read and one write of it
        assembly ("memory-safe") {
            mstore(0x00, and(account, 0xffffffffffffffffffffffffffffffffffffffff))
            mstore(0x20, accounts.slot)
            let slot := keccak256(0x00, 0x40)
            // The payment balance sits PAYMENT_SHIFT bits up: shift the amount there unless it is energy.
            sstore(slot, add(sload(slot), shl(mul(iszero(isEnergy), PAYMENT_SHIFT), amount)))
        }
    }
}
