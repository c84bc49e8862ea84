// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title MockStablecoin
/// @notice A local stand-in for the settlement currency, a 6-decimal stablecoin such as USDC. Its
/// operator faucet plays the part of the payment gateway that tops up a consumer's balance.
contract MockStablecoin is ERC20, ERC20Permit, AccessControl {
    /// @notice The role that may top up balances through the faucet.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    /// @notice The smallest faucet top-up, in whole units. A top-up is 1 to 1,000,000 units.
    uint256 public constant MIN_TOP_UP = 1;
    /// @notice The largest faucet top-up, in whole units.
    uint256 public constant MAX_TOP_UP = 1_000_000;

    /// @notice A top-up was outside MIN_TOP_UP to MAX_TOP_UP whole units.
    /// @param amountWholeUnits The rejected amount, in whole tokens.
    error TopUpOutOfRange(uint256 amountWholeUnits);

    /// @notice `operator` topped up `consumer` by `amountWholeUnits`.
    /// @param consumer The account credited.
    /// @param operator The OPERATOR_ROLE account that topped it up.
    /// @param amountWholeUnits The amount minted, in whole tokens of 10^6 base units each.
    event ConsumerBalanceAdded(address indexed consumer, address indexed operator, uint256 amountWholeUnits);

    constructor(address admin) ERC20("Mock USD Stablecoin", "MOCKUSD") ERC20Permit("Mock USD Stablecoin") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(OPERATOR_ROLE, admin);
    }

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Credits `consumer` with `amountWholeUnits` whole tokens (× 10^6 base units).
    function addConsumerBalance(address consumer, uint256 amountWholeUnits) external onlyRole(OPERATOR_ROLE) {
        if (amountWholeUnits < MIN_TOP_UP || amountWholeUnits > MAX_TOP_UP) revert TopUpOutOfRange(amountWholeUnits);
        _mint(consumer, amountWholeUnits * 10 ** 6);
        emit ConsumerBalanceAdded(consumer, msg.sender, amountWholeUnits);
    }
}
