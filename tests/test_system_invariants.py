"""Stateful invariants over the whole deployed system.

A hypothesis RuleBasedStateMachine (tests/support/system_machine.py) drives meters, the order book,
settlement, the auction, the vault (deposits, withdrawals, market approvals), households' standing
orders (limits set, changed and removed; gateway readings that place and settle them; clearing
after the reading deadline; settlement batches), coupled markets' link limits (closed, far-future and
aliased periods refused) and their stepped clearings (runs left half done), reading deadlines changed,
the reading market migrated to a second auction without zones and back, demand response, carbon
credits, asset revenue, pauses and parameter changes, and after every step checks: every token's total supply equals the
balances of every account that ever held it; the vault's balances add up to its reserve per token,
which is what it holds; EnergyTrading's escrow equals open orders' remainders plus pending
transactions plus accrued fees, to the unit; no order is over-filled; the auction's vault balance is
what came in less what claims, settlements and fee withdrawals paid out; each reading places what
the limits, caps and free balance allow and settles the meter's interval two before; a paid-out
market conserves energy (bought = sold = cleared) and money (payments - proceeds = fees accrued), in
both auctions, and every market clears or pays out by the end of an example; a market cleared across
zones has net exports adding up to zero, and a finished run of steps is what its clear records;
nothing is claimed, settled or cleared twice; a step whose calls all reverted moved nothing;
demand-response rewards paid stay within budgets, and a
meter's rewarded windows never overlap nor exceed the reduction it measured; carbon
credits issued equal the credited clean Wh × factor (rounded down); asset revenue claimed stays
within revenue deposited.

The same machine runs on two worlds: the payment token a MockStablecoin, or the hook token
(ReentrantToken), whose own rules arm it with a value-moving call before a call that transfers it from
inside a vault call: every such reentry must be refused with ReentrancyGuardReentrantCall, and the
invariants hold after every step as in the other world.

`make test` walks, on each world, every stage and milestone its checks ask for once, in a fixed order
(`walk_every_stage`), then runs a bounded, derandomized machine there (at least MIN_ACTIONS actions, and
HOOK_MIN_ACTIONS with the hook token), whose steps do not depend on what else the session imported
(`without_the_projects_constants`); `make fuzz` runs `test_fuzz_system`: FUZZ_ACTIONS actions in all
(default 50,000), split evenly over FUZZ_SEEDS random seeds (default 4, each printed with its world
before it runs), or over the seeds FUZZ_SEED lists (comma-separated) to replay them. A seed's world
is its parity: odd seeds run with the hook token, and the random seeds alternate (the second, the
fourth, ... are odd), so any run of two seeds or more fuzzes both worlds.
Every run ends with the coverage table (`system_machine.coverage_table`) of each world it ran.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.internal.conjecture import providers as hypothesis_providers
from hypothesis.internal.constants_ast import Constants
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

from support.system_machine import (
    PARAMETERS,
    REENTRY_INNERS,
    HookTokenMachine,
    SystemMachine,
    SystemWorld,
    build_world,
    coverage_table,
    env_int,
    run_settings_summary,
    walk_every_stage,
)

MIN_ACTIONS = 1_400
# 36 examples: some 1,570 actions with the walk's hundred, about 20 s on an idle machine. The walk reaches
# every stage and milestone by construction; the bounded run adds random depth to each `make test`, and
# `make fuzz` (50,000 actions over random seeds) is where the depth is. 52 examples (some 2,400 actions)
# made this the suite's longest module by far on two loaded cores.
BOUNDED_EXAMPLES = 36
# The hook token's bounded run: fewer examples (the other world already walks every flow); what it adds is
# the reentries, refused in most of their kinds (the walk arms each kind once).
HOOK_BOUNDED_EXAMPLES = 9
HOOK_MIN_ACTIONS = 500
HOOK_MIN_REFUSED_KINDS = len(REENTRY_INNERS) // 2
STEPS_PER_EXAMPLE = 50
FUZZ_DEFAULT_ACTIONS = 50_000
FUZZ_DEFAULT_SEEDS = 4
FUZZ_CHUNK_EXAMPLES = 20


class Worlds:
    """The deployed, seeded worlds, one at a time: the chain holds one world, built from the chain as the
    module found it (its snapshot) when first asked for, so each world is the same whichever ran before."""

    def __init__(self, project: Any, chain: Any, accounts: Any) -> None:
        self.project, self.chain, self.accounts = project, chain, accounts
        self.rpc = chain.provider.web3.provider
        self.start = self.rpc.make_request("evm_snapshot", [])["result"]
        self.built: dict[bool, SystemWorld] = {}

    def get(self, hook_token: bool) -> SystemWorld:
        if hook_token not in self.built:
            if self.built:
                assert self.rpc.make_request("evm_revert", [self.start])["result"] is True
                self.start = self.rpc.make_request("evm_snapshot", [])["result"]
                self.built.clear()
            self.built[hook_token] = build_world(self.project, self.chain, self.accounts, hook_token)
        return self.built[hook_token]


@pytest.fixture(scope="module")
def worlds(project, chain, accounts):
    """Every example restores its world's snapshot (one deployment per world, built when first asked for)."""
    return Worlds(project, chain, accounts)


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
    return type("BoundSystemMachine", (HookTokenMachine if world.hook_token else SystemMachine,), {"world": world})


