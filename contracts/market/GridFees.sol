// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IGridFees} from "./IGridFees.sol";
import {FeeTooHigh, InvalidFeeRecipient, NoFeesAccrued, NotFeeRecipient} from "../utils/GridErrors.sol";
import {ReentrancyLock} from "../utils/ReentrancyLock.sol";

/// @title GridFees
/// @notice The grid fee of a market, shared by the order book's settlement and the auction: the
/// rate and its bound, the fee recipient, and the pull withdrawal of accrued fees in PaymentToken.
/// @dev Abstract. The rate and the accrued amount stay in the market's own storage, packed with
/// what its hot path reads anyway (the settlement's counters, the auction's price grid), and are
/// reached through four hooks; the recipient, read only here, lives in this contract. Inherit it
/// before Pausable so that its slot does not split the market's packed slot.
abstract contract GridFees is AccessControl, ReentrancyLock, IGridFees {
    /// @notice Highest grid fee: 10 %.
    uint256 public constant MAX_FEE_BPS = 1_000;

    /// @dev The token the market takes payments, and so fees, in.
    IERC20 internal immutable _paymentToken;
    address private _feeRecipient;

    /// @dev Checks the recipient and the rate; the market stores the rate where its hot path reads it.
    constructor(IERC20 paymentToken_, address feeRecipient_, uint256 gridFeeBps_) {
        if (feeRecipient_ == address(0)) revert InvalidFeeRecipient(feeRecipient_);
        _checkGridFee(gridFeeBps_);
        _paymentToken = paymentToken_;
        _feeRecipient = feeRecipient_;
    }

    /// @inheritdoc IGridFees
    // The compact lock: a withdrawal is rare, and the order book that inherits this is near the code-size limit.
    function withdrawFees() external nonReentrantCompact returns (uint256 amount) {
        address recipient = _feeRecipient;
        if (msg.sender != recipient) revert NotFeeRecipient(msg.sender, recipient);
        amount = _feesAccrued();
        if (amount == 0) revert NoFeesAccrued();
        _clearFeesAccrued();
        emit FeesWithdrawn(recipient, amount);
        _payFees(recipient, amount);
    }

    /// @inheritdoc IGridFees
    function setGridFee(uint256 feeBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _checkGridFee(feeBps);
        uint256 previousBps = _gridFee();
        _storeGridFee(previousBps, feeBps);
        emit GridFeeUpdated(previousBps, feeBps);
    }

    /// @inheritdoc IGridFees
    function setFeeRecipient(address feeRecipient_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (feeRecipient_ == address(0)) revert InvalidFeeRecipient(feeRecipient_);
        address previousRecipient = _feeRecipient;
        _feeRecipient = feeRecipient_;
        emit FeeRecipientUpdated(previousRecipient, feeRecipient_);
    }

    /// @inheritdoc IGridFees
    function gridFeeBps() external view returns (uint256) {
        return _gridFee();
    }

    /// @inheritdoc IGridFees
    function feeRecipient() external view returns (address) {
        return _feeRecipient;
    }

    /// @inheritdoc IGridFees
    function accruedFees() external view returns (uint256) {
        return _feesAccrued();
    }

    /// @dev The rate in force, basis points.
    function _gridFee() internal view virtual returns (uint256);

    /// @dev Stores a new rate (at most MAX_FEE_BPS, checked); `previousBps` is the rate it replaces.
    function _storeGridFee(uint256 previousBps, uint256 newBps) internal virtual;

    /// @dev Fees accrued and not yet withdrawn, PaymentToken base units.
    function _feesAccrued() internal view virtual returns (uint256);

    /// @dev Sets the accrued fees to zero (they are being withdrawn).
    function _clearFeesAccrued() internal virtual;

    /// @dev Pays withdrawn fees to the recipient: the markets hold them in their EnergyVault balance and
    /// credit the recipient's vault balance.
    function _payFees(address recipient, uint256 amount) internal virtual;

    function _checkGridFee(uint256 feeBps) private pure {
        if (feeBps > MAX_FEE_BPS) revert FeeTooHigh(feeBps, MAX_FEE_BPS);
    }
}
