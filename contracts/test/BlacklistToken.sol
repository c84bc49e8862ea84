// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title BlacklistToken
/// @notice A USDC-style stablecoin for tests. Its owner, the deployer, freezes and unfreezes accounts,
/// and every transfer from or to a frozen account reverts, as USDC's blacklist does. Anyone may mint,
/// so balances can reach any size.
contract BlacklistToken is ERC20, Ownable {
    mapping(address account => bool) private _frozen;

    /// @notice The owner froze `account`.
    /// @param account The frozen account.
    event AccountFrozen(address indexed account);
    /// @notice The owner unfroze `account`.
    /// @param account The account that can move tokens again.
    event AccountUnfrozen(address indexed account);

    /// @notice A transfer was attempted from or to a frozen account.
    /// @param account The frozen account.
    error FrozenAccount(address account);

    constructor() ERC20("Blacklist USD", "bUSD") Ownable(msg.sender) {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Anyone may mint, since the token is only for tests.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Blocks every transfer from or to `account`. Only the owner may call it.
    function freeze(address account) external onlyOwner {
        _frozen[account] = true;
        emit AccountFrozen(account);
    }

    /// @notice Lets `account` move tokens again. Only the owner may call it.
    function unfreeze(address account) external onlyOwner {
        _frozen[account] = false;
        emit AccountUnfrozen(account);
    }

    /// @notice Returns whether transfers from or to `account` revert.
    function isFrozen(address account) external view returns (bool) {
        return _frozen[account];
    }

    function _update(address from, address to, uint256 value) internal override {
        if (_frozen[from]) revert FrozenAccount(from);
        if (_frozen[to]) revert FrozenAccount(to);
        super._update(from, to, value);
    }
}
