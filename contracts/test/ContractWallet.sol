// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @title ContractWallet
/// @notice An ERC-1271 smart-contract wallet for tests. It accepts a message as signed when its owner's
/// key signed the message's hash, which is how a one-owner multisig or an account-abstraction wallet
/// answers.
contract ContractWallet is IERC1271 {
    address private immutable _owner;

    /// @param owner_ The key whose signatures the wallet accepts.
    constructor(address owner_) {
        _owner = owner_;
    }

    /// @notice Implements ERC-1271. Returns the magic value when the owner's key signed `hash`, and
    /// 0xffffffff otherwise.
    /// @param hash The signed hash.
    /// @param signature The owner's signature, r ‖ s ‖ v.
    /// @return magicValue IERC1271.isValidSignature.selector when valid.
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4 magicValue) {
        (address signer, ECDSA.RecoverError failure,) = ECDSA.tryRecover(hash, signature);
        return failure == ECDSA.RecoverError.NoError && signer == _owner ? IERC1271.isValidSignature.selector : bytes4(0xffffffff);
    }
}
