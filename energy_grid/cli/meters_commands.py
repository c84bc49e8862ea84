"""Meters: `meters register|submit|ingest|history` (SmartMeter) and `meters emulate` (the live
community's virtual meters, energy_grid.services.virtual_meters)."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click

from energy_grid.chain.client import MeterReading
from energy_grid.cli.output import Column, emit, kwh_fmt, record_table, rows_table, time_fmt
from energy_grid.cli.params import ADDRESS
from energy_grid.cli.records import record
from energy_grid.cli.session import CliError, Session, pass_session
from energy_grid.domain.units import DAY_SECONDS, FREQUENCY_NOMINAL_MILLIHZ, INTERVAL_SECONDS, VOLTAGE_NOMINAL_PER_MILLE
from energy_grid.services.ingest import ingest_csv
from energy_grid.services.mqtt import BROKER_PASSWORD_ENV, DEFAULT_BROKER
from energy_grid.signing.readings import DEADLINE_MARGIN_S

MAX_HISTORY_PAGE = 96  # SmartMeter.MAX_HISTORY_PAGE: one day of 900 s intervals
MAX_GATEWAY_BATCH = 100  # SmartMeter.MAX_BATCH_SIZE


@click.group()
def meters() -> None:
    """Register meters, submit and ingest readings, read a meter's load profile."""


@meters.command("register")
@click.argument("meter", type=ADDRESS)
@click.option("--owner", type=ADDRESS, required=True, help="Receives the meter's minted EnergyToken.")
@click.option("--region", "region_id", type=click.IntRange(0, 2**32 - 1), required=True, help="Grid region id.")
@click.option("--consumption-register-wh", type=click.IntRange(min=0), default=None,
              help="Import register read at installation; without both registers the first reading sets the baseline.")
@click.option("--production-register-wh", type=click.IntRange(min=0), default=None, help="Export register read at installation.")
@pass_session
def register(
    session: Session,
    meter: str,
    owner: str,
    region_id: int,
    consumption_register_wh: int | None,
    production_register_wh: int | None,
) -> None:
    """Register METER (its device key's address). The grid operator (OPERATOR_ROLE) only."""
    smart_meter = session.client.smart_meter
    if (consumption_register_wh is None) != (production_register_wh is None):
        raise click.UsageError("Give both installation registers (--consumption-register-wh and --production-register-wh) or neither.")
    smart_meter.register_meter(session.signer, meter, owner, region_id, consumption_register_wh, production_register_wh)
    info = {"meter": meter, **record(smart_meter.get_meter(meter))}
    emit(session.json_output, info, record_table(info, {"last_reading_at": time_fmt}, title=f"Meter {meter} registered"))


@meters.command("submit")
@click.option("--meter", type=ADDRESS, default=None,
              help="Submit for this meter as a gateway (GATEWAY_ROLE); default: the signer is the meter device.")
@click.option("--consumption-register-wh", type=click.IntRange(min=0), required=True, help="Import register, cumulative Wh.")
@click.option("--production-register-wh", type=click.IntRange(min=0), required=True, help="Export register, cumulative Wh.")
@click.option("--timestamp", "timestamp_s", type=click.IntRange(min=1), default=None,
              help="Reading time, unix s; default the latest block's.")
