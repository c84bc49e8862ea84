"""A typed wrapper's writes built instead of sent (`wrapper.build.<method>`): the unsigned
transaction, signed and sent by its sender, does what the sending method does; the contract, not
the wrapper's early checks, judges a built transaction."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.types import TxParams

from energy_grid.chain.errors import ContractRevertError, InvalidInputError
from energy_grid.chain.manifest import build_manifest, read_manifest, write_manifest
from energy_grid.contracts.client import GridClient
from energy_grid.deploy.system import deploy_system, fund_local_accounts

CASH = 1_000_000  # payment base units


@pytest.fixture(scope="module")
def system(project, admin, accounts):
    system = deploy_system(project, admin)
    fund_local_accounts(system, admin, list(accounts)[1:3])
    return system


@pytest.fixture
def client(system: Any, chain: Any, networks: Any, tmp_path: Path) -> GridClient:
    path = write_manifest(build_manifest(chain.chain_id, system.contracts()), tmp_path)
    return GridClient(Web3(Web3.HTTPProvider(networks.provider.uri)), read_manifest(path))


def send(client: GridClient, account: LocalAccount, tx: TxParams) -> None:
    """What a wallet does with a built transaction: signs it and sends it."""
    # eth-account types the transaction dict narrower than web3's TxParams.
    tx_hash = client.w3.eth.send_raw_transaction(account.sign_transaction(cast(Any, tx)).raw_transaction)
    assert client.w3.eth.wait_for_transaction_receipt(tx_hash)["status"] == 1


def test_a_built_deposit_signed_and_sent_deposits_as_the_method_does(client, accounts):
    trader = Account.from_key(accounts[1].private_key)
    vault, cash = client.vault, client.payment_token
    held = vault.balances(trader.address).payment

    cash.approve(trader, vault.address, 2 * CASH)
    vault.deposit(trader, cash.address, CASH)
    tx = vault.build.deposit(trader.address, cash.address, CASH)
    assert (tx["from"], tx["to"]) == (trader.address, vault.address)
    assert tx["nonce"] == client.w3.eth.get_transaction_count(trader.address) and tx["gas"] > 0
    send(client, trader, tx)

    assert vault.balances(trader.address).payment == held + 2 * CASH


def test_a_built_write_of_an_id_returning_method_sends_what_the_method_would(client, accounts):
    """`create_order` answers the new order's id from its receipt: built, it stops at the transaction."""
    trader = Account.from_key(accounts[2].private_key)
    vault, cash, market = client.vault, client.payment_token, client.trading
    cash.approve(trader, vault.address, CASH)
    vault.deposit(trader, cash.address, CASH)
    vault.approve_market(trader, market.address)
    expiry = int(client.w3.eth.get_block("latest")["timestamp"]) + 3_600

    sent_id = market.create_order(trader, 1_000, 200_000, expiry, 0)
    send(client, trader, market.build.create_order(trader, 1_000, 200_000, expiry, 0))

    built = market.get_order_info(sent_id + 1)
    assert (built.trader, built.amount_wh, built.price_per_kwh) == (trader.address, 1_000, 200_000)
    assert market.calls.cancel_order(trader.address, sent_id).fn_name == "cancelOrder"


def test_the_contract_judges_a_built_transaction(client, accounts):
    trader = Account.from_key(accounts[1].private_key)
    vault, cash = client.vault, client.payment_token
    # Sending refuses a zero amount before the chain is asked; building leaves it to the vault.
    with pytest.raises(InvalidInputError):
        vault.deposit(trader, cash.address, 0)
    with pytest.raises(ContractRevertError) as refused:
        vault.build.deposit(trader.address, cash.address, 0)
    assert refused.value.error_name == "ZeroAmount"
    with pytest.raises(InvalidInputError):  # the checks are back once the build is done
        vault.deposit(trader, cash.address, 0)


def test_a_write_that_signs_first_is_built_with_the_account(client, accounts):
    trader = Account.from_key(accounts[1].private_key)
    vault, cash = client.vault, client.payment_token
    # A deposit with a permit signs the permit with the key first: an address cannot.
    with pytest.raises(InvalidInputError, match="not its address"):
        vault.build.deposit_with_permit(trader.address, cash.address, CASH)
    held = vault.balances(trader.address).payment
    send(client, trader, vault.build.deposit_with_permit(trader, cash.address, CASH))
    assert vault.balances(trader.address).payment == held + CASH
