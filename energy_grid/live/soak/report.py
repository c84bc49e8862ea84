"""The soak's goals and its report: benchmarks/soak.json (every figure) and benchmarks/soak.md (the
goals, each with its measurement and verdict).

A goal holds or does not; a run that stopped early holds none of its goals. The report also puts
the live day's gas per household-interval beside the simulation's (benchmarks/gas.json, from
`make bench`) and the wall time from a meter's publish to its accepted answer.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from energy_grid.live.soak.chain_facts import ChainFacts
from energy_grid.live.soak.monitor import latency_summary
from energy_grid.live.soak.run import RunOutcome
from energy_grid.services.gateway.messages import MessageCode
from energy_grid.simulation.ledger import SimulationResult

SIMULATION_GAS_OPERATION = "simulation: 100 households x 96 intervals, gas per household-interval, simulated day only"
ON_TIME_SHARE_AT_SCALE = 0.99
SCALE_HOUSEHOLDS = 1_000


@dataclass(frozen=True)
class Goal:
    run: str
    goal: str
    measured: str
    holds: bool


def goals_of(outcome: RunOutcome) -> list[Goal]:
    """The goals a run is held to, by what it was: faults, bad input, a thousand households, or none."""
    spec, facts, audit = outcome.spec, outcome.facts, outcome.audit
    name = spec.name
    if outcome.error is not None or facts is None:
        return [Goal(name, "the run completes", outcome.error or "no chain facts", False)]
    goals: list[Goal] = []
    held = f" ({facts.without_event} in the state, their event lost with a block at a restart)" if facts.without_event else ""
    on_chain = f"{facts.readings:,} of {facts.expected_readings:,} readings on chain{held}"
    complete = f"{on_chain}, {facts.missing} missing, {facts.duplicated} twice"
    goals.append(Goal(name, "0 readings lost, 0 duplicated", complete, facts.missing == 0 and facts.duplicated == 0))
    on_time = f"{facts.readings_on_time:,} of {facts.expected_readings:,} ({facts.on_time_share:.2%})"
    if spec.households >= SCALE_HOUSEHOLDS:
        goal = f"≥ {ON_TIME_SHARE_AT_SCALE:.0%} of readings on chain before their market closes"
        goals.append(Goal(name, goal, on_time, facts.on_time_share >= ON_TIME_SHARE_AT_SCALE))
    elif not spec.faults:
        all_on_time = facts.readings_on_time == facts.expected_readings
        goals.append(Goal(name, "100 % of readings on chain before their market closes", on_time, all_on_time))
    else:
        late = sum(facts.late_by_interval.values())
        closed = facts.skipped_by_reason.get("MARKET_CLOSED", 0)
        goals.append(
            Goal(
                name,
                "late readings counted, their standing orders skipped with a reason",
                f"{late} late; {closed} standing orders skipped (MARKET_CLOSED)",
                True,
            )
        )
        killed = [
            f"{f['program']}{' ' + f['detail'] if f.get('detail') else ''} at {f['at_s']:.0f} s (back in {f['back_running_after_s']} s)"
            for f in outcome.faults
        ]
        back = all(f["back_running_after_s"] is not None for f in outcome.faults)
        goals.append(
            Goal(
                name,
                f"kill -9 or chain event: {', '.join(spec.faults)}, {spec.fault_rounds}× each, each recovered",
                "; ".join(killed) or "none",
                back and len(outcome.faults) == len(spec.faults) * spec.fault_rounds,
            )
        )
    # A market without an order has nothing to clear; that is right only when every reading of its
    # interval came late (its standing orders skipped as MARKET_CLOSED).
    cleared, ordered, unordered = facts.markets_cleared, facts.markets_with_orders, facts.intervals_without_orders
    all_late = all(facts.late_by_interval[i] == facts.meters for i in unordered)
    without = f"; intervals {unordered} without an order, {'every' if all_late else 'not every'} reading late" if unordered else ""
    goals.append(
        Goal(
            name,
            "every interval's market cleared (one without orders: all its readings late)",
            f"{cleared} of {ordered}{without}",
            cleared == ordered and all_late,
        )
    )
    goals.append(
        Goal(
            name,
            "every standing order settled; the audit balances to the unit",
            _balanced(audit) if audit else f"not balanced: {outcome.audit_error}",
            audit is not None,
        )
    )
    failed = f"{facts.gateway_failed} of {facts.gateway_transactions}"
    if facts.gateway_failed_paused:
        failed += f", {facts.gateway_failed_paused} of them mined after a guardian's pause of SmartMeter"
    goal = "no gateway transaction failed, but after a guardian's pause"
    goals.append(Goal(name, goal, failed, facts.gateway_failed == facts.gateway_failed_paused))
    if outcome.answers is not None:
        answers = outcome.answers
        measured = (
            f"{answers.checked:,} answers checked against the chain ({answers.accepted_checked:,} accepted, "
            f"{answers.rejected_checked:,} rejected; {answers.unchecked:,} to readings the monitor did not see), "
            f"{len(answers.false_answers)} false" + (f": {answers.false_answers[0]}" if answers.false_answers else "")
        )
        goals.append(Goal(name, "every answer to a meter true", measured, not answers.false_answers and answers.checked > 0))
    goals += _bad_input_goals(outcome, facts)
    return goals


def _bad_input_goals(outcome: RunOutcome, facts: ChainFacts) -> list[Goal]:
    """The goals of a run with bad messages: each earns its reason, no good reading is held up, and
    under faults the gateway never restarts for them and the meters' own readings are refused only
    for what the chain's events did."""
    spec, name = outcome.spec, outcome.spec.name
    goals: list[Goal] = []
    if spec.bad_messages and spec.faults and outcome.observed is not None:
        # A meter's own reading is refused only for a reason the chain's events give it (its deadline
        # passed while the chain was paused or the gateway down); the meter signs it again and it lands.
        _, own = outcome.observed.rejections_split(outcome.bad_digests)
        refused = ", ".join(f"{n} {reason}" for reason, n in sorted(own.items())) or "none"
        goals.append(
            Goal(
                name,
                "the meters' own readings refused only as expired, each signed again and on chain",
                f"refused: {refused}; {facts.missing} readings missing",
                set(own) <= {MessageCode.EXPIRED} and facts.missing == 0,
            )
        )
    if spec.bad_messages and spec.faults:
        kills = sum(1 for f in outcome.faults if f["program"] == "gateway")
        restarts = outcome.gateway.restarts
        goals.append(
            Goal(
                name,
                "the gateway never restarts because of input",
                f"{restarts} restart(s), {kills} of them its kill -9",
                restarts == kills,
            )
        )
    if spec.bad_messages and outcome.observed is not None:
        seen, _ = outcome.observed.rejections_split(outcome.bad_digests)
        expected = outcome.bad_expected_reasons
        sent = sum(outcome.bad_sent.values())
        # Under faults the monitor misses the readings published while the broker is down, and a bad
        # message is made from a reading it saw: fewer are sent, and each must still earn its reason.
        all_sent = sent == spec.bad_messages or (bool(spec.faults) and sent > 0)
        goals.append(
            Goal(
                name,
                f"{spec.bad_messages:,} bad messages planned, each one sent rejected with its reason",
                f"{sent:,} sent; rejected {dict(sorted(seen.items()))} for {dict(sorted(expected.items()))} expected",
                all_sent and dict(seen) == dict(expected),
            )
        )
        latencies = outcome.observed.latencies_s()
        worst = max(latencies, default=float("inf"))
        goals.append(
            Goal(
                name,
                "no good reading held up: each accepted within one interval of its publish",
                f"slowest {worst:.1f} s of {spec.interval_wall_s:g} s",
                worst <= spec.interval_wall_s,
            )
        )
    return goals


