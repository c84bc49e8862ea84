"""The CalldataArrays library through CalldataArraysHarness: every element of an array of addresses,
of uint256 or of int256 reads back as sent, arrays side by side each from its own place, and an address
element with any of its upper 96 bits set is refused, as Solidity's own read refuses it."""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_utils import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

HYPOTHESIS = settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def calldata_arrays(project, admin):
    return admin.deploy(project.CalldataArraysHarness)


@HYPOTHESIS
@given(values=st.lists(st.integers(0, 2**160 - 1), max_size=20))
def test_addresses_read_back(calldata_arrays, values):
    addresses = ["0x" + v.to_bytes(20, "big").hex() for v in values]
    assert [a.lower() for a in calldata_arrays.addresses(addresses)] == addresses


@HYPOTHESIS
@given(values=st.lists(st.integers(0, 2**256 - 1), max_size=20))
def test_uints_read_back(calldata_arrays, values):
    assert list(calldata_arrays.uints(values)) == values


@HYPOTHESIS
@given(first=st.lists(st.integers(-(2**255), 2**255 - 1), max_size=20), second=st.lists(st.integers(-(2**255), 2**255 - 1), max_size=20))
def test_ints_side_by_side_read_back(calldata_arrays, first, second):
    got_first, got_second = calldata_arrays.ints(first, second)
    assert (list(got_first), list(got_second)) == (first, second)


def test_an_address_with_upper_bits_set_is_refused(calldata_arrays, chain):
    selector = keccak(text="addresses(address[])")[:4]
    clean = selector + encode(["uint256[]"], [[1, 2]])
    dirty = selector + encode(["uint256[]"], [[1, 2**160 + 2]])
    web3 = chain.provider.web3
    assert web3.eth.call({"to": calldata_arrays.address, "data": clean})
    with pytest.raises(Exception) as refused:
        web3.eth.call({"to": calldata_arrays.address, "data": dirty})
    # An empty revert, as Solidity's own read of a dirty address gives.
    assert "execution reverted" in str(refused.value).lower()
