// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {VaultAccount, VaultAccountLibrary} from "../types/VaultAccount.sol";

/// @title VaultAccountHarness
/// @notice Exposes the VaultAccountLibrary to tests. Each function takes and returns the raw word.
contract VaultAccountHarness {
    using VaultAccountLibrary for mapping(address => VaultAccount);

    mapping(address account => VaultAccount) private _accounts;

    /// @notice Returns VaultAccountLibrary.MAX_BALANCE.
    function maxBalance() external pure returns (uint256) {
        return VaultAccountLibrary.MAX_BALANCE;
    }

    /// @notice Returns VaultAccountLibrary.MAX_PLACES.
    function maxPlaces() external pure returns (uint256) {
        return VaultAccountLibrary.MAX_PLACES;
    }

    /// @notice Returns every field the library reads from `word`. The place is read only for a market's
    /// word.
    function fields(uint256 word)
        external
        pure
        returns (
            uint256 energyWh,
            uint256 payment,
            bool isMarket,
            bool isClosed,
            uint256 place,
            uint256 approvalBit,
            uint256 openApprovalBit
        )
    {
        VaultAccount account = VaultAccount.wrap(word);
        energyWh = account.energyWh();
        payment = account.payment();
        isMarket = account.isMarket();
        isClosed = account.isClosed();
        if (isMarket) place = account.place();
        approvalBit = account.approvalBit();
        openApprovalBit = account.openApprovalBit();
    }

    /// @notice Calls VaultAccountLibrary.approves.
    function approves(uint256 word, uint256 bit) external pure returns (bool) {
        return VaultAccount.wrap(word).approves(bit);
    }

    /// @notice Calls VaultAccountLibrary.withBalances.
    function withBalances(uint256 word, uint256 energyWh, uint256 payment) external pure returns (uint256) {
        return VaultAccount.unwrap(VaultAccount.wrap(word).withBalances(energyWh, payment));
    }

    /// @notice Calls VaultAccountLibrary.credit.
    function credit(uint256 word, uint256 amountWh, uint256 amount) external pure returns (uint256) {
        return VaultAccount.unwrap(VaultAccount.wrap(word).credit(amountWh, amount));
    }

    /// @notice Calls VaultAccountLibrary.debit.
    function debit(uint256 word, uint256 amountWh, uint256 amount) external pure returns (uint256) {
        return VaultAccount.unwrap(VaultAccount.wrap(word).debit(amountWh, amount));
    }

    /// @notice Calls VaultAccountLibrary.withApproval.
    function withApproval(uint256 word, uint256 bit, bool approved) external pure returns (uint256) {
        return VaultAccount.unwrap(VaultAccount.wrap(word).withApproval(bit, approved));
    }

    /// @notice Calls VaultAccountLibrary.withPlace.
    function withPlace(uint256 word, uint256 place) external pure returns (uint256) {
        return VaultAccount.unwrap(VaultAccount.wrap(word).withPlace(place));
    }

    /// @notice Calls VaultAccountLibrary.withClosed.
    function withClosed(uint256 word) external pure returns (uint256) {
        return VaultAccount.unwrap(VaultAccount.wrap(word).withClosed());
    }

    /// @notice Stores `word` as `account`'s word, the way the vault's mapping holds it.
    function store(address account, uint256 word) external {
        _accounts[account] = VaultAccount.wrap(word);
    }

    /// @notice Returns `account`'s word, read through Solidity's own mapping access.
    function wordOf(address account) external view returns (uint256) {
        return VaultAccount.unwrap(_accounts[account]);
    }

    /// @notice Calls VaultAccountLibrary.load on the harness's mapping: `account`'s word and its slot.
    function load(address account) external view returns (uint256 word, uint256 slot) {
        VaultAccount read;
        (read, slot) = _accounts.load(account);
        word = VaultAccount.unwrap(read);
    }

    /// @notice Reads `account`'s word with VaultAccountLibrary.load and writes `word` back to the slot it
    /// returned with VaultAccountLibrary.store, as the vault's batch does.
    function loadAndStore(address account, uint256 word) external {
        (, uint256 slot) = _accounts.load(account);
        VaultAccountLibrary.store(slot, VaultAccount.wrap(word));
    }

    /// @notice Calls VaultAccountLibrary.creditTokenIn on the harness's mapping.
    function creditTokenIn(address account, bool isEnergy, uint256 amount) external {
        _accounts.creditTokenIn(account, isEnergy, amount);
    }
}
