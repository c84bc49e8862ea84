"""`keeper`: match, settle, clear auctions, settle standing orders and claim, once or until stopped
(energy_grid.services.keeper)."""

from __future__ import annotations

import click

from energy_grid.cli.output import emit, record_table
from energy_grid.cli.params import ADDRESS
from energy_grid.cli.session import CliError, Session, pass_session
from energy_grid.services.keeper import KeeperReport, run_keeper
from energy_grid.services.runtime import ServiceError, configure_logging


@click.command("keeper")
@click.option("--once", is_flag=True, help="One round, then exit (for cron); else run until SIGINT or SIGTERM.")
@click.option("--poll-interval", "poll_interval_s", type=click.FloatRange(min=0.1), default=5.0, show_default=True,
              help="Seconds between rounds that found nothing more to do.")
@click.option("--max-batch", type=click.IntRange(1, 200), default=20, show_default=True,
              help="Most matches, settlements, clears, standing-order batches and claims per round.")
@click.option("--trader", "traders", type=ADDRESS, multiple=True,
              help="Serve only this account's orders, transactions and markets (repeat for several).")
@click.option("--from-block", type=click.IntRange(min=0), default=0, show_default=True,
              help="First block to read events from: the deployment's block on a long chain.")
@click.option("--metrics-port", type=click.IntRange(0, 65_535), default=0, show_default=True,
              help="Serve /metrics and /health on this port (0: a free one, logged).")
@click.option("--standing-grace", "standing_grace_s", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seconds after a market's clearing time the meters' later readings get to settle its standing "
                   "orders (cheaper than the keeper's settlement) before the keeper settles the rest.")
@pass_session
def keeper(
    session: Session,
    once: bool,
    poll_interval_s: float,
    max_batch: int,
    traders: tuple[str, ...],
    from_block: int,
    metrics_port: int,
    standing_grace_s: int,
) -> None:
    """Match crossing orders by price-time priority, settle what is due, clear auctions whose clearing
    time has come, settle the meters' standing orders there and claim their orders, in bounded
    batches. Work another keeper did first is skipped, not an error. Exits 1 if anything failed for
    another reason."""
    configure_logging()
    try:
        report: KeeperReport = run_keeper(
            session.client,
            session.signer,
            once=once,
            poll_interval_s=poll_interval_s,
            max_batch=max_batch,
            traders=traders or None,
            from_block=from_block,
            metrics_port=metrics_port,
            standing_grace_s=standing_grace_s,
        )
    except ServiceError as err:
        raise CliError(str(err)) from None
    emit(session.json_output, report.as_dict(), record_table(report.as_dict(), title="Keeper"))
    if report.failures:
        raise click.exceptions.Exit(1)