@contextmanager
def without_the_projects_constants() -> Iterator[None]:
    """Hypothesis's own interesting values only, none of the project's literals.

    Now and then (one draw in twenty) hypothesis draws an integer not from its random stream but from
    a pool: its own interesting values and every literal constant in the modules of the project that
    the session has imported so far (energy_grid/; test modules are left out), which one by its place
    in the pool. So the steps a derandomized run takes depended on which modules the session imported
    (the whole suite imports the API, the CLI, the simulation, the live stack, ...; this module alone
    a few of them) and on every number written in them: `make test` ran other steps than this module
    on its own. Without that pool, a seed is the same run whatever else ran or changed in the package."""
    assert callable(hypothesis_providers._get_local_constants), "hypothesis no longer pools local constants here"
    pooled = hypothesis_providers._get_local_constants
    hypothesis_providers._get_local_constants = Constants
    hypothesis_providers.CONSTANTS_CACHE.cache.clear()  # the pool's values allowed per kind of draw
    try:
        yield
    finally:
        hypothesis_providers._get_local_constants = pooled
        hypothesis_providers.CONSTANTS_CACHE.cache.clear()


def run_machine(machine: type[RuleBasedStateMachine], run_settings: settings) -> None:
    with without_the_projects_constants():
        run_state_machine_as_test(machine, settings=run_settings)