def _balanced(audit: SimulationResult) -> str:
    early = int(audit.figures.get("load_reports_before_every_meter_read", 0))
    if early == 0:
        return "balanced"
    return f"balanced; {early} load report(s) made before every meter's reading was on chain (counted, not checked)"


def run_json(outcome: RunOutcome, simulation_gas: int | None) -> dict[str, Any]:
    spec, audit = outcome.spec, outcome.audit
    figures: dict[str, Any] = {
        "spec": asdict(spec),
        "setupS": outcome.setup_s,
        "publishingS": outcome.publishing_s,
        "restS": outcome.rest_s,
        "error": outcome.error,
        "chain": outcome.facts.as_json() if outcome.facts else None,
        "gateway": outcome.gateway.as_json(),
        "faults": outcome.faults,
        "auditError": outcome.audit_error,
    }
    if outcome.observed is not None:
        figures["publishToAccepted"] = latency_summary(outcome.observed.latencies_s())
        figures["acceptedAgain"] = outcome.observed.accepted_again
        bad, own = outcome.observed.rejections_split(outcome.bad_digests)
        figures["rejectedByReason"] = {"badMessages": dict(sorted(bad.items())), "ownReadings": dict(sorted(own.items()))}
    if spec.bad_messages:
        figures["badSent"] = dict(sorted(outcome.bad_sent.items()))
    if outcome.answers is not None:
        figures["answers"] = outcome.answers.as_json()
    if audit is not None:
        household_intervals = spec.households * spec.intervals
        day_gas = sum(audit.day_gas_by_actor.values())
        figures["gasPerHouseholdInterval"] = {
            "live": day_gas // household_intervals,
            "simulation": simulation_gas,
            "byActor": {actor: gas // household_intervals for actor, gas in audit.day_gas_by_actor.items()},
        }
        figures["audit"] = {k: v for k, v in audit.figures.items() if isinstance(v, (int, float))}
    figures["goals"] = [asdict(goal) for goal in goals_of(outcome)]
    return figures


def simulation_gas_per_household_interval(gas_json: Path) -> int | None:
    """The simulation's figure from the bench's report; None when there is none."""
    try:
        measurements = json.loads(gas_json.read_text())["measurements"]
    except (FileNotFoundError, ValueError, KeyError):
        return None
    return next((int(m["gas"]) for m in measurements if m.get("operation") == SIMULATION_GAS_OPERATION), None)


def write_report(outcomes: list[RunOutcome], json_path: Path, markdown_path: Path, gas_json: Path) -> bool:
    """Writes both files, keeping the runs of the last report that were not run again; whether every
    goal of this soak's runs holds."""
    simulation_gas = simulation_gas_per_household_interval(gas_json)
    runs = {outcome.spec.name: run_json(outcome, simulation_gas) for outcome in outcomes}
    try:
        kept = json.loads(json_path.read_text())["runs"]
    except (FileNotFoundError, ValueError, KeyError):
        kept = {}
    report = {name: runs.get(name, kept.get(name)) for name in [*kept, *runs] if name in runs or name in kept}
    json_path.write_text(json.dumps({"runs": report}, indent=2, default=str) + "\n")
    markdown_path.write_text(markdown(report))
    return all(goal["holds"] for run in runs.values() for goal in run["goals"])


def markdown(runs: dict[str, dict[str, Any]]) -> str:
    lines = [
        "# Soak: the live community under load and faults",
        "",
        "Written by `make soak` (energy_grid/live/soak/): each run starts the whole live community on a new",
        "chain (mosquitto, anvil mining by itself at a 30,000,000 gas limit, every service under",
        "supervisord), lets the virtual meters publish its intervals on the chain's clock, brings the",
        "community to rest and audits it. Figures in soak.json.",
        "",
        "| run | goal | measured | holds |",
        "|---|---|---|---|",
    ]
    for run in runs.values():
        for goal in run["goals"]:
            lines.append(f"| {goal['run']} | {goal['goal']} | {goal['measured']} | {'yes' if goal['holds'] else '**no**'} |")
    lines += [
        "",
        "| run | households × intervals | clock | set-up | publish → accepted (median / p99) "
        "| gas per household-interval (live / simulation) | gateway CPU (mean / max) | gateway memory (max) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, run in runs.items():
        spec = run["spec"]
        latency = run.get("publishToAccepted") or {}
        gas = run.get("gasPerHouseholdInterval") or {}
        gateway = run["gateway"]
        clock = f"{spec['speed']}×, a block every {spec.get('block_time_s', 1)} s"
        lines.append(
            f"| {name} | {spec['households']:,} × {spec['intervals']} | {clock} | {run['setupS']:.0f} s | "
            f"{_s(latency.get('medianS'))} / {_s(latency.get('p99S'))} | "
            f"{_n(gas.get('live'))} / {_n(gas.get('simulation'))} | "
            f"{gateway.get('cpuPercentMean', '–')} % / {gateway.get('cpuPercentMax', '–')} % | {gateway.get('rssMiBMax', '–')} MiB |"
        )
    lines += [
        "",
        "Gas per household-interval counts every actor's transactions from the day's first interval on,",
        "as the simulation's figure (`make bench`) does; soak.json splits it by actor. The live gateway",
        "sends the readings that arrived by each block, so an interval's readings may take more than",
        "one transaction. Publish → accepted is the wall time from the monitor seeing a meter's reading",
        "to seeing the gateway's accepted answer, which comes once the reading's block is mined.",
        "",
    ]
    return "\n".join(lines)


def _s(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f} s"


def _n(value: int | None) -> str:
    return "–" if value is None else f"{value:,}"


__all__ = ["Goal", "goals_of", "write_report"]
