"""The grid and demand response: `grid status|load|emergency`, `dr start|verify|claim`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import click
from rich.table import Table

from energy_grid.cli.output import (
    Column,
    Formatter,
    emit,
    money_fmt,
    per_kw_fmt,
    power_formats,
    price_fmt,
    record_table,
    rows_table,
    time_fmt,
)
from energy_grid.cli.params import ADDRESS, DECIMAL, MegawattsParam, to_base_units
from energy_grid.cli.records import record
from energy_grid.cli.session import Session, pass_session
from energy_grid.contracts.client import GridError

MAX_EVENT_DURATION_S = 86_400


# GridManagement's figures are its registered producers' (capacity, reported output, storage): a
# community whose households are not registered there shows 0, which the table says in words.
GRID_TABLE_TITLE = "Grid (registered producers)"
NO_PRODUCERS_NOTE = (
    "No producer is registered with GridManagement, so its capacity and load are 0; "
    "a region's metered load is in `energy-grid grid status --region N` and the web app's operator view."
)


def grid_table(session: Session, status: dict[str, Any]) -> Table:
    """GridManagement's status as a table, prices in the payment token, with a note when no producer
    is registered."""
    decimals, symbol = session.token_info("PaymentToken")
    price = price_fmt(decimals, symbol)
    formats: dict[str, Formatter] = {**power_formats(status), "base_price_per_kwh": price, "dynamic_price_per_kwh": price}
    table = record_table(status, formats, title=GRID_TABLE_TITLE)
    if not status.get("active_producers"):
        table.caption = NO_PRODUCERS_NOTE
        table.caption_justify = "left"
    return table


@click.group()
def grid() -> None:
    """The grid's status and load; emergency mode."""


@grid.command("status")
@click.option("--region", "region_id", type=click.IntRange(0, 2**32 - 1), default=None, help="Also the region's latest load report.")
@pass_session
def grid_status(session: Session, region_id: int | None) -> None:
    """GridManagement's status (capacity, load, price, emergency) and what operators last reported."""
    management = session.client.grid_management
    status = record(management.grid_status())
    reported = record(management.reported_grid_status())
    load = _load_report(session, region_id) if region_id is not None else None
    tables = [
        grid_table(session, status),
        record_table(reported, {**power_formats(reported), "updated_at": time_fmt}, title="Reported by operators"),
    ]
    if load is not None:
        tables.append(record_table(load, {"reported_at": time_fmt}, title=f"Load of region {region_id}"))
    emit(session.json_output, {"grid": status, "reported": reported, "load": load}, *tables)


@grid.command("load")
@click.option("--region", "region_id", type=click.IntRange(0, 2**32 - 1), required=True, help="Your region.")
@click.option("--capacity-mw", "capacity_kw", type=MegawattsParam(minimum_kw=1), required=True,
              help="Capacity available, MW to three decimals (0.100 is 100 kW).")
@click.option("--demand-mw", "demand_kw", type=MegawattsParam(), required=True,
              help="Demand, MW to three decimals (0.090 is 90 kW).")
@pass_session
def grid_load(session: Session, region_id: int, capacity_kw: int, demand_kw: int) -> None:
    """Report a region's load (a verified grid operator of the region only); shows the status it gives.
    Power is given in MW to the grid's kW resolution, at most three decimals, and shown in kW."""
    session.client.grid_operations.report_load(session.signer, region_id, capacity_kw, demand_kw)
    load = _load_report(session, region_id)
    emit(session.json_output, load, record_table(load or {}, {"reported_at": time_fmt}, title=f"Load of region {region_id}"))


@grid.command("emergency")
@click.argument("action", type=click.Choice(["on", "off", "shutdown"]))
@click.option(
    "--region",
    "region_id",
    type=click.IntRange(0, 2**32 - 1),
    default=None,
    help="The region (on and off): your own; the admin may switch any off.",
)
@pass_session
def grid_emergency(session: Session, action: str, region_id: int | None) -> None:
    """A region's emergency mode on or off (a verified operator of the region; the price triples
    while any region's is on), or the guardian's emergency shutdown, which pauses trading,
    settlement and metering at once."""
    management = session.client.grid_management
    changed = False
    if action == "shutdown":
        management.emergency_shutdown(session.signer)
        changed = True
    else:
        if region_id is None:
            raise click.UsageError("emergency on|off needs --region.")
        wanted = action == "on"
        if management.is_region_in_emergency(region_id) != wanted:
            management.toggle_emergency_mode(session.signer, region_id, wanted)
            changed = True
    status = management.grid_status()
    result = {
        "region_id": region_id,
        "region_emergency_mode": None if region_id is None else management.is_region_in_emergency(region_id),
        "emergency_mode": status.emergency_mode,
        "paused": bool(management.paused()),
        "dynamic_price_per_kwh": status.dynamic_price_per_kwh,
        "changed": changed,
    }
    decimals, symbol = session.token_info("PaymentToken")
    emit(session.json_output, result, record_table(result, {"dynamic_price_per_kwh": price_fmt(decimals, symbol)}, title="Emergency"))


def _load_report(session: Session, region_id: int) -> dict[str, Any] | None:
    try:
        report = session.client.grid_operations.current_load(region_id)
    except GridError:
        return None  # LoadNotReported: the region has no report yet
    return {**record(report), "status": report.status.name}