def test_system_invariants_hold(worlds):
    """Every stage walked once (`walk_every_stage`), then bounded and derandomized: the same steps every run."""
    fuzz_world = worlds.get(hook_token=False)
    walk_every_stage(machine_class(fuzz_world)())
    run_machine(machine_class(fuzz_world), machine_settings(BOUNDED_EXAMPLES, True))
    summary = run_settings_summary(fuzz_world)
    print(f"\nsystem invariants: {summary}")
    print(coverage_table(fuzz_world))
    print(f"milestones: {dict(fuzz_world.milestones)}")
    assert fuzz_world.actions >= MIN_ACTIONS, summary
    # A good share of steps do something (hypothesis repeats rules in runs, and a repeated claim or
    # withdrawal finds nothing left: those reverts are expected, with their custom errors).
    succeeded = sum(n for key, n in fuzz_world.outcomes.items() if key.endswith(":ok"))
    assert succeeded * 3 >= fuzz_world.actions, dict(fuzz_world.outcomes)
    # Every stage of the main flows had a success (by one of its functions), and every milestone below was
    # reached: the walk reaches each by construction; the coverage table above lists the rest.
    parameter_changes = tuple(f"{target}.{fn}" for target, fn in PARAMETERS.values())
    for stage in (("trading.createOrder",), ("trading.fillOrder",), ("trading.settleTransaction", "trading.settleTransactions"),
                  ("trading.voidTransaction",), ("auction.submitBid",), ("auction.submitAsk",), ("auction.clear",),
                  ("auction.claim",), ("dr.startEvent",), ("dr.joinEvent",), ("dr.verifyReduction", "dr.verifyReductions"),
                  ("dr.claimReward", "dr.distributeRewards"), ("shares.depositRevenue",), ("shares.claimRevenue",),
                  ("carbon.issueCarbonCredits",), ("carbon.issueCarbonCreditsBatch",),
                  ("meter.submitReading", "meter.submitReadings"), parameter_changes,
                  ("vault.deposit",), ("vault.withdraw",), ("vault.setMarketApproval",), ("meter.setStandingOrder",),
                  ("meter.removeStandingOrder",), ("meter.settleStandingOrders",), ("auction.submitBidIn", "auction.submitAskIn"),
                  ("zones.setLinkLimits",), ("zones.syncRating",), ("stepped.step",),
                  ("auction.setReadingDeadline", "auction2.setReadingDeadline"), ("meter.setVault",),
                  ("meter.syncMeterZone",), ("meter.settleStandingOrdersIn",)):
        assert any(fuzz_world.outcomes[f"{name}:ok"] for name in stage), stage
    # The standing-order world: orders placed (a bid cut to the free balance among them), settled both
    # ways, markets with standing orders conserved, and the refusals the machine provokes; coupled
    # markets cleared in steps and half-stepped ones in one transaction; link limits refused past the
    # lead time and for aliased periods; a deadline that would reopen a market refused; the reading
    # market migrated, zoned meters trading on the second auction's bus and its markets conserved.
    for milestone in ("standing orders placed", "standing bid cut to the free balance", "standing orders settled by a reading",
                      "standing orders settled by a batch", "markets conserved with standing orders", "over-withdrawal refused",
                      "unapproved order refused", "early clearing refused", "zones cleared",
                      "link limit after the gate refused", "link limit too far ahead refused",
                      "link limit of an aliased period refused", "views of periods past 2**48 - 1 refused",
                      "stepped results recorded", "runs left half done cleared in one transaction",
                      "a reading deadline that would reopen a market refused", "standing orders placed in the second auction",
                      "zoned meters' orders on the second auction's bus", "standing orders settled in a market named before",
                      "second auction's markets conserved with standing orders"):
        assert fuzz_world.milestones[milestone], milestone


def test_system_invariants_hold_with_a_hook_token(worlds):
    """Bounded and derandomized, the payment token a hook token: its reentries into value-moving calls from
    inside a vault transfer are refused (each such step then moved nothing), and every invariant holds."""
    world = worlds.get(hook_token=True)
    walk_every_stage(machine_class(world)())
    run_machine(machine_class(world), machine_settings(HOOK_BOUNDED_EXAMPLES, True))
    summary = run_settings_summary(world)
    print(f"\nsystem invariants with a hook token: {summary}")
    print(coverage_table(world))
    print(f"milestones: {dict(world.milestones)}")
    assert world.actions >= HOOK_MIN_ACTIONS, summary
    refused = {kind for kind in REENTRY_INNERS if world.milestones[f"reentry refused: {kind}"]}
    assert len(refused) >= HOOK_MIN_REFUSED_KINDS, sorted(refused)
    assert world.outcomes["payment.arm:ok"] >= 2 * world.milestones["reentries refused"] > 0
    for stage in (("trading.settleTransaction", "trading.settleTransactions"), ("auction.claim",), ("meter.submitReadings",),
                  ("vault.deposit",), ("vault.withdraw",)):
        assert any(world.outcomes[f"{name}:ok"] for name in stage), stage


def test_coverage_table_marks_functions_without_success():
    world = SimpleNamespace(
        functions={"auction": ["claim", "clear", "submitBid"], "dr": ["joinEvent"]},
        outcomes=Counter({"auction.clear:ok": 3, "auction.clear:GateNotClosed": 2, "auction.claim:AlreadyClaimed": 4}),
    )
    table = coverage_table(cast(SystemWorld, world)).splitlines()  # a stand-in with the two fields the table reads
    assert "   auction.clear       3 ok  2 GateNotClosed" in table
    assert "!! auction.claim       0 ok  4 AlreadyClaimed" in table
    assert table[-2:] == ["  auction: submitBid", "  dr: joinEvent"]
    assert "1 of 4 state-changing functions succeeded; 1 called without success; never called (2):" in table


