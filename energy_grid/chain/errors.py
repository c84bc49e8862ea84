"""What the client raises: `GridError` and one subclass per way a call can fail.

    GridError
    ├── ContractRevertError      a contract's custom error, decoded: name, arguments, NatSpec @notice
    ├── TransactionRevertedError a transaction or call reverted without data the ABIs explain
    ├── ManifestError            deployments/<chainId>.json missing or not a manifest
    │   └── DeploymentNotOnChainError  its contracts have no code on the node's chain
    │       └── AnotherDeploymentError  or code of another deployment at the same addresses
    ├── NodeUnreachableError     no answer from the RPC URL
    ├── ChainMismatchError       the node is another chain than the manifest's
    └── InvalidInputError        the client refused the input before sending anything

Library code raises these and never exits: a command line catches `GridError` and prints it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from eth_abi import decode
from eth_utils import function_signature_to_4byte_selector, is_hex_address, to_checksum_address

# Solidity's own revert payloads: require(cond, "text") and assert / arithmetic panics.
ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")
PANIC_SELECTOR = bytes.fromhex("4e487b71")
# NatSpec's way to name a parameter in prose: `orderId`.
_NATSPEC_CODE = re.compile(r"`([^`]*)`")


class GridError(Exception):
    """Base of every error the client raises; a contract rejected a call, or the client could not
    or would not make it."""


class ContractRevertError(GridError):
    """A contract reverted with one of its custom errors.

    `str(err)` reads like `settleTransaction rejected: TransactionNotPending(transactionId=1,
    status=1): The transaction was settled or voided already.`
    """

    def __init__(
        self,
        contract: str,
        function: str,
        error_name: str,
        arguments: Mapping[str, Any],
        notice: str | None = None,
    ) -> None:
        self.contract = contract
        self.function = function
        self.error_name = error_name
        self.arguments = dict(arguments)
        self.notice = notice
        super().__init__(f"{function} rejected: {self.reason}")

    @property
    def reason(self) -> str:
        """`ErrorName(arg=value, …): its @notice`, without the function."""
        args = ", ".join(f"{name}={shown(value)}" for name, value in self.arguments.items())
        explanation = f": {self.notice}" if self.notice else ""
        return f"{self.error_name}({args}){explanation}"


class TransactionRevertedError(GridError):
    """A call reverted with no data a known ABI decodes: an empty revert, a `require` string, a
    panic, or a transaction that reverted after its gas estimate passed (its receipt status 0)."""

    def __init__(self, function: str, detail: str, transaction_hash: str | None = None, data: str | None = None) -> None:
        self.function = function
        self.detail = detail
        self.transaction_hash = transaction_hash
        self.data = data
        where = f" (transaction {transaction_hash})" if transaction_hash else ""
        super().__init__(f"{function} reverted{where}: {detail}")


class ManifestError(GridError):
    """The deployment manifest is missing, unreadable or not in the manifest's shape."""


class DeploymentNotOnChainError(ManifestError):
    """The manifest is of this chain id, but its contracts have no code on the node: a manifest left
    by another chain with the same id (a throwaway anvil, a node started afresh)."""

    def __init__(self, source: str, rpc_url: str) -> None:
        self.source = source
        self.rpc_url = rpc_url
        super().__init__(
            f"The deployment in {source} is not on the chain at {rpc_url} (no code at its contracts): "
            "run `make deploy` (or `make simulate`) against this node."
        )


class AnotherDeploymentError(DeploymentNotOnChainError):
    """The manifest's contracts have code on the node, but not from its deployment: the node's block
    at the manifest's startBlock is missing or not the one recorded in startBlockHash (a fresh anvil
    on which a new deployment landed at the same addresses)."""

    def __init__(self, source: str, rpc_url: str, start_block: int) -> None:
        self.source = source
        self.rpc_url = rpc_url
        self.start_block = start_block
        ManifestError.__init__(
            self,
            f"The deployment in {source} is not the one on the chain at {rpc_url} (the chain's block {start_block:,} "
            "is not the block it was deployed in): pass this chain's manifest with --manifest, or run `make deploy` "
            "against this node.",
        )


class NodeUnreachableError(GridError):
    """The node at the RPC URL does not answer."""

    def __init__(self, rpc_url: str, detail: str) -> None:
        self.rpc_url = rpc_url
        super().__init__(f"No node answers at {rpc_url}: {detail}. Start one (`make node`) or pass another RPC URL.")


