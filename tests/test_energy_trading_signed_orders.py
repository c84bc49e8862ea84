"""EnergyTrading: orders and cancellations signed by the trader (EIP-712) and relayed by anyone,
with an EIP-2612 permit for the escrow.

Every custom error is asserted with all of its arguments and every market event with all of its
fields (`reverts` and `log` from support/helpers.py make ape's subset checks exhaustive); shared helpers
are in support/market_helpers.py, the market's fixtures in conftest.py.
"""

from __future__ import annotations

import pytest
from conftest import meter_energy_to
from hexbytes import HexBytes

from energy_grid.signing.orders import (
    CANCEL_ORDER_TYPE,
    ORDER_TYPE,
    recover_order_signer,
    sign_cancel,
    sign_market_approval,
    sign_order,
    sign_permit,
    type_string,
)

from support.helpers import (
    ZERO_ADDRESS,
    log,
    reverts,
)
from support.market_helpers import (
    BUY,
    FEE_BPS,
    PRICE,
    SELL,
    create,
    market_logs,
    relay,
    signed_order,
)


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(funded_market, keeper, fee_recipient, stranger, admin):
    """Deploy and fund the market, and name the accounts, before any test's own state (ape isolation)."""


# ----------------------------------------------------------------------------- signed orders (EIP-712, relayed)


SIGNATURE_WINDOW = 600  # a relayed message's deadline, seconds ahead


def test_signed_message_types_and_domain(m, chain):
    assert type_string("Order", ORDER_TYPE) == (
        "Order(address trader,uint256 amountWh,uint256 pricePerKWh,uint256 expiry,uint8 orderType,"
        "address counterparty,uint256 nonce,uint256 deadline)"
    )
    assert type_string("CancelOrder", CANCEL_ORDER_TYPE) == "CancelOrder(uint256 orderId,uint256 nonce,uint256 deadline)"
    domain = m.eip712Domain()
    assert tuple(domain) == (HexBytes("0x0f"), "EnergyTrading", "1", chain.chain_id, m.address, HexBytes(b"\0" * 32), [])
    # Name and version fit OpenZeppelin's short strings (at most 31 bytes), so the constructor never
    # raises m.StringTooLong, which EIP712 brings into the ABI.
    assert all(len(text.encode()) <= 31 for text in (domain[1], domain[2]))
    assert [i.type for i in m.StringTooLong.abi.inputs] == ["string"]


def test_a_relayed_order_is_the_signers_not_the_relayers(m, seller, keeper, energy_token, wallets, chain, expiry):
    deadline = chain.pending_timestamp + SIGNATURE_WINDOW
    order = signed_order(m, seller, 2_000, PRICE, SELL, expiry, deadline)
    assert order.nonce == 0
    before = wallets.read()
    tx = relay(m, order, sign_order(order, seller.private_key, m.address, chain.chain_id), keeper)
    order_id = tx.return_value
    assert market_logs(tx, m) == [
        log(
            m.OrderCreated,
            orderId=order_id,
            trader=seller.address,
            orderType=SELL,
            amountWh=2_000,
            pricePerKWh=PRICE,
            expiry=expiry,
            counterparty=ZERO_ADDRESS,
        )
    ]
    after = wallets.read()
    assert after[seller.address][0] == before[seller.address][0] - 2_000
    assert after[keeper.address] == before[keeper.address]  # the relayer paid gas only
    assert after[m.address][0] == before[m.address][0] + 2_000
    assert tx.events.filter(m.EIP712DomainChanged) == []  # the domain is fixed for the contract's life
    assert m.getOrder(order_id).trader == seller.address
    assert [o[0] for o in m.getTraderOrders(seller, 0, 10)[0]] == [order_id]  # OrderInfo.orderId
    assert list(m.getTraderOrders(keeper, 0, 10)[0]) == []
    assert (m.nonces(seller), m.nonces(keeper)) == (1, 0)
    # Only the signer may cancel it: the relayer is not its trader.
    with reverts(m.NotOrderTrader, orderId=order_id, caller=keeper.address):
        m.cancelOrder(order_id, sender=keeper)
    m.cancelOrder(order_id, sender=seller)
    assert wallets.read()[seller.address] == before[seller.address]


def test_a_relayed_order_crosses_like_a_direct_one_and_a_directed_one_rests(m, seller, buyer, keeper, chain, expiry):
    deadline = chain.pending_timestamp + SIGNATURE_WINDOW
    ask = create(m, seller, 1_000, PRICE, SELL, expiry)
    order = signed_order(m, buyer, 1_000, PRICE, BUY, expiry, deadline)
    tx = relay(m, order, sign_order(order, buyer.private_key, m.address, chain.chain_id), keeper)
    assert [(e.buyOrderId, e.sellOrderId) for e in tx.events.filter(m.OrdersMatched)] == [(tx.return_value, ask)]
    directed = signed_order(m, buyer, 500, PRICE, BUY, expiry, deadline, counterparty=seller)
    tx = relay(m, directed, sign_order(directed, buyer.private_key, m.address, chain.chain_id), keeper)
    assert m.getOrderInfo(tx.return_value).counterparty == seller.address
    own = signed_order(m, buyer, 500, PRICE, BUY, expiry, deadline, counterparty=buyer)
    with reverts(m.InvalidCounterparty, counterparty=buyer.address):
        relay(m, own, sign_order(own, buyer.private_key, m.address, chain.chain_id), keeper)


