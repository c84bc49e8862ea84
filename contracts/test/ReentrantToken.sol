// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {RevertData} from "../utils/RevertData.sol";

/// @title ReentrantToken
/// @notice A hostile ERC-20 for tests that behaves like a token with ERC-777 hooks. Once armed, its next
/// transfer calls `target` with `payload` from inside the transfer and passes on that call's revert.
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

    /// @notice Anyone may mint, since the token is only for tests.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Makes the next transfer, but not a mint, call `target` with `payload`. It fires only once.
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
