// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {IEnergyToken} from "./IEnergyToken.sol";
import {ZeroAddress} from "../utils/GridErrors.sol";

/// @title EnergyToken
/// @notice ERC-20 energy credit backed by metered exports: supply only grows when SmartMeter
/// accepts a reading whose export register increased, so nobody can sell energy they did not produce.
contract EnergyToken is ERC20, ERC20Burnable, ERC20Permit, AccessControl, IEnergyToken {
    /// @notice Held by the SmartMeter contract: mints exported Wh, retires consumed Wh.
    bytes32 public constant METER_ROLE = keccak256("METER_ROLE");

    constructor(address admin) ERC20("Grid Energy", "kWh") ERC20Permit("Grid Energy") {
        // Without an admin nobody could ever grant METER_ROLE: a token that can never be minted.
        if (admin == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @notice 3 decimals so that 1 unit is 1 Wh and a wallet shows whole kWh.
    function decimals() public pure override returns (uint8) {
        return 3;
    }

    /// @inheritdoc IEnergyToken
    function mint(address to, uint256 amountWh) external onlyRole(METER_ROLE) {
        _mint(to, amountWh);
    }

    /// @inheritdoc IEnergyToken
    function mintBatch(address[] calldata to, uint256[] calldata amountsWh) external onlyRole(METER_ROLE) {
        if (to.length != amountsWh.length) revert MintBatchLengthMismatch(to.length, amountsWh.length);
        for (uint256 i; i < to.length; ++i) {
            _mint(to[i], amountsWh[i]);
        }
    }

    /// @inheritdoc IEnergyToken
    function retire(address from, uint256 amountWh) external onlyRole(METER_ROLE) {
        _burn(from, amountWh);
    }
}
