"""`energy-grid serve`: the REST API and the web app (uvicorn), with its two keys and its index.

    energy-grid serve                                   # on anvil: dev accounts 9 (relayer) and 0 (operator)
    ENERGY_GRID_RELAYER_KEY=… ENERGY_GRID_OPERATOR_KEY=… ENERGY_GRID_OPERATOR_TOKEN=… energy-grid serve

The relayer pays the gas of relayed orders and readings, within the relay quotas, and holds no
role; the operator key signs the operator routes, which also need the bearer token. Each key comes
from its keystore option (password from ENERGY_GRID_KEYSTORE_PASSWORD, else a prompt) or its
environment variable. On anvil's chain 31337 only, the public dev accounts stand in for missing keys
and a random token is made for the run; anywhere else a missing operator key or token turns the
operator routes off (503), and a missing relayer key is an error.

A token made for the run is written to the token file (`--token-file`, by default
.index/operator-token), readable by its owner only, and shown itself only when stderr is a
terminal: a process manager keeps serve's output in a log file others may read.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from pathlib import Path

import click
from eth_account.signers.local import LocalAccount

from energy_grid.api.settings import RelayLimits, ServiceSettings
from energy_grid.chain.accounts import (
    DEV_CHAIN_ID,
    AccountError,
    account_from_private_key,
    anvil_account,
    unlock_keystore,
    write_private_file,
)
from energy_grid.cli.params import DecimalParam, kwh_to_wh
from energy_grid.cli.session import CliError, Session, pass_session
from energy_grid.domain.units import WH_PER_KWH

RELAYER_KEY_ENV = "ENERGY_GRID_RELAYER_KEY"
OPERATOR_KEY_ENV = "ENERGY_GRID_OPERATOR_KEY"
OPERATOR_TOKEN_ENV = "ENERGY_GRID_OPERATOR_TOKEN"
DATABASE_URL_ENV = "DATABASE_URL"
DEV_RELAYER_INDEX = 9  # a funded dev account that holds no role
DEV_OPERATOR_INDEX = 0  # the deployer: region 1's grid operator and a demand-response operator locally
INDEX_DIR = Path(".index")
DEFAULT_TOKEN_FILE = INDEX_DIR / "operator-token"
SQLITE_PREFIX = "sqlite:///"
TOKEN_BYTES = 24
DEFAULT_HOST = "127.0.0.1"
# An idle connection is closed after this long: longer than HTTP clients keep idle connections by
# default (httpx 5 s, browsers' pools reuse within seconds), so that a client rarely sends a request
# on a connection the server is closing at that moment (the client sees it reset, not answered).
KEEP_ALIVE_S = 30
# On SIGTERM or Ctrl-C, requests in flight get this long to finish before their connections close.
SHUTDOWN_GRACE_S = 10
DEFAULT_PORT = 8000
DEFAULT_RELAY_LIMITS = RelayLimits()


@dataclass(frozen=True)
class ServePlan:
    """The settings to serve with, what to tell the user at start, and where to keep the operator
    token made for the run (None: none was made)."""

    settings: ServiceSettings
    notes: list[str]
    token_file: Path | None = None

    def keep_token(self) -> None:
        """Writes the token made for the run to its file, readable by its owner only."""
        if self.token_file is not None and self.settings.operator_token is not None:
            self.token_file.parent.mkdir(parents=True, exist_ok=True)
            write_private_file(self.token_file, self.settings.operator_token + "\n")


def default_database_url(chain_id: int) -> str:
    return f"{SQLITE_PREFIX}{INDEX_DIR / f'{chain_id}.sqlite'}"


def prepare_sqlite_folder(database_url: str) -> None:
    """Creates the folder of a SQLite file (the one-file default needs nothing else installed)."""
    if database_url.startswith(SQLITE_PREFIX):
        path = database_url.removeprefix(SQLITE_PREFIX).split("?")[0]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def service_account(
    role: str,
    keystore: Path | None,
    env_name: str,
    environ: Mapping[str, str],
    password_prompt: Callable[[str], str] | None,
) -> LocalAccount | None:
    """The account from `keystore`, else from `env_name`, else None."""
    if keystore is not None:
        prompt = None if password_prompt is None else partial(password_prompt, role)
        return unlock_keystore(keystore, environ, prompt, f"{role} keystore")
    value = environ.get(env_name)
    return account_from_private_key(value, env_name) if value else None


def build_service_settings(
    rpc_url: str,
    manifest_file: Path,
    chain_id: int,
    *,
    database_url: str | None = None,
    relayer_keystore: Path | None = None,
    operator_keystore: Path | None = None,
    environ: Mapping[str, str] | None = None,
    password_prompt: Callable[[str], str] | None = None,
    relay_limits: RelayLimits = DEFAULT_RELAY_LIMITS,
    token_file: Path = DEFAULT_TOKEN_FILE,
    show_token: bool = False,
) -> ServePlan:
    """What `serve` runs with, from its options and the environment (see the module's docstring).
    A token made for the run goes to `token_file`, and into the notes only with `show_token`."""
    env = os.environ if environ is None else environ
    local = chain_id == DEV_CHAIN_ID
    notes: list[str] = []
    relayer = service_account("relayer", relayer_keystore, RELAYER_KEY_ENV, env, password_prompt)
    if relayer is None:
        if not local:
            raise AccountError(
                f"serve relays what wallets and meters sign and pays their gas: give it a relayer account "
                f"({RELAYER_KEY_ENV} or --relayer-keystore FILE)."
            )
        relayer = anvil_account(DEV_RELAYER_INDEX)
        notes.append(f"Relayer: anvil dev account {DEV_RELAYER_INDEX} ({relayer.address}), local chain only.")
    operator = service_account("operator", operator_keystore, OPERATOR_KEY_ENV, env, password_prompt)
    if operator is None and local:
        operator = anvil_account(DEV_OPERATOR_INDEX)
        notes.append(f"Operator: anvil dev account {DEV_OPERATOR_INDEX} ({operator.address}), local chain only.")
    token = env.get(OPERATOR_TOKEN_ENV) or None
    kept_in = None
    if token is None and local and operator is not None:
        token = secrets.token_urlsafe(TOKEN_BYTES)
        kept_in = token_file
        shown = f"{token}, also in {token_file}" if show_token else f"in {token_file} (readable by you only)"
        notes.append(f"Operator token for this run: {shown}  (set {OPERATOR_TOKEN_ENV} to choose one)")
    if operator is None or token is None:
        notes.append(
            f"Operator routes are off (503): give an operator key ({OPERATOR_KEY_ENV} or --operator-keystore) "
            f"and a token ({OPERATOR_TOKEN_ENV})."
        )
        operator, token = None, None
    url = database_url or env.get(DATABASE_URL_ENV) or default_database_url(chain_id)
    settings = ServiceSettings(
        rpc_url=rpc_url,
        manifest_file=manifest_file,
        database_url=url,
        relayer=relayer,
        operator=operator,
        operator_token=token,
        relay_limits=relay_limits,
    )
    return ServePlan(settings, notes, kept_in)


def _prompt(role: str) -> str:
    password: str = click.prompt(f"Password of the {role} keystore", hide_input=True, err=True)
    return password


@click.command()
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Interface to listen on.")
@click.option("--port", default=DEFAULT_PORT, type=click.IntRange(1, 65535), show_default=True, help="Port to listen on.")
@click.option(
    "--database-url",
    default=None,
    help=f"The index's SQLAlchemy URL (env {DATABASE_URL_ENV}); default sqlite:///.index/<chainId>.sqlite.",
)
@click.option(
    "--relayer-keystore",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"Keystore of the account that pays the relayed transactions' gas (else env {RELAYER_KEY_ENV}).",
)
@click.option(
    "--operator-keystore",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"Keystore of the grid operator the operator routes sign as (else env {OPERATOR_KEY_ENV}).",
)
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_TOKEN_FILE,
    show_default=True,
    help="Where the operator token made for the run is kept, readable by you only (local chain, no "
    f"{OPERATOR_TOKEN_ENV}); it is printed itself only to a terminal.",
)
@click.option(
    "--relays-per-account",
    type=click.IntRange(min=1),
    default=DEFAULT_RELAY_LIMITS.per_account,
    show_default=True,
    help="Transactions the relayer sends for one account (the signer) per relay window; more are answered 429.",
)
@click.option(
    "--relays-per-client",
    type=click.IntRange(min=1),
    default=DEFAULT_RELAY_LIMITS.per_client,
    show_default=True,
    help="Transactions the relayer sends for one client (an IP address) per relay window; more are answered 429.",
)
@click.option(
    "--relay-window",
    type=click.IntRange(min=1),
    default=DEFAULT_RELAY_LIMITS.window_s,
    show_default=True,
    help="The relay quotas' sliding window, in seconds.",
)
@click.option(
    "--min-auction-order-kwh",
    type=DecimalParam(),
    default=Decimal(DEFAULT_RELAY_LIMITS.min_auction_order_wh) / WH_PER_KWH,
    show_default=True,
    help="The smallest auction order the relayer sends, in kWh.",
)
@click.option(
    "--forecaster-url",
    default=None,
    help="The forecaster's metrics URL (e.g. http://127.0.0.1:9106), whose hour-ahead and PV forecasts "
    "/api/v1/analytics/forecasts/ahead passes on; else that route answers 404.",
)
@pass_session
def serve(
    session: Session,
    host: str,
    port: int,
    database_url: str | None,
    relayer_keystore: Path | None,
    operator_keystore: Path | None,
    token_file: Path,
    relays_per_account: int,
    relays_per_client: int,
    relay_window: int,
    min_auction_order_kwh: Decimal,
    forecaster_url: str | None,
) -> None:
    """Serve the REST API (docs at /docs) and the web app, relaying what wallets and meters sign.

    The read routes answer from an event index (SQLite by default, PostgreSQL when the URL names
    one), which the service keeps in step with the chain while it runs.
    """
    # Imported here: the web stack is needed only by this command, not by every `energy-grid` call.
    import uvicorn  # noqa: PLC0415

    from energy_grid.api import create_app  # noqa: PLC0415

    try:
        plan = build_service_settings(
            session.rpc_url,
            session.manifest_file,
            session.chain_id,
            database_url=database_url,
            relayer_keystore=relayer_keystore,
            operator_keystore=operator_keystore,
            password_prompt=_prompt,
            relay_limits=RelayLimits(
                per_account=relays_per_account,
                per_client=relays_per_client,
                window_s=relay_window,
                min_auction_order_wh=kwh_to_wh(min_auction_order_kwh, "--min-auction-order-kwh"),
            ),
            token_file=token_file,
            show_token=sys.stderr.isatty(),
        )
    except AccountError as err:
        raise CliError(str(err)) from None
    prepare_sqlite_folder(plan.settings.database_url)
    plan.keep_token()
    app = create_app(dataclasses.replace(plan.settings, forecaster_url=forecaster_url))
    for note in plan.notes:
        click.echo(note, err=True)
    click.echo(f"Serving chain {session.chain_id} on http://{host}:{port}  (API docs at /docs; Ctrl-C stops)", err=True)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="info",
        timeout_keep_alive=KEEP_ALIVE_S,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
    )


__all__ = [
    "DATABASE_URL_ENV",
    "DEFAULT_TOKEN_FILE",
    "OPERATOR_KEY_ENV",
    "OPERATOR_TOKEN_ENV",
    "RELAYER_KEY_ENV",
    "ServePlan",
    "build_service_settings",
    "default_database_url",
    "prepare_sqlite_folder",
    "serve",
]