# ------------------------------------------------------------------ demand response


@click.group()
def dr() -> None:
    """Demand-response events: start one, verify reductions from meters, claim rewards."""


@dr.command("start")
@click.option("--target-kw", type=click.IntRange(1, 2**64 - 1), required=True, help="Reduction sought, kW.")
@click.option("--reward-per-kw", type=DECIMAL, required=True, help="PaymentToken paid per kW reduced, e.g. 2.0.")
@click.option("--duration-minutes", type=click.IntRange(1, MAX_EVENT_DURATION_S // 60), required=True,
              help="Window length (rounded up to 15-minute intervals), at most a day.")
@click.option("--region", "region_id", type=click.IntRange(0, 2**32 - 1), default=None,
              help="Region whose meters take part; default your GridManagement region (the only one you may use).")
@pass_session
def dr_start(session: Session, target_kw: int, reward_per_kw: Decimal, duration_minutes: int, region_id: int | None) -> None:
    """Start an event in your region (a registered DR grid operator that GridManagement authorizes
    there); its budget, target × reward, is paid in now. The window starts at the next 15-minute
    boundary; only meters of the region take part, each interval rewarded once across all events."""
    reward = to_base_units(reward_per_kw, session.payment_decimals(), session.payment_symbol(), "--reward-per-kw")
    # Without --region, the contract's form without a region: the signer's own GridManagement region.
    event_id = session.client.start_event(session.signer, region_id, target_kw, reward, duration_minutes * 60)
    event = _event(session, event_id)
    emit(session.json_output, event, record_table(event, _event_formats(session), title=f"Event {event_id} started"))


@dr.command("verify")
@click.argument("event_id", type=click.IntRange(min=1))
@click.option("--consumer", "consumers", type=ADDRESS, multiple=True,
              help="Whose reduction (repeat); default the signing account. Anyone may verify anyone.")
@pass_session
def dr_verify(session: Session, event_id: int, consumers: tuple[str, ...]) -> None:
    """Verify consumers' reductions after the window, with exactly the figures their meters give."""
    client = session.client
    signer = session.signer
    rows = []
    for consumer in consumers or (signer.address,):
        receipt = client.verify_reduction(signer, event_id, consumer)
        args = client.demand_response.event(receipt, "ReductionVerified")
        rows.append({
            "consumer": consumer,
            "baseline_w": int(args["baselineUsageW"]),
            "actual_w": int(args["actualUsageW"]),
            "reduction_w": int(args["reductionW"]),
            "reward": int(args["rewardAmount"]),
        })
    decimals, symbol = session.token_info("PaymentToken")
    columns = [
        Column("consumer", "consumer", justify="left"),
        Column("baseline_w", "baseline"),
        Column("actual_w", "actual"),
        Column("reduction_w", "reduction"),
        Column("reward", "reward", money_fmt(decimals, symbol)),
    ]
    emit(session.json_output, {"event_id": event_id, "verified": rows}, rows_table(rows, columns, title=f"Event {event_id} verified"))


@dr.command("claim")
@click.argument("event_id", type=click.IntRange(min=1))
@click.option("--distribute", is_flag=True,
              help="Pay a batch of every verified participant instead (anyone may; completes the event after verification).")
@pass_session
def dr_claim(session: Session, event_id: int, distribute: bool) -> None:
    """Claim your verified reward, or distribute rewards to all verified participants in a batch.
    Rewards are credited to the participants' EnergyVault balances (where the markets spend them;
    `vault withdraw` takes them to a wallet)."""
    client = session.client
    pay = client.demand_response.distribute_rewards if distribute else client.claim_reward
    receipt = pay(session.signer, event_id)
    rows = [
        {"consumer": paid["consumer"], "amount": int(paid["amount"]), "vault_balance": client.vault.balances(paid["consumer"]).payment}
        for paid in client.demand_response.events(receipt, "RewardPaid")
    ]
    money = money_fmt(*session.token_info("PaymentToken"))
    columns = [
        Column("consumer", "consumer", justify="left"),
        Column("amount", "credited", money),
        Column("vault_balance", "vault balance", money),
    ]
    event = _event(session, event_id)
    emit(
        session.json_output,
        {"event_id": event_id, "paid": rows, "event": event},
        rows_table(rows, columns, title=f"Event {event_id} rewards credited in the vault"),
        record_table(event, _event_formats(session), title=f"Event {event_id}"),
    )


def _event(session: Session, event_id: int) -> dict[str, Any]:
    demand_response = session.client.demand_response
    event = demand_response.get_event(event_id)
    budget = {f"budget_{k}" if k != "budget" else k: v for k, v in record(demand_response.event_budget(event_id)).items()}
    return {**record(event), "status": event.status.name, **budget}


def _event_formats(session: Session) -> dict[str, Any]:
    decimals, symbol = session.token_info("PaymentToken")
    money = money_fmt(decimals, symbol)
    return {
        "reward_per_kw": per_kw_fmt(decimals, symbol),
        "start_time": time_fmt,
        "end_time": time_fmt,
        "budget": money,
        "budget_reserved": money,
        "budget_paid": money,
        "budget_refunded": money,
        "budget_verification_deadline": time_fmt,
    }
