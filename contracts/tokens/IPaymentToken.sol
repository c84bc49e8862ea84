// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";

/// @title IPaymentToken
/// @notice The settlement currency: any ERC-20 with metadata (a stablecoin on a public network,
/// MockStablecoin locally). Gives deploy tooling and the manifest its ABI.
interface IPaymentToken is IERC20Metadata {}
