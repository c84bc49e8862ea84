"""The gateway's durable store: a reading accepted is on disk before the message is acknowledged
(a process killed with SIGKILL right after `accept` returns leaves it there), a redelivered message
changes nothing, and a reading moves from accepted to submitted to on chain, or back when its
transaction never made it into a block."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from eth_account import Account

from energy_grid.services.gateway.store import ReadingState, ReadingStore
from energy_grid.signing.readings import sign_reading

CHAIN_ID = 31337
SMART_METER = "0x" + "5e" * 20
DEVICE = Account.from_key("0x" + "11" * 32)
NOW = 1_800_000_000


def reading(nonce: int, minutes: int = 0):
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


def test_a_reading_moves_from_accepted_to_submitted_to_on_chain(tmp_path):
    store = ReadingStore(tmp_path / "gateway.sqlite")
    for nonce in (0, 1, 2):
        store.accept(reading(nonce, nonce), NOW + nonce)
    assert store.waiting(limit=2) == [reading(0, 0), reading(1, 1)]
    store.mark_submitted([reading(0, 0), reading(1, 1)], "0xaa")
    assert store.waiting() == [reading(2, 2)]
    assert store.in_flight() == {"0xaa": [reading(0, 0), reading(1, 1)]}
    assert store.mark_on_chain("0xaa", 12) == [reading(0, 0), reading(1, 1)]
    assert store.in_flight() == {}
    latest = store.latest(DEVICE.address)
    assert latest is not None
    assert (latest.signed, latest.state) == (reading(2, 2), ReadingState.ACCEPTED)
    store.mark_submitted([reading(2, 2)], "0xbb")
    store.mark_on_chain("0xbb", 13)
    latest = store.latest(DEVICE.address)
    assert latest is not None
    assert (latest.state, latest.tx_hash, latest.block_number) == (ReadingState.ON_CHAIN, "0xbb", 13)


def test_a_transaction_that_never_made_a_block_sends_its_readings_again(tmp_path):
    store = ReadingStore(tmp_path / "gateway.sqlite")
    store.accept(reading(0), NOW)
    store.mark_submitted([reading(0)], "0xaa")
    store.reopen("0xaa")
    assert store.waiting() == [reading(0)]
    assert store.in_flight() == {}
    assert store.mark_on_chain("0xaa", 12) == []
    assert store.latest("0x" + "00" * 20) is None
