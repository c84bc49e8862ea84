"""Stateful invariants over the whole deployed system.

A hypothesis RuleBasedStateMachine (tests/support/system_machine.py) drives meters, the order book,
settlement, the auction, the vault (deposits, withdrawals, market approvals), households' standing
orders (limits set, changed and removed; gateway readings that place and settle them; clearing
after the reading deadline; settlement batches), demand response, carbon credits, asset revenue,
pauses and parameter changes, and after every step checks: every token's total supply equals the
balances of every account that ever held it; the vault's balances add up to its reserve per token,
which is what it holds; EnergyTrading's escrow equals open orders' remainders plus pending
transactions plus accrued fees, to the unit; no order is over-filled; the auction's vault balance is
what came in less what claims, settlements and fee withdrawals paid out; each reading places what
the limits, caps and free balance allow and settles the meter's interval two before; a paid-out
market conserves energy (bought = sold = cleared) and money (payments - proceeds = fees accrued);
nothing is claimed, settled or cleared twice; a step whose calls all reverted moved nothing;
demand-response rewards paid stay within budgets, and a
meter's rewarded windows never overlap nor exceed the reduction it measured; carbon
credits issued equal the credited clean Wh × factor (rounded down); asset revenue claimed stays
within revenue deposited.

`make test` runs a bounded, derandomized machine (at least MIN_ACTIONS actions); `make fuzz` runs
`test_fuzz_system`: FUZZ_ACTIONS actions in all (default 50,000), split evenly over FUZZ_SEEDS random
seeds (default 4, each printed before it runs), or over the seeds FUZZ_SEED lists (comma-separated)
to replay them.
Every run ends with the coverage table (`system_machine.coverage_table`).
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.stateful import run_state_machine_as_test

from support.system_machine import PARAMETERS, SystemMachine, build_world, coverage_table, env_int, run_settings_summary

MIN_ACTIONS = 2_000
BOUNDED_EXAMPLES = 62
STEPS_PER_EXAMPLE = 50
FUZZ_DEFAULT_ACTIONS = 50_000
FUZZ_DEFAULT_SEEDS = 4
FUZZ_CHUNK_EXAMPLES = 20


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
    print(coverage_table(fuzz_world))
    assert fuzz_world.actions >= MIN_ACTIONS, summary
    # A good share of steps do something (hypothesis repeats rules in runs, and a repeated claim or
    # withdrawal finds nothing left: those reverts are expected, with their custom errors).
    succeeded = sum(n for key, n in fuzz_world.outcomes.items() if key.endswith(":ok"))
    assert succeeded * 3 >= fuzz_world.actions, dict(fuzz_world.outcomes)
    # Every stage of the main flows had a success (by one of its functions); the coverage table
    # above lists the rest.
    parameter_changes = tuple(f"{target}.{fn}" for target, fn in PARAMETERS.values())
    for stage in (("trading.createOrder",), ("trading.fillOrder",), ("trading.settleTransaction", "trading.settleTransactions"),
                  ("trading.voidTransaction",), ("auction.submitBid",), ("auction.submitAsk",), ("auction.clear",),
                  ("auction.claim",), ("dr.startEvent",), ("dr.joinEvent",), ("dr.verifyReduction",),
                  ("dr.claimReward", "dr.distributeRewards"), ("shares.depositRevenue",), ("shares.claimRevenue",),
                  ("carbon.issueCarbonCredits",), ("meter.submitReading", "meter.submitReadings"), parameter_changes,
                  ("vault.deposit",), ("vault.withdraw",), ("vault.setMarketApproval",), ("meter.setStandingOrder",),
                  ("meter.removeStandingOrder",), ("meter.settleStandingOrders",)):
        assert any(fuzz_world.outcomes[f"{name}:ok"] for name in stage), stage
    # The standing-order world: orders placed (a bid cut to the free balance among them), settled both
    # ways, markets with standing orders conserved, and the refusals the machine provokes.
    print(f"milestones: {dict(fuzz_world.milestones)}")
    for milestone in ("standing orders placed", "standing bid cut to the free balance", "standing orders settled by a reading",
                      "standing orders settled by a batch", "markets conserved with standing orders", "over-withdrawal refused",
                      "unapproved order refused", "early clearing refused"):
        assert fuzz_world.milestones[milestone], milestone


def test_coverage_table_marks_functions_without_success():
    world = SimpleNamespace(
        functions={"auction": ["claim", "clear", "submitBid"], "dr": ["joinEvent"]},
        outcomes=Counter({"auction.clear:ok": 3, "auction.clear:GateNotClosed": 2, "auction.claim:AlreadyClaimed": 4}),
    )
    table = coverage_table(world).splitlines()
    assert "   auction.clear       3 ok  2 GateNotClosed" in table
    assert "!! auction.claim       0 ok  4 AlreadyClaimed" in table
    assert table[-2:] == ["  auction: submitBid", "  dr: joinEvent"]
    assert "1 of 4 state-changing functions succeeded; 1 called without success; never called (2):" in table


def fuzz_seeds() -> list[int]:
    """The seeds FUZZ_SEED lists (comma-separated), else FUZZ_SEEDS random ones."""
    listed = os.environ.get("FUZZ_SEED", "")
    if listed.strip():
        return [int(seed) for seed in listed.split(",") if seed.strip()]
    rng = random.SystemRandom()
    return [rng.randrange(2**32) for _ in range(env_int("FUZZ_SEEDS", FUZZ_DEFAULT_SEEDS) or 1)]


@pytest.mark.skipif(env_int("FUZZ_ACTIONS") is None, reason="make fuzz sets FUZZ_ACTIONS")
def test_fuzz_system(fuzz_world):
    """`make fuzz`: FUZZ_ACTIONS actions split over the seeds; each seed runs chunks of examples
    (seed, seed + 1, ...) until its share is done, so a seed replays alone with the same share."""
    target = env_int("FUZZ_ACTIONS", FUZZ_DEFAULT_ACTIONS) or FUZZ_DEFAULT_ACTIONS
    seeds = fuzz_seeds()
    share = -(-target // len(seeds))
    print(f"\nfuzz: {target} actions, {share} per seed, FUZZ_SEED={','.join(map(str, seeds))}", flush=True)
    started = time.monotonic()
    try:
        for seed in seeds:
            seed_started, first_action = time.monotonic(), fuzz_world.actions
            chunk = 0
            while fuzz_world.actions - first_action < share:
                machine = hypothesis_seed(seed + chunk)(machine_class(fuzz_world))
                # Examples of up to STEPS_PER_EXAMPLE steps, about an action each: the last chunk is cut
                # to what is left of the share, but not below 10 examples (hypothesis tries the smallest,
                # step-less examples first: a chunk of one or two may add no action at all).
                left = share - (fuzz_world.actions - first_action)
                examples = min(FUZZ_CHUNK_EXAMPLES, max(10, -(-left // STEPS_PER_EXAMPLE)))
                try:
                    run_state_machine_as_test(machine, settings=machine_settings(examples, False))
                except BaseException:
                    print(f"\nfuzz: FAILED in seed {seed} after {fuzz_world.actions - first_action} of its actions;"
                          f" replay: FUZZ_SEED={seed} FUZZ_ACTIONS={share}", flush=True)
                    raise
                chunk += 1
                print(f"fuzz: seed {seed}: {run_settings_summary(fuzz_world)}", flush=True)
            done = fuzz_world.actions - first_action
            print(f"fuzz: seed {seed} done: {done} actions in {time.monotonic() - seed_started:.0f} s", flush=True)
    finally:
        print(f"fuzz: FUZZ_SEED={','.join(map(str, seeds))}: {run_settings_summary(fuzz_world)} in {time.monotonic() - started:.0f} s")
        print(coverage_table(fuzz_world))
