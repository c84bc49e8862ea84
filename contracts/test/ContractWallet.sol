// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @title ContractWallet
/// @notice Test-only ERC-1271 smart-contract wallet: a message is signed for it when its owner's key
/// signed the message's hash, as a one-owner multisig or an account-abstraction wallet answers.
contract ContractWallet is IERC1271 {
    address private immutable _owner;

    /// @param owner_ The key whose signatures the wallet accepts.
    constructor(address owner_) {
        _owner = owner_;
    }

    /// @notice ERC-1271: the magic value when the owner's key signed `hash`, 0xffffffff otherwise.
    /// @param hash The signed hash.
    /// @param signature The owner's signature, r ‖ s ‖ v.
    /// @return magicValue IERC1271.isValidSignature.selector when valid.
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4 magicValue) {
        (address signer, ECDSA.RecoverError failure,) = ECDSA.tryRecover(hash, signature);
        return failure == ECDSA.RecoverError.NoError && signer == _owner ? IERC1271.isValidSignature.selector : bytes4(0xffffffff);
    }
}
