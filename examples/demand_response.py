"""Plain web3.py, no ape: a demand-response event from start to rewards, measured from meter data.

Two households get fresh meters; a gateway uploads five evenings of their usual consumption; the
grid operator starts an event for the next evening and pays its budget in; one household cuts its
load, the other does not. The meters decide: the first is paid reward-per-kW x its verified
reduction, the second gets nothing, and the operator gets the unspent budget back.

    make node && make deploy     # then:
    .venv/bin/python examples/demand_response.py

Local chains only: the event needs five earlier evenings on the meters, so the walk-through moves
the chain's clock six days on (anvil's evm_mine). The chain is shared (`make simulate`, the web app
and the other examples read its clock and its latest day), so the script runs on a snapshot of it
and goes back to the snapshot at the end (anvil's evm_snapshot and evm_revert): the chain, its
clock included, is as it found it, and the printed figures are all that is left of the run. Do not
run it while another program sends transactions to the same node: going back drops them too.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

from eth_account import Account

from energy_grid.chain.accounts import anvil_account
from energy_grid.cli.script_client import client_or_exit
from energy_grid.contracts.client import GridClient, GridError, MeterReading
from energy_grid.deploy.system import LOCAL_FAUCET_WHOLE_UNITS
from energy_grid.domain.demand_response import interval_readings
from energy_grid.domain.units import DAY_SECONDS, INTERVAL_SECONDS, day_of, interval_of

RPC_URL = os.environ.get("RPC_URL", "http://127.0.0.1:8545")
REGION = 1
EVENT_HOUR = 18  # UTC
DURATION_SECONDS = 3_600
TARGET_KW, REWARD_PER_KW = 5, 2_000_000  # 2.0 of the 6-decimal PaymentToken per kW reduced
USUAL_WH = (500, 450)  # per quarter hour on usual evenings: 2.0 kW and 1.8 kW
EVENT_WH = (125, 475)  # on the event evening: 0.5 kW (a cut) and 1.9 kW (no cut)
T = TypeVar("T")


def evening(
    registers: dict[str, int], meters: list[str], days: list[int], wh: tuple[int, ...]
) -> tuple[list[str], list[MeterReading]]:
    """A gateway batch: one reading per meter in each quarter hour of EVENT_HOUR on `days`, each
    register raised by that meter's `wh`; the load profile books it in that quarter hour."""
    intervals = [
        interval_of(day * DAY_SECONDS + EVENT_HOUR * 3600) + q for day in days for q in range(DURATION_SECONDS // INTERVAL_SECONDS)
    ]
    items = interval_readings(registers, meters, intervals, lambda meter, _interval: wh[meters.index(meter)])
    return [meter for meter, _ in items], [MeterReading(*reading) for _, reading in items]


def run(grid: GridClient) -> tuple[list[int], int]:
    """The walk-through; returns what each household was paid and the operator's refund."""
    operator = anvil_account(0)  # locally: SmartMeter operator and gateway, a demand-response grid operator
    # Fresh households each run (they send no transaction here: the operator and gateway do).
    households = [Account.create(), Account.create()]
    names = ["household A", "household B"]
    now = grid.w3.eth.get_block("latest")["timestamp"]
    event_day = day_of(now) + 6
    window_start = event_day * DAY_SECONDS + EVENT_HOUR * 3600

    meters = [Account.create().address for _ in households]
    registers = dict.fromkeys(meters, 0)
    for household, meter in zip(households, meters, strict=True):
        grid.smart_meter.register_meter(operator, meter, household.address, REGION)
        grid.demand_response.register_consumer(operator, household.address, meter)
    # Each meter's first reading sets its baseline; then five usual evenings, uploaded late.
    grid.mine_block_at(window_start - 120)
    first = MeterReading(now + 1, 0, 0)
    batch_meters, readings = evening(registers, meters, list(range(event_day - 5, event_day)), USUAL_WH)
    grid.smart_meter.submit_readings(operator, meters + batch_meters, [first, first, *readings])

    # The operator pays the event's budget in; locally from MockStablecoin's faucet.
    grid.transact(operator, grid["PaymentToken"].functions.addConsumerBalance(operator.address, LOCAL_FAUCET_WHOLE_UNITS))
    event_id = grid.start_event(operator, REGION, TARGET_KW, REWARD_PER_KW, DURATION_SECONDS)  # the operator's region
    event = grid.get_event(event_id)
    print(f"Event {event_id}: target {TARGET_KW} kW, {REWARD_PER_KW} per kW, window {event.startTime}-{event.endTime}")
    operator_before = grid.vault.balances(operator.address).payment
    # Rewards are paid into the households' EnergyVault balances, the refund into the operator's.
    paid_before = [grid.vault.balances(h.address).payment for h in households]

    grid.mine_block_at(event.endTime + 300)
    grid.smart_meter.submit_readings(operator, *evening(registers, meters, [event_day], EVENT_WH))
    for household, name in zip(households, names, strict=True):
        baseline_w, actual_w, first_interval, last_interval = grid.demand_response.preview_reduction(event_id, household.address)
        print(f"{name}: baseline {baseline_w} W, actual {actual_w} W over intervals {first_interval}-{last_interval}")
        try:
            grid.verify_reduction(operator, event_id, household.address)  # anyone may submit the meter's figures
            print(f"  verified: {grid.get_event(event_id).totalReductionAchieved} W reduced so far")
        except GridError as err:  # no reduction on the meter: nothing to verify, nothing paid
            print(f"  {err}")
    try:  # figures that disagree with the meter are refused
        grid.verify_reduction(operator, event_id, households[1].address, (2_000, 100, first_interval, last_interval))
    except GridError as err:
        print(f"As expected: {err}")

    grid.mine_block_at(grid.event_budget(event_id).verificationDeadline + 1)
    grid.demand_response.distribute_rewards(operator, event_id)
    budget = grid.event_budget(event_id)
    paid = [grid.vault.balances(h.address).payment - before for h, before in zip(households, paid_before, strict=True)]
    refund = grid.vault.balances(operator.address).payment - operator_before
    reduction_w = USUAL_WH[0] * 4 - EVENT_WH[0] * 4  # Wh in one hour = average W
    assert paid == [REWARD_PER_KW * reduction_w // 1000, 0], paid
    assert refund == budget.budget - paid[0] == budget.refunded
    for name, amount in zip(names, paid, strict=True):
        print(f"{name} was paid {amount} into its vault balance")
    print(f"The operator got {refund} of its {budget.budget} budget back in its vault balance; the event is completed.")
    return paid, refund


def main() -> None:
    grid = client_or_exit("deployments/31337.json", RPC_URL)
    on_a_snapshot(grid, run)


def on_a_snapshot(grid: GridClient, walk_through: Callable[[GridClient], T]) -> T:
    """`walk_through(grid)` on a snapshot of the chain, which it goes back to afterwards, failed or not."""
    snapshot = grid.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    try:
        return walk_through(grid)
    finally:
        grid.w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
        latest = grid.w3.eth.get_block("latest")
        print(f"The chain is back where the example found it: block {latest['number']}, its clock at {latest['timestamp']}.")


if __name__ == "__main__":
    main()
