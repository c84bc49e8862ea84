"""Whether a network runs the EVM the contracts are compiled for: Cancun (ape-config.yaml's
`evm_version`). The contracts keep their reentrancy lock in transient storage (EIP-1153: TSTORE,
TLOAD), and solc compiles for Cancun with MCOPY (EIP-5656) and, since Shanghai, PUSH0 (EIP-3855).
On a network without them a deployment would fail midway, or worse, contracts would deploy and
revert on their first guarded call; so the deploy asks the network first, sending nothing.

The question is one `eth_call` of creation code that uses each of those opcodes and returns the
word 1 it carried through them: PUSH1 1, PUSH0, TSTORE (1 at transient key 0); PUSH0, TLOAD;
PUSH0, MSTORE (to memory 0); PUSH1 32, PUSH0, PUSH1 32, MCOPY (memory 0..32 to 32..64); PUSH1 32,
PUSH1 32, RETURN (memory 32..64). A node that lacks one of them fails the call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

CANCUN_PROBE = "0x60015f5d5f5c5f5260205f60205e60206020f3"
PROBE_ANSWER = 1
REQUIRED_EVM = "Cancun"


class UnsupportedNetworkError(RuntimeError):
    """The network's EVM lacks opcodes the contracts are compiled with; the message says which."""


def require_cancun(request: Callable[[str, list[Any]], Any]) -> None:
    """Raises UnsupportedNetworkError unless the network (`request(method, params)`, a JSON-RPC call)
    runs the probe and answers it."""
    try:
        answer = request("eth_call", [{"data": CANCUN_PROBE}, "latest"])
    except Exception as error:  # the node's refusal is the answer, whatever its type
        raise UnsupportedNetworkError(_refusal(str(error))) from None
    returned = bytes.fromhex(str(answer).removeprefix("0x")) if answer else b""
    if int.from_bytes(returned or b"\0", "big") != PROBE_ANSWER:
        raise UnsupportedNetworkError(_refusal(f"the probe returned {answer!r}"))


def _refusal(detail: str) -> str:
    return (
        f"This network's EVM lacks {REQUIRED_EVM}'s opcodes (transient storage, MCOPY, PUSH0), which the contracts are "
        f"compiled with; deploy to a network that runs {REQUIRED_EVM} or later (docs/networks.md). The node said: {detail}"
    )


__all__ = ["CANCUN_PROBE", "UnsupportedNetworkError", "require_cancun"]
