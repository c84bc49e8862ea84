// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {ZeroAddress, ZeroAmount} from "../utils/GridErrors.sol";

/// @title GovernanceToken
/// @notice The grid's voting token (GRID): one token, one vote, counted once delegated (to oneself
/// or to a representative). EnergyGovernor reads past voting power from it.
/// Delegating is OpenZeppelin's Votes.delegate (and delegateBySig), inherited through ERC20Votes.
/// @dev The whole supply is minted once, at deploy: the token has no minter and no admin. A role
/// that could mint would be the first thing a captured governance would use to entrench itself, and
/// the timelock it would belong to is exactly what that governance controls. Should the grid ever
/// need more voting tokens, a new token and governor take over the timelock by a proposal.
/// The clock is the block timestamp (EIP-6372 `mode=timestamp`): voting delay and period are
/// seconds, like every other time in the project, and mean the same on every chain.
contract GovernanceToken is ERC20, ERC20Permit, ERC20Votes {
    /// @param recipient Receives the whole supply, to distribute (it votes only once delegated).
    /// @param initialSupply The whole supply, in base units (18 decimals).
    constructor(address recipient, uint256 initialSupply)
        ERC20("Grid Governance", "GRID")
        ERC20Permit("Grid Governance")
    {
        if (recipient == address(0)) revert ZeroAddress();
        if (initialSupply == 0) revert ZeroAmount();
        _mint(recipient, initialSupply);
    }

    /// @notice The block timestamp: snapshots and voting windows are in unix seconds.
    function clock() public view override returns (uint48) {
        return uint48(block.timestamp);
    }

    /// @notice EIP-6372: this token's clock counts seconds.
    // slither-disable-next-line naming-convention: EIP-6372 names this function CLOCK_MODE
    function CLOCK_MODE() public pure override returns (string memory) {
        return "mode=timestamp";
    }

    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Votes) {
        super._update(from, to, value);
    }

    function nonces(address owner) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }
}
