"""`energy-grid report`: a household's or the community's day, week or month as one printable HTML
file, from the event index `energy-grid serve` keeps (energy_grid.index.analytics).

    energy-grid report --owner 0x… --period month --date 2025-06-15 --out june.html

The index holds what happened; the tariff (GridManagement's base price unless `--tariff` gives
one), the avoided-emission factor, the deployment's zone and the currency are read from the chain.
"""

from __future__ import annotations

import os
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError

from energy_grid.api.services.analytics import summarize, summary_out
from energy_grid.cli.output import emit_json
from energy_grid.cli.params import ADDRESS, DECIMAL, to_base_units
from energy_grid.cli.report_html import render
from energy_grid.cli.serve_commands import DATABASE_URL_ENV, SQLITE_PREFIX, default_database_url
from energy_grid.cli.session import CliError, Session, SetUpError, pass_session
from energy_grid.domain.units import format_cents
from energy_grid.index import EventIndex, IndexChainMismatchError
from energy_grid.index.analytics import PERIODS
from energy_grid.index.forecasts import period_forecasts


def open_index(database_url: str, chain_id: int) -> EventIndex:
    """The index at `database_url`, which must have followed chain `chain_id`: SetUpError otherwise
    (a report reads an index, it never makes an empty one)."""
    if database_url.startswith(SQLITE_PREFIX):
        path = database_url.removeprefix(SQLITE_PREFIX).split("?")[0]
        if path != ":memory:" and not Path(path).is_file():
            raise SetUpError(
                f"No event index at {path}: `energy-grid serve` builds it as it follows the chain, or pass --database-url."
            )
    index = EventIndex(database_url)
    try:
        index.check_chain(chain_id)
        followed = index.indexed_block() is not None
    except IndexChainMismatchError as other_chain:
        raise SetUpError(str(other_chain)) from None
    except SQLAlchemyError:
        raise SetUpError(f"The database at {database_url} holds no event index (or does not answer): pass the one serve keeps.") from None
    if not followed:
        raise SetUpError(f"The event index at {database_url} has indexed no block yet: let `energy-grid serve` follow the chain first.")
    return index


@click.command("report")
@click.option("--owner", type=ADDRESS, default=None, help="The household: the owner of its meters. Default: the whole community.")
@click.option("--period", type=click.Choice(PERIODS), default="month", show_default=True, help="A day, an ISO week or a calendar month.")
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="A day of the period, YYYY-MM-DD in the deployment's zone. Default: the day of the index's latest block.",
)
@click.option(
    "--database-url",
    default=None,
    help=f"The index's SQLAlchemy URL, as serve takes it (env {DATABASE_URL_ENV}); default sqlite:///.index/<chainId>.sqlite.",
)
@click.option(
    "--tariff", type=DECIMAL, default=None, help="The grid's tariff per kWh in the currency (0.30). Default: GridManagement's base price."
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="The HTML file to write.")
@pass_session
def report(
    session: Session, owner: str | None, period: str, day: datetime | None, database_url: str | None, tariff: Decimal | None, out: Path
) -> None:
    """Write a household's or the community's day, week or month as one printable HTML file: savings
    against the tariff, self-sufficiency, where the export went, transformer peaks and CO2 avoided,
    from the event index.

    --owner names the household (the owner of its meters); each estimate is said as such. Each
    region's committed forecast (a household's: its own region's) is set against its metered load."""
    url = database_url or os.environ.get(DATABASE_URL_ENV) or default_database_url(session.chain_id)
    index = open_index(url, session.chain_id)
    client = session.client
    decimals, symbol = session.token_info("PaymentToken")
    tariff_per_kwh = None if tariff is None else to_base_units(tariff, decimals, symbol, "--tariff")
    with index.session() as db:
        result, utc_offset_minutes = summarize(db, client, period, None if day is None else day.date(), owner, tariff_per_kwh)
        forecasts = period_forecasts(db, result.window.from_s, result.window.to_s, owner)
    if owner is not None and not result.meters:
        raise SetUpError(f"{owner} owns no meter the event index knows: give a household's owner, or no --owner for the community.")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render(result, forecasts, utc_offset_minutes, decimals, symbol))
    except OSError as err:
        raise CliError(f"Cannot write {out}: {err.strerror or err}.") from None
    if session.json_output:
        emit_json({"file": str(out), **summary_out(result, utc_offset_minutes, symbol, decimals).model_dump(by_alias=True)})
        return
    who = "The community" if owner is None else f"Household {owner}"
    saved = format_cents(result.savings.saved, decimals, symbol)
    click.echo(f"Wrote {out}: {who}, {result.window.label()}, saved {saved} against the tariff.")


__all__ = ["open_index", "report"]
