"""The typed client's EnergyVault (grid.vault) and standing orders (grid.smart_meter), with plain
web3.py against a deployment's manifest: deposits (with an allowance or a permit), withdrawals,
market approvals and what an auction order without them is told; a meter's standing limits, and
the settlement of its orders once the reading market may clear. Input the contracts would refuse
is refused before anything is sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from web3 import Web3

from energy_grid.chain.errors import ContractRevertError, InvalidInputError
from energy_grid.chain.manifest import build_manifest, read_manifest, write_manifest
from energy_grid.contracts.client import BUY, GridClient, MeterReading
from energy_grid.contracts.smart_meter import MAX_STANDING_CAP_WH, MAX_STANDING_ORDER_NONCE, SettledStandingOrder
from energy_grid.contracts.structs import StandingOrder
from energy_grid.contracts.vault import VaultBalances
from energy_grid.deploy.system import System, deploy_energy_auction, deploy_system, fund_local_accounts
from energy_grid.domain.units import ZERO_ADDRESS
from energy_grid.signing.eip712 import sign_typed_data
from energy_grid.signing.vault import StandingLimits

CASH = 2_000_000  # payment base units (2 MOCKUSD)
REGION = 1
FEE_BPS = 50  # the deployment's grid fee


@pytest.fixture(scope="module")
def system(project: Any, admin: Any, accounts: Any) -> System:
    system = deploy_system(project, admin)
    fund_local_accounts(system, admin, list(accounts)[1:7])
    return system


@pytest.fixture
def client(system: System, chain: Any, networks: Any, tmp_path: Path) -> GridClient:
    path = write_manifest(build_manifest(chain.chain_id, system.contracts()), tmp_path)
    return GridClient(Web3(Web3.HTTPProvider(networks.provider.uri)), read_manifest(path))


def signer(account: Any) -> LocalAccount:
    return Account.from_key(account.private_key)


def now_s(client: GridClient) -> int:
    return int(client.w3.eth.get_block("latest")["timestamp"])


# ------------------------------------------------------------------------------- the vault


def test_deposit_withdraw_and_balances(client, accounts):
    trader = signer(accounts[1])
    vault, cash = client.vault, client.payment_token
    assert (vault.energy_token, vault.payment_token) == (client.energy_token.address, cash.address)
    wallet = cash.balance_of(trader.address)
    held = vault.balances(trader.address)

    cash.approve(trader, vault.address, CASH)
    vault.deposit(trader, cash.address, CASH)
    assert vault.balances(trader.address) == VaultBalances(held.energy_wh, held.payment + CASH)
    assert vault.balance_of(cash.address, trader.address) == held.payment + CASH
    assert cash.balance_of(trader.address) == wallet - CASH

    other = accounts[2].address
    other_wallet = cash.balance_of(other)
    vault.withdraw(trader, cash.address, 500_000, to=other)
    vault.withdraw(trader, cash.address, 250_000)  # to its own wallet
    assert vault.balances(trader.address).payment == held.payment + CASH - 750_000
    assert (cash.balance_of(other), cash.balance_of(trader.address)) == (other_wallet + 500_000, wallet - CASH + 250_000)
    assert vault.reserves().payment == cash.balance_of(vault.address)

    with pytest.raises(ContractRevertError) as short:
        vault.withdraw(trader, cash.address, 10 * CASH)
    assert short.value.error_name == "InsufficientPayment"


def test_deposit_with_a_permit_needs_no_approval(client, accounts):
    trader = signer(accounts[3])
    vault, cash = client.vault, client.payment_token
    assert cash.allowance(trader.address, vault.address) == 0
    held = vault.balances(trader.address).payment
    nonce = client.w3.eth.get_transaction_count(trader.address)

    vault.deposit_with_permit(trader, cash.address, CASH)

    assert client.w3.eth.get_transaction_count(trader.address) == nonce + 1  # one transaction
    assert vault.balances(trader.address).payment == held + CASH
    assert cash.allowance(trader.address, vault.address) == 0  # the permit was used up


def test_input_the_vault_would_refuse_is_refused_before_sending(client, accounts):
    trader = signer(accounts[4])
    vault = client.vault
    nonce = client.w3.eth.get_transaction_count(trader.address)
    refusals = [
        (lambda: vault.deposit(trader, client.trading.address, 1), "neither the vault's EnergyToken"),
        (lambda: vault.deposit(trader, client.payment_token.address, 0), "amount must be a positive integer"),
        (lambda: vault.deposit_with_permit(trader, client.energy_token.address, -5), "amount must be a positive integer"),
        (lambda: vault.withdraw(trader, client.payment_token.address, 1, to=ZERO_ADDRESS), "cannot go to the zero address"),
        (lambda: vault.balance_of(client.trading.address, trader.address), "neither the vault's EnergyToken"),
        (lambda: vault.approve_market(trader, client.payment_token.address), "not a market registered with the vault"),
    ]
    for refuse, message in refusals:
        with pytest.raises(InvalidInputError, match=message):
            refuse()
    assert client.w3.eth.get_transaction_count(trader.address) == nonce


def test_market_approval_and_what_an_auction_order_without_it_is_told(client, accounts):
    buyer = signer(accounts[5])
    vault, auction = client.vault, client.auction
    period = auction.current_period() + 2
    assert vault.market_registration(auction.address).registered
    assert not vault.is_market_approved(buyer.address, auction.address)

    with pytest.raises(ContractRevertError) as unapproved:
        auction.submit_bid(buyer, period, 1_000, 100_000)
    assert unapproved.value.error_name == "MarketNotApproved"
    message = str(unapproved.value)
    assert message.startswith(f"submitBid rejected: MarketNotApproved(account={buyer.address}")
    assert f"{buyer.address} has not approved this auction ({auction.address}) in the EnergyVault" in message
    assert "grid.vault.approve_market" in message

    vault.approve_market(buyer, auction.address)
    assert vault.is_market_approved(buyer.address, auction.address)
    # Approved, but nothing in the vault and no allowance for the vault to pull the escrow from the wallet.
    with pytest.raises(ContractRevertError) as short:
        auction.submit_bid(buyer, period, 1_000, 100_000)
    assert short.value.error_name == "ERC20InsufficientAllowance"
    assert "the escrow is more than" in str(short.value) and "deposit into the vault first" in str(short.value)

    client.vault.deposit_with_permit(buyer, client.payment_token.address, 100_000)
    order_id = auction.submit_bid(buyer, period, 1_000, 100_000)
    assert auction.get_order(order_id).trader == buyer.address
    assert vault.balances(buyer.address).payment == 0  # the whole deposit is the bid's escrow
    assert vault.balances(auction.address).payment >= 100_000

    vault.approve_market(buyer, auction.address, approved=False)
    assert not vault.is_market_approved(buyer.address, auction.address)


def test_what_a_book_order_without_the_vault_approvals_is_told(client, accounts):
    """The order book escrows from the vault too: an order before the approvals says what to call."""
    buyer = signer(accounts[6])  # funded by the module's system, never approved anything
    book = client.trading
    expiry = client.w3.eth.get_block("latest")["timestamp"] + 3_600
    with pytest.raises(ContractRevertError) as unapproved:
        book.place_order(buyer, 1_000, 100_000, expiry, BUY)
    assert unapproved.value.error_name == "MarketNotApproved"
    assert f"{buyer.address} has not approved the order book ({book.address}) in the EnergyVault" in str(unapproved.value)
    client.vault.approve_market(buyer, book.address)
    with pytest.raises(ContractRevertError) as short:
        book.place_order(buyer, 1_000, 100_000, expiry, BUY)
    assert short.value.error_name == "ERC20InsufficientAllowance"
    assert "grid.approve_market(trader) does both approvals" in str(short.value)
    client.approve_market(buyer)  # the vault's allowance too: the escrow is pulled from the wallet
    placed = book.place_order(buyer, 1_000, 100_000, expiry, BUY)
    assert book.get_order_info(placed.order_id).escrow == 100_000
    assert client.vault.balances(book.address).payment == 100_000


# ------------------------------------------------------------------------------- standing orders


def test_standing_limits_are_set_read_and_removed(client, accounts):
    owner, operator = signer(accounts[1]), signer(accounts[0])
    meter = Account.create().address
    client.smart_meter.register_meter(operator, meter, owner.address, REGION, 0, 0)
    assert client.smart_meter.standing_order(meter) == StandingOrder(0, 0, 0, 0)
    assert client.smart_meter.reading_market() == client.auction.address

    client.smart_meter.set_standing_order(owner, meter, sell_price_per_kwh=80_000, sell_cap_wh=2_000, buy_price_per_kwh=120_000)
    assert client.smart_meter.standing_order(meter) == StandingOrder(80_000, 2_000, 120_000, 0)
    assert client.smart_meter.get_meter(meter).vault_delivery  # standing orders trade the vault's energy

    client.smart_meter.remove_standing_order(owner, meter)
    assert client.smart_meter.standing_order(meter) == StandingOrder(0, 0, 0, 0)
    client.smart_meter.set_vault_delivery(owner, meter, False)
    assert not client.smart_meter.get_meter(meter).vault_delivery

    stranger = signer(accounts[2])
    with pytest.raises(ContractRevertError) as not_owner:
        client.smart_meter.set_standing_order(stranger, meter, sell_price_per_kwh=80_000)
    assert not_owner.value.error_name == "NotMeterOwner"


def test_signed_approval_and_standing_limits_are_relayed(client, accounts):
    """The owner signs in its wallet (the typed data a wallet signs), a relayer holding nothing of it sends."""
    owner, relayer, operator = signer(accounts[3]), signer(accounts[4]), signer(accounts[0])
    meter = Account.create().address
    client.smart_meter.register_meter(operator, meter, owner.address, REGION, 0, 0)
    deadline = now_s(client) + 3_600

    approval = client.vault.market_approval_typed_data(owner.address, client.auction.address, deadline)
    assert approval["message"]["nonce"] == client.vault.nonce(owner.address) == 0
    client.vault.approve_market_by_sig(relayer, owner.address, client.auction.address, deadline, wallet_signature(owner, approval))
    assert client.vault.is_market_approved(owner.address, client.auction.address)

    limits = StandingLimits(meter, sell_price_per_kwh=80_000, sell_cap_wh=500)
    typed = client.smart_meter.standing_order_typed_data(limits, deadline)
    client.smart_meter.set_standing_order_by_sig(relayer, limits, deadline, wallet_signature(owner, typed))
    assert client.smart_meter.standing_order(meter) == StandingOrder(80_000, 500, 0, 0)
    assert client.smart_meter.standing_order_nonce(owner.address) == 1
    with pytest.raises(ContractRevertError) as replayed:
        client.smart_meter.set_standing_order_by_sig(relayer, limits, deadline, wallet_signature(owner, typed))
    assert replayed.value.error_name == "InvalidStandingOrderSignature"

    cleared = StandingLimits(meter)
    client.smart_meter.set_standing_order_by_sig(
        relayer, cleared, deadline, wallet_signature(owner, client.smart_meter.standing_order_typed_data(cleared, deadline))
    )
    assert client.smart_meter.standing_order(meter) == StandingOrder(0, 0, 0, 0)
    with pytest.raises(InvalidInputError, match="a buy cap needs a buy price"):
        client.smart_meter.standing_order_typed_data(StandingLimits(meter, buy_cap_wh=5), deadline)


def test_an_owner_voids_its_unrelayed_standing_limits_through_the_client(client, accounts):
    owner, relayer, operator = signer(accounts[5]), signer(accounts[4]), signer(accounts[0])
    meter = Account.create().address
    client.smart_meter.register_meter(operator, meter, owner.address, REGION, 0, 0)
    deadline = now_s(client) + 3_600
    limits = StandingLimits(meter, sell_price_per_kwh=80_000)
    nonce = client.smart_meter.standing_order_nonce(owner.address)
    unrelayed = wallet_signature(owner, client.smart_meter.standing_order_typed_data(limits, deadline))
    client.smart_meter.invalidate_standing_order_nonces(owner, nonce + 2)
    assert client.smart_meter.standing_order_nonce(owner.address) == nonce + 2
    with pytest.raises(ContractRevertError) as voided:
        client.smart_meter.set_standing_order_by_sig(relayer, limits, deadline, unrelayed)
    assert voided.value.error_name == "InvalidStandingOrderSignature"
    with pytest.raises(ContractRevertError) as lowered:
        client.smart_meter.invalidate_standing_order_nonces(owner, nonce + 1)
    assert lowered.value.error_name == "StandingOrderNonceNotRaised"
    sent = client.w3.eth.get_transaction_count(owner.address)
    for refused in (0, MAX_STANDING_ORDER_NONCE + 1, True):
        with pytest.raises(InvalidInputError, match="new_nonce must be an integer from 1 to 4,294,967,295"):
            client.smart_meter.invalidate_standing_order_nonces(owner, refused)
    assert client.w3.eth.get_transaction_count(owner.address) == sent


def wallet_signature(account: LocalAccount, typed: dict[str, Any]) -> bytes:
    return bytes(Account.sign_message(encode_typed_data(full_message=typed), account.key).signature)


def test_standing_input_is_refused_before_sending(client, accounts):
    owner = signer(accounts[1])
    meter = Account.create().address
    nonce = client.w3.eth.get_transaction_count(owner.address)
    set_limits = client.smart_meter.set_standing_order
    refusals = [
        (lambda: set_limits(owner, meter), "give a sell or a buy price"),
        (lambda: set_limits(owner, meter, sell_price_per_kwh=-1), "sell_price_per_kwh must be an integer from 0"),
        (lambda: set_limits(owner, meter, buy_price_per_kwh=2**96), "buy_price_per_kwh must be an integer from 0"),
        (lambda: set_limits(owner, meter, sell_price_per_kwh=1, sell_cap_wh=MAX_STANDING_CAP_WH + 1), "sell_cap_wh must be"),
        (lambda: set_limits(owner, meter, sell_price_per_kwh=1, buy_cap_wh=5), "a buy cap needs a buy price"),
        (lambda: client.smart_meter.settle_standing_orders(owner, []), "0 meters, not 1-100"),
        (lambda: client.smart_meter.settle_standing_orders(owner, [meter] * 101), "101 meters, not 1-100"),
    ]
    for refuse, message in refusals:
        with pytest.raises(InvalidInputError, match=message):
            refuse()
    assert client.w3.eth.get_transaction_count(owner.address) == nonce


def standing_pair(client: GridClient, operator: LocalAccount, seller: LocalAccount, buyer: LocalAccount) -> list[str]:
    """Two fresh meters, the seller's selling at 0.08 or more and the buyer's buying at 0.10 or less,
    both owners approving the auction and the buyer holding CASH in the vault."""
    smart_meter = client.smart_meter
    meters = [Account.create().address, Account.create().address]
    for meter, owner in zip(meters, (seller, buyer), strict=True):
        smart_meter.register_meter(operator, meter, owner.address, REGION, 0, 0)
        client.approve_auction(owner)
    client.vault.deposit(buyer, client.payment_token.address, CASH)
    smart_meter.set_standing_order(seller, meters[0], sell_price_per_kwh=80_000)
    smart_meter.set_standing_order(buyer, meters[1], buy_price_per_kwh=100_000)
    return meters


def test_settle_standing_orders_pays_the_fills_into_the_vault(client, accounts):
    """A seller's export of 1,000 Wh at 0.08 or more and a buyer's import of 600 Wh at 0.10 or less,
    read at the end of one interval: 600 Wh trade anywhere from 0.08 to 0.10; the export is rationed, so
    its limit, 0.08, is the price.
    Settled by anyone's batch once the market may clear (cleared on the way), into the vault."""
    operator, seller, buyer, keeper = (signer(accounts[i]) for i in (0, 1, 2, 6))
    smart_meter, vault, auction = client.smart_meter, client.vault, client.auction
    meters = standing_pair(client, operator, seller, buyer)
    held = [vault.balances(o.address) for o in (seller, buyer)]

    period = auction.current_period() + 1
    read_at = (period + 1) * 900 - 1
    client.mine_block_at(read_at)
    smart_meter.submit_readings(operator, meters, [MeterReading(read_at, 0, 1_000), MeterReading(read_at, 600, 0)])
    placed = auction.metered_orders(meters[0])[period % 2]
    assert (placed.period, placed.settled, placed.ask_wh) == (period, False, 1_000)

    client.mine_block_at(auction.clearing_time(period) - 1)
    assert smart_meter.settle_standing_orders(keeper, meters) == []  # not due yet: nothing settles
    client.mine_block_at(auction.clearing_time(period))
    settled = smart_meter.settle_standing_orders(keeper, meters)

    gross = 600 * 80_000 // 1_000
    proceeds = gross - gross * FEE_BPS // 10_000
    paid = -(-600 * 80_000 // 1_000)
    assert settled == [
        SettledStandingOrder(meters[0], period, 1_000, 600, proceeds, 0, 0, 0),
        SettledStandingOrder(meters[1], period, 0, 0, 0, 600, 600, paid),
    ]
    market = auction.get_market(period)
    assert (market.cleared, market.clearing_price_per_kwh, market.volume_wh) == (True, 80_000, 600)
    assert auction.metered_orders(meters[0])[period % 2].settled
    assert vault.balances(seller.address) == (held[0].energy_wh + 400, held[0].payment + proceeds)  # unsold back
    assert vault.balances(buyer.address) == (held[1].energy_wh, held[1].payment - paid)  # bought energy retired
    assert smart_meter.settle_standing_orders(keeper, meters) == []  # each settles once


def test_orders_left_in_a_former_reading_market_settle_through_the_client(client, system, project, accounts):
    """The admin names a new auction the reading market (one the manifest does not list) while a
    seller's ask and a buyer's bid wait in the first: settle_standing_orders_in settles them there, and
    the import bought there still counts against redemption."""
    operator, seller, buyer, keeper = (signer(accounts[i]) for i in (0, 2, 3, 6))
    smart_meter, auction = client.smart_meter, client.auction
    meters = standing_pair(client, operator, seller, buyer)
    period = auction.current_period() + 1
    read_at = (period + 1) * 900 - 1
    client.mine_block_at(read_at)
    smart_meter.submit_readings(operator, meters, [MeterReading(read_at, 0, 1_000), MeterReading(read_at, 600, 0)])
    assert auction.covered_consumption_wh(meters[1]) == 600  # bid for, not yet settled

    market = system.energy_auction
    successor = deploy_energy_auction(project,
        accounts[0], system.energy_vault, system.smart_meter, accounts[0], FEE_BPS, 900, market.gateClosure(),
        market.minPrice(), market.tickSize(), market.maxPrice(), sender=accounts[0],
    )
    system.energy_vault.registerMarket(successor, sender=accounts[0])
    system.smart_meter.setVault(system.energy_vault, successor, sender=accounts[0])
    assert smart_meter.reading_markets() == [auction.address, successor.address]
    assert smart_meter.reading_market() == successor.address

    client.mine_block_at(auction.clearing_time(period))
    assert smart_meter.settle_standing_orders_in(keeper, successor.address, meters) == []  # nothing of theirs there
    settled = smart_meter.settle_standing_orders_in(keeper, auction.address, meters)
    gross = 600 * 80_000 // 1_000
    assert settled == [
        SettledStandingOrder(meters[0], period, 1_000, 600, gross - gross * FEE_BPS // 10_000, 0, 0, 0),
        SettledStandingOrder(meters[1], period, 0, 0, 0, 600, 600, -(-600 * 80_000 // 1_000)),
    ]
    assert auction.covered_consumption_wh(meters[1]) == 600  # bought and retired
    assert smart_meter.settle_standing_orders_in(keeper, auction.address, meters) == []  # each settles once
    sent = client.w3.eth.get_transaction_count(keeper.address)
    with pytest.raises(InvalidInputError, match="is not one of SmartMeter's reading markets"):
        smart_meter.settle_standing_orders_in(keeper, client.trading.address, meters)
    with pytest.raises(InvalidInputError, match="0 meters, not 1-100"):
        smart_meter.settle_standing_orders_in(keeper, auction.address, [])
    assert client.w3.eth.get_transaction_count(keeper.address) == sent


def test_signed_deposit_and_withdrawal_are_relayed(client, accounts):
    """The account signs its permit and its withdrawal in its wallet; a relayer holding nothing of it sends both."""
    owner, relayer = signer(accounts[5]), signer(accounts[6])
    vault, cash = client.vault, client.payment_token
    wallet, held = cash.balance_of(owner.address), vault.balances(owner.address)
    deadline = now_s(client) + 3_600

    permit = vault.deposit_permit_typed_data(owner.address, cash.address, CASH, deadline)
    assert permit["message"]["spender"] == vault.address and permit["domain"]["verifyingContract"] == cash.address
    vault.deposit_with_permit_for(relayer, owner.address, cash.address, CASH, deadline, sign_typed_data(permit, owner.key))
    assert vault.balances(owner.address) == VaultBalances(held.energy_wh, held.payment + CASH)
    assert cash.balance_of(owner.address) == wallet - CASH

    nonce = vault.nonce(owner.address)
    withdrawal = vault.withdrawal_typed_data(owner.address, cash.address, CASH // 2, owner.address, deadline)
    assert withdrawal["message"]["nonce"] == nonce and withdrawal["primaryType"] == "Withdrawal"
    signature = wallet_signature(owner, withdrawal)
    vault.withdraw_by_sig(relayer, owner.address, cash.address, CASH // 2, owner.address, deadline, signature)
    assert vault.balances(owner.address).payment == held.payment + CASH // 2
    assert cash.balance_of(owner.address) == wallet - CASH // 2 and vault.nonce(owner.address) == nonce + 1
    with pytest.raises(ContractRevertError) as replayed:
        vault.withdraw_by_sig(relayer, owner.address, cash.address, CASH // 2, owner.address, deadline, signature)
    assert replayed.value.error_name == "InvalidWithdrawalSignature"
    with pytest.raises(InvalidInputError, match="cannot go to the zero address"):
        vault.withdraw_by_sig(relayer, owner.address, cash.address, 1, ZERO_ADDRESS, deadline, signature)
