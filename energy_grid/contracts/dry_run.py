"""What a contract call would revert with, without sending it.

The keeper and the ingestion decide by the error's *name* whether a rejection means "someone
else did it already" (skip) or a real failure, so they need it structured, not as text: the
client's `ContractRevertError` (name, arguments, NatSpec) or, for a revert no ABI names,
`TransactionRevertedError`.
"""

from __future__ import annotations

from typing import Any

from eth_account.signers.local import LocalAccount
from web3.exceptions import ContractCustomError, ContractLogicError

from energy_grid.contracts.client import GridClient
from energy_grid.chain.errors import ContractRevertError, TransactionRevertedError


def dry_run(
    client: GridClient, sender: LocalAccount | str, call: Any
) -> ContractRevertError | TransactionRevertedError | None:
    """Runs `call` as `sender` against the latest block: None if it would go through, else the
    error it reverts with (looked up in every contract of the manifest, as an error may bubble up
    from a token or another contract)."""
    address = sender if isinstance(sender, str) else sender.address
    try:
        call.call({"from": address})
    except (ContractCustomError, ContractLogicError) as err:
        translated = client.transactor.translate(call, err)
        if isinstance(translated, ContractRevertError | TransactionRevertedError):
            return translated
        raise translated from None
    return None
