"""What every command shares: the node, the manifest, the signing account, reads that explain reverts.

Everything is connected lazily, so `--help` and usage errors never need a node, and a command
that only reads never needs an account.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from eth_account.signers.local import LocalAccount
from web3 import Web3

from energy_grid.chain.accounts import PRIVATE_KEY_ENV, AccountSource, DevAccountRefused, load_account
from energy_grid.chain.errors import ContractRevertError, ManifestError, describe_decoded, shown
from energy_grid.chain.jsonrpc import NodeProvider
from energy_grid.chain.manifest import manifest_path, read_manifest
from energy_grid.cli.constants import RPC_URL_ENV
from energy_grid.cli.output import kwh_fmt, money_fmt
from energy_grid.contracts.client import GridClient
from energy_grid.contracts.tokens import ERC20
from energy_grid.domain.units import MAX_UINT256

NODE_TIMEOUT_S = 30
# A token's refusal to move what a transaction needed: (the address argument, what it held, how a
# sentence names what it held: "the EnergyToken wallet balance of 0x…").
ERC20_SHORTFALLS = {
    "ERC20InsufficientBalance": ("sender", "balance", "wallet balance of"),
    "ERC20InsufficientAllowance": ("spender", "allowance", "allowance given to"),
}


class CliError(click.ClickException):
    """A failure the user can act on: printed as one line on stderr, exit code 1."""


class SetUpError(CliError):
    """A step the user must take before this command can do its work is missing (a node, a
    deployment on it, a deposit that covers an order): one line on stderr that names the step, exit
    code 2 as for a usage error, and nothing sent."""

    exit_code = 2


@dataclass
class Session:
    """The global options and what they connect to, built once per invocation."""

    rpc_url: str
    manifest: Path | None
    json_output: bool
    account_source: AccountSource
    _w3: Web3 | None = field(default=None, init=False, repr=False)
    _client: GridClient | None = field(default=None, init=False, repr=False)
    _signer: LocalAccount | None = field(default=None, init=False, repr=False)
    _token_info: dict[str, tuple[int, str]] = field(default_factory=dict, init=False, repr=False)
    _start_block: int = field(default=0, init=False, repr=False)

    # ------------------------------------------------------------------ node, manifest, client

    @property
    def w3(self) -> Web3:
        if self._w3 is None:
            w3 = Web3(NodeProvider(self.rpc_url, request_kwargs={"timeout": NODE_TIMEOUT_S}))
            if not w3.is_connected():
                raise SetUpError(
                    f"No node answers at {self.rpc_url}: start one with `make node` and deploy with `make deploy`, "
                    f"or point --rpc-url (or {RPC_URL_ENV}) at a running node."
                )
            self._w3 = w3
        return self._w3

    @property
    def chain_id(self) -> int:
        return int(self.w3.eth.chain_id)

    @property
    def manifest_file(self) -> Path:
        return self.manifest if self.manifest is not None else manifest_path(self.chain_id)

    @property
    def client(self) -> GridClient:
        if self._client is None:
            if self.account_source.dev_account_index is not None:
                self.optional_signer()  # a dev account off anvil's chain is refused before anything else
            path = self.manifest_file
            if not path.exists():
                raise SetUpError(
                    f"No deployment manifest for chain {self.chain_id} at {path}: run `make node` and `make deploy` "
                    "(or `energy-grid deploy`), or pass --manifest FILE."
                )
            try:
                manifest = read_manifest(path)
            except ManifestError as unreadable:
                raise SetUpError(str(unreadable)) from None
            if manifest["chainId"] != self.chain_id:
                raise SetUpError(
                    f"The manifest {path} is for chain {manifest['chainId']} but the node at {self.rpc_url} is "
                    f"chain {self.chain_id}: pass the manifest of this chain (--manifest) or the right --rpc-url."
                )
            self._start_block = int(manifest.get("startBlock", 0))
            try:
                self._client = GridClient(self.w3, manifest, source=str(path))
            except ManifestError as stale:  # its contracts are not on this chain, or are another deployment's
                raise SetUpError(str(stale)) from None
        return self._client

    @property
    def start_block(self) -> int:
        """The deployment's first block (the manifest's startBlock, else 0): where its events begin."""
        self.client  # noqa: B018 - read with the manifest
        return self._start_block

    # ------------------------------------------------------------------ account

    @property
    def signer(self) -> LocalAccount:
        """The account that signs; a usage error (exit 2) when none was given."""
        account = self.optional_signer()
        if account is None:
            raise click.UsageError(
                f"This command signs a transaction: pass --keystore FILE, set {PRIVATE_KEY_ENV}, "
                "or on a local anvil --dev-account N."
            )
        return account

    def optional_signer(self) -> LocalAccount | None:
        if self._signer is None:
            source = self.account_source
            if source.keystore is None and source.dev_account_index is None and not os.environ.get(PRIVATE_KEY_ENV):
                return None
            try:
                self._signer = load_account(source, self.chain_id, password_prompt=_prompt_password)
            except DevAccountRefused as refused:
                raise click.UsageError(str(refused)) from None
        return self._signer

    def address_or_signer(self, address: str | None, what: str = "--address") -> str:
        """`address` when given, else the signing account's."""
        if address is not None:
            return address
        account = self.optional_signer()
        if account is None:
            raise click.UsageError(f"Pass {what}, or an account (--keystore, {PRIVATE_KEY_ENV}, --dev-account).")
        return str(account.address)

    # ------------------------------------------------------------------ reads and writes

    def explain_revert(self, data: str) -> str:
        """Revert data named from whichever contract of the manifest declares the error."""
        if self._client is None:
            return f"revert data {data}"
        return describe_decoded(self._client.contracts.decode_error(data, self._client.userdocs), data)

    def transact(self, call: Any) -> Any:
        return self.client.transact(self.signer, call)

    def ensure_allowance(self, token: str, spender: str, amount: int) -> bool:
        """Approves `spender` for `token` without limit when the signer's allowance is below `amount`;
        True when it sent an approval."""
        wrapper = self.token(token)
        if wrapper.allowance(self.signer.address, spender) >= amount:
            return False
        wrapper.approve(self.signer, spender, MAX_UINT256)
        return True

    def token(self, name: str) -> ERC20:
        """The ERC-20 of the manifest named `name` (EnergyToken, PaymentToken, …)."""
        return ERC20(self.client.transactor, self.client[name])

    def latest_timestamp(self) -> int:
        """The chain's clock, not the wall clock: local chains are moved in time."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def token_info(self, name: str) -> tuple[int, str]:
        """(decimals, symbol) of a token of the manifest."""
        if name not in self._token_info:
            token = self.token(name)
            self._token_info[name] = (token.decimals(), token.symbol())
        return self._token_info[name]

    def payment_decimals(self) -> int:
        return self.token_info("PaymentToken")[0]

    def amount_text(self, token: str) -> Callable[[int], str]:
        """An amount of the manifest's token `token` as a sentence writes it: "1.500 kWh", "0.001500 MOCKUSD"."""
        if token == "EnergyToken":
            return kwh_fmt.text
        decimals, symbol = self.token_info(token)
        return money_fmt(decimals, symbol).text

    @contextmanager
    def token_shortfalls(self, token: str, advice: str) -> Iterator[None]:
        """Turns a token's ERC20InsufficientBalance or ERC20InsufficientAllowance (bubbled up through the
        vault) into one sentence in `token`'s units, ending in `advice`: what to do about it."""
        try:
            yield
        except ContractRevertError as err:
            fields = ERC20_SHORTFALLS.get(err.error_name)
            if fields is None:
                raise
            who, held, what = fields
            text = self.amount_text(token)
            raise SetUpError(
                f"{err.function} rejected: the {token} {what} {shown(err.arguments[who])} is "
                f"{text(int(err.arguments[held]))} but {text(int(err.arguments['needed']))} is needed: {advice}"
            ) from None

    def payment_symbol(self) -> str:
        return self.token_info("PaymentToken")[1]


def _prompt_password() -> str:
    password: str = click.prompt("Keystore password", hide_input=True, err=True)
    return password


pass_session = click.make_pass_decorator(Session)
