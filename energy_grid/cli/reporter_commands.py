"""`oracle-reporter`, `load-reporter`, `dr-planner`, `forecaster`: the oracle's and the operator's
long-running services (energy_grid.services.reporters), each a process of its own."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from energy_grid.cli.session import CliError, Session, pass_session
from energy_grid.deploy.system import LOCAL_OPERATOR_REGION
from energy_grid.services.reporters.schedule import DEFAULT_READING_DELAY_S
from energy_grid.services.reporters.service import ReportingService, run_service
from energy_grid.services.runtime import ServiceError, configure_logging

if TYPE_CHECKING:
    from energy_grid.services.reporters.forecaster import WeatherSource

SOURCE_MODEL = "model"
SOURCE_FILE_PREFIX = "file:"


class SourceParam(click.ParamType):
    """`model`, or `file:PATH` of an existing file."""

    name = "model|file:PATH"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str | Path:
        text = str(value)
        if text == SOURCE_MODEL:
            return text
        if text.startswith(SOURCE_FILE_PREFIX):
            path = Path(text.removeprefix(SOURCE_FILE_PREFIX))
            if not path.is_file():
                self.fail(f"{path} is not a file", param, ctx)
            return path
        self.fail(f"{text!r} is neither {SOURCE_MODEL} nor {SOURCE_FILE_PREFIX}PATH", param, ctx)


def stacked(*options: Callable[[Any], Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """One decorator of several click options, listed as they appear in --help."""

    def apply(command: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            command = option(command)
        return command

    return apply


POLL_INTERVAL = click.option("--poll-interval", "poll_interval_s", type=click.FloatRange(min=0.05), default=1.0, show_default=True,
                             help="Wall seconds between looks at the chain.")
METRICS_PORT = click.option("--metrics-port", type=click.IntRange(0, 65_535), default=0, show_default=True,
                            help="Serve /metrics and /health on this port (0: a free one, logged).")
FROM_BLOCK = click.option("--from-block", type=click.IntRange(min=0), default=0, show_default=True,
                          help="First block to read the meters' registrations from: the deployment's block on a long chain.")
# The options every reporting service takes.
service_options = stacked(
    click.option("--region", "region_id", type=click.IntRange(0, 2**32 - 1), default=LOCAL_OPERATOR_REGION, show_default=True,
                 help="The grid region reported."),
    click.option("--once", is_flag=True, help="One round, then exit (for cron and tests); else run until SIGINT or SIGTERM."),
    POLL_INTERVAL,
    METRICS_PORT,
    FROM_BLOCK,
)


READING_DELAY = click.option(
    "--reading-delay", "reading_delay_s", type=click.IntRange(0, 899), default=DEFAULT_READING_DELAY_S, show_default=True,
    help="Chain seconds after an interval's end to wait at most for every meter's reading.",
)
RATING = click.option(
    "--rating-kva", type=click.IntRange(min=1), default=None,
    help="The region's transformer rating; default the capacity of the region's latest load report.",
)


def serve(service: ReportingService, poll_interval_s: float, metrics_port: int, once: bool = False) -> None:
    """Runs `service` (one round with `once`); a service that cannot work as configured ends the
    command with its one sentence."""
    try:
        run_service(service, once=once, poll_interval_s=poll_interval_s, metrics_port=metrics_port)
    except ServiceError as err:
        raise CliError(str(err)) from None


@click.command("oracle-reporter")
@click.option("--source", type=SourceParam(), default=SOURCE_MODEL, show_default=True,
              help="model: the simulation's weather and the meters' grid state; file:PATH: an operator's CSV export.")
@READING_DELAY
@service_options
@pass_session
def oracle_reporter(
    session: Session,
    source: str | Path,
    reading_delay_s: int,
    region_id: int,
    once: bool,
    poll_interval_s: float,
    metrics_port: int,
    from_block: int,
) -> None:
    """Report the region's weather to WeatherOracle and its grid state to GridOracle: the model's at each
    hour's end, a file's rows at their times (the signer must be a reporter of both)."""
    from energy_grid.services.reporters.oracle_reporter import FileSource, ModelSource, OracleReporter, Source  # noqa: PLC0415
    from energy_grid.services.reporters.region import RegionMeters  # noqa: PLC0415

    configure_logging()
    client = session.client
    chosen: Source
    if isinstance(source, Path):
        chosen = FileSource(source)
    else:
        chosen = ModelSource(RegionMeters(client, region_id, from_block=from_block), reading_delay_s)
    serve(OracleReporter(client, session.signer, chosen, region_id=region_id), poll_interval_s, metrics_port, once)


@click.command("load-reporter")
@RATING
@READING_DELAY
@service_options
@pass_session
def load_reporter(
    session: Session,
    rating_kva: int | None,
    reading_delay_s: int,
    region_id: int,
    once: bool,
    poll_interval_s: float,
    metrics_port: int,
    from_block: int,
) -> None:
    """Report the region's transformer load (its meters' net import) of each interval to GridOperations
    (the signer must be the region's operator)."""
    from energy_grid.services.reporters.load_reporter import LoadReporter  # noqa: PLC0415

    configure_logging()
    reporter = LoadReporter(
        session.client, {region_id: session.signer}, rating_kva=rating_kva, reading_delay_s=reading_delay_s, from_block=from_block
    )
    serve(reporter, poll_interval_s, metrics_port, once)


# What an event asks for and how much a round sends: the options of every demand-response planner.
dr_options = stacked(
    click.option("--trigger-per-mille", type=click.IntRange(min=1), default=None,
                 help="Forecast transformer loading that calls an event; default GridOperations' HIGH threshold."),
    click.option("--duration", "duration_s", type=click.IntRange(1, 86_400), default=7_200, show_default=True,
                 help="An event's length, seconds (rounded up to whole intervals)."),
    click.option("--reward-per-kw", type=click.IntRange(min=1), default=500_000, show_default=True,
                 help="Reward per kW of verified reduction, PaymentToken base units."),
    click.option("--target-kw-per-member", type=click.IntRange(min=1), default=1, show_default=True,
                 help="An event's target per consumer registered in the region (it sets the budget)."),
    click.option("--max-batch", type=click.IntRange(1, 200), default=20, show_default=True,
                 help="Most verifications and most reward distributions a round."),
)


@click.command("dr-planner")
@RATING
@dr_options
@service_options
@pass_session
def dr_planner(
    session: Session,
    rating_kva: int | None,
    region_id: int,
    once: bool,
    poll_interval_s: float,
    metrics_port: int,
    from_block: int,
    **event: Any,
) -> None:
    """Plan each day's demand-response event from the meters' history, start it at its interval boundary,
    then verify the participants' reductions and pay their rewards (the signer must be the region's
    operator, registered in DemandResponse)."""
    from energy_grid.services.reporters.dr_planner import DemandResponsePlanner  # noqa: PLC0415

    configure_logging()
    planner = DemandResponsePlanner(
        session.client, session.signer, region_id=region_id, rating_kva=rating_kva, from_block=from_block, **event
    )
    serve(planner, poll_interval_s, metrics_port, once)


WEATHER_MODEL = "model"
WEATHER_NONE = "none"
WEATHER = click.option(
    "--weather", type=click.Choice([WEATHER_MODEL, WEATHER_NONE]), default=WEATHER_NONE, show_default=True,
    help="model: the simulation's weather, forecast with day-ahead errors (local only); none: forecast without weather.",
)
RETRAIN_DAYS = click.option(
    "--retrain-days", type=click.IntRange(1, 365), default=7, show_default=True,
    help="Days, by the chain's clock, after which a region's model learns again.",
)


def weather_source(choice: str) -> WeatherSource | None:
    """The forecaster's weather forecast for `--weather`."""
    if choice == WEATHER_NONE:
        return None
    from energy_grid.services.reporters.weather_model import weather_forecast_at  # noqa: PLC0415

    return weather_forecast_at


def community_holidays(years: range) -> list[date]:
    """The public holidays the simulated households keep (their load takes the Sunday profile on them)."""
    from energy_grid.community.holidays import public_holidays  # noqa: PLC0415

    return [day for year in years for day in public_holidays(year)]


@click.command("forecaster")
@WEATHER
@RETRAIN_DAYS
@service_options
@pass_session
def forecaster(
    session: Session,
    weather: str,
    retrain_days: int,
    region_id: int,
    once: bool,
    poll_interval_s: float,
    metrics_port: int,
    from_block: int,
) -> None:
    """Forecast the region's net import for the next day (P10, P50, P90) at 12:00, commit it in ForecastLedger
    before the market's gate, set the day's link limits from it when the region is a market zone, and score
    it there once metered (the signer must be the region's operator)."""
    from energy_grid.services.reporters.forecaster import Forecaster  # noqa: PLC0415

    configure_logging()
    this_year = datetime.now(UTC).year
    service = Forecaster(
        session.client,
        {region_id: session.signer},
        weather=weather_source(weather),
        holidays=community_holidays(range(this_year - 1, this_year + 2)),
        retrain_days=retrain_days,
        from_block=from_block,
    )
    serve(service, poll_interval_s, metrics_port, once)
