// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {RevertData} from "../utils/RevertData.sol";

/// @title ReentrantToken
/// @notice Test-only hostile ERC-20 (think ERC-777 hooks): once armed, its next transfer calls
/// `target` with `payload` from inside the transfer and bubbles up that call's revert.
contract ReentrantToken is ERC20 {
    address private _target;
    bytes private _payload;

    /// @notice The armed call ran inside a transfer and succeeded.
    /// @param target The contract it called.
    event ReentryExecuted(address indexed target);

    constructor() ERC20("Reentrant Token", "RENT") {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Anyone may mint: test-only.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Makes the next transfer (not mint) call `target` with `payload`; fires once.
    function arm(address target, bytes calldata payload) external {
        _target = target;
        _payload = payload;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        address target = _target;
        if (target == address(0) || from == address(0)) return;
        _target = address(0);
        (bool success, bytes memory returndata) = target.call(_payload);
        if (!success) RevertData.bubble(returndata);
        emit ReentryExecuted(target);
    }
}