def test_bad_signatures_are_rejected_naming_their_inputs_and_move_nothing(
    m, project, admin, vault, seller, buyer, keeper, energy_token, stablecoin, fee_recipient, wallets, chain, expiry
):
    chain_id = chain.chain_id
    deadline = chain.pending_timestamp + SIGNATURE_WINDOW
    order = signed_order(m, seller, 1_000, PRICE, SELL, expiry, deadline)
    good = sign_order(order, seller.private_key, m.address, chain_id)
    before = wallets.read()
    # Another chain, another contract: the signature recovers to someone else.
    other_chain = sign_order(order, seller.private_key, m.address, chain_id + 1)
    with reverts(m.InvalidSigner, trader=seller.address, signer=recover_order_signer(order, other_chain, m.address, chain_id)):
        relay(m, order, other_chain, keeper)
    twin = project.EnergyTrading.deploy(admin, vault, fee_recipient, FEE_BPS, 1, sender=admin)
    other_market = sign_order(order, seller.private_key, twin.address, chain_id)
    with reverts(m.InvalidSigner, trader=seller.address, signer=recover_order_signer(order, other_market, m.address, chain_id)):
        relay(m, order, other_market, keeper)
    # Signed by someone else; not a signature at all.
    forged = sign_order(order, buyer.private_key, m.address, chain_id)
    with reverts(m.InvalidSigner, trader=seller.address, signer=buyer.address):
        relay(m, order, forged, keeper)
    with reverts(m.InvalidSigner, trader=seller.address, signer=ZERO_ADDRESS):
        m.createOrderBySig(order.as_tuple(), 29, good.r, good.s, [], sender=keeper)
    # The malleable twin of the good signature.
    with reverts(m.MalleableSignature, s=good.malleated().s):
        relay(m, order, good.malleated(), keeper)
    # Other contents than signed.
    changed = signed_order(m, seller, 1_001, PRICE, SELL, expiry, deadline)
    with reverts(m.InvalidSigner, trader=seller.address, signer=recover_order_signer(changed, good, m.address, chain_id)):
        relay(m, changed, good, keeper)
    # A future nonce, a past deadline.
    ahead = signed_order(m, seller, 1_000, PRICE, SELL, expiry, deadline, nonce=1)
    with reverts(m.InvalidNonce, trader=seller.address, nonce=1, currentNonce=0):
        relay(m, ahead, sign_order(ahead, seller.private_key, m.address, chain_id), keeper)
    chain.pending_timestamp = deadline
    with reverts(m.SignatureExpired, deadline=deadline, blockTimestamp=deadline):
        relay(m, order, good, keeper)
    assert wallets.read() == before
    assert (m.nonces(seller), m.orderCount()) == (0, 0)


def test_a_replayed_signed_order_is_rejected(m, seller, keeper, wallets, chain, expiry):
    deadline = chain.pending_timestamp + SIGNATURE_WINDOW
    order = signed_order(m, seller, 1_000, PRICE, SELL, expiry, deadline)
    signature = sign_order(order, seller.private_key, m.address, chain.chain_id)
    relay(m, order, signature, keeper)
    before = wallets.read()
    with reverts(m.InvalidNonce, trader=seller.address, nonce=0, currentNonce=1):
        relay(m, order, signature, keeper)
    assert wallets.read() == before
    assert m.orderCount() == 1


def test_a_relayed_cancellation_returns_the_escrow_to_the_trader(m, seller, buyer, keeper, wallets, chain, expiry):
    chain_id = chain.chain_id
    deadline = chain.pending_timestamp + SIGNATURE_WINDOW
    before = wallets.read()
    order_id = create(m, seller, 1_000, PRICE, BUY, expiry)
    nonce = m.nonces(seller)
    forged = sign_cancel(order_id, nonce, deadline, buyer.private_key, m.address, chain_id)
    with reverts(m.InvalidSigner, trader=seller.address, signer=buyer.address):
        m.cancelOrderBySig(order_id, nonce, deadline, *forged.args(), sender=keeper)
    with reverts(m.OrderUnknown, orderId=order_id + 1):
        m.cancelOrderBySig(order_id + 1, nonce, deadline, *forged.args(), sender=keeper)
    signature = sign_cancel(order_id, nonce, deadline, seller.private_key, m.address, chain_id)
    with reverts(m.MalleableSignature, s=signature.malleated().s):
        m.cancelOrderBySig(order_id, nonce, deadline, *signature.malleated().args(), sender=keeper)
    tx = m.cancelOrderBySig(order_id, nonce, deadline, *signature.args(), sender=keeper)
    assert market_logs(tx, m) == [log(m.OrderCancelled, orderId=order_id, trader=seller.address, unfilledWh=1_000, refundedEscrow=200_000)]
    assert wallets.read() == before
    assert m.nonces(seller) == nonce + 1
    with reverts(m.InvalidNonce, trader=seller.address, nonce=nonce, currentNonce=nonce + 1):
        m.cancelOrderBySig(order_id, nonce, deadline, *signature.args(), sender=keeper)


