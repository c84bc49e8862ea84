"""The bulk sender's own signing (energy_grid.sender.DynamicFeeTransaction): byte for byte the
transaction eth-account signs from the same fields. The sender on a chain runs in every simulation
test (tests/test_simulation_run.py)."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_keys.datatypes import PrivateKey
from eth_utils import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from energy_grid.sender import DynamicFeeTransaction

UINT64 = st.integers(0, 2**64 - 1)
UINT256 = st.integers(0, 2**256 - 1)


@settings(max_examples=60, deadline=None)
@given(
    secret=st.integers(1, 2**128),
    chain_id=st.sampled_from([1, 31337, 11155111, 2**32 + 7]),
    nonce=UINT64,
    priority_fee=UINT256,
    max_fee=UINT256,
    gas=st.integers(21_000, 30_000_000),
    to=st.binary(min_size=20, max_size=20),
    data=st.binary(max_size=300),
)
def test_the_same_bytes_and_hash_as_eth_account(secret, chain_id, nonce, priority_fee, max_fee, gas, to, data):
    account, address = Account.from_key(secret.to_bytes(32, "big")), to_checksum_address(to)
    transaction = DynamicFeeTransaction(chain_id, nonce, priority_fee, max_fee, gas, address, "0x" + data.hex())
    raw, tx_hash = transaction.signed_with(PrivateKey(bytes(account.key)))
    expected = account.sign_transaction(
        {
            "type": 2,
            "chainId": chain_id,
            "nonce": nonce,
            "maxPriorityFeePerGas": priority_fee,
            "maxFeePerGas": max_fee,
            "gas": gas,
            "to": address,
            "value": 0,
            "data": "0x" + data.hex(),
        }
    )
    assert raw == bytes(expected.raw_transaction)
    assert tx_hash == bytes(expected.hash)
    assert Account.recover_transaction(raw) == account.address


def test_a_different_key_signs_a_different_transaction():
    transaction = DynamicFeeTransaction(31337, 0, 0, 10**9, 50_000, "0x" + "11" * 20, "0x")
    first, second = (transaction.signed_with(PrivateKey(bytes([k]) * 32)) for k in (1, 2))
    assert first[0] != second[0] and first[1] != second[1]
    with pytest.raises(ValueError):
        DynamicFeeTransaction(31337, 0, 0, 10**9, 50_000, "0xnot-hex", "0x").signed_with(PrivateKey(b"\x01" * 32))
