"""The system machine's model of the auction's escrow in the state between clearing and claims: a
bid's payment becomes the ask's proceeds (and the fee) at clearing, so until the claims the auction's
vault balance holds the bid's refund, the ask's proceeds and the fees, and nothing twice.

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
    is owed its refund of 50 and the 1 Wh, the ask its proceeds of 100; the auction's vault balance
    holds 150, not 250. The escrow was pulled from the traders' wallets into the vault, whose tokens
    are its reserves; the claims credit the traders' vault balances and move no token."""
    machine = type("BoundSystemMachine", (SystemMachine,), {"world": fuzz_world})()
    machine.auction_submit(who=0, is_bid=True, ahead=2, amount=1, level=-28, off_grid=1, join=0)  # tick 100
    machine.auction_submit(who=1, is_bid=False, ahead=2, amount=1, level=128, off_grid=1, join=1)  # tick 0, same period
    assert len(machine.auction_orders) == 2 and len({o.period for o in machine.auction_orders.values()}) == 1
    machine.auction_clear(ahead=0)
    assert machine.books["auction"].cleared
    c, node = fuzz_world.c, fuzz_world.node
    bid, ask = sorted(machine.auction_orders, key=lambda i: not machine.auction_orders[i].is_bid)
    buyer, seller = machine.auction_orders[bid].trader, machine.auction_orders[ask].trader
    assert node.call(c["vault"], "balancesOf", c["auction"].address) == (1, 150)
    assert node.call(c["payment"], "balanceOf", c["auction"].address) == 0  # the auction holds no token
    reserves = node.call(c["vault"], "reserves")
    assert (node.call(c["energy"], "balanceOf", c["vault"].address), node.call(c["payment"], "balanceOf", c["vault"].address)) == reserves
    before = {t: node.call(c["vault"], "balancesOf", t) for t in (buyer, seller)}
    machine.system_invariants()
    for pick in (0, 0):
        machine.auction_claim(pick=pick)
        machine.system_invariants()
    assert all(o.claimed for o in machine.auction_orders.values())
    assert node.call(c["vault"], "balancesOf", c["auction"].address) == (0, 0)
    assert node.call(c["vault"], "balancesOf", buyer) == (before[buyer][0] + 1, before[buyer][1] + 50)
    assert node.call(c["vault"], "balancesOf", seller) == (before[seller][0], before[seller][1] + 100)
    assert node.call(c["vault"], "reserves") == reserves
    machine.teardown()
