// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @dev One vault account in one storage word. The vault keeps an account's two balances, its market
/// approvals and, when the account is a market, the market's registration together. A market's move
/// then reads and writes one slot for the account and one for the market.
///
/// Layout, from the lowest bit:
/// - bits 0..111: the energy balance in Wh;
/// - bits 112..223: the payment balance in the payment token's base units;
/// - bits 224..247: the approvals, one bit per market place. When bit i is set, the market at place i
///   may move this account's balances;
/// - bits 248..255: a market's registration. The low seven bits hold its place + 1, or 0 when the
///   account is not a market, and the top bit is set once the market is closed.
type VaultAccount is uint256;

using VaultAccountLibrary for VaultAccount global;

/// @title VaultAccountLibrary
/// @notice Named reads and writes of the fields of a VaultAccount word.
/// @dev Nothing here checks a bound. The vault keeps every balance within MAX_BALANCE, its reserve
/// bound, which no single balance can pass. It also keeps every place below MAX_PLACES, so no field
/// ever carries into its neighbour. The setters return a new word, which the vault writes back
/// to storage itself. Only creditTokenIn, which credits a batch entry in place, and load and store,
/// which read a batch entry's word and write it back to the slot read, touch the vault's mapping here.
library VaultAccountLibrary {
    /// @dev The largest energy or payment balance a word holds.
    uint256 internal constant MAX_BALANCE = type(uint112).max;
    /// @dev The number of market places that the approval bits have room for.
    uint256 internal constant MAX_PLACES = 24;

    uint256 private constant BALANCE_MASK = type(uint112).max;
    uint256 private constant PAYMENT_SHIFT = 112;
    uint256 private constant APPROVALS_SHIFT = 224;
    uint256 private constant REGISTRATION_SHIFT = 248;
    uint256 private constant CLOSED = 0x80;
    uint256 private constant APPROVALS_MASK = (1 << 24) - 1; // MAX_PLACES bits, in literals so that solc folds it

    // ----------------------------------------------------------------------------- balances
    // The two balances sit side by side in the low 224 bits, so moving both is one addition to the word
    // or one subtraction from it: the payment amount shifted into its place, plus the energy amount.

    /// @dev The energy balance in Wh.
    function energyWh(VaultAccount account) internal pure returns (uint256) {
        return VaultAccount.unwrap(account) & BALANCE_MASK;
    }

    /// @dev The payment balance in the payment token's base units.
    function payment(VaultAccount account) internal pure returns (uint256) {
        return (VaultAccount.unwrap(account) >> PAYMENT_SHIFT) & BALANCE_MASK;
    }

    /// @dev Returns `account` with both balances replaced and its approvals and registration kept. Each
    /// balance must be at most MAX_BALANCE.
    function withBalances(VaultAccount account, uint256 newEnergyWh, uint256 newPayment)
        internal
        pure
        returns (VaultAccount)
    {
        uint256 kept = VaultAccount.unwrap(account) >> APPROVALS_SHIFT << APPROVALS_SHIFT;
        return VaultAccount.wrap(kept | newEnergyWh | (newPayment << PAYMENT_SHIFT));
    }

    /// @dev Returns `account` with `amountWh` added to its energy balance and `amount` added to its
    /// payment balance. Neither sum may pass MAX_BALANCE, which the caller knows from the reserve bound.
    function credit(VaultAccount account, uint256 amountWh, uint256 amount) internal pure returns (VaultAccount) {
        unchecked {
            return VaultAccount.wrap(VaultAccount.unwrap(account) + amountWh + (amount << PAYMENT_SHIFT));
        }
    }

    /// @dev Returns `account` with `amountWh` taken from its energy balance and `amount` taken from its
    /// payment balance. Neither may exceed the balance it is taken from, and the caller has checked both.
    function debit(VaultAccount account, uint256 amountWh, uint256 amount) internal pure returns (VaultAccount) {
        unchecked {
            return VaultAccount.wrap(VaultAccount.unwrap(account) - amountWh - (amount << PAYMENT_SHIFT));
        }
    }

    // ----------------------------------------------------------------------------- approvals
    // A market's approval bit is 1 << its place (see approvalBit). An account approves the market by
    // setting that bit among its own approvals.

    /// @dev Returns whether `account` lets the market whose approval bit is `bit` move its balances. It
    /// returns false for a zero bit.
    function approves(VaultAccount account, uint256 bit) internal pure returns (bool) {
        return (VaultAccount.unwrap(account) >> APPROVALS_SHIFT) & bit != 0;
    }

    /// @dev Returns `account` with the approval of the market whose approval bit is `bit` set or cleared.
    function withApproval(VaultAccount account, uint256 bit, bool approved) internal pure returns (VaultAccount) {
        uint256 word = VaultAccount.unwrap(account);
        return VaultAccount.wrap(approved ? word | (bit << APPROVALS_SHIFT) : word & ~(bit << APPROVALS_SHIFT));
    }

    // ----------------------------------------------------------------------------- market registration
    // Only a market's own word carries a registration. A place is given out once and never again, so an
    // approval bit can never pass to a contract that the account did not approve.

    /// @dev Returns whether the word belongs to a registered market, open or closed.
    function isMarket(VaultAccount account) internal pure returns (bool) {
        return VaultAccount.unwrap(account) >> REGISTRATION_SHIFT != 0;
    }

    /// @dev Returns whether the word belongs to a closed market.
    function isClosed(VaultAccount account) internal pure returns (bool) {
        return (VaultAccount.unwrap(account) >> REGISTRATION_SHIFT) & CLOSED != 0;
    }

    /// @dev Returns the market's place, from 0 to MAX_PLACES-1. Call it only on a registered market's word:
    /// for any other word the result wraps to 2^256 - 1.
    function place(VaultAccount account) internal pure returns (uint256) {
        unchecked {
            return ((VaultAccount.unwrap(account) >> REGISTRATION_SHIFT) & ~CLOSED) - 1;
        }
    }

    /// @dev Returns the market's approval bit, 1 << its place. For a word that is not a market's it
    /// returns 0, because the place wraps to 2^256 - 1 and a shift by that much leaves nothing.
    function approvalBit(VaultAccount account) internal pure returns (uint256) {
        return 1 << place(account);
    }

    /// @dev Returns the approval bit of an open market. For a closed market, or a word that is not a
    /// market's, it returns 0, so that no account approves it.
    function openApprovalBit(VaultAccount account) internal pure returns (uint256) {
        // This avoids a branch. For a word that is not a market's, the shift is by 2^256 - 1, and for a
        // closed market it is by its place plus 128. Either shift puts the bit outside the approval
        // bits, and the mask drops it.
        unchecked {
            return (1 << ((VaultAccount.unwrap(account) >> REGISTRATION_SHIFT) - 1)) & APPROVALS_MASK;
        }
    }

    /// @dev Returns `account` registered as the open market at `marketPlace`, which is below MAX_PLACES.
    /// Call it only on a word that is not a market's yet.
    function withPlace(VaultAccount account, uint256 marketPlace) internal pure returns (VaultAccount) {
        return VaultAccount.wrap(VaultAccount.unwrap(account) | ((marketPlace + 1) << REGISTRATION_SHIFT));
    }

    /// @dev Returns `account` marked closed. Call it only on a registered market's word.
    function withClosed(VaultAccount account) internal pure returns (VaultAccount) {
        return VaultAccount.wrap(VaultAccount.unwrap(account) | (CLOSED << REGISTRATION_SHIFT));
    }

    // ----------------------------------------------------------------------------- storage
    // A deposit, and each entry of creditArrived's batch, credits one balance of one account in place.
    // Written as `accounts[account] = accounts[account].credit(...)`, Solidity would hash the key twice,
    // once for the read and once for the write. creditTokenIn hashes it once and adds without a branch.
    // Each entry of a market's batch (settleBatch) reads a word with load, which returns its slot as
    // well, and writes the word back there with store.

    /// @dev Returns `account`'s word in `accounts` and the storage slot it sits in, so that the caller
    /// writes it back with `store` without hashing the key a second time.
    function load(mapping(address => VaultAccount) storage accounts, address account)
        internal
        view
        returns (VaultAccount word, uint256 slot)
    {
        // slither-disable-next-line assembly: hashes the mapping's slot as Solidity does and reads it
        assembly ("memory-safe") {
            mstore(0x00, and(account, 0xffffffffffffffffffffffffffffffffffffffff))
            mstore(0x20, accounts.slot)
            slot := keccak256(0x00, 0x40)
            word := sload(slot)
        }
    }

    /// @dev Writes `word` to `slot`, a slot that `load` returned.
    function store(uint256 slot, VaultAccount word) internal {
        // slither-disable-next-line assembly: writes back the slot that load hashed
        assembly ("memory-safe") {
            sstore(slot, word)
        }
    }

    /// @dev Adds `amount` to the energy balance of `account`'s word in `accounts` if `isEnergy` is true,
    /// and to its payment balance otherwise. The sum may not pass MAX_BALANCE, which the caller knows
    /// from the reserve bound.
    function creditTokenIn(mapping(address => VaultAccount) storage accounts, address account, bool isEnergy, uint256 amount)
        internal
    {
        // slither-disable-next-line assembly: hashes the mapping's slot as Solidity does, then reads and writes it once
        assembly ("memory-safe") {
            mstore(0x00, and(account, 0xffffffffffffffffffffffffffffffffffffffff))
            mstore(0x20, accounts.slot)
            let slot := keccak256(0x00, 0x40)
            // The payment balance sits PAYMENT_SHIFT bits up, so the amount is shifted there unless it is energy.
            sstore(slot, add(sload(slot), shl(mul(iszero(isEnergy), PAYMENT_SHIFT), amount)))
        }
    }
}
