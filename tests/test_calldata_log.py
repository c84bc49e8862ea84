"""The CalldataLog library through CalldataLogHarness: an event logged from the call's own arguments
is the event Solidity would encode, topic for topic and byte for byte, for batches of any size."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web3 import Web3


@pytest.fixture(scope="module")
def harness(project, admin):
    return admin.deploy(project.CalldataLogHarness)


def only_log(receipt):
    (log,) = receipt.logs
    return log["topics"], bytes(log["data"])


def test_an_empty_batch_logs_as_solidity_would(harness, admin):
    assert only_log(harness.logFromCalldata([], [], [], sender=admin)) == only_log(
        harness.logEncoded([], [], [], sender=admin)
    )


def test_the_logged_batch_decodes_to_the_arguments(harness, admin, accounts):
    members = [accounts[1].address, accounts[2].address]
    receipt = harness.logFromCalldata(members, [-5, 7], [3, 2**200], sender=admin)
    (event,) = receipt.decode_logs(harness.Batch)
    assert event.caller == admin.address
    assert list(event.accounts) == members
    assert list(event.energyDeltasWh) == [-5, 7]
    assert list(event.amounts) == [3, 2**200]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(st.integers(min_value=1, max_value=2**160 - 1), st.integers(-(2**255), 2**255 - 1), st.integers(0, 2**256 - 1)),
        max_size=12,
    )
)
def test_any_batch_logs_byte_for_byte_as_solidity_would(harness, admin, entries):
    accounts = [Web3.to_checksum_address(f"0x{a:040x}") for a, _, _ in entries]
    deltas = [d for _, d, _ in entries]
    amounts = [m for _, _, m in entries]
    from_calldata = only_log(harness.logFromCalldata(accounts, deltas, amounts, sender=admin))
    assert from_calldata == only_log(harness.logEncoded(accounts, deltas, amounts, sender=admin))
