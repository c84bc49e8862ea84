// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title TypedSignatures
/// @notice This library holds what the markets' relayed messages share: the EIP-712 digest of a message in
/// the calling contract's domain, and the recovery of its signer with the malleable twin of a signature
/// refused (EIP-2). The order book's signed orders and the auction's signed firm orders both check their
/// signatures with it.
/// @dev Each contract keeps its own nonces and raises its own errors, since those are part of its
/// interface. `digest` computes the domain separator on every call instead of caching it in immutables,
/// which costs a few hundred gas a message and saves the code of OpenZeppelin's cached EIP712 base, for
/// a contract near the code-size limit.
library TypedSignatures {
    /// @notice Half the secp256k1 curve order. A signature with a larger s is the malleable twin of a valid
    /// signature.
    uint256 internal constant SECP256K1_HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    /// @dev The EIP-712 type of a domain with a name, a version, a chain and a contract.
    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

    /// @notice The EIP-712 digest of the struct hashed as `structHash`, in the domain of the calling contract
    /// on this chain, named by the hashes of its name and version.
    function digest(bytes32 nameHash, bytes32 versionHash, bytes32 structHash) internal view returns (bytes32) {
        bytes32 domainSeparator = keccak256(abi.encode(DOMAIN_TYPEHASH, nameHash, versionHash, block.chainid, address(this)));
        return keccak256(abi.encodePacked(hex"1901", domainSeparator, structHash));
    }

    /// @notice Whether s lies in the upper half of the curve order, where only malleable twins lie.
    function isMalleable(bytes32 s) internal pure returns (bool) {
        return uint256(s) > SECP256K1_HALF_ORDER;
    }

    /// @notice The address that signed `hash` with (v, r, s), or zero when the signature recovers to no
    /// address or is a malleable twin. A caller compares the result with the signer it expects and refuses
    /// zero, so that a signature that is not one cannot pass for a zero address.
    function recover(bytes32 hash, uint8 v, bytes32 r, bytes32 s) internal pure returns (address) {
        if (isMalleable(s)) return address(0);
        return ecrecover(hash, v, r, s);
    }
}