class ChainMismatchError(GridError, ValueError):
    """The node's chain id is not the manifest's: the addresses would point at nothing, or at
    other contracts."""

    def __init__(self, node_chain_id: int, manifest_chain_id: int) -> None:
        self.node_chain_id = node_chain_id
        self.manifest_chain_id = manifest_chain_id
        super().__init__(f"The node is chain {node_chain_id} but the manifest is for chain {manifest_chain_id}.")


class InvalidInputError(GridError, ValueError):
    """The client refused an argument before sending anything (it would only have cost gas to
    revert, or does not fit the function's ABI types)."""


@dataclass(frozen=True)
class DecodedError:
    """Revert data matched to an ABI error."""

    name: str
    arguments: dict[str, Any]
    notice: str | None


def decode_error(abi: Iterable[Mapping[str, Any]], data: str, userdoc: Mapping[str, Any] | None = None) -> DecodedError | None:
    """Matches revert data against the ABI's errors; None when no error there has its selector."""
    raw = bytes.fromhex(data.removeprefix("0x"))
    for item in abi:
        if item.get("type") != "error":
            continue
        types = [i["type"] for i in item["inputs"]]
        signature = f"{item['name']}({','.join(types)})"
        if function_signature_to_4byte_selector(signature) != raw[:4]:
            continue
        try:
            values = decode(types, raw[4:])
        except Exception:
            continue
        arguments = {i["name"]: value for i, value in zip(item["inputs"], values, strict=True)}
        notices = (userdoc or {}).get("errors", {}).get(signature, [])
        notice = notices[0].get("notice") if notices else None
        words = {i["name"]: argument_text(i["type"], arguments[i["name"]]) for i in item["inputs"]}
        return DecodedError(item["name"], arguments, fill_notice(notice, words) if notice else None)
    return None


def shown(value: Any) -> Any:
    """A decoded argument as a message shows it: an address EIP-55 checksummed (eth-abi decodes it in
    lower case), anything else as it is."""
    return to_checksum_address(value) if isinstance(value, str) and is_hex_address(value) else value


def argument_text(abi_type: str, value: Any) -> str:
    """An error argument as a reader writes it: addresses checksummed, integers plainly, bytes in hex."""
    if abi_type == "address":
        return to_checksum_address(value)
    if abi_type == "bool":
        return "true" if value else "false"
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)


def fill_notice(notice: str, words: Mapping[str, str]) -> str:
    """The @notice as a sentence for the user: each `parameter` it names replaced by the argument's
    text from `words`; a quoted name the error does not carry (a constant, another function) keeps
    its word without the backticks."""
    filled = _NATSPEC_CODE.sub(lambda quoted: words.get(quoted.group(1), quoted.group(1)), notice)
    return filled.replace("`", "")


def describe_builtin_revert(data: str) -> str | None:
    """Solidity's `Error(string)` and `Panic(uint256)` payloads in words; None for anything else."""
    raw = bytes.fromhex(data.removeprefix("0x"))
    if raw[:4] == ERROR_STRING_SELECTOR:
        (text,) = decode(["string"], raw[4:])
        return f"Error({text!r})"
    if raw[:4] == PANIC_SELECTOR:
        (code,) = decode(["uint256"], raw[4:])
        return f"Panic(0x{code:02x})"
    return None


def describe_revert(abi: list[dict[str, Any]], data: str, userdoc: dict[str, Any] | None = None) -> str:
    """Turns revert data into `ErrorName(arg=value, …): its @notice` using the ABI and NatSpec."""
    return describe_decoded(decode_error(abi, data, userdoc), data)


def describe_decoded(decoded: DecodedError | None, data: str) -> str:
    """A decoded error as `ErrorName(arg=value, …): its @notice`; `unknown error 0x…` for None."""
    if decoded is None:
        return f"unknown error {data[:10]}"
    args = ", ".join(f"{name}={shown(value)}" for name, value in decoded.arguments.items())
    explanation = f": {decoded.notice}" if decoded.notice else ""
    return f"{decoded.name}({args}){explanation}"


__all__ = [
    "ChainMismatchError",
    "ContractRevertError",
    "DecodedError",
    "GridError",
    "InvalidInputError",
    "ManifestError",
    "NodeUnreachableError",
    "TransactionRevertedError",
    "decode_error",
    "describe_builtin_revert",
    "describe_decoded",
    "describe_revert",
    "fill_notice",
]
