"""Decoding the few events the driver reads from raw JSON-RPC receipts and logs.

The sender fetches receipts as plain JSON (hex strings) in batches; web3's event helpers want its
own formatted receipts, one round trip each. These decoders read the static-typed events the
simulation needs straight from the hex, with the ABI from the manifest.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from eth_abi import decode
from eth_utils import event_abi_to_log_topic, to_checksum_address
from web3.contract import Contract

from energy_grid.manifest import ADDRESS_HEX_LENGTH


class EventDecoder:
    """Decodes one event of one contract from raw logs (dicts of hex strings)."""

    def __init__(self, contract: Contract, name: str) -> None:
        (abi,) = [item for item in cast(list[Any], contract.abi) if item.get("type") == "event" and item["name"] == name]
        self.name = name
        self.address = contract.address.lower()
        self.topic = "0x" + event_abi_to_log_topic(abi).hex().removeprefix("0x")
        self._indexed = [(i["name"], i["type"]) for i in abi["inputs"] if i["indexed"]]
        self._data = [(i["name"], i["type"]) for i in abi["inputs"] if not i["indexed"]]

    def matches(self, log: dict[str, Any]) -> bool:
        topics = log["topics"]
        return bool(topics) and str(topics[0]).lower() == self.topic and str(log["address"]).lower() == self.address

    def decode(self, log: dict[str, Any]) -> dict[str, Any]:
        args: dict[str, Any] = {}
        for (name, kind), topic in zip(self._indexed, log["topics"][1:], strict=True):
            (args[name],) = decode([kind], bytes.fromhex(_hex(topic)))
        values = decode([kind for _, kind in self._data], bytes.fromhex(_hex(log["data"])))
        args.update({name: value for (name, _), value in zip(self._data, values, strict=True)})
        return {
            key: to_checksum_address(value)
            if isinstance(value, str) and value.startswith("0x") and len(value) == ADDRESS_HEX_LENGTH
            else value
            for key, value in args.items()
        }

    def in_receipts(self, receipts: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        return [self.decode(log) for receipt in receipts for log in receipt["logs"] if self.matches(log)]


def _hex(value: Any) -> str:
    text = value.hex() if isinstance(value, bytes | bytearray) else str(value)
    return text.removeprefix("0x")


__all__ = ["EventDecoder"]
