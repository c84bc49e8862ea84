"""The account that signs: an encrypted keystore, an environment variable, or a dev account locally.

    account = load_account(chain_id=w3.eth.chain_id, keystore=Path("me.json"))   # password from the env or a prompt
    account = load_account(chain_id=31337, dev_account_index=1)                   # anvil's public dev account 1

A key never sits in a file of the repository: it comes from a keystore (Web3 Secret Storage, as geth,
ape and eth-account write them) or from `ENERGY_GRID_PRIVATE_KEY`. Anvil's dev accounts are public
knowledge, so they are accepted only on chain 31337, anvil's own: anywhere else whoever read the
mnemonic would hold the same key.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from energy_grid.chain.errors import GridError

PRIVATE_KEY_ENV = "ENERGY_GRID_PRIVATE_KEY"
KEYSTORE_PASSWORD_ENV = "ENERGY_GRID_KEYSTORE_PASSWORD"
DEV_CHAIN_ID = 31337  # anvil's default chain id: the only chain where its public dev keys are accepted
DEV_ACCOUNT_COUNT = 10  # anvil's default number of funded dev accounts
PRIVATE_FILE_MODE = 0o600
# Anvil's public development mnemonic: its accounts exist only on local chains.
ANVIL_MNEMONIC = "test test test test test test test test test test test junk"


def anvil_account(index: int) -> LocalAccount:
    """Anvil's dev account `index`, derived from its public mnemonic (local chains only)."""
    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


def write_private_file(path: Path, content: str) -> None:
    """Writes a secret (a token, passwords) to `path`, readable by its owner only from the first byte
    on: an earlier file there is removed, not rewritten, since its mode may be wider."""
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    with os.fdopen(descriptor, "w") as file:
        file.write(content)


class AccountError(GridError):
    """No signing account could be loaded (missing file, wrong password, malformed key, …)."""


class DevAccountRefused(AccountError):
    """A public dev account was asked for on a chain that is not anvil's."""


@dataclass(frozen=True)
class AccountSource:
    """Where the signing account comes from, as the user chose it; at most one of the two fields."""

    keystore: Path | None = None
    dev_account_index: int | None = None


def load_keystore(path: Path, password: str) -> LocalAccount:
    """Decrypts a Web3 Secret Storage keystore file."""
    try:
        encrypted = json.loads(path.read_text())
    except FileNotFoundError:
        raise AccountError(f"No keystore file at {path}.") from None
    except (OSError, ValueError) as err:
        raise AccountError(f"{path} is not a keystore file: {err}") from None
    try:
        key = Account.decrypt(encrypted, password)
    except ValueError:
        # eth-account says "MAC mismatch" for a wrong password; a user reads it as this.
        raise AccountError(f"Cannot decrypt the keystore {path}: wrong password, or not a keystore.") from None
    except (KeyError, TypeError) as err:
        raise AccountError(f"{path} is not a keystore file (missing {err}).") from None
    account: LocalAccount = Account.from_key(key)
    return account


def create_keystore(path: Path, password: str) -> LocalAccount:
    """A new random key, written to `path` as an encrypted keystore readable by its owner only from
    the first byte on, and whole or not at all (written beside it, on disk, then linked into place).
    A file already at `path` is never replaced: the key in it may be the only copy (AccountError)."""
    exists = AccountError(f"{path} exists already: a new key is never written over a file that may hold the only copy of one.")
    if path.exists():
        raise exists
    account: LocalAccount = Account.create()
    draft: str | None = None
    try:
        descriptor, draft = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # readable by its owner only
        with os.fdopen(descriptor, "w") as file:
            file.write(json.dumps(Account.encrypt(account.key, password)) + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.link(draft, path)  # refuses a file that appeared meanwhile
    except FileExistsError:
        raise exists from None
    except OSError as err:
        raise AccountError(f"Cannot write the keystore {path}: {err.strerror}.") from None
    finally:
        if draft is not None:
            os.unlink(draft)
    return account


def unlock_keystore(
    path: Path, environ: Mapping[str, str], password_prompt: Callable[[], str] | None, what: str = "keystore"
) -> LocalAccount:
    """Decrypts the keystore `path` (`what` names it in errors) with the password in
    ENERGY_GRID_KEYSTORE_PASSWORD, else the one `password_prompt` asks for."""
    password = environ.get(KEYSTORE_PASSWORD_ENV)
    if password is None:
        if password_prompt is None:
            raise AccountError(f"The {what} {path} needs a password: set {KEYSTORE_PASSWORD_ENV}.")
        password = password_prompt()
    return load_keystore(path, password)


def account_from_private_key(private_key: str, env_name: str = PRIVATE_KEY_ENV) -> LocalAccount:
    """A 32-byte hex key, with or without 0x, read from the variable `env_name`; the error never
    repeats the value."""
    try:
        account: LocalAccount = Account.from_key(private_key.strip())
    except (ValueError, TypeError):
        raise AccountError(f"{env_name} is not a 32-byte hex private key.") from None
    return account


def dev_account(index: int, chain_id: int) -> LocalAccount:
    """Anvil's public dev account `index`, on chain 31337 only."""
    if chain_id != DEV_CHAIN_ID:
        raise DevAccountRefused(
            f"--dev-account is for a local anvil (chain {DEV_CHAIN_ID}) only; this node is chain {chain_id}. "
            f"Its keys are public: use --keystore FILE or {PRIVATE_KEY_ENV}."
        )
    if not 0 <= index < DEV_ACCOUNT_COUNT:
        raise AccountError(f"Dev account {index} does not exist: anvil funds accounts 0 to {DEV_ACCOUNT_COUNT - 1}.")
    return anvil_account(index)


def load_account(
    source: AccountSource,
    chain_id: int,
    *,
    password_prompt: Callable[[], str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> LocalAccount | None:
    """The signing account `source` names, else the one in ENERGY_GRID_PRIVATE_KEY, else None.

    A keystore's password comes from ENERGY_GRID_KEYSTORE_PASSWORD, else from `password_prompt`.
    """
    env = os.environ if environ is None else environ
    if source.keystore is not None and source.dev_account_index is not None:
        raise AccountError("Choose one account: --keystore or --dev-account, not both.")
    if source.dev_account_index is not None:
        return dev_account(source.dev_account_index, chain_id)
    if source.keystore is not None:
        return unlock_keystore(source.keystore, env, password_prompt)
    private_key = env.get(PRIVATE_KEY_ENV)
    if private_key:
        return account_from_private_key(private_key)
    return None


__all__ = [
    "DEV_CHAIN_ID",
    "KEYSTORE_PASSWORD_ENV",
    "PRIVATE_FILE_MODE",
    "PRIVATE_KEY_ENV",
    "AccountError",
    "AccountSource",
    "DevAccountRefused",
    "account_from_private_key",
    "create_keystore",
    "dev_account",
    "load_account",
    "load_keystore",
    "unlock_keystore",
    "write_private_file",
]
