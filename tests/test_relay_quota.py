"""The relay quotas (energy_grid/api/quota.py) on a clock the tests step: a sliding window per key,
takes that pass every quota or none, the wait a refusal names, memory that empties with the windows,
and one count under concurrent takes."""

from __future__ import annotations

import threading

import pytest

from energy_grid.api.quota import Limit, QuotaExceeded, Quotas

from support.service_helpers import SteppedClock

WINDOW_S = 3_600


def test_a_key_gets_its_limit_per_sliding_window_and_is_told_when_room_comes_back():
    clock = SteppedClock()
    quotas = Quotas({"account": Limit(3, WINDOW_S)}, clock)
    quotas.take({"account": "alice"}, units=2)
    clock.now_s += 100
    quotas.take({"account": "alice"})
    clock.now_s += 50
    with pytest.raises(QuotaExceeded) as full:
        quotas.take({"account": "alice"})
    # The first two units leave the window 3,600 s after they were taken, 150 s ago.
    assert (full.value.quota, full.value.key, full.value.retry_after_s) == ("account", "alice", WINDOW_S - 150)
    quotas.take({"account": "bob"}, units=3)  # another key has a window of its own
    clock.now_s += WINDOW_S - 150 - 1
    with pytest.raises(QuotaExceeded) as still_full:
        quotas.take({"account": "alice"})
    assert still_full.value.retry_after_s == 1
    clock.now_s += 1
    quotas.take({"account": "alice"}, units=2)  # both early units have left; the one of t+100 is still in
    with pytest.raises(QuotaExceeded):
        quotas.take({"account": "alice"})


def test_a_take_that_one_quota_refuses_records_nothing_in_the_others():
    clock = SteppedClock()
    quotas = Quotas({"account": Limit(5, WINDOW_S), "client": Limit(2, WINDOW_S)}, clock)
    quotas.take({"account": "alice", "client": "192.0.2.1"}, units=2)
    for _ in range(3):
        with pytest.raises(QuotaExceeded) as full:
            quotas.take({"account": "alice", "client": "192.0.2.1"})
        assert full.value.quota == "client"
    # Alice's three refused takes left her account untouched: from another client she has 3 more.
    quotas.take({"account": "alice", "client": "192.0.2.2"}, units=2)
    quotas.take({"account": "alice", "client": "192.0.2.3"})
    with pytest.raises(QuotaExceeded) as full:
        quotas.take({"account": "alice", "client": "192.0.2.4"})
    assert full.value.quota == "account"


def test_the_refusal_names_the_quota_that_frees_up_last():
    clock = SteppedClock()
    quotas = Quotas({"account": Limit(1, 60), "client": Limit(1, WINDOW_S)}, clock)
    quotas.take({"account": "alice", "client": "192.0.2.1"})
    clock.now_s += 10
    with pytest.raises(QuotaExceeded) as full:
        quotas.take({"account": "alice", "client": "192.0.2.1"})
    assert (full.value.quota, full.value.retry_after_s) == ("client", WINDOW_S - 10)
    with pytest.raises(QuotaExceeded) as too_many:
        quotas.take({"account": "bob", "client": "192.0.2.9"}, units=2)  # more than the limit never fits
    assert too_many.value.retry_after_s == WINDOW_S


def test_keys_whose_window_emptied_are_dropped():
    clock = SteppedClock()
    quotas = Quotas({"account": Limit(2, WINDOW_S)}, clock)
    for n in range(1_000):
        quotas.take({"account": f"0x{n:040x}"})
    assert quotas.tracked_keys() == 1_000
    clock.now_s += WINDOW_S / 2
    quotas.take({"account": "late"})
    assert quotas.tracked_keys() == 1_001  # nothing has left its window yet
    clock.now_s += WINDOW_S / 2
    quotas.take({"account": "later"})
    assert quotas.tracked_keys() == 2  # the thousand early keys are gone, "late" is still in its window
    with pytest.raises(QuotaExceeded):
        quotas.take({"account": "x"}, units=3)
    assert quotas.tracked_keys() == 2  # a refused take adds no key


def test_concurrent_takes_of_one_key_never_pass_its_limit():
    quotas = Quotas({"client": Limit(50, WINDOW_S)}, SteppedClock())
    passed: list[int] = []
    start = threading.Barrier(8)

    def hammer() -> None:
        start.wait()
        for _ in range(100):
            try:
                quotas.take({"client": "198.51.100.1"})
            except QuotaExceeded:
                continue
            passed.append(1)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(passed) == 50
