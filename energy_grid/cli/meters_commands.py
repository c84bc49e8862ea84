"""Meters: `meters register|submit|ingest|history` (SmartMeter), `meters forecast` (a meter's next day,
forecast on the household's own machine) and `meters emulate` (the live
community's virtual meters, energy_grid.live.virtual_meters)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click

from energy_grid.chain.accounts import KEYSTORE_PASSWORD_ENV
from energy_grid.cli.output import Column, emit, emit_json, kw_fmt, kwh, kwh_fmt, record_table, rows_table, time_fmt
from energy_grid.cli.params import ADDRESS
from energy_grid.cli.records import record
from energy_grid.cli.reporter_commands import WEATHER, community_holidays, weather_source
from energy_grid.cli.session import CliError, Session, SetUpError, pass_session
from energy_grid.contracts.client import MeterReading
from energy_grid.domain.units import DAY_SECONDS, FREQUENCY_NOMINAL_MILLIHZ, INTERVAL_SECONDS, INTERVALS_PER_DAY, VOLTAGE_NOMINAL_PER_MILLE
from energy_grid.services.broker import BrokerConfigError
from energy_grid.services.ingest import ingest_csv
from energy_grid.services.meter_agent.config import AGENT_KEYSTORE, ProvisionedConfig, path_from, write_agent_config
from energy_grid.services.mqtt import BROKER_PASSWORD_ENV, DEFAULT_BROKER, BrokerSettings
from energy_grid.signing.readings import DEADLINE_MARGIN_S

MAX_HISTORY_PAGE = 96  # SmartMeter.MAX_HISTORY_PAGE: one day of 900 s intervals
MAX_GATEWAY_BATCH = 100  # SmartMeter.MAX_BATCH_SIZE
BROKER_PASSWORD_BYTES = 24  # a meter's broker password: 32 characters of URL-safe base64


@click.group()
def meters() -> None:
    """Register meters, submit and ingest readings, read a meter's load profile and forecast its next day."""


