"""What a contract call would revert with, as a custom error's name and arguments.

The keeper and the ingestion decide by the error's *name* whether a rejection means "someone
else did it already" (skip) or a real failure, so they need it structured, not as text.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from eth_abi import decode
from eth_account.signers.local import LocalAccount
from eth_utils import function_signature_to_4byte_selector
from web3.exceptions import ContractCustomError, ContractLogicError

from energy_grid.client import GridClient


@dataclass(frozen=True)
class CustomError:
    """A decoded revert: the error's name, its arguments by name, and the client's explanation
    (with the NatSpec text) for messages."""

    name: str
    args: dict[str, Any]
    text: str


def decode_custom_error(abi: Iterable[Any], data: str) -> tuple[str, dict[str, Any]] | None:
    """The error of `abi` whose selector starts `data`, with its arguments; None if none matches."""
    raw = bytes.fromhex(data.removeprefix("0x"))
    for item in abi:
        if item.get("type") != "error":
            continue
        types = [i["type"] for i in item["inputs"]]
        if function_signature_to_4byte_selector(f"{item['name']}({','.join(types)})") == raw[:4]:
            values = decode(types, raw[4:])
            return item["name"], {i["name"]: v for i, v in zip(item["inputs"], values)}
    return None


def dry_run(client: GridClient, sender: LocalAccount | str, call: Any) -> CustomError | None:
    """Runs `call` as `sender` against the latest block without sending it: None if it would go
    through, else the custom error it reverts with (looked up in every contract of the manifest,
    as an error may bubble up from a token or another contract)."""
    address = sender if isinstance(sender, str) else sender.address
    try:
        call.call({"from": address})
    except ContractCustomError as err:
        return explain_revert(client, call, str(err.data))
    except ContractLogicError as err:  # a plain revert or panic: no custom error to name
        return CustomError("", {}, str(err))
    return None


def explain_revert(client: GridClient, call: Any, data: str) -> CustomError:
    """Names revert `data` from the called contract's ABI, else from any contract of the manifest."""
    text = client.explain(call, data)
    decoded = decode_custom_error(call.contract_abi, data)
    for contract in client.contracts.values():
        if decoded is not None:
            break
        decoded = decode_custom_error(contract.abi, data)
    if decoded is None:
        return CustomError("", {}, text)
    return CustomError(decoded[0], decoded[1], text)
