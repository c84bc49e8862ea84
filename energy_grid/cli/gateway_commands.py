"""`energy-grid gateway`: the MQTT gateway service (energy_grid.services.gateway.service).

    energy-grid --keystore gateway.json gateway --broker mqtt.example:1883 --broker-user gateway \\
        --store /var/lib/energy-grid/gateway.sqlite

The gateway relays signed readings, so its account needs no role, only gas money. The broker's
password comes from ENERGY_GRID_BROKER_PASSWORD, never from the command line (other users of the
host can list command lines).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import click

from energy_grid.chain.fees import GWEI, FeePolicy
from energy_grid.cli.session import CliError, Session, pass_session
from energy_grid.services.gateway.service import Gateway, GatewaySettings
from energy_grid.services.mqtt import BROKER_PASSWORD_ENV, DEFAULT_BROKER, BrokerSettings
from energy_grid.services.runtime import MetricsServer, ServiceError, configure_logging, stop_on_signals


@click.command("gateway")
@click.option("--store", "store_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The gateway's SQLite store: every accepted reading is written here before it is acknowledged.")
@click.option("--broker", default=DEFAULT_BROKER, show_default=True, help="The MQTT broker, HOST:PORT.")
@click.option("--broker-user", default=None, help=f"The broker user (password from {BROKER_PASSWORD_ENV}).")
@click.option("--metrics-port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port of /metrics and /health on 127.0.0.1 (0: a free one, logged).")
@click.option("--poll-interval", "poll_s", type=click.FloatRange(min=0.01), default=0.2, show_default=True,
              help="Wall seconds the loop waits for messages before it looks at the chain.")
@click.option("--max-wait-blocks", type=click.IntRange(min=0), default=2, show_default=True,
              help="Blocks a partial batch waits for more readings of its interval.")
@click.option("--stuck-after-blocks", type=click.IntRange(min=1), default=3, show_default=True,
              help="Blocks after which a transaction not mined is replaced with higher fees.")
@click.option("--confirmations", type=click.IntRange(min=1), default=1, show_default=True,
              help="How deep a batch's block must be before its readings are answered accepted (1: the latest block).")
@click.option("--fee-bump-percent", type=click.IntRange(min=10), default=25, show_default=True,
              help="How much a replacement raises both fees.")
@click.option("--max-fee-gwei", type=click.FloatRange(min=0, min_open=True), default=None,
              help="The most the gateway pays per gas; past it a transaction waits (default: no ceiling).")
@click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING"]), default="INFO", show_default=True)
@pass_session
def gateway(
    session: Session,
    store_path: Path,
    broker: str,
    broker_user: str | None,
    metrics_port: int,
    poll_s: float,
    max_wait_blocks: int,
    stuck_after_blocks: int,
    confirmations: int,
    fee_bump_percent: int,
    max_fee_gwei: float | None,
    log_level: str,
) -> None:
    """Relay meters' signed readings from MQTT to SmartMeter in batches, answering each on its meter's topics.

    Each reading is checked, stored before its message is acknowledged, and answered on the meter's
    accepted topic once on chain or on its rejected topic with a reason. Runs until SIGINT or SIGTERM."""
    try:
        broker_settings = BrokerSettings.parse(broker, broker_user, os.environ.get(BROKER_PASSWORD_ENV))
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--broker") from None
    configure_logging(log_level)
    store_path.parent.mkdir(parents=True, exist_ok=True)
    settings = GatewaySettings(
        store_path=store_path,
        broker=broker_settings,
        max_wait_blocks=max_wait_blocks,
        stuck_after_blocks=stuck_after_blocks,
        confirmations=confirmations,
        fee_policy=FeePolicy(
            bump_percent=fee_bump_percent,
            max_fee_ceiling_per_gas=None if max_fee_gwei is None else int(max_fee_gwei * GWEI),
        ),
    )
    service = Gateway(session.client, session.signer, settings)
    try:
        server = MetricsServer(service.metrics.registry, service.health, port=metrics_port).start()
        logging.getLogger("energy_grid.gateway").info("metrics on %s/metrics, health on %s/health", server.url, server.url)
        service.run(stop_on_signals(), poll_s)
    except ServiceError as err:
        raise CliError(str(err)) from None
