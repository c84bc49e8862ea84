"""Decoding the contracts' events from logs, with the ABI from the manifest.

One decoder per event reads a log's topics and data straight from hex (raw JSON-RPC logs, as the
batching sender fetches them) or bytes (web3's formatted logs), so the simulation and the event
index decode the same way, without web3's per-receipt formatting round trips. The events read
this way have static-typed arguments (addresses, integers, booleans, fixed bytes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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

    def matches(self, log: Mapping[str, Any]) -> bool:
        topics = log["topics"]
        return bool(topics) and str(topics[0]).lower() == self.topic and str(log["address"]).lower() == self.address

    def decode(self, log: Mapping[str, Any]) -> dict[str, Any]:
        """The event's arguments by ABI name; addresses checksummed."""
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


def address_topic(address: str) -> str:
    """An address as an indexed argument's topic (left-padded to 32 bytes), for log filters."""
    return "0x" + "00" * 12 + address.lower().removeprefix("0x")


def _hex(value: Any) -> str:
    text = value.hex() if isinstance(value, bytes | bytearray) else str(value)
    return text.removeprefix("0x")


__all__ = ["EventDecoder", "address_topic"]
