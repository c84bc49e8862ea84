"""Decoding events from raw logs (energy_grid.chain.events): the word-by-word reading of static arguments
gives what eth-abi's decoder gives, for every static type the contracts' events use, and an event
with a dynamic argument is still decoded."""

from __future__ import annotations

from typing import Any

from eth_abi import encode
from eth_utils import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st
from web3 import Web3

from energy_grid.chain.events import EventDecoder, address_topic

ADDRESS = "0x" + "5a" * 20
STATIC = [
    ("trader", "address", True),
    ("orderId", "uint256", True),
    ("deltaWh", "int64", False),
    ("settled", "bool", False),
    ("digest", "bytes32", False),
    ("tag", "bytes4", False),
    ("side", "uint8", False),
    ("counterparty", "address", False),
    ("balance", "int256", False),
]


def contract_with(name: str, inputs: list[tuple[str, str, bool]]) -> Any:
    event = {"type": "event", "name": name, "anonymous": False, "inputs": [{"name": n, "type": t, "indexed": i} for n, t, i in inputs]}
    return Web3().eth.contract(address=to_checksum_address(ADDRESS), abi=[event])


def raw_log(decoder: EventDecoder, inputs: list[tuple[str, str, bool]], values: list[Any]) -> dict[str, Any]:
    indexed = [(kind, value) for (_, kind, flag), value in zip(inputs, values, strict=True) if flag]
    data = [(kind, value) for (_, kind, flag), value in zip(inputs, values, strict=True) if not flag]
    return {
        "address": ADDRESS,
        "topics": [decoder.topic, *["0x" + encode([kind], [value]).hex() for kind, value in indexed]],
        "data": "0x" + encode([kind for kind, _ in data], [value for _, value in data]).hex(),
    }


addresses = st.binary(min_size=20, max_size=20).map(to_checksum_address)


@settings(max_examples=200, deadline=None)
@given(
    trader=addresses,
    order_id=st.integers(0, 2**256 - 1),
    delta_wh=st.integers(-(2**63), 2**63 - 1),
    settled=st.booleans(),
    digest=st.binary(min_size=32, max_size=32),
    tag=st.binary(min_size=4, max_size=4),
    side=st.integers(0, 255),
    counterparty=addresses,
    balance=st.integers(-(2**255), 2**255 - 1),
)
def test_static_arguments_read_word_by_word_as_eth_abi_decodes_them(**arguments: Any) -> None:
    decoder = EventDecoder(contract_with("Moved", STATIC), "Moved")
    values = list(arguments.values())
    decoded = decoder.decode(raw_log(decoder, STATIC, values))
    assert decoded == dict(zip([name for name, _, _ in STATIC], values, strict=True))
    # web3's formatted logs carry bytes instead of hex strings: the same arguments.
    log = raw_log(decoder, STATIC, values)
    formatted = {**log, "topics": [bytes.fromhex(t[2:]) for t in log["topics"]], "data": bytes.fromhex(log["data"][2:])}
    assert decoder.decode(formatted) == decoded


def test_an_event_with_a_dynamic_argument_is_decoded_too() -> None:
    inputs = [("owner", "address", True), ("note", "string", False), ("amountWh", "uint256", False)]
    decoder = EventDecoder(contract_with("Noted", inputs), "Noted")
    log = raw_log(decoder, inputs, [ADDRESS, "a long note " * 5, 1_500])
    assert decoder.decode(log) == {"owner": to_checksum_address(ADDRESS), "note": "a long note " * 5, "amountWh": 1_500}
    assert decoder.matches(log) and log["topics"][1] == address_topic(ADDRESS)
