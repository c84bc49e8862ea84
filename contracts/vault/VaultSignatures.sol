// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IEnergyVault} from "./IEnergyVault.sol";

/// @title VaultSignatures
/// @notice This contract checks what the vault accepts in an account's name without the account sending
/// the transaction: the account's EIP-712 signed market approvals and withdrawals, and its EIP-2612
/// permits that pay for a relayed deposit.
/// @dev These are the vault's rare paths, kept apart from its balances: nothing here reads or writes a
/// balance. Each signed message spends the account's next nonce, so it works only once and only in the
/// order signed. A permit is marked as spent by the token's own nonce, so it pays for one deposit only.
abstract contract VaultSignatures is EIP712, IEnergyVault {
    /// @notice The EIP-712 type of a signed market approval.
    bytes32 public constant MARKET_APPROVAL_TYPEHASH =
        keccak256("MarketApproval(address account,address market,uint256 nonce,uint256 deadline)");
    /// @notice The largest number of nonces one invalidateNonces call may skip. It allows far more signed
    /// messages than an account signs, and it is low enough that a nonce never nears the top of its range.
    uint256 public constant MAX_NONCE_SKIP = type(uint32).max;
    /// @notice The EIP-712 type of a signed withdrawal.
    bytes32 public constant WITHDRAWAL_TYPEHASH = keccak256(
        "Withdrawal(address account,address token,uint256 amount,address to,uint256 nonce,uint256 deadline)"
    );

    /// @dev EIP-2612's permit type. It is used to recognise an account's permit that someone applied before
    /// the account's relayed deposit.
    bytes32 private constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    /// @dev The next nonce of each account's signed approvals and withdrawals.
    mapping(address account => uint256) private _nonces;
    /// @dev For each account and token, the token's permit nonce after the last permit that paid for a
    /// deposit. A permit whose nonce lies below this value has been used.
    mapping(address account => mapping(address token => uint256)) private _permitsSpent;

    constructor() EIP712("EnergyVault", "1") {}

    // ----------------------------------------------------------------------------- nonces

    /// @inheritdoc IEnergyVault
    function invalidateNonces(uint256 newNonce) external {
        uint256 currentNonce = _nonces[msg.sender];
        if (newNonce <= currentNonce || newNonce - currentNonce > MAX_NONCE_SKIP) {
            revert NonceNotRaised(msg.sender, newNonce, currentNonce);
        }
        _nonces[msg.sender] = newNonce;
        emit NoncesInvalidated(msg.sender, currentNonce, newNonce);
    }

    /// @inheritdoc IEnergyVault
    function nonces(address account) external view returns (uint256) {
        return _nonces[account];
    }

    /// @notice The EIP-712 domain separator of signed market approvals and withdrawals.
    /// @return The separator.
    // slither-disable-next-line naming-convention: EIP-2612 made this name the convention
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @dev Spends `account`'s nonce for signed approvals and withdrawals, and returns the nonce spent.
    function _useNonce(address account) internal returns (uint256 nonce) {
        nonce = _nonces[account];
        // The nonce stays below the top of its range, because invalidateNonces raises it by at most
        // MAX_NONCE_SKIP at a time.
        unchecked {
            _nonces[account] = nonce + 1;
        }
    }

    // ----------------------------------------------------------------------------- signed messages
    // Each check spends the account's nonce before it verifies the signature, so that a signature over
    // any other nonce, an older one included, fails.

    /// @dev Reverts unless `signature` is `account`'s withdrawal of `amount` of `token` to `to`, signed for
    /// its next nonce and not past `deadline`.
    function _checkWithdrawalSignature(
        address account,
        address token,
        uint256 amount,
        address to,
        uint256 deadline,
        bytes calldata signature
    ) internal {
        if (block.timestamp > deadline) revert WithdrawalExpired(deadline);
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(WITHDRAWAL_TYPEHASH, account, token, amount, to, _useNonce(account), deadline))
        );
        if (!SignatureChecker.isValidSignatureNow(account, digest, signature)) {
            revert InvalidWithdrawalSignature(account);
        }
    }

    /// @dev Reverts unless `signature` is `account`'s approval of `market`, signed for its next nonce and
    /// not past `deadline`.
    function _checkApprovalSignature(address account, address market, uint256 deadline, bytes calldata signature)
        internal
    {
        if (block.timestamp > deadline) revert ApprovalExpired(deadline);
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(MARKET_APPROVAL_TYPEHASH, account, market, _useNonce(account), deadline))
        );
        if (!SignatureChecker.isValidSignatureNow(account, digest, signature)) revert InvalidApprovalSignature(account);
    }

    // ----------------------------------------------------------------------------- permits

    /// @dev Marks the token's last permit of `account`, the one just applied or recognised, as paid for.
    function _spendPermit(address account, IERC20Permit token) internal {
        uint256 nonce = token.nonces(account);
        mapping(address token => uint256) storage spent = _permitsSpent[account];
        if (spent[address(token)] >= nonce) revert PermitAlreadyUsed(account, nonce - 1);
        spent[address(token)] = nonce;
    }

    /// @dev Returns whether (v, r, s) is `account`'s permit for the vault over `amount` and `deadline` at
    /// the token's last used nonce, with the deadline not yet passed. If so, the permit was applied, just
    /// not by this call.
    function _wasLastPermit(
        address account,
        IERC20Permit token,
        uint256 amount,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) internal view returns (bool) {
        if (block.timestamp > deadline) return false;
        // A token without EIP-2612 answers neither call, and then no permit was ever applied.
        try token.nonces(account) returns (uint256 nonce) {
            if (nonce == 0) return false;
            bytes32 structHash =
                keccak256(abi.encode(PERMIT_TYPEHASH, account, address(this), amount, nonce - 1, deadline));
            try token.DOMAIN_SEPARATOR() returns (bytes32 domainSeparator) {
                bytes32 digest = MessageHashUtils.toTypedDataHash(domainSeparator, structHash);
                return SignatureChecker.isValidSignatureNow(account, digest, abi.encodePacked(r, s, v));
            } catch {
                return false;
            }
        } catch {
            return false;
        }
    }
}