def fuzz_seeds() -> list[int]:
    """The seeds FUZZ_SEED lists (comma-separated), else FUZZ_SEEDS random ones, every second one odd."""
    listed = os.environ.get("FUZZ_SEED", "")
    if listed.strip():
        return [int(seed) for seed in listed.split(",") if seed.strip()]
    rng = random.SystemRandom()
    return [rng.randrange(2**31) * 2 + i % 2 for i in range(env_int("FUZZ_SEEDS", FUZZ_DEFAULT_SEEDS) or 1)]


def uses_hook_token(seed: int) -> bool:
    """A seed's world: odd seeds run with the hook token as payment token."""
    return seed % 2 == 1


def world_name(hook_token: bool) -> str:
    return "hook token" if hook_token else "MockStablecoin"


def test_random_fuzz_seeds_alternate_between_the_worlds(monkeypatch):
    """Random seeds: the first, third, ... run with the MockStablecoin, the second, fourth, ... with the hook
    token; listed seeds keep their own world (their parity), so a replay runs where the seed ran."""
    monkeypatch.delenv("FUZZ_SEED", raising=False)
    monkeypatch.setenv("FUZZ_SEEDS", "5")
    assert [uses_hook_token(seed) for seed in fuzz_seeds()] == [False, True, False, True, False]
    monkeypatch.setenv("FUZZ_SEED", "7,10")
    assert [(seed, uses_hook_token(seed)) for seed in fuzz_seeds()] == [(7, True), (10, False)]


@pytest.mark.skipif(env_int("FUZZ_ACTIONS") is None, reason="make fuzz sets FUZZ_ACTIONS")
def test_fuzz_system(worlds):
    """`make fuzz`: FUZZ_ACTIONS actions split over the seeds; each seed runs chunks of examples
    (seed, seed + 1, ...) on its world until its share is done, so a seed replays alone with the same
    share. The MockStablecoin world's seeds run first, then the hook token's (each world is built once)."""
    target = env_int("FUZZ_ACTIONS", FUZZ_DEFAULT_ACTIONS) or FUZZ_DEFAULT_ACTIONS
    seeds = fuzz_seeds()
    share = -(-target // len(seeds))
    listed = ", ".join(f"{seed} ({world_name(uses_hook_token(seed))})" for seed in seeds)
    print(f"\nfuzz: {target} actions, {share} per seed, FUZZ_SEED={','.join(map(str, seeds))}: {listed}", flush=True)
    started = time.monotonic()
    ran: dict[bool, SystemWorld] = {}
    try:
        for seed in sorted(seeds, key=uses_hook_token):
            fuzz_world = ran[uses_hook_token(seed)] = worlds.get(uses_hook_token(seed))
            print(f"fuzz: seed {seed} ({world_name(uses_hook_token(seed))})", flush=True)
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
                    run_machine(machine, machine_settings(examples, False))
                except BaseException:
                    print(f"\nfuzz: FAILED in seed {seed} after {fuzz_world.actions - first_action} of its actions;"
                          f" replay: FUZZ_SEED={seed} FUZZ_ACTIONS={share}", flush=True)
                    raise
                chunk += 1
                print(f"fuzz: seed {seed}: {run_settings_summary(fuzz_world)}", flush=True)
            done = fuzz_world.actions - first_action
            print(f"fuzz: seed {seed} done: {done} actions in {time.monotonic() - seed_started:.0f} s", flush=True)
    finally:
        print(f"fuzz: FUZZ_SEED={','.join(map(str, seeds))} in {time.monotonic() - started:.0f} s")
        for hook_token, world in ran.items():
            print(f"fuzz: {world_name(hook_token)}: {run_settings_summary(world)}")
            print(coverage_table(world))
            if hook_token:
                print(f"fuzz: hook token milestones: {dict(world.milestones)}")
