// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title Energy credit: 1 token unit = 1 Wh of verified exported energy (3 decimals: 1.000 = 1 kWh).
interface IEnergyToken is IERC20 {
    /// @notice mintBatch got `recipients` receivers but `amounts` amounts.
    /// @param recipients Entries in the receiver list.
    /// @param amounts Entries in the amount list.
    error MintBatchLengthMismatch(uint256 recipients, uint256 amounts);

    /// @notice Mints `amountWh` to `to` for energy a meter verifiably exported. METER_ROLE only.
    /// @param to The producing meter's owner.
    /// @param amountWh Exported energy in Wh.
    function mint(address to, uint256 amountWh) external;

    /// @notice Mints `amountsWh[i]` to `to[i]` for each i: one call for a gateway's batch of readings. METER_ROLE only.
    /// @dev SmartMeter bounds the lists (its MAX_BATCH_SIZE).
    /// @param to The producing meters' owners.
    /// @param amountsWh Exported energy in Wh, one per owner.
    function mintBatch(address[] calldata to, uint256[] calldata amountsWh) external;

    /// @notice Burns `amountWh` of `from`'s tokens for energy delivered to and consumed by them. METER_ROLE only.
    /// @dev The meter contract checks `from` is the consuming meter's owner and the amount is metered.
    /// @param from The consuming meter's owner.
    /// @param amountWh Consumed energy in Wh.
    function retire(address from, uint256 amountWh) external;
}