@click.option("--frequency-millihz", type=click.IntRange(min=0), default=FREQUENCY_NOMINAL_MILLIHZ, show_default=True)
@click.option("--voltage-per-mille", type=click.IntRange(min=0), default=VOLTAGE_NOMINAL_PER_MILLE, show_default=True)
@pass_session
def submit(
    session: Session,
    meter: str | None,
    consumption_register_wh: int,
    production_register_wh: int,
    timestamp_s: int | None,
    frequency_millihz: int,
    voltage_per_mille: int,
) -> None:
    """Submit one reading of cumulative registers; the export increase is minted to the meter's owner."""
    client = session.client
    signer = session.signer
    reading = MeterReading(
        timestamp_s if timestamp_s is not None else session.latest_timestamp(),
        consumption_register_wh,
        production_register_wh,
        frequency_millihz,
        voltage_per_mille,
    )
    if meter is None or meter == signer.address:
        meter = signer.address
        receipt = client.smart_meter.submit_reading(signer, reading)
    else:
        receipt = client.smart_meter.submit_readings(signer, [meter], [reading])
    accepted = client.smart_meter.events(receipt, "ReadingAccepted")
    baseline = client.smart_meter.events(receipt, "MeterBaselineSet")
    result = {
        "meter": meter,
        "timestamp_s": reading.timestamp,
        "consumption_register_wh": consumption_register_wh,
        "production_register_wh": production_register_wh,
        "baseline": bool(baseline),  # the first reading (or the first after reactivation) counts nothing
        "consumption_wh": int(accepted[0]["consumptionWh"]) if accepted else 0,
        "production_wh": int(accepted[0]["productionWh"]) if accepted else 0,
    }
    formats = {"timestamp_s": time_fmt, "consumption_wh": kwh_fmt, "production_wh": kwh_fmt}
    emit(session.json_output, result, record_table(result, formats, title="Reading accepted"))


