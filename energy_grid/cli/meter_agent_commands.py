"""`energy-grid meter-agent`: the meter agent a household runs next to its meter
(energy_grid.services.meter_agent).

    ENERGY_GRID_KEYSTORE_PASSWORD=… ENERGY_GRID_BROKER_PASSWORD=… energy-grid meter-agent --config meter-agent.toml

The configuration file names the meter, its key, its outbox, the broker and the meter's source
(energy_grid.services.meter_agent.config). A new outbox starts at nonce 0, the nonce of a meter that
never signed a reading; `--first-nonce` sets another, and with the global `--rpc-url` (or RPC_URL)
the agent asks SmartMeter for the meter's next nonce instead. A set-up error (a missing file, a field
that is wrong, a wrong password, a broker that refuses the meter) is one sentence and exit code 2.
"""

from __future__ import annotations

import os
from pathlib import Path

import click
from click.core import ParameterSource
from eth_keys.datatypes import PrivateKey
from web3 import Web3

from energy_grid.chain.accounts import AccountError, unlock_keystore
from energy_grid.cli.session import SetUpError
from energy_grid.services.meter_agent.agent import MeterAgent
from energy_grid.services.meter_agent.config import ConfigError, build_source, load_config
from energy_grid.services.meter_agent.outbox import Outbox, OutboxError
from energy_grid.services.runtime import ServiceError, configure_logging, stop_on_signals

NONCES_ABI = [
    {
        "name": "nonces",
        "type": "function",
        "stateMutability": "view",
        "inputs": [{"name": "meter", "type": "address"}],
        "outputs": [{"name": "", "type": "uint256"}],
    }
]
RPC_TIMEOUT_S = 30


@click.command("meter-agent")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The agent's TOML configuration (energy-grid meters provision writes it).")
@click.option("--first-nonce", type=click.IntRange(min=0), default=0, show_default=True,
              help="The nonce a new outbox starts at (ignored once the outbox exists, and with --rpc-url).")
@click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING"]), default="INFO", show_default=True)
@click.pass_context
def meter_agent(ctx: click.Context, config_path: Path, first_nonce: int, log_level: str) -> None:
    """Read a meter (DSMR P1, SunSpec inverter or a JSON topic), sign a reading each interval of the chain's clock and publish it.

    Each reading is written to the outbox before it is published, and published again until the
    gateway answers it. Runs until SIGINT or SIGTERM."""
    configure_logging(log_level)
    # The node is asked only when the user named one: the global option's default is a local node.
    top = ctx.find_root()
    rpc_url = str(top.params.get("rpc_url"))
    given = top.get_parameter_source("rpc_url") in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)
    try:
        config = load_config(config_path, os.environ)
        account = unlock_keystore(config.keystore, os.environ, None, "meter's keystore")
        if account.address != config.meter:
            raise SetUpError(f"The keystore {config.keystore} holds the key of {account.address}, not of meter {config.meter}.")
        outbox = Outbox(
            config.outbox,
            config.chain_id,
            config.smart_meter,
            config.meter,
            lambda: chain_next_nonce(rpc_url, config.chain_id, config.smart_meter, config.meter) if given else first_nonce,
        )
        source = build_source(config, os.environ)
    except (ConfigError, AccountError, OutboxError) as err:
        raise SetUpError(str(err)) from None
    agent = MeterAgent(config, PrivateKey(bytes(account.key)), source, outbox)
    try:
        agent.run(stop_on_signals())
    except ServiceError as err:
        raise SetUpError(str(err)) from None
    finally:
        outbox.close()


def chain_next_nonce(rpc_url: str, chain_id: int, smart_meter: str, meter: str) -> int:
    """SmartMeter's next nonce for `meter`, read at `rpc_url`: where a new outbox starts."""
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": RPC_TIMEOUT_S}))
    try:
        node_chain_id = int(w3.eth.chain_id)
        if node_chain_id != chain_id:
            raise SetUpError(f"The node at {rpc_url} is chain {node_chain_id}, the configuration's chain {chain_id}.")
        return int(w3.eth.contract(address=Web3.to_checksum_address(smart_meter), abi=NONCES_ABI).functions.nonces(meter).call())
    except SetUpError:
        raise
    except Exception as err:  # no node, or no SmartMeter at that address
        raise SetUpError(f"Cannot read the meter's next nonce from SmartMeter at {rpc_url}: {type(err).__name__}: {err}.") from None
