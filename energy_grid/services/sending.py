"""Sending a service's transaction only when the chain would take it: a dry run first, then the
transaction, and after a failure a second dry run that says why.

Services race each other, traders and the operator, and a restarted service may repeat a step it
took before it died. A dry run against the latest block tells "someone (or I) did this already" from
a real failure before any gas is spent, and the structured error (the contract's custom error, by
name) lets the caller decide which of the two it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from web3.types import TxReceipt

from energy_grid.chain.errors import ContractRevertError
from energy_grid.contracts.client import GridClient, GridError
from energy_grid.contracts.dry_run import dry_run


@dataclass(frozen=True)
class Outcome:
    """What became of one call: mined (`receipt`), or refused (`error`: the dry run's reason, or the
    node's when a dry run afterwards found nothing wrong: then `unexplained`)."""

    receipt: TxReceipt | None = None
    error: GridError | None = None
    unexplained: bool = False

    @property
    def error_name(self) -> str | None:
        """The contract's custom error, when the refusal was one."""
        return self.error.error_name if isinstance(self.error, ContractRevertError) else None


def send_checked(client: GridClient, account: LocalAccount, call: Any) -> Outcome:
    """Dry-runs `call` as `account`, then sends it and waits for its receipt. A transaction the node
    refuses after a clean dry run (a race lost between the two) is dry-run again to name the reason."""
    error = dry_run(client, account, call)
    if error is not None:
        return Outcome(error=error)
    try:
        receipt = client.transact(account, call)
    except (GridError, RuntimeError) as refused:
        error = dry_run(client, account, call)
        if error is not None:
            return Outcome(error=error)
        return Outcome(error=refused if isinstance(refused, GridError) else GridError(str(refused)), unexplained=True)
    return Outcome(receipt=receipt)


__all__ = ["Outcome", "send_checked"]
