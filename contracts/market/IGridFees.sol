// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {FeeTooHigh, InvalidFeeRecipient, NoFeesAccrued, NotFeeRecipient} from "../utils/GridErrors.sol";

/// @title IGridFees
/// @notice The grid fee of a market (the order book's settlement, the auction): a rate in basis
/// points, set by the admin up to MAX_FEE_BPS; the fees accrue in the market and the fee recipient
/// withdraws them (pull). What the rate applies to is each market's own: ISettlement and
/// IEnergyAuction say how a transaction or a cleared market takes it.
/// @dev Errors: FeeTooHigh (a rate above MAX_FEE_BPS), InvalidFeeRecipient (the zero address),
/// NotFeeRecipient (a withdrawal by anyone else), NoFeesAccrued (nothing to withdraw).
interface IGridFees {
    /// @notice The fee recipient withdrew the accrued fees.
    /// @param feeRecipient Who received them.
    /// @param amount The fees withdrawn (for the auction, with the buyers' rounding surplus), PaymentToken base units.
    event FeesWithdrawn(address indexed feeRecipient, uint256 amount);
    /// @notice The admin changed the grid fee; what the market records from now on uses it.
    /// @param previousBps The fee before, basis points.
    /// @param newBps The fee from now on, basis points.
    event GridFeeUpdated(uint256 previousBps, uint256 newBps);
    /// @notice The admin changed who may withdraw accrued fees.
    /// @param previousRecipient The recipient before.
    /// @param newRecipient The recipient from now on, of fees accrued before too.
    event FeeRecipientUpdated(address indexed previousRecipient, address indexed newRecipient);

    /// @notice Sends the accrued fees to the fee recipient (pull). Fee recipient only; open during a pause.
    /// @return amount The fees withdrawn, PaymentToken base units.
    function withdrawFees() external returns (uint256 amount);

    /// @notice Sets the grid fee: the order book's transactions recorded from now on take it; the
    /// auction's markets opened from now on take it, and a lower fee also applies to the uncleared
    /// markets that take an ask from now on (see IEnergyAuction). DEFAULT_ADMIN_ROLE only.
    /// @param feeBps The fee, basis points (of the payment, of a sale's gross), at most MAX_FEE_BPS.
    function setGridFee(uint256 feeBps) external;

    /// @notice Sets who may withdraw accrued fees (including those accrued before). DEFAULT_ADMIN_ROLE only.
    /// @param feeRecipient_ The new recipient; not the zero address.
    function setFeeRecipient(address feeRecipient_) external;

    /// @notice The grid fee in force, basis points: the rate of what the market records from now on.
    function gridFeeBps() external view returns (uint256);

    /// @notice Who may withdraw the accrued fees.
    function feeRecipient() external view returns (address);

    /// @notice Fees accrued and not yet withdrawn, PaymentToken base units: the grid fees of settled
    /// transactions; for the auction, the grid fees and buyers' rounding surplus of cleared markets.
    function accruedFees() external view returns (uint256);
}
