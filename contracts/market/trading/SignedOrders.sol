// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IEnergyMarket} from "../IEnergyMarket.sol";
import {OrderEntry} from "./OrderEntry.sol";
import {OrderId, OrderIdLibrary} from "../../types/OrderId.sol";
import {TraderRecord, TraderRecordLibrary} from "../../types/TraderRecord.sol";
import {TypedSignatures} from "../../utils/TypedSignatures.sol";

/// @title SignedOrders
/// @notice This contract accepts orders and cancellations that a trader signs (EIP-712) and any
/// relayer submits (createOrderBySig and cancelOrderBySig). The order and its escrow belong to the
/// signer. An ERC-2612 permit for the vault may be passed along, which lets the vault pull a shortfall
/// from the signer's wallet. Before the first relayed order, the trader approves this market once in
/// the vault, either with setMarketApproval or with approveMarketBySig, which anyone may relay.
/// @dev Each signed message carries the trader's next nonce. The nonce is kept in the trader's record
/// beside its address (TraderRecord), which every order reads anyway, so a relayed order costs only
/// one extra rewrite of that slot. The domain binds a signature to this chain and this contract: a
/// signature made for another chain or contract recovers to a different address.
abstract contract SignedOrders is OrderEntry, EIP712 {
    /// @dev The EIP-712 type hash of a signed order (createOrderBySig).
    bytes32 private constant ORDER_TYPEHASH = keccak256(
        "Order(address trader,uint256 amountWh,uint256 pricePerKWh,uint256 expiry,uint8 orderType,address counterparty,uint256 nonce,uint256 deadline)"
    );
    /// @dev The EIP-712 type hash of a signed cancellation (cancelOrderBySig).
    bytes32 private constant CANCEL_ORDER_TYPEHASH = keccak256("CancelOrder(uint256 orderId,uint256 nonce,uint256 deadline)");

    string private constant DOMAIN_NAME = "EnergyTrading";
    string private constant DOMAIN_VERSION = "1";

    constructor() EIP712(DOMAIN_NAME, DOMAIN_VERSION) {}

    // ---- Signed messages ----

    /// @inheritdoc IEnergyMarket
    // slither-disable-next-line reentrancy-no-eth,reentrancy-events: the permit call goes to the market's own escrow token (set at deploy) and the function is nonReentrantCompact
    function createOrderBySig(
        SignedOrder calldata order,
        uint8 v,
        bytes32 r,
        bytes32 s,
        PermitSignature[] calldata permit
    ) external nonReentrantCompact returns (uint256) {
        _useSignature(
            _traderIndex(order.trader),
            order.trader,
            order.nonce,
            order.deadline,
            keccak256(abi.encode(ORDER_TYPEHASH, order)),
            v,
            r,
            s
        );
        bool energy = order.orderType == OrderType.SELL;
        if (permit.length != 0) {
            IERC20 token = _escrowToken(energy);
            // If someone submitted the permit first, it fails here but has already set the allowance, so
            // the order goes on when the allowance is in place.
            try IERC20Permit(address(token)).permit(
                order.trader, address(_vault), permit[0].value, permit[0].deadline, permit[0].v, permit[0].r, permit[0].s
            ) {} catch {}
        }
        return OrderId.unwrap(
            _createOrder(order.trader, order.amountWh, order.pricePerKWh, order.expiry, order.orderType, order.counterparty)
        );
    }

    /// @inheritdoc IEnergyMarket
    function cancelOrderBySig(uint256 orderId, uint256 nonce, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        nonReentrantCompact
    {
        OrderId id = OrderIdLibrary.from(orderId);
        uint256 traderIndex = _knownOrder(id).traderIndex;
        address trader = _traderAt(traderIndex);
        _useSignature(
            traderIndex, trader, nonce, deadline, keccak256(abi.encode(CANCEL_ORDER_TYPEHASH, orderId, nonce, deadline)), v, r, s
        );
        _close(id, trader, true);
    }

    // ---- Nonces ----

    /// @inheritdoc IEnergyMarket
    function nonces(address trader) external view returns (uint256) {
        uint256 index = _indexOf(trader);
        return index == 0 ? 0 : _traderRecords[index].nonce();
    }

    /// @inheritdoc IEnergyMarket
    function invalidateNonces(uint256 newNonce) external {
        uint256 index = _traderIndex(msg.sender);
        uint256 currentNonce = _traderRecords[index].nonce();
        // The cap keeps every nonce far inside its 96 bits, so consuming one never wraps.
        if (newNonce <= currentNonce || newNonce > type(uint64).max) {
            revert NonceNotRaised(msg.sender, newNonce, currentNonce);
        }
        _traderRecords[index] = TraderRecordLibrary.from(msg.sender, newNonce);
        emit NoncesInvalidated(msg.sender, currentNonce, newNonce);
    }

    // ---- Domain ----

    /// @notice Returns the EIP-712 domain (ERC-5267): the name "EnergyTrading", the version "1", this chain
    /// and this contract.
    /// @dev Returns the constant name and version directly instead of going through OpenZeppelin's
    /// short-string decoding. Both are short literals, so this contract does not need that decoding, and
    /// leaving it out saves code.
    function eip712Domain()
        public
        view
        override
        returns (
            bytes1 fields,
            string memory name,
            string memory version,
            uint256 chainId,
            address verifyingContract,
            bytes32 salt,
            uint256[] memory extensions
        )
    {
        return (hex"0f", DOMAIN_NAME, DOMAIN_VERSION, block.chainid, address(this), bytes32(0), extensions);
    }

    // ---- Internals ----

    /// @dev Checks `trader`'s signature (v, r, s) over the EIP-712 struct `structHash`, which carries
    /// `nonce` and `deadline`, and consumes the nonce.
    function _useSignature(
        uint256 traderIndex,
        address trader,
        uint256 nonce,
        uint256 deadline,
        bytes32 structHash,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) private {
        if (block.timestamp >= deadline) revert SignatureExpired(deadline, block.timestamp);
        TraderRecord record = _traderRecords[traderIndex];
        uint256 currentNonce = record.nonce();
        if (nonce != currentNonce) revert InvalidNonce(trader, nonce, currentNonce);
        // EIP-2 requires s to lie in the lower half of the curve order, as ECDSA.tryRecover checks it.
        if (TypedSignatures.isMalleable(s)) revert MalleableSignature(s);
        // s is checked above (with an error of its own), so the plain precompile suffices here.
        address signer = ecrecover(_hashTypedDataV4(structHash), v, r, s);
        // A signature that recovers to no address yields the zero signer, which must not pass for a
        // zero trader.
        if (signer == address(0) || signer != trader) revert InvalidSigner(trader, signer);
        _traderRecords[traderIndex] = record.withNextNonce();
    }
}
