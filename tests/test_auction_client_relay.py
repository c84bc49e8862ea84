"""The plain web3.py client's relay of a trader's signed auction order (EnergyAuction.submitOrderBySig),
as a relayer's script drives it from the manifest alone: the typed data signed with
`energy_grid.signing.auction`, the order relayed, and a missing market approval told in words."""

from __future__ import annotations

import pytest
from eth_account import Account
from web3 import Web3

from energy_grid.chain.errors import ContractRevertError
from energy_grid.chain.manifest import build_manifest, read_manifest, write_manifest
from energy_grid.contracts.client import GridClient
from energy_grid.deploy.system import deploy_system, fund_local_accounts, setup_local_roles
from energy_grid.signing.auction import SignedAuctionOrder, auction_order_typed_data, sign_auction_order

CASH = 1_000_000  # PaymentToken base units the trader deposits
MAX_UINT256 = 2**256 - 1


@pytest.fixture(scope="module")
def system(project, admin, accounts):
    deployed = deploy_system(project, admin)
    setup_local_roles(deployed, admin)
    fund_local_accounts(deployed, admin, [accounts[2]])
    deployed.payment_token.approve(deployed.energy_vault, MAX_UINT256, sender=accounts[2])
    deployed.energy_vault.deposit(deployed.payment_token, CASH, sender=accounts[2])
    return deployed


@pytest.fixture
def client(system, chain, networks, tmp_path):
    path = write_manifest(build_manifest(chain.chain_id, system.contracts()), tmp_path)
    return GridClient(Web3(Web3.HTTPProvider(networks.provider.uri)), read_manifest(path))


def test_a_signed_bid_is_relayed_and_a_missing_approval_is_told_in_words(client, system, accounts, chain):
    trader, relayer = accounts[2], Account.from_key(accounts[9].private_key)
    market = client.auction
    now = chain.blocks.head.timestamp
    period = market.next_open_period(now)
    assert market.gate_closure_time(period - 1) <= now < market.gate_closure_time(period)
    assert market.period_at(period * market.period_length_s() + 1) == period
    limit = int(system.energy_auction.minPrice())
    order = SignedAuctionOrder(trader.address, period, True, 2_000, limit, market.nonce(trader.address), now + 600)
    typed = auction_order_typed_data(order, market.address, client.chain_id)
    assert (typed["primaryType"], typed["domain"]["name"], typed["message"]["isBid"]) == ("AuctionOrder", "EnergyAuction", True)
    signature = sign_auction_order(order, trader.private_key, market.address, client.chain_id)
    with pytest.raises(ContractRevertError) as refused:
        market.submit_order_by_sig(relayer, order, signature)
    assert refused.value.error_name == "MarketNotApproved"
    assert "has not approved this auction" in str(refused.value) and trader.address in str(refused.value)
    system.energy_vault.setMarketApproval(system.energy_auction, True, sender=trader)
    order_id = market.submit_order_by_sig(relayer, order, signature)
    info = market.get_order(order_id)
    assert (info.trader, info.period, info.is_bid, info.amount_wh) == (trader.address, period, True, 2_000)
    assert market.nonce(trader.address) == 1
    assert market.trader_orders(trader.address) == [order_id]
    assert market.trader_orders(relayer.address) == []