def registration_options(command: Any) -> Any:
    """The options of a meter's registration, shared by `meters register` and `meters provision`."""
    options = [
        click.option("--owner", type=ADDRESS, required=True, help="Receives the meter's minted EnergyToken."),
        click.option("--region", "region_id", type=click.IntRange(0, 2**32 - 1), required=True, help="Grid region id."),
        click.option(
            "--consumption-register-wh", type=click.IntRange(min=0), default=None,
            help="Import register read at installation; without both registers the first reading sets the baseline.",
        ),
        click.option("--production-register-wh", type=click.IntRange(min=0), default=None, help="Export register read at installation."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def check_registers(consumption_register_wh: int | None, production_register_wh: int | None) -> None:
    if (consumption_register_wh is None) != (production_register_wh is None):
        raise click.UsageError("Give both installation registers (--consumption-register-wh and --production-register-wh) or neither.")


@meters.command("register")
@click.argument("meter", type=ADDRESS)
@registration_options
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
    check_registers(consumption_register_wh, production_register_wh)
    smart_meter = session.client.smart_meter
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
        Column("grid_frequency_millihz", "frequency"),
        Column("voltage_per_mille", "voltage"),
    ]
    emit(
        session.json_output,
        {"meter": meter, "from_interval": from_interval, "count": count, "intervals": rows},
        rows_table(rows, columns, title=f"Load profile of {meter}"),
    )


@meters.command("forecast")
@click.argument("meter", type=ADDRESS)
@WEATHER
@pass_session
def forecast(session: Session, meter: str, weather: str) -> None:
    """Your meter's net import for its next local day, hour by hour (P10, P50, P90, kW), forecast on this
    machine from the meter's own load profile as known at 12:00 today. Nothing is sent or published.

    The same pipeline as the operator's forecaster (energy_grid.forecast.day_ahead.forecast_day),
    learned from this meter alone."""
    import numpy as np  # noqa: PLC0415

    from energy_grid.forecast.day_ahead import ISSUE_INTERVAL, TooLittleHistoryError, forecast_day  # noqa: PLC0415
    from energy_grid.forecast.model import QUANTILES, QuantileForecaster  # noqa: PLC0415
    from energy_grid.forecast.solar import load_weather  # noqa: PLC0415
    from energy_grid.services.reporters.forecaster import HISTORY_DAYS  # noqa: PLC0415

    offset_s = session.client.price_discovery.utc_offset_minutes() * 60
    now_s = session.latest_timestamp()
    today = (now_s + offset_s) // DAY_SECONDS
    first_day, day = today + 2 - HISTORY_DAYS, today + 1
    known_until_s = min(now_s, today * DAY_SECONDS - offset_s + ISSUE_INTERVAL * INTERVAL_SECONDS)
    values = np.full((day - first_day + 1) * INTERVALS_PER_DAY, np.nan)
    for d in range(first_day, today + 1):
        first_interval = (d * DAY_SECONDS - offset_s) // INTERVAL_SECONDS
        for k, entry in enumerate(session.client.smart_meter.interval_history(meter, first_interval, INTERVALS_PER_DAY)):
            if entry.grid_frequency_millihz > 0 and (first_interval + k + 1) * INTERVAL_SECONDS <= known_until_s:
                values[(d - first_day) * INTERVALS_PER_DAY + k] = entry.consumption_wh - entry.production_wh
    source = weather_source(weather)
    starts = first_day * DAY_SECONDS - offset_s + np.arange(len(values), dtype=np.int64) * INTERVAL_SECONDS
    this_year = datetime.now(UTC).year
    try:
        made = forecast_day(values, day - first_day, first_day * DAY_SECONDS, QuantileForecaster(),
                            holidays=community_holidays(range(this_year - 1, this_year + 2)),
                            weather=None if source is None else load_weather(source(starts)))  # fmt: skip
    except TooLittleHistoryError as too_little:
        raise CliError(f"Meter {meter} has too little history for a forecast yet ({too_little}).") from too_little
    # An hour's mean power in W is the sum of its four quarter-hours' Wh.
    hourly_w = np.rint(made.quantiles.reshape(24, INTERVALS_PER_DAY // 24, -1).sum(axis=1)).astype(int)
    day_start_s = day * DAY_SECONDS - offset_s
    names = [f"p{round(q * 100)}_w" for q in QUANTILES]
    rows = [{"start_s": day_start_s + hour * 3600, **dict(zip(names, map(int, watts), strict=True))} for hour, watts in enumerate(hourly_w)]
    median_wh = int(np.rint(made.quantiles[:, list(QUANTILES).index(0.5)].sum()))
    direction = "import" if median_wh >= 0 else "export"  # a day of more PV than load exports
    columns = [Column("start_s", "hour from", time_fmt, justify="left"), *(Column(n, n[:3].upper(), kw_fmt) for n in names)]
    emit(
        session.json_output,
        {"meter": meter, "day_start_s": day_start_s, "median_wh": median_wh, "hours": rows},
        rows_table(rows, columns, title=f"Net {direction} tomorrow: about {kwh(abs(median_wh)):,.1f} kWh (P50)"),
    )


def _has_reading(row: dict[str, Any]) -> bool:
    return bool(row["grid_frequency_millihz"])


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
    from energy_grid.live.virtual_meters import serve_virtual_meters  # noqa: PLC0415
    from energy_grid.services.mqtt import BrokerSettings  # noqa: PLC0415
    from energy_grid.services.runtime import ServiceError, configure_logging  # noqa: PLC0415

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


RELOADS = ("systemd", "live", "none")


@meters.command("provision")
@registration_options
@click.option("--key-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help=f"The meter's device key, an encrypted keystore: taken when the file exists, else a new key is made there "
                   f"(password from {KEYSTORE_PASSWORD_ENV}, else a prompt). Default: {AGENT_KEYSTORE} beside --out.")
@click.option("--meter", type=ADDRESS, default=None,
              help="The device key's address when the key stays on the device: no key is made, and --key-file names "
                   "where the device keeps its keystore.")
@click.option("--broker", default=None,
              help=f"The broker the meter connects to, HOST:PORT; default the live folder's, else {DEFAULT_BROKER}.")
@click.option("--password-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="mosquitto's password file; default the live folder's.")
@click.option("--acl-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="mosquitto's ACL file; default the live folder's.")
@click.option("--live-folder", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The run folder of `make live` (.live): its broker's files, address and process.")
@click.option("--reload", "reload_with", type=click.Choice(RELOADS), default=None,
              help="How the broker reads the changed files: `systemctl reload mosquitto` (Debian's broker), SIGHUP to the "
                   "live folder's mosquitto, or not at all. Default: live with --live-folder, else systemd.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the meter agent's configuration to this file; a [source] table it holds is kept.")
@pass_session
def provision(
    session: Session,
    owner: str,
    region_id: int,
    consumption_register_wh: int | None,
    production_register_wh: int | None,
    key_file: Path | None,
    meter: str | None,
    broker: str | None,
    password_file: Path | None,
    acl_file: Path | None,
    live_folder: Path | None,
    reload_with: str | None,
    out: Path | None,
) -> None:
    """Connect a household's meter in one step: its device key, its registration for OWNER (the grid
    operator signs), its broker user and ACL block added beside the others, a reload of the broker, and
    the meter agent's configuration, printed (and written with --out). Safe to run again: what is
    done already is left as it is. Steps are reported on stderr; stdout is the configuration."""
    check_registers(consumption_register_wh, production_register_wh)
    broker_files = _broker_files(password_file, acl_file, live_folder)
    reload_with = reload_with or ("live" if live_folder is not None else "systemd")
    if reload_with == "live" and live_folder is None:
        raise click.UsageError("--reload live needs --live-folder: the run folder whose mosquitto reads the files.")
    if broker is None:
        broker = _live_broker_address(live_folder) if live_folder is not None else DEFAULT_BROKER
    try:
        BrokerSettings.parse(broker, None, None)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--broker") from None
    config_folder = out.parent if out is not None else Path(".")
    key_path = key_file if key_file is not None else config_folder / AGENT_KEYSTORE
    result: dict[str, Any] = {"owner": owner, "region_id": region_id, "key_file": str(key_path)}

    meter, result["key"] = _device_key(key_path, meter)
    result["meter"] = meter
    result["registration"] = _register_for_owner(session, meter, owner, region_id, consumption_register_wh, production_register_wh)
    try:
        result["broker_user"], result["acl"] = _add_to_broker(session.chain_id, meter, *broker_files)
        changed = result["broker_user"] != "kept" or result["acl"] == "added"
        smart_meter = session.client.smart_meter.address
        config = ProvisionedConfig(session.chain_id, smart_meter, meter, path_from(config_folder, key_path), broker)
        if out is not None:
            written = write_agent_config(out, config)
            _say(f"Wrote the meter agent's configuration {out}." if written else f"The meter agent's configuration {out} is unchanged.")
        if changed:
            result["reload"] = _reload_broker(reload_with, live_folder)
        else:
            result["reload"] = "none needed"
            _say("The broker's files are unchanged: no reload needed.")
    except BrokerConfigError as err:
        raise SetUpError(f"The broker's files: {err}.") from None
    text = out.read_text() if out is not None else config.text()
    if session.json_output:
        emit_json({**result, "config_file": None if out is None else str(out), "config": text})
    else:
        click.echo(text, nl=False)


def _say(line: str) -> None:
    """One step of `meters provision`, on stderr: stdout is the configuration."""
    click.echo(line, err=True)


def _broker_files(password_file: Path | None, acl_file: Path | None, live_folder: Path | None) -> tuple[Path, Path]:
    """The broker's password and ACL files: as given, else the live folder's; each must exist."""
    if live_folder is not None:
        from energy_grid.live.stack import RunFolder  # noqa: PLC0415 - the live stack loads for this option only

        folder = RunFolder(live_folder)
        password_file, acl_file = password_file or folder.password_file, acl_file or folder.acl_file
    if password_file is None or acl_file is None:
        raise click.UsageError("Give the broker's --password-file and --acl-file, or the --live-folder that holds them.")
    for path, what in ((password_file, "password file"), (acl_file, "ACL file")):
        if not path.is_file():
            raise SetUpError(
                f"There is no broker {what} at {path}: write the broker's access files first (docs/deployment.md, "
                "The broker), or start the live community (`energy-grid live up`)."
            )
    return password_file, acl_file


def _live_broker_address(live_folder: Path) -> str:
    """HOST:PORT of the live folder's broker, from the listener of the mosquitto.conf `live up` wrote."""
    from energy_grid.live.stack import RunFolder  # noqa: PLC0415 - the live stack loads for this option only

    conf = RunFolder(live_folder).mosquitto_conf
    lines = conf.read_text().splitlines() if conf.is_file() else []
    for line in lines:
        match line.split():
            case ["listener", port, host]:
                return f"{host}:{port}"
    raise SetUpError(
        f"No live broker was written to {live_folder} (no listener in {conf}): start it with `energy-grid live up`, or give --broker."
    )


def _device_key(key_path: Path, meter: str | None) -> tuple[str, str]:
    """The meter's address and what was done for its key: the keystore at `key_path` taken, a new one
    made there, or (with `meter` and no file) none, the key staying on the device."""
    from energy_grid.chain.accounts import AccountError, create_keystore, unlock_keystore  # noqa: PLC0415

    try:
        if key_path.exists():
            device = unlock_keystore(key_path, os.environ, _key_password_prompt(confirm=False), what="meter key")
            if meter is not None and meter != device.address:
                raise click.UsageError(f"{key_path} holds the key of {device.address}, not of --meter {meter}.")
            _say(f"Took the meter key {device.address} from {key_path}.")
            return str(device.address), "taken"
        if meter is not None:
            _say(f"No key made: the device keeps the key of {meter}; its keystore goes to {key_path} beside the configuration.")
            return meter, "on the device"
        password = os.environ.get(KEYSTORE_PASSWORD_ENV) or _key_password_prompt(confirm=True)()
        device = create_keystore(key_path, password)
    except AccountError as err:
        raise SetUpError(str(err)) from None
    _say(f"Made the meter key {device.address} in {key_path}: readable by you only, its password the agent's {KEYSTORE_PASSWORD_ENV}.")
    return str(device.address), "created"


def _key_password_prompt(confirm: bool) -> Callable[[], str]:
    def prompt() -> str:
        password: str = click.prompt("Password of the meter key", hide_input=True, confirmation_prompt=confirm, err=True)
        return password

    return prompt


def _register_for_owner(
    session: Session, meter: str, owner: str, region_id: int, consumption_register_wh: int | None, production_register_wh: int | None
) -> str:
    """Registers the meter for `owner` unless SmartMeter has it so already; a meter registered to
    another owner or in another region is refused (exit 1), as SmartMeter would refuse registering it."""
    smart_meter = session.client.smart_meter
    info = smart_meter.find_meter(meter)
    if info is None:
        smart_meter.register_meter(session.signer, meter, owner, region_id, consumption_register_wh, production_register_wh)
        _say(f"Registered meter {meter} for {owner} in region {region_id}.")
        return "registered"
    if info.owner != owner or info.region_id != region_id:
        raise CliError(
            f"Meter {meter} is registered to {info.owner} in region {info.region_id}, not to {owner} in region {region_id}: "
            "a meter is registered once, so nothing was changed (check the key file, or --owner and --region)."
        )
    state = "" if info.active else " (deactivated: its readings count again once the operator reactivates it)"
    _say(f"Meter {meter} is registered to {owner} in region {region_id} already{state}: nothing sent.")
    return "already registered"


def _add_to_broker(chain_id: int, meter: str, password_file: Path, acl_file: Path) -> tuple[str, str]:
    """The meter's broker user (its password new, from ENERGY_GRID_BROKER_PASSWORD, or kept) and ACL
    block (added, or there already) in the broker's files, every other user left as it was."""
    from energy_grid.services.broker import add_broker_user, add_meter_to_acl, broker_users  # noqa: PLC0415

    given = os.environ.get(BROKER_PASSWORD_ENV) or None
    if given is None and meter in broker_users(password_file):
        _say(f"Broker user {meter} is in {password_file} already: its password is kept (set {BROKER_PASSWORD_ENV} to change it).")
        user = "kept"
    else:
        password = given or secrets.token_urlsafe(BROKER_PASSWORD_BYTES)
        add_broker_user(password_file, meter, password)
        if given is None:
            _say(f"Added broker user {meter} to {password_file}. Its password, shown this once: {password}")
            _say(f"(the meter agent reads it from {BROKER_PASSWORD_ENV})")
            user = "added"
        else:
            _say(f"Broker user {meter} in {password_file} has the password of {BROKER_PASSWORD_ENV}.")
            user = "password set"
    added = add_meter_to_acl(acl_file, chain_id, meter)
    _say(f"{'Added' if added else 'Found'} the meter's block in {acl_file}: it publishes its own readings, reads its topics and the clock.")
    return user, "added" if added else "present"


def _reload_broker(reload_with: str, live_folder: Path | None) -> str:
    """Has the broker read its changed files again, as `reload_with` says; what was done, in words."""
    from energy_grid.services.broker import reload_broker, reload_system_broker  # noqa: PLC0415

    if reload_with == "none":
        _say("Broker not reloaded (--reload none): it reads the new files at its next reload or start.")
        return "not reloaded"
    if reload_with == "systemd":
        reload_system_broker()
        _say("Reloaded the broker: `systemctl reload mosquitto` (its clients stay connected).")
        return "systemctl reload mosquitto"
    from energy_grid.live.stack import BROKER_PROGRAM, RunFolder, program_pid  # noqa: PLC0415

    assert live_folder is not None  # --reload live is refused without it
    pid = program_pid(RunFolder(live_folder), BROKER_PROGRAM)
    if pid is None:
        raise SetUpError(f"No broker runs in {live_folder}: the files are written, and it reads them when it starts (`live up`).")
    reload_broker(pid)
    _say(f"Reloaded the live broker (SIGHUP to mosquitto, pid {pid}; its clients stay connected).")
    return f"SIGHUP to pid {pid}"
