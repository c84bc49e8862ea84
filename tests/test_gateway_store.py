"""The gateway's durable store: a reading accepted is on disk before the message is acknowledged
(a process killed with SIGKILL right after `accept` returns leaves it there), a redelivered message
changes nothing, and a reading moves from accepted to submitted to on chain, or back when its
transaction never made it into a block."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from dataclasses import replace

from eth_account import Account

from energy_grid.services.gateway.store import ReadingState, ReadingStore, StoredReading, StoredTransaction
from energy_grid.signing.readings import SignedReading, sign_reading

CHAIN_ID = 31337
SMART_METER = "0x" + "5e" * 20
DEVICE = Account.from_key("0x" + "11" * 32)
NOW = 1_800_000_000


def reading(nonce: int, minutes: int = 0) -> SignedReading:
    return sign_reading(DEVICE.key, CHAIN_ID, SMART_METER, nonce, NOW + 600, (NOW + 60 * minutes, 5_000 + nonce, 2_000, 50_000, 1_000))


def test_an_accepted_reading_survives_a_kill_9_right_after_accept_returns(tmp_path):
    path = tmp_path / "gateway.sqlite"
    child = textwrap.dedent(
        f"""
        import os, signal
        from eth_account import Account
        from energy_grid.services.gateway.store import ReadingStore
        from energy_grid.signing.readings import sign_reading
        store = ReadingStore(__import__("pathlib").Path({str(path)!r}))
        key = Account.from_key("0x" + "11" * 32).key
        signed = sign_reading(key, {CHAIN_ID}, {SMART_METER!r}, 3, {NOW + 600}, ({NOW}, 5003, 2000, 50000, 1000))
        assert store.accept(signed, {NOW})
        print("acknowledged", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == -9, done.stderr
    assert done.stdout.strip() == "acknowledged"
    store = ReadingStore(path)
    assert store.waiting() == [reading(3)]


def test_a_redelivered_message_changes_nothing(tmp_path):
    store = ReadingStore(tmp_path / "gateway.sqlite")
    assert store.accept(reading(0), NOW)
    assert not store.accept(reading(0), NOW + 5)
    assert store.waiting() == [reading(0)]


def transaction(tx_nonce: int, fee: int = 10, tag: str = "aa") -> StoredTransaction:
    return StoredTransaction(f"0x{tag}{tx_nonce:02x}{fee:04x}", tx_nonce, f"0x02{tag}", fee, 1, 5_000_000, 100 + tx_nonce)


def test_a_reading_moves_from_accepted_to_submitted_to_on_chain(tmp_path):
    store = ReadingStore(tmp_path / "gateway.sqlite")
    for nonce in range(3):
        store.accept(reading(nonce, nonce), NOW + nonce)
    assert store.waiting(limit=2) == [reading(0, 0), reading(1, 1)]
    store.submit([reading(0, 0), reading(1, 1)], transaction(7))
    assert store.waiting() == [reading(2, 2)]
    assert store.in_flight() == {7: [reading(0, 0), reading(1, 1)]}
    assert store.transactions(7) == [transaction(7)]
    assert store.highest_tx_nonce() == 7
    assert store.mark_on_chain(7, transaction(7).tx_hash, 12) == [reading(0, 0), reading(1, 1)]
    assert store.in_flight() == {}
    assert [(r.signed, r.state) for r in store.run_from(DEVICE.address, 2)] == [(reading(2, 2), ReadingState.ACCEPTED)]
    store.submit([reading(2, 2)], transaction(8))
    store.mark_on_chain(8, transaction(8).tx_hash, 13)
    stored = store.get(DEVICE.address, 2)
    assert stored is not None
    assert (stored.state, stored.tx_hash, stored.block_number) == (ReadingState.ON_CHAIN, transaction(8).tx_hash, 13)
    assert store.counts()[ReadingState.ON_CHAIN] == 3


def test_a_replacement_is_kept_beside_the_transaction_it_replaces(tmp_path):
    store = ReadingStore(tmp_path / "gateway.sqlite")
    store.accept(reading(0), NOW)
    store.submit([reading(0)], transaction(3, fee=10))
    store.replace(transaction(3, fee=12))
    assert [tx.max_fee_per_gas for tx in store.transactions(3)] == [10, 12]
    # The first one was mined after all: the readings are answered with its hash.
    assert store.mark_on_chain(3, transaction(3, fee=10).tx_hash, 40) == [reading(0)]


def test_a_transaction_that_reverted_or_lost_its_nonce_sends_its_readings_again(tmp_path):
    store = ReadingStore(tmp_path / "gateway.sqlite")
    store.accept(reading(0), NOW)
    store.submit([reading(0)], transaction(0))
    assert store.reopen(0) == [reading(0)]
    assert store.waiting() == [reading(0)]
    assert store.in_flight() == {}
    assert store.mark_on_chain(0, transaction(0).tx_hash, 12) == []
    assert store.run_from("0x" + "00" * 20, 0) == []


def test_a_refused_reading_leaves_the_queue_and_the_next_may_take_its_nonce(tmp_path):
    store = ReadingStore(tmp_path / "gateway.sqlite")
    store.accept(reading(0), NOW)
    store.refuse(DEVICE.address, 0, "meter deactivated")
    assert store.waiting() == []
    assert [r.state for r in store.run_from(DEVICE.address, 0)] == [ReadingState.REFUSED]
    assert store.counts()[ReadingState.REFUSED] == 1
    again = sign_reading(DEVICE.key, CHAIN_ID, SMART_METER, 0, NOW + 900, reading(0).reading)
    assert store.accept(again, NOW + 60)
    assert store.waiting() == [again]


def test_a_meters_readings_behind_a_refused_one_are_held_until_it_is_signed_again(tmp_path):
    """SmartMeter takes a meter's nonces in order: after the chain refused nonce 1, nonces 2 and 3 wait
    (held), and follow nonce 1 signed again in nonce order although they arrived before it."""
    store = ReadingStore(tmp_path / "gateway.sqlite")
    for nonce in range(4):
        store.accept(reading(nonce, nonce), NOW + nonce)
    store.submit([reading(0, 0)], transaction(0))
    store.refuse(DEVICE.address, 1, "its deadline passed")
    assert store.waiting() == []
    assert store.held() == [reading(2, 2), reading(3, 3)]
    assert [r.signed.nonce for r in store.run_from(DEVICE.address, 1)] == [1, 2, 3]
    again = sign_reading(DEVICE.key, CHAIN_ID, SMART_METER, 1, NOW + 1_800, reading(1, 1).reading)
    store.accept(again, NOW + 100)
    assert store.waiting() == [again, reading(2, 2), reading(3, 3)]
    assert store.held() == []


def test_a_refused_reading_whose_nonce_the_chain_filled_another_way_holds_back_nothing(tmp_path):
    store = ReadingStore(tmp_path / "gateway.sqlite")
    for nonce in range(3):
        store.accept(reading(nonce, nonce), NOW + nonce)
    store.refuse(DEVICE.address, 0, "its deadline passed")
    store.found_on_chain(DEVICE.address, 0, "0x" + "ab" * 32, 77)
    assert store.waiting() == [reading(1, 1), reading(2, 2)]
    assert store.get(DEVICE.address, 0) == StoredReading(reading(0), NOW, ReadingState.ON_CHAIN, "0x" + "ab" * 32, 77)
    store.refuse(DEVICE.address, 1, "its deadline passed")
    assert store.waiting() == []
    store.drop_refused_below([(DEVICE.address, 2)])  # the chain took another reading under nonce 1
    assert store.get(DEVICE.address, 1) is None
    assert store.waiting() == [reading(2, 2)]


def test_a_replacement_that_carries_some_of_its_nonces_readings_leaves_the_others_to_the_queue(tmp_path):
    store = ReadingStore(tmp_path / "gateway.sqlite")
    other = Account.from_key("0x" + "22" * 32)
    theirs = sign_reading(other.key, CHAIN_ID, SMART_METER, 0, NOW + 600, (NOW, 1, 0, 50_000, 1_000))
    store.accept_many([reading(0), theirs], NOW)
    store.submit([reading(0), theirs], transaction(4))
    replacement = replace(transaction(4, fee=20), carries=((other.address, 0),))
    store.replace(replacement)
    assert store.transactions(4)[-1] == replacement
    assert store.mark_on_chain(4, replacement.tx_hash, 50, replacement.carries) == [theirs]
    assert store.in_flight() == {4: [reading(0)]}
    assert store.reopen(4) == [reading(0)]
    assert store.waiting() == [reading(0)]


def test_only_a_waiting_reading_can_be_refused(tmp_path):
    store = ReadingStore(tmp_path / "gateway.sqlite")
    store.accept(reading(0), NOW)
    store.submit([reading(0)], transaction(0))
    store.refuse(DEVICE.address, 0, "too late: it was sent")
    assert store.in_flight() == {0: [reading(0)]}
    store.mark_on_chain(0, transaction(0).tx_hash, 12)
    store.refuse(DEVICE.address, 0, "too late: it is on chain")
    stored = store.get(DEVICE.address, 0)
    assert stored is not None
    assert stored.state == ReadingState.ON_CHAIN
    assert store.counts()[ReadingState.REFUSED] == 0


def test_readings_in_transactions_the_chain_lost_when_it_went_back_are_in_flight_again(tmp_path):
    store = ReadingStore(tmp_path / "gateway.sqlite")
    for nonce in range(4):
        store.accept(reading(nonce, nonce), NOW)
    for tx_nonce, readings in enumerate([[reading(0, 0)], [reading(1, 1), reading(2, 2)]]):
        store.submit(readings, transaction(tx_nonce))
        store.mark_on_chain(tx_nonce, transaction(tx_nonce).tx_hash, 50 + tx_nonce)
    store.submit([reading(3, 3)], transaction(2))
    # The chain went back to before the account's second transaction: its readings are in flight again, in it.
    assert store.unmine_from(1) == [reading(1, 1), reading(2, 2)]
    assert store.in_flight() == {1: [reading(1, 1), reading(2, 2)], 2: [reading(3, 3)]}
    assert store.get(DEVICE.address, 1) == StoredReading(reading(1, 1), NOW, ReadingState.SUBMITTED, None, None)
    stored = store.get(DEVICE.address, 0)
    assert stored is not None
    assert stored.state == ReadingState.ON_CHAIN
    assert store.unmine_from(1) == []
