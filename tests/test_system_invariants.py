"""Stateful invariants over the whole deployed system (issue 9, item 5).

A hypothesis RuleBasedStateMachine (tests/system_machine.py) drives meters, the order book,
settlement, the auction, demand response, carbon credits, asset revenue, pauses and parameter
changes, and after every step checks: every token's total supply equals the balances of every
account that ever held it; EnergyTrading's escrow equals open orders' remainders plus pending
transactions plus accrued fees, to the unit; no order is over-filled; the auction's escrow equals
its unclaimed orders' value plus fees; demand-response rewards paid stay within budgets; carbon
credits issued equal the credited clean Wh × factor (rounded down); asset revenue claimed stays
within revenue deposited.

`make test` runs a bounded, derandomized machine (at least MIN_ACTIONS actions); `make fuzz`
runs `test_fuzz_system` with FUZZ_ACTIONS actions (default 50,000) from a random seed, or from
FUZZ_SEED to reproduce one.
"""

from __future__ import annotations

import os
import random

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.stateful import run_state_machine_as_test
from system_machine import SystemMachine, build_world, env_int, run_settings_summary

MIN_ACTIONS = 2_000
BOUNDED_EXAMPLES = 50
STEPS_PER_EXAMPLE = 50
FUZZ_DEFAULT_ACTIONS = 50_000
FUZZ_CHUNK_EXAMPLES = 100


@pytest.fixture(scope="module")
def fuzz_world(project, chain, accounts):
    """The deployed, seeded system every example restores (one deployment per module)."""
    return build_world(project, chain, accounts)


def machine_settings(examples: int, derandomize: bool) -> settings:
    return settings(
        max_examples=examples,
        stateful_step_count=STEPS_PER_EXAMPLE,
        derandomize=derandomize,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        # No replay of saved examples, no shrinking-free shortcuts: generate, then shrink on failure.
        phases=(Phase.generate,) if os.environ.get("FUZZ_NO_SHRINK") else (Phase.generate, Phase.target, Phase.shrink, Phase.explain),
    )


def machine_class(world):
    return type("BoundSystemMachine", (SystemMachine,), {"world": world})


def test_system_invariants_hold(fuzz_world):
    """Bounded and derandomized: the same steps every run."""
    run_state_machine_as_test(machine_class(fuzz_world), settings=machine_settings(BOUNDED_EXAMPLES, True))
    summary = run_settings_summary(fuzz_world)
    print(f"\nsystem invariants: {summary}")
    for key, count in sorted(fuzz_world.outcomes.items()):
        print(f"  {count:6d}  {key}")
    assert fuzz_world.actions >= MIN_ACTIONS, summary
    # A good share of steps do something (hypothesis repeats rules in runs, and a repeated claim or
    # withdrawal finds nothing left: those reverts are expected, with their custom errors).
    succeeded = sum(n for key, n in fuzz_world.outcomes.items() if key.endswith(":ok"))
    assert succeeded * 3 >= fuzz_world.actions, dict(fuzz_world.outcomes)
    # The main families of rules had successes; the others are listed when they had none.
    for family in ("trading.createOrder", "trading.fillOrder", "trading.settleTransaction", "auction.clear",
                   "auction.claim", "dr.startEvent", "dr.verifyReduction", "dr.claimReward", "shares.depositRevenue",
                   "carbon.issueCarbonCredits", "meter.submitReading", "param."):
        assert any(k.startswith(family) and k.endswith(":ok") for k in fuzz_world.outcomes), family
    idle = [f for f in ("trading.matchOrders",
                        "carbon.retire", "shares.claimRevenue")
            if not any(k.startswith(f) and k.endswith(":ok") for k in fuzz_world.outcomes)]
    print(f"rule families without a success in this run: {idle or 'none'}")


@pytest.mark.skipif(env_int("FUZZ_ACTIONS") is None, reason="make fuzz sets FUZZ_ACTIONS")
def test_fuzz_system(fuzz_world):
    """`make fuzz`: FUZZ_ACTIONS actions from FUZZ_SEED (random when unset), in chunks of examples."""
    target = env_int("FUZZ_ACTIONS", FUZZ_DEFAULT_ACTIONS)
    base_seed = env_int("FUZZ_SEED", random.SystemRandom().randrange(2**32))
    print(f"\nfuzz: {target} actions, FUZZ_SEED={base_seed}")
    chunk = 0
    while fuzz_world.actions < target:
        machine = hypothesis_seed(base_seed + chunk)(machine_class(fuzz_world))
        run_state_machine_as_test(machine, settings=machine_settings(FUZZ_CHUNK_EXAMPLES, False))
        chunk += 1
        print(f"fuzz: {run_settings_summary(fuzz_world)}", flush=True)
    print(f"fuzz done, FUZZ_SEED={base_seed}: {run_settings_summary(fuzz_world)}")
    for key, count in sorted(fuzz_world.outcomes.items()):
        print(f"  {count:7d}  {key}")