@pytest.fixture
def newcomer(accounts, smart_meter, admin, chain, energy_token, vault, m, keeper):
    """A prosumer with metered energy in its wallet who has never sent a transaction: no approval,
    no gas money. A relayer has submitted its signed approval of the market in the vault
    (approveMarketBySig), as it does before a trader's first relayed order."""
    account = accounts.generate_test_account()
    meter_energy_to([account], 10_000, smart_meter, admin, accounts, chain)
    assert energy_token.allowance(account, vault) == 0
    deadline = chain.pending_timestamp + SIGNATURE_WINDOW
    nonce = vault.nonces(account)
    approval = sign_market_approval(account.address, m.address, nonce, deadline, account.private_key, vault.address, chain.chain_id)
    vault.approveMarketBySig(account, m, deadline, approval, sender=keeper)
    return account


def newcomer_permit(energy_token, newcomer, vault, value, deadline, chain):
    """The newcomer's permit of `value` EnergyToken for the vault, which pulls the order's escrow."""
    return sign_permit(
        energy_token.name(),
        energy_token.address,
        newcomer.address,
        vault.address,
        value,
        int(energy_token.nonces(newcomer)),
        deadline,
        newcomer.private_key,
        chain.chain_id,
    )


def test_a_first_order_needs_no_approval_transaction_with_a_permit(m, vault, newcomer, keeper, energy_token, chain, expiry):
    deadline = chain.pending_timestamp + SIGNATURE_WINDOW
    order = signed_order(m, newcomer, 4_000, PRICE, SELL, expiry, deadline)
    signature = sign_order(order, newcomer.private_key, m.address, chain.chain_id)
    with reverts(energy_token.ERC20InsufficientAllowance, spender=vault.address, allowance=0, needed=4_000):
        relay(m, order, signature, keeper)  # no permit, no allowance: the token's own error, in the vault's pull
    permit = newcomer_permit(energy_token, newcomer, vault, 4_000, deadline, chain)
    tx = relay(m, order, signature, keeper, [permit])
    assert m.getOrder(tx.return_value).trader == newcomer.address
    assert energy_token.balanceOf(newcomer) == 6_000
    assert energy_token.allowance(newcomer, vault) == 0
    assert energy_token.nonces(newcomer) == 1
    assert vault.balancesOf(newcomer) == (0, 0)  # the shortfall went straight into the market's escrow


def test_a_first_relayed_order_needs_the_market_approved_in_the_vault(
    m, vault, keeper, accounts, smart_meter, admin, energy_token, chain, expiry
):
    account = accounts.generate_test_account()
    meter_energy_to([account], 1_000, smart_meter, admin, accounts, chain)
    deadline = chain.pending_timestamp + SIGNATURE_WINDOW
    order = signed_order(m, account, 1_000, PRICE, SELL, expiry, deadline)
    permit = newcomer_permit(energy_token, account, vault, 1_000, deadline, chain)
    with reverts(vault.MarketNotApproved, account=account.address, market=m.address):
        relay(m, order, sign_order(order, account.private_key, m.address, chain.chain_id), keeper, [permit])
    assert m.nonces(account) == 0


def test_a_front_run_permit_does_not_fail_the_order(m, vault, newcomer, keeper, stranger, energy_token, chain, expiry):
    deadline = chain.pending_timestamp + SIGNATURE_WINDOW
    permit = newcomer_permit(energy_token, newcomer, vault, 10_000, deadline, chain)
    value, permit_deadline, v, r, s = permit
    energy_token.permit(newcomer, vault, value, permit_deadline, v, r, s, sender=stranger)  # someone submits it first
    order = signed_order(m, newcomer, 4_000, PRICE, SELL, expiry, deadline)
    tx = relay(m, order, sign_order(order, newcomer.private_key, m.address, chain.chain_id), keeper, [permit])
    assert m.getOrder(tx.return_value).trader == newcomer.address
    assert energy_token.allowance(newcomer, vault) == 6_000


def test_a_failed_permit_without_the_allowance_is_rejected(m, vault, newcomer, keeper, energy_token, chain, expiry):
    deadline = chain.pending_timestamp + SIGNATURE_WINDOW
    permit = newcomer_permit(energy_token, newcomer, vault, 4_000, deadline, chain)
    value, permit_deadline, v, r, s = permit
    wrong = (value + 1, permit_deadline, v, r, s)  # not what was signed: the token refuses it
    order = signed_order(m, newcomer, 4_000, PRICE, SELL, expiry, deadline)
    before = energy_token.balanceOf(newcomer)
    # The refused permit is passed over; the vault's pull then meets the missing allowance.
    with reverts(energy_token.ERC20InsufficientAllowance, spender=vault.address, allowance=0, needed=4_000):
        relay(m, order, sign_order(order, newcomer.private_key, m.address, chain.chain_id), keeper, [wrong])
    assert energy_token.balanceOf(newcomer) == before
    assert m.nonces(newcomer) == 0
