"""The RevertData library through RevertDataHarness: a failed call's revert data is passed on byte
for byte, whatever it holds (nothing, a bare selector, a custom error, a reason string, data longer
than a word), directly and through a relaying call."""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector

ERROR_STRING = function_signature_to_4byte_selector("Error(string)")
CUSTOM_ERROR = function_signature_to_4byte_selector("OrderUnknown(uint256)")

REVERT_DATA = [
    b"",
    CUSTOM_ERROR,
    CUSTOM_ERROR + encode(["uint256"], [7]),
    ERROR_STRING + encode(["string"], ["the token refused the transfer"]),
    bytes(range(256)) * 3,  # longer than a word and not a multiple of 32 bytes once the selector is cut
    b"\x01\x02\x03",
]


@pytest.fixture(scope="module")
def harness(project, admin):
    return admin.deploy(project.RevertDataHarness)


def revert_data_of(chain: Any, to: str, calldata: bytes) -> bytes:
    """The raw data an eth_call to `to` reverts with; fails the test if the call succeeds."""
    response = chain.provider.web3.provider.make_request(
        "eth_call", [{"to": to, "data": "0x" + calldata.hex()}, "latest"]
    )
    assert "error" in response, f"the call succeeded: {response}"
    data = response["error"].get("data") or "0x"
    return bytes.fromhex(data[2:])


@pytest.mark.parametrize("revert_data", REVERT_DATA, ids=lambda data: f"{len(data)}-bytes")
def test_bubble_reverts_with_exactly_the_data_given(harness, chain, revert_data):
    calldata = bytes(harness.revertWith.encode_input(revert_data))
    assert revert_data_of(chain, harness.address, calldata) == revert_data


@pytest.mark.parametrize("revert_data", REVERT_DATA, ids=lambda data: f"{len(data)}-bytes")
def test_a_relayed_failure_reaches_the_caller_unchanged(harness, chain, revert_data):
    inner = bytes(harness.revertWith.encode_input(revert_data))
    outer = bytes(harness.relay.encode_input(harness.address, inner))
    assert revert_data_of(chain, harness.address, outer) == revert_data


def test_a_successful_call_is_relayed_as_it_returned(harness, stablecoin):
    returned = harness.relay.call(stablecoin.address, bytes(stablecoin.decimals.encode_input()))
    assert int.from_bytes(bytes(returned), "big") == stablecoin.decimals()
