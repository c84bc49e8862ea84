"""The system machine's model of the auction's escrow in the state between clearing and claims: a
bid's payment becomes the ask's proceeds (and the fee) at clearing, so until the claims the auction
holds the bid's refund, the ask's proceeds and the fees, and nothing twice.

An explicit sequence of the machine's rules (tests/support/system_machine.py), as hypothesis prints a failing
one: a fuzzing run reaches this state only when a crossing pair is cleared and a check runs before
either claim, so it is kept here to be reached every time.
"""

from __future__ import annotations

import pytest

from support.system_machine import SystemMachine, build_world


@pytest.fixture(scope="module")
def fuzz_world(project, chain, accounts):
    """A world of its own: a world's snapshot predates the test runner's per-test one (see SystemWorld.restore)."""
    return build_world(project, chain, accounts)


def test_cleared_crossing_auction_pair_before_claims(fuzz_world):
    """A 1 Wh bid at 150,000/kWh (tick 100) and a 1 Wh ask at 50,000 (tick 0) clear at 100,000: the bid
    is owed its refund of 50, the ask its proceeds of 100; the auction holds 150, not 250."""
    machine = type("BoundSystemMachine", (SystemMachine,), {"world": fuzz_world})()
    machine.auction_submit(who=0, is_bid=True, ahead=2, amount=1, level=-28, off_grid=1, join=0)  # tick 100
    machine.auction_submit(who=1, is_bid=False, ahead=2, amount=1, level=128, off_grid=1, join=1)  # tick 0, same period
    assert len(machine.auction_orders) == 2 and len({o.period for o in machine.auction_orders.values()}) == 1
    machine.auction_clear(ahead=0)
    assert machine.cleared_periods
    c = fuzz_world.c
    assert fuzz_world.node.call(c["payment"], "balanceOf", c["auction"].address) == 150
    machine.system_invariants()
    for pick in (0, 0):
        machine.auction_claim(pick=pick)
        machine.system_invariants()
    assert all(o.claimed for o in machine.auction_orders.values())
    machine.teardown()
