// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IERC721Receiver} from "@openzeppelin/contracts/token/ERC721/IERC721Receiver.sol";
import {IERC1155Receiver} from "@openzeppelin/contracts/token/ERC1155/IERC1155Receiver.sol";
import {RevertData} from "../utils/RevertData.sol";

/// @title HostileReceiver
/// @notice A contract account for tests that accepts ERC-721 and ERC-1155 tokens. Once armed, it calls
/// `target` with `payload` from inside the next receiver callback and passes on that call's revert. It
/// acts as an account through `execute`, so it can own meters, assets and shares.
contract HostileReceiver is IERC721Receiver, IERC1155Receiver {
    address private _target;
    bytes private _payload;
    uint256 private _callbacks;

    /// @notice The armed call ran inside a receiver callback and succeeded.
    /// @param target The contract it called.
    event ReentryExecuted(address indexed target);

    /// @notice Makes the next receiver callback call `target` with `payload`. It fires only once.
    function arm(address target, bytes calldata payload) external {
        _target = target;
        _payload = payload;
    }

    /// @notice Calls `target` with `data` as this account. Anyone may call it, since it is only for tests.
    function execute(address target, bytes calldata data) external returns (bytes memory) {
        return _call(target, data);
    }

    /// @notice Returns how many receiver callbacks this contract has had.
    function callbacks() external view returns (uint256) {
        return _callbacks;
    }

    function onERC721Received(address, address, uint256, bytes calldata) external returns (bytes4) {
        _fire();
        return IERC721Receiver.onERC721Received.selector;
    }

    function onERC1155Received(address, address, uint256, uint256, bytes calldata) external returns (bytes4) {
        _fire();
        return IERC1155Receiver.onERC1155Received.selector;
    }

    function onERC1155BatchReceived(address, address, uint256[] calldata, uint256[] calldata, bytes calldata)
        external
        returns (bytes4)
    {
        _fire();
        return IERC1155Receiver.onERC1155BatchReceived.selector;
    }

    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == type(IERC1155Receiver).interfaceId || interfaceId == type(IERC165).interfaceId;
    }

    function _fire() private {
        ++_callbacks;
        address target = _target;
        if (target == address(0)) return;
        _target = address(0);
        _call(target, _payload);
        emit ReentryExecuted(target);
    }

    function _call(address target, bytes memory data) private returns (bytes memory returndata) {
        bool success;
        (success, returndata) = target.call(data);
        if (!success) RevertData.bubble(returndata);
    }
}
