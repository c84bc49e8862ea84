"""Decoding the contracts' events from logs, with the ABI from the manifest.

One decoder per event reads a log's topics and data straight from hex (raw JSON-RPC logs, as the
batching sender fetches them) or bytes (web3's formatted logs), so the simulation and the event
index decode the same way, without web3's per-receipt formatting round trips. The events read
this way have static-typed arguments (addresses, integers, booleans, fixed bytes): each is one
32-byte word, read straight from its hex (a simulated day of 1,000 households is some 180,000 logs,
and eth-abi's general decoder spent half a minute on them); an event with a dynamic argument goes
through eth-abi. A few events pack several figures into one word to save log data (PACKED_EVENTS);
`unpacked` gives the figures their names again, for this decoder's readers and web3's alike.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

from eth_abi import decode
from eth_utils import event_abi_to_log_topic, to_checksum_address
from web3 import Web3
from web3.contract import Contract

from energy_grid.chain.manifest import ADDRESS_HEX_LENGTH


class EventDecoder:
    """Decodes one event of one contract from raw logs (dicts of hex strings)."""

    def __init__(self, contract: Contract, name: str) -> None:
        (abi,) = [item for item in cast(list[Any], contract.abi) if item.get("type") == "event" and item["name"] == name]
        self.name = name
        # Most events are not packed; a simulated day decodes some 180,000 logs, so only these are unpacked.
        self._packed = name in PACKED_EVENTS
        self.address = contract.address.lower()
        self.topic = "0x" + event_abi_to_log_topic(abi).hex().removeprefix("0x")
        self._indexed = [(i["name"], i["type"]) for i in abi["inputs"] if i["indexed"]]
        self._data = [(i["name"], i["type"]) for i in abi["inputs"] if not i["indexed"]]
        readers = [_word_reader(kind) for _, kind in self._indexed + self._data]
        self._words: list[tuple[str, _WordReader]] | None = None
        if all(reader is not None for reader in readers):
            names = [name for name, _ in self._indexed + self._data]
            self._words = list(zip(names, cast(list[_WordReader], readers), strict=True))

    def matches(self, log: Mapping[str, Any]) -> bool:
        topics = log["topics"]
        return bool(topics) and str(topics[0]).lower() == self.topic and str(log["address"]).lower() == self.address

    def decode(self, log: Mapping[str, Any]) -> dict[str, Any]:
        """The event's arguments by ABI name, a packed event's figures by their own names (`unpacked`);
        addresses checksummed."""
        args = self._arguments(log)
        return unpacked(self.name, args) if self._packed else args

    def _arguments(self, log: Mapping[str, Any]) -> dict[str, Any]:
        if self._words is not None:
            data = _hex(log["data"])
            words = [_hex(topic) for topic in log["topics"][1:]]
            words += [data[start : start + WORD_HEX] for start in range(0, len(self._data) * WORD_HEX, WORD_HEX)]
            return {name: read(word) for (name, read), word in zip(self._words, words, strict=True)}
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


WORD_HEX = 64  # one ABI word, 32 bytes, in hex
_WordReader = Callable[[str], Any]
_SIZED = re.compile(r"(u?int|bytes)(\d*)")


@functools.lru_cache(maxsize=65_536)
def _checksummed(word: str) -> str:
    return to_checksum_address("0x" + word[-ADDRESS_HEX_LENGTH + 2 :])


def _signed(word: str) -> int:
    value = int(word, 16)
    return value - (1 << 256) if value >> 255 else value


def _unsigned(word: str) -> int:
    return int(word, 16)


def _true(word: str) -> bool:
    return int(word, 16) != 0


_READERS: dict[str, _WordReader] = {"address": _checksummed, "bool": _true}


def _word_reader(kind: str) -> _WordReader | None:
    """How a static type is read from its ABI word (as eth-abi decodes it), or None for another type."""
    sized = _SIZED.fullmatch(kind)
    if sized is None:
        return _READERS.get(kind)
    base, size = sized.groups()
    if base == "bytes":  # bytesN is left-aligned in its word; bytes is dynamic
        return (lambda word: bytes.fromhex(word[: 2 * int(size)])) if size else None
    return _signed if base == "int" else _unsigned


# The events whose figures the contracts pack into shared words to save log data: for each, the
# packed argument and its figures as (name, lowest bit, width), as the event's NatSpec lays them out.
PACKED_EVENTS: dict[str, dict[str, tuple[tuple[str, int, int], ...]]] = {
    # ISmartMeterRegistry.ReadingAccepted
    "ReadingAccepted": {"reading": (("timestamp", 0, 40), ("consumptionWh", 40, 40), ("productionWh", 80, 40))},
    # IMeteredMarket.MeteredOrdersSettled
    "MeteredOrdersSettled": {
        "periodAndVolumes": (("period", 0, 40), ("askWh", 40, 40), ("soldWh", 80, 40), ("bidWh", 120, 40), ("boughtWh", 160, 40)),
        "payments": (("proceeds", 0, 128), ("paid", 128, 128)),
    },
}


def unpacked(event: str, args: Mapping[str, Any]) -> dict[str, Any]:
    """An event's arguments with each packed word replaced by its figures (PACKED_EVENTS), so that
    every reader, whichever decoder it used, reads them by name; other events' arguments as they are."""
    layout = PACKED_EVENTS.get(event)
    result = dict(args)
    for word, figures in (layout or {}).items():
        value = int(result.pop(word))
        result.update({name: (value >> low) & ((1 << width) - 1) for name, low, width in figures})
    return result


def address_topic(address: str) -> str:
    """An address as an indexed argument's topic (left-padded to 32 bytes), for log filters."""
    return "0x" + "00" * 12 + address.lower().removeprefix("0x")


def uint_topic(value: int) -> str:
    """An indexed unsigned integer (a region id) as a log filter's topic."""
    return "0x" + value.to_bytes(32, "big").hex()


def _hex(value: Any) -> str:
    text = value.hex() if isinstance(value, bytes | bytearray) else str(value)
    return text.removeprefix("0x")


def first_block_at(w3: Web3, timestamp: int, low: int, high: int) -> int:
    """The first block in [low, high] whose time is `timestamp` or later (high + 1 if none), where a
    log query of a period starts: block times never decrease, so a binary search over headers."""
    while low <= high:
        middle = (low + high) // 2
        if int(w3.eth.get_block(middle)["timestamp"]) >= timestamp:
            high = middle - 1
        else:
            low = middle + 1
    return low


__all__ = ["EventDecoder", "address_topic", "first_block_at", "uint_topic"]
