// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title FailingToken
/// @notice An ERC-20 for tests that stands in for a payer whose token refuses a payout or a pull. Its
/// plain transfers can be made to fail, either by returning false without moving anything or by
/// reverting, and its transferFrom can be made to return false. It can also be made to keep a fee of
/// 1 % of every transfer, which it burns, as fee-on-transfer tokens do.
contract FailingToken is ERC20 {
    enum Mode {
        Normal,
        ReturnFalse,
        Revert,
        PullsReturnFalse,
        PullsRevertSilently,
        KeepsFee
    }

    Mode private _mode;

    /// @notice Transfers are set to revert.
    error TransfersDisabled();

    constructor() ERC20("Failing Token", "FAIL") {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Anyone may mint, since the token is only for tests.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Sets how the token misbehaves. Mode 0 is normal; in mode 1 transfers return false; in mode
    /// 2 transfers revert; in mode 3 transferFrom returns false; in mode 4 transferFrom reverts with no
    /// error data; in mode 5 every transfer delivers 1 % less than its value.
    function setMode(Mode mode) external {
        _mode = mode;
    }

    function transfer(address to, uint256 value) public override returns (bool) {
        if (_mode == Mode.ReturnFalse) return false;
        if (_mode == Mode.Revert) revert TransfersDisabled();
        return super.transfer(to, value);
    }

    function transferFrom(address from, address to, uint256 value) public override returns (bool) {
        if (_mode == Mode.PullsReturnFalse) return false;
        // This is a token that refuses without saying why, so the revert carries no error data at all.
        if (_mode == Mode.PullsRevertSilently) revert();
        return super.transferFrom(from, to, value);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (_mode != Mode.KeepsFee || from == address(0) || to == address(0)) return super._update(from, to, value);
        uint256 fee = value / 100;
        super._update(from, to, value - fee);
        super._update(from, address(0), fee);
    }
}
