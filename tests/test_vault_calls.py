"""The VaultCalls encoders through VaultCallsHarness, against a stand-in vault that keeps the calldata
it receives: each call's bytes are exactly the ABI encoding of the IEnergyVault function, a revert of
the vault comes through as it is, and paymentsFor's result survives later allocations."""

from __future__ import annotations

from typing import Any

import pytest
from ape import reverts
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector as selector

ACCOUNTS = ["0x" + f"{n:040x}" for n in (0x1111, 0x2222, 0xABCDEF, 0x3)]


@pytest.fixture(scope="module")
def recorder(project, admin):
    return admin.deploy(project.VaultCallRecorder)


@pytest.fixture(scope="module")
def harness(project, admin, recorder):
    return admin.deploy(project.VaultCallsHarness, recorder)


def last_call(recorder: Any) -> bytes:
    return bytes(recorder.lastCall())


@pytest.mark.parametrize("name", ["give", "take"])
def test_moves_encode_three_words(harness, recorder, admin, name):
    getattr(harness, name)(ACCOUNTS[2], 12_345, 2**200, sender=admin)
    expected = selector(f"{name}(address,uint256,uint256)") + encode(["address", "uint256", "uint256"], [ACCOUNTS[2], 12_345, 2**200])
    assert last_call(recorder) == expected


@pytest.mark.parametrize("count", [0, 1, 4])
def test_settle_batch_copies_the_arrays_whole(harness, recorder, admin, count):
    owners = ACCOUNTS[:count]
    energy = [(-1) ** i * (i + 1) * 1_000 for i in range(count)]
    payment = [-(2**100) + i for i in range(count)]
    harness.settleBatch(owners, energy, payment, sender=admin)
    types = ["address[]", "int256[]", "int256[]"]
    assert last_call(recorder) == selector("settleBatch(address[],int256[],int256[])") + encode(types, [owners, energy, payment])


def test_settle_pair_is_a_batch_of_two(harness, recorder, admin):
    harness.settlePair(ACCOUNTS[0], 700, 9_000, ACCOUNTS[1], 42, sender=admin)
    types = ["address[]", "int256[]", "int256[]"]
    expected = encode(types, [[ACCOUNTS[0], ACCOUNTS[1]], [700, 0], [9_000, 42]])
    assert last_call(recorder) == selector("settleBatch(address[],int256[],int256[])") + expected


def test_payments_for_reads_the_vaults_answer(harness):
    free, approved = harness.paymentsFor(ACCOUNTS)
    assert list(free) == [int(a, 16) for a in ACCOUNTS]
    assert list(approved) == [int(a, 16) % 2 == 1 for a in ACCOUNTS]
    assert list(harness.paymentsFor([])[0]) == []


def test_a_revert_of_the_vault_comes_through(harness, recorder, admin):
    recorder.fail(7, sender=admin)
    try:
        with reverts(recorder.Refused, code=7):
            harness.give(ACCOUNTS[0], 1, 1, sender=admin)
        with reverts(recorder.Refused, code=7):
            harness.settlePair(ACCOUNTS[0], 1, 1, ACCOUNTS[1], 1, sender=admin)
        with reverts(recorder.Refused, code=7):
            harness.paymentsFor(ACCOUNTS)
    finally:
        recorder.fail(0, sender=admin)