@meters.command("ingest")
@click.argument("csv_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--batch-size", type=click.IntRange(1, MAX_GATEWAY_BATCH), default=MAX_GATEWAY_BATCH, show_default=True,
              help="Readings per gateway transaction.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="A progress bar on stderr.")
@click.option("--strict", is_flag=True, help="Exit with code 1 when any row was rejected.")
@pass_session
def ingest(session: Session, csv_file: Path, batch_size: int, progress: bool, strict: bool) -> None:
    """Submit a CSV of cumulative register readings in gateway batches (GATEWAY_ROLE).

    Safe to run again after a crash: it resumes where the chain says each meter stopped. Bad rows
    are reported with their line number and skipped; the rest goes in. The format is in docs/keeper-and-ingestion.md
    (header meter,timestamp,consumption_wh,production_wh[,frequency_millihz,voltage_per_mille]).
    """
    report = ingest_csv(session.client, session.signer, csv_file, batch_size=batch_size, progress=progress)
    data = report.as_dict()
    scalars = {k: v for k, v in data.items() if not isinstance(v, list | dict)}
    tables = [record_table(scalars, title=f"Ingested {csv_file}")]
    rejected = data["rejected"]
    if rejected:
        columns = [Column(key, key.replace("_", " "), justify="left") for key in rejected[0]]
        tables.append(rows_table(rejected, columns, title="Rejected rows"))
    emit(session.json_output, data, *tables)
    if strict and rejected:
        raise CliError(f"{len(rejected)} row(s) of {csv_file} were rejected.")


@meters.command("history")
@click.argument("meter", type=ADDRESS)
@click.option("--day", type=click.DateTime(["%Y-%m-%d"]), default=None, help="A UTC day's 96 intervals.")
@click.option("--from-interval", type=click.IntRange(min=0), default=None, help="First interval (timestamp / 900).")
@click.option("--count", type=click.IntRange(1, MAX_HISTORY_PAGE), default=MAX_HISTORY_PAGE, show_default=True,
              help="Intervals; default ending at the meter's latest reading.")
@click.option("--all", "show_all", is_flag=True, help="Also intervals without a reading.")
@pass_session
def history(
    session: Session, meter: str, day: datetime | None, from_interval: int | None, count: int, show_all: bool
) -> None:
    """A meter's load profile: energy per 900 s interval with its registers, frequency and voltage."""
    smart_meter = session.client.smart_meter
    if day is not None and from_interval is not None:
        raise click.UsageError("Give --day or --from-interval, not both.")
    if day is not None:
        start = _utc_day_start(day.date())
        from_interval, count = start // INTERVAL_SECONDS, DAY_SECONDS // INTERVAL_SECONDS
    elif from_interval is None:
        latest = smart_meter.latest_reading(meter)
        if not latest.timestamp:
            raise CliError(f"Meter {meter} has no reading yet.")
        from_interval = max(0, latest.timestamp // INTERVAL_SECONDS - count + 1)
    records = [record(r) for r in smart_meter.interval_history(meter, from_interval, count)]
    rows = [{"start_s": r["interval"] * INTERVAL_SECONDS, **r} for r in records if show_all or _has_reading(r)]
    columns = [
        Column("start_s", "interval start", time_fmt, justify="left"),
        Column("consumption_wh", "imported", kwh_fmt),
        Column("production_wh", "exported", kwh_fmt),
        Column("consumption_register_wh", "import register", kwh_fmt),
        Column("production_register_wh", "export register", kwh_fmt),
        Column("grid_frequency_millihz", "frequency"),
        Column("voltage_per_mille", "voltage"),
    ]
    emit(
        session.json_output,
        {"meter": meter, "from_interval": from_interval, "count": count, "intervals": rows},
        rows_table(rows, columns, title=f"Load profile of {meter}"),
    )


def _has_reading(row: dict[str, Any]) -> bool:
    return any(row[k] for k in ("consumption_wh", "production_wh", "consumption_register_wh", "production_register_wh"))


def _utc_day_start(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


@meters.command("emulate")
@click.option("--run-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The live community's run file (`live setup`); default deployments/<chainId>.live.json.")
@click.option("--broker", default=DEFAULT_BROKER, show_default=True, help="The MQTT broker, HOST:PORT.")
@click.option("--broker-user", default=None, help=f"The broker user (a fleet user); its password from {BROKER_PASSWORD_ENV}.")
@click.option("--metrics-port", type=click.IntRange(0, 65_535), default=0, show_default=True,
              help="Port of /metrics and /health; 0 takes a free one (its URL is logged).")
@click.option("--days", type=click.IntRange(min=1), default=None, help="Simulated days to run; default the run file's.")
@click.option("--poll-interval", "poll_interval_s", type=click.FloatRange(min=0.05), default=0.5, show_default=True,
              help="Wall seconds between looks at the chain's clock.")
@click.option("--test-keys", is_flag=True,
              help="The meters' keys (derived from the seed) are test keys: run on a chain other than anvil's 31337 anyway.")
@click.option("--deadline-margin", "deadline_margin_s", type=click.IntRange(min=1), default=DEADLINE_MARGIN_S, show_default=True,
              help="Seconds of chain time a signed reading stays valid; one that expires before it reaches the chain is signed again.")
@click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING"], case_sensitive=False), default="INFO", show_default=True)
@pass_session
def emulate(
    session: Session,
    run_file: Path | None,
    broker: str,
    broker_user: str | None,
    metrics_port: int,
    days: int | None,
    poll_interval_s: float,
    test_keys: bool,
    deadline_margin_s: int,
    log_level: str,
) -> None:
    """The live community's households as meters: each simulated interval, once the chain's clock has
    passed its end, every household's reading signed by its meter's key and published over MQTT for
    the gateway. Resumes where the chain stands after a restart; runs until its last day is published
    or SIGINT or SIGTERM."""
    # The model's stack (numpy, pandapower) loads only for this command.
    from energy_grid.live.community import live_run_file_for, load_community  # noqa: PLC0415
    from energy_grid.services.mqtt import BrokerSettings  # noqa: PLC0415
    from energy_grid.services.runtime import ServiceError, configure_logging  # noqa: PLC0415
    from energy_grid.services.virtual_meters import serve_virtual_meters  # noqa: PLC0415

    configure_logging(log_level)
    try:
        settings = BrokerSettings.parse(broker, broker_user, os.environ.get(BROKER_PASSWORD_ENV))
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--broker") from None
    community = load_community(session.client, run_file or live_run_file_for(session.manifest_file))
    if days is not None:
        community = community.with_days(days)
    try:
        serve_virtual_meters(
            session.client, community, settings, metrics_port, poll_interval_s, test_keys=test_keys, deadline_margin_s=deadline_margin_s
        )
    except ServiceError as err:
        raise CliError(str(err)) from None
