"""The failures a user can act on, each turned into one line on stderr and exit code 1."""

from __future__ import annotations

import click
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import Timeout
from web3.exceptions import ContractCustomError, ContractLogicError, ProviderConnectionError, TimeExhausted, Web3RPCError

from energy_grid.chain.errors import GridError
from energy_grid.cli.session import CliError, Session


def user_failure(ctx: click.Context, err: Exception) -> CliError | None:
    """The one-line error for a failure the user can act on; None for any other exception."""
    session = ctx.find_object(Session)
    message: str | None = None
    if isinstance(err, GridError):
        message = str(err)
    elif isinstance(err, ContractCustomError):
        reason = session.explain_revert(str(err.data)) if session else str(err.data)
        message = f"The contract rejected the call: {reason}"
    elif isinstance(err, ContractLogicError):
        message = f"The contract rejected the call: {err}"
    elif isinstance(err, Web3RPCError):
        message = f"The node refused the request: {err}"
    elif isinstance(err, RequestsConnectionError | Timeout | ProviderConnectionError):
        where = session.rpc_url if session else "the node"
        message = f"Lost the node at {where} ({type(err).__name__}): is it still running (`make node`)?"
    elif isinstance(err, TimeExhausted):
        message = f"No receipt in time: {err}"
    return None if message is None else CliError(message)
