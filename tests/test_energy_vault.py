"""EnergyVault: internal balances of EnergyToken (Wh) and the payment token for accounts and markets.

Deposits (plain and with an EIP-2612 permit, sent by the account or relayed by anyone for it) and
withdrawals of each token (sent by the account, or its EIP-712 signature relayed); market registration,
closing and its access control; market approvals, set directly or by an EIP-712 signature relayed by
anyone; the market moves take (pulling a shortfall from the wallet), give, settleBatch and
retireEnergy; creditArrived for tokens minted or sent to the vault; the reserve bound; and hostile
tokens (a re-entrant one, one whose transfer returns false). Markets here are plain test accounts
registered with the vault, so a test calls the market moves directly. Every custom error is asserted
with all of its arguments, every event with all of its fields, and after the tests that move value
the books are checked: per token, the vault balances of every participant add up to the reserve,
which is what the vault holds of the token.
"""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak, to_checksum_address

from support.helpers import (
    DEFAULT_ADMIN_ROLE,
    NO_FREEZE_QUERY,
    ZERO_ADDRESS,
    address,
    assert_logs,
    deploy_reverts,
    log,
    reverts,
    sign_permit,
    unexercised_abi_items,
)

MAX_MARKETS = 24  # one bit each in an account's uint24 approval word
MAX_RESERVE = 2**112 - 1  # the largest value a uint112 balance holds
MAX_UINT = 2**256 - 1
WALLET_WH = 100_000  # EnergyToken minted to each user's wallet
WALLET_WHOLE_UNITS = 1_000  # stablecoin whole units topped up for each user
UNIT = 10**6  # stablecoin base units per whole unit
DEPOSIT_WH = 10_000  # what `funded` deposits for each user
DEPOSIT_PAY = 50 * UNIT
APPROVAL_TYPES = [
    {"name": "account", "type": "address"},
    {"name": "market", "type": "address"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
WITHDRAWAL_TYPES = [
    {"name": "account", "type": "address"},
    {"name": "token", "type": "address"},
    {"name": "amount", "type": "uint256"},
    {"name": "to", "type": "address"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def ann(accounts):
    return accounts[1]


@pytest.fixture(scope="module")
def ben(accounts):
    return accounts[2]


@pytest.fixture(scope="module")
def energy_minter(accounts, energy_token, admin):
    """Stands in for the SmartMeter: holds EnergyToken's METER_ROLE, so it mints Wh."""
    energy_token.grantRole(energy_token.METER_ROLE(), accounts[3], sender=admin)
    return accounts[3]


@pytest.fixture(scope="module")
def market_a(accounts):
    """A test account registered as a market (place 0)."""
    return accounts[5]


@pytest.fixture(scope="module")
def market_b(accounts):
    """A test account registered as a market (place 1)."""
    return accounts[6]


@pytest.fixture(scope="module")
def vault(project, admin, energy_token, stablecoin, market_a, market_b):
    v = project.EnergyVault.deploy(admin, energy_token, stablecoin, NO_FREEZE_QUERY, sender=admin)
    v.registerMarket(market_a, sender=admin)
    v.registerMarket(market_b, sender=admin)
    return v


@pytest.fixture(scope="module")
def foreign_token(project, admin):
    """A token the vault does not hold."""
    return project.MockStablecoin.deploy(admin, sender=admin)


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(vault, foreign_token, energy_token, stablecoin, energy_minter, admin, ann, ben, stranger):
    """Deploys the vault and fills the users' wallets before ape's per-test isolation: ann and ben
    each hold WALLET_WH Wh and WALLET_WHOLE_UNITS stablecoin, nothing approved to the vault."""
    for user in (ann, ben):
        energy_token.mint(user, WALLET_WH, sender=energy_minter)
        stablecoin.addConsumerBalance(user, WALLET_WHOLE_UNITS, sender=admin)


@pytest.fixture
def tokens(energy_token, stablecoin):
    return {"energy": energy_token, "payment": stablecoin}


@pytest.fixture
def funded(vault, energy_token, stablecoin, ann, ben, market_a):
    """ann and ben each hold DEPOSIT_WH and DEPOSIT_PAY in the vault and approve market_a."""
    for user in (ann, ben):
        deposit(vault, energy_token, user, DEPOSIT_WH)
        deposit(vault, stablecoin, user, DEPOSIT_PAY)
        vault.setMarketApproval(market_a, True, sender=user)


@pytest.fixture
def stocked(funded, vault, market_a, ann, ben):
    """`funded`, and market_a holds 2,000 Wh and 8 units it took from ann and ben."""
    vault.take(ann, 1_500, 3 * UNIT, sender=market_a)
    vault.take(ben, 500, 5 * UNIT, sender=market_a)


@pytest.fixture
def assert_books_balance(vault, energy_token, stablecoin, admin, ann, ben, energy_minter, market_a, market_b, stranger):
    """Checks the vault's books: per token, the vault balances of every participant (and of `extra`
    accounts a test credited) add up to the reserve, and the reserve is what the vault holds."""

    def check(*extra):
        holders = {address(x) for x in (admin, ann, ben, energy_minter, market_a, market_b, stranger, *extra)}
        held = [vault.balancesOf(h) for h in holders]
        energy_reserve, payment_reserve = vault.reserves()
        assert sum(wh for wh, _ in held) == energy_reserve == energy_token.balanceOf(vault)
        assert sum(pay for _, pay in held) == payment_reserve == stablecoin.balanceOf(vault)

    return check


# ----------------------------------------------------------------------------- helpers


def deposit(vault, token, user, amount):
    token.approve(vault, amount, sender=user)
    return vault.deposit(token, amount, sender=user)


def transfer(token, sender, receiver, value):
    return log(token.Transfer, **{"from": address(sender), "to": address(receiver), "value": value})


def deposited(vault, account, token, amount):
    return log(vault.Deposited, account=address(account), token=token.address, amount=amount)


def typed_approval(vault, account, market, nonce, deadline, chain_id):
    """The EIP-712 MarketApproval message the vault checks."""
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "MarketApproval": APPROVAL_TYPES,
        },
        "primaryType": "MarketApproval",
        "domain": {"name": "EnergyVault", "version": "1", "chainId": chain_id, "verifyingContract": vault.address},
        "message": {"account": address(account), "market": address(market), "nonce": nonce, "deadline": deadline},
    }


def sign_approval(
    vault: Any, account: Any, market: Any, deadline: int, chain_id: int, nonce: int | None = None, signer: Any = None
) -> bytes:
    """`account`'s signed approval of `market` at its current vault nonce (or `nonce`), signed by
    `signer` (default: the account)."""
    nonce = vault.nonces(account) if nonce is None else nonce
    message = encode_typed_data(full_message=typed_approval(vault, account, market, nonce, deadline, chain_id))
    return bytes(Account.sign_message(message, (signer or account).private_key).signature)


def sign_withdrawal(
    vault: Any, account: Any, token: Any, amount: int, to: Any, deadline: int, chain_id: int, nonce: int | None = None, signer: Any = None
) -> bytes:
    """`account`'s signed withdrawal at its current vault nonce (or `nonce`), signed by `signer`
    (default: the account)."""
    nonce = vault.nonces(account) if nonce is None else nonce
    typed = typed_approval(vault, account, account, nonce, deadline, chain_id)
    typed["types"] = {"EIP712Domain": typed["types"]["EIP712Domain"], "Withdrawal": WITHDRAWAL_TYPES}
    typed["primaryType"] = "Withdrawal"
    typed["message"] = {
        "account": address(account),
        "token": address(token),
        "amount": amount,
        "to": address(to),
        "nonce": nonce,
        "deadline": deadline,
    }
    message = encode_typed_data(full_message=typed)
    return bytes(Account.sign_message(message, (signer or account).private_key).signature)


def market_address(i: int) -> str:
    """An address with no code, registered as a filler market."""
    return to_checksum_address((0xA000 + i).to_bytes(20, "big"))


# ----------------------------------------------------------------------------- deployment and completeness


def test_deployment_wires_tokens_admin_and_domain(vault, energy_token, stablecoin, admin, market_a, market_b, chain):
    assert (vault.energyToken(), vault.paymentToken()) == (energy_token.address, stablecoin.address)
    assert vault.hasRole(DEFAULT_ADMIN_ROLE, admin) and vault.DEFAULT_ADMIN_ROLE() == DEFAULT_ADMIN_ROLE
    assert (vault.MAX_MARKETS(), vault.MAX_RESERVE()) == (MAX_MARKETS, MAX_RESERVE)
    assert vault.MARKET_APPROVAL_TYPEHASH() == keccak(text="MarketApproval(address account,address market,uint256 nonce,uint256 deadline)")
    assert vault.WITHDRAWAL_TYPEHASH() == keccak(
        text="Withdrawal(address account,address token,uint256 amount,address to,uint256 nonce,uint256 deadline)"
    )
    # The domain the vault hashes approvals under is the one a wallet builds from its name and version.
    signable = encode_typed_data(full_message=typed_approval(vault, admin, market_a, 0, 0, chain.chain_id))
    assert vault.DOMAIN_SEPARATOR() == signable.header
    domain = vault.eip712Domain()
    assert (domain.name, domain.version, domain.chainId, domain.verifyingContract) == ("EnergyVault", "1", chain.chain_id, vault.address)
    assert vault.reserves() == (0, 0)
    assert (vault.marketInfo(market_a), vault.marketInfo(market_b)) == ((True, 0, False), (True, 1, False))


@pytest.mark.parametrize("field", ["admin", "energy", "payment"])
def test_constructor_rejects_zero_addresses(project, vault, admin, energy_token, stablecoin, field):
    args = {"admin": admin.address, "energy": energy_token.address, "payment": stablecoin.address} | {field: ZERO_ADDRESS}
    with deploy_reverts(vault.ZeroAddress):
        project.EnergyVault.deploy(*args.values(), NO_FREEZE_QUERY, sender=admin)


def test_every_function_event_and_error_is_exercised(vault):
    unreachable = {
        "RoleAdminChanged",  # nothing calls OpenZeppelin's internal _setRoleAdmin
        "EIP712DomainChanged",  # the domain is fixed at deployment
        "InvalidShortString",  # EIP712's long-name fallback: "EnergyVault" and "1" are short strings
        "StringTooLong",
    }
    assert unexercised_abi_items("EnergyVault", ["test_energy_vault.py"], ("function", "event", "error"), unreachable) == []


def test_admin_role_surface(vault, admin, ben, stranger):
    assert vault.getRoleAdmin(DEFAULT_ADMIN_ROLE) == DEFAULT_ADMIN_ROLE
    assert vault.supportsInterface("0x7965db0b")  # IAccessControl
    assert not vault.supportsInterface("0xffffffff")
    with reverts(vault.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=DEFAULT_ADMIN_ROLE):
        vault.grantRole(DEFAULT_ADMIN_ROLE, stranger, sender=stranger)
    tx = vault.grantRole(DEFAULT_ADMIN_ROLE, ben, sender=admin)
    assert_logs(tx, log(vault.RoleGranted, role=DEFAULT_ADMIN_ROLE, account=ben.address, sender=admin.address))
    vault.registerMarket(stranger, sender=ben)  # the new admin registers markets
    with reverts(vault.AccessControlBadConfirmation):
        vault.renounceRole(DEFAULT_ADMIN_ROLE, admin, sender=ben)
    tx = vault.revokeRole(DEFAULT_ADMIN_ROLE, ben, sender=admin)
    assert_logs(tx, log(vault.RoleRevoked, role=DEFAULT_ADMIN_ROLE, account=ben.address, sender=admin.address))
    with reverts(vault.AccessControlUnauthorizedAccount, account=ben.address, neededRole=DEFAULT_ADMIN_ROLE):
        vault.closeMarket(stranger, sender=ben)


# ----------------------------------------------------------------------------- market registry


def test_register_market_takes_the_next_place(vault, admin, stranger):
    assert vault.marketInfo(stranger) == (False, 0, False)
    tx = vault.registerMarket(stranger, sender=admin)
    assert_logs(tx, log(vault.MarketRegistered, market=stranger.address, index=2))
    assert vault.marketInfo(stranger) == (True, 2, False)


def test_register_and_close_market_are_admin_only(vault, market_a, stranger):
    with reverts(vault.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=DEFAULT_ADMIN_ROLE):
        vault.registerMarket(stranger, sender=stranger)
    with reverts(vault.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=DEFAULT_ADMIN_ROLE):
        vault.closeMarket(market_a, sender=stranger)
    assert vault.marketInfo(stranger) == (False, 0, False)
    assert vault.marketInfo(market_a) == (True, 0, False)


def test_register_market_rejects_zero_address_and_repeats(vault, admin, market_a):
    with reverts(vault.ZeroAddress):
        vault.registerMarket(ZERO_ADDRESS, sender=admin)
    with reverts(vault.MarketAlreadyRegistered, market=market_a.address):
        vault.registerMarket(market_a, sender=admin)
    # A closed market keeps its place: it cannot be registered again into a fresh one.
    vault.closeMarket(market_a, sender=admin)
    with reverts(vault.MarketAlreadyRegistered, market=market_a.address):
        vault.registerMarket(market_a, sender=admin)


def test_close_market(vault, admin, market_a, market_b, stranger):
    tx = vault.closeMarket(market_a, sender=admin)
    assert_logs(tx, log(vault.MarketClosedForIntake, market=market_a.address))
    assert vault.marketInfo(market_a) == (True, 0, True)
    assert vault.marketInfo(market_b) == (True, 1, False)
    with reverts(vault.MarketClosed, market=market_a.address):
        vault.closeMarket(market_a, sender=admin)
    with reverts(vault.NotMarket, caller=stranger.address):
        vault.closeMarket(stranger, sender=admin)


def test_too_many_markets_and_the_last_place_works(vault, energy_token, admin, ann, market_a, accounts, assert_books_balance):
    """Places 2..30 go to filler addresses and place 31, the approval word's top bit, to a market that
    then takes from ann; a 33rd registration is refused."""
    for place in range(2, MAX_MARKETS - 1):
        tx = vault.registerMarket(market_address(place), sender=admin)
        assert_logs(tx, log(vault.MarketRegistered, market=market_address(place), index=place))
    last = accounts.generate_test_account()
    last.balance = 10**18
    vault.registerMarket(last, sender=admin)
    assert vault.marketInfo(last) == (True, MAX_MARKETS - 1, False)
    with reverts(vault.TooManyMarkets, maxMarkets=MAX_MARKETS):
        vault.registerMarket(market_address(MAX_MARKETS), sender=admin)

    vault.setMarketApproval(last, True, sender=ann)
    assert vault.isMarketApproved(ann, last)
    assert not vault.isMarketApproved(ann, market_a)
    assert not vault.isMarketApproved(ann, market_address(MAX_MARKETS - 2))
    deposit(vault, energy_token, ann, 700)
    vault.take(ann, 700, 0, sender=last)
    assert (vault.balancesOf(ann), vault.balancesOf(last)) == ((0, 0), (700, 0))
    assert_books_balance(last)


# ----------------------------------------------------------------------------- deposits and withdrawals


@pytest.mark.parametrize("kind", ["energy", "payment"])
def test_deposit(vault, tokens, ann, ben, kind, assert_books_balance):
    token = tokens[kind]
    amount = 7_000 if kind == "energy" else 12 * UNIT
    wallet = token.balanceOf(ann)
    tx = deposit(vault, token, ann, amount)
    assert_logs(tx, deposited(vault, ann, token, amount), transfer(token, ann, vault, amount))
    tx = deposit(vault, token, ben, amount // 2)  # a second account adds to the same reserve
    assert_logs(tx, deposited(vault, ben, token, amount // 2), transfer(token, ben, vault, amount // 2))
    deposit(vault, token, ann, 1)  # and a second deposit to the same balance
    assert vault.balanceOf(token, ann) == amount + 1
    assert vault.balanceOf(token, ben) == amount // 2
    assert vault.balancesOf(ann) == ((amount + 1, 0) if kind == "energy" else (0, amount + 1))
    assert vault.reserves() == ((amount * 3 // 2 + 1, 0) if kind == "energy" else (0, amount * 3 // 2 + 1))
    assert token.balanceOf(ann) == wallet - amount - 1
    assert token.balanceOf(vault) == amount * 3 // 2 + 1
    assert token.allowance(ann, vault) == 0
    assert_books_balance()


@pytest.mark.parametrize("kind", ["energy", "payment"])
def test_withdraw_to_any_address(vault, tokens, ann, stranger, kind, assert_books_balance):
    token = tokens[kind]
    amount = 9_000 if kind == "energy" else 20 * UNIT
    deposit(vault, token, ann, amount)
    wallet = token.balanceOf(ann)
    tx = vault.withdraw(token, amount // 3, stranger, sender=ann)
    assert_logs(
        tx,
        log(vault.Withdrawn, account=ann.address, token=token.address, amount=amount // 3, to=stranger.address),
        transfer(token, vault, stranger, amount // 3),
    )
    assert token.balanceOf(stranger) == amount // 3
    vault.withdraw(token, amount - amount // 3, ann, sender=ann)  # all the rest, back to ann
    assert token.balanceOf(ann) == wallet + amount - amount // 3
    assert vault.balanceOf(token, ann) == 0
    assert vault.reserves() == (0, 0)
    assert token.balanceOf(vault) == 0
    assert_books_balance()


def test_withdraw_more_than_held(vault, energy_token, stablecoin, funded, ann, ben, assert_books_balance):
    with reverts(vault.InsufficientEnergy, account=ann.address, availableWh=DEPOSIT_WH, neededWh=DEPOSIT_WH + 1):
        vault.withdraw(energy_token, DEPOSIT_WH + 1, ann, sender=ann)
    with reverts(vault.InsufficientPayment, account=ann.address, available=DEPOSIT_PAY, needed=DEPOSIT_PAY + 1):
        vault.withdraw(stablecoin, DEPOSIT_PAY + 1, ann, sender=ann)
    # ben's deposits are in the same reserve, but not in ann's balance.
    assert vault.reserves() == (2 * DEPOSIT_WH, 2 * DEPOSIT_PAY)
    assert_books_balance()


def test_zero_amounts_and_zero_recipient_are_refused(vault, energy_token, stablecoin, funded, ann, chain):
    with reverts(vault.ZeroAmount):
        vault.deposit(energy_token, 0, sender=ann)
    with reverts(vault.ZeroAmount):
        vault.withdraw(stablecoin, 0, ann, sender=ann)
    with reverts(vault.ZeroAddress):
        vault.withdraw(stablecoin, 1, ZERO_ADDRESS, sender=ann)
    deadline = chain.pending_timestamp + 3_600
    v, r, s, _ = sign_permit(energy_token, ann, vault, 0, energy_token.nonces(ann), deadline, chain.chain_id)
    with reverts(vault.ZeroAmount):
        vault.depositWithPermit(energy_token, 0, deadline, v, r, s, sender=ann)


def test_unsupported_token_is_refused(vault, foreign_token, admin, ann, market_a, chain):
    foreign_token.addConsumerBalance(ann, 10, sender=admin)
    foreign_token.approve(vault, MAX_UINT, sender=ann)
    with reverts(vault.UnsupportedToken, token=foreign_token.address):
        vault.deposit(foreign_token, 1, sender=ann)
    with reverts(vault.UnsupportedToken, token=foreign_token.address):
        vault.withdraw(foreign_token, 1, ann, sender=ann)
    with reverts(vault.UnsupportedToken, token=foreign_token.address):
        vault.balanceOf(foreign_token, ann)
    deadline = chain.pending_timestamp + 3_600
    v, r, s, _ = sign_permit(foreign_token, ann, vault, 1, 0, deadline, chain.chain_id)
    with reverts(vault.UnsupportedToken, token=foreign_token.address):
        vault.depositWithPermit(foreign_token, 1, deadline, v, r, s, sender=ann)
    foreign_token.transfer(vault, 5, sender=ann)  # sent to the vault, still not its token
    with reverts(vault.UnsupportedToken, token=foreign_token.address):
        vault.creditArrived(foreign_token, [ann], [5], sender=market_a)
    assert foreign_token.balanceOf(ann) == 10 * UNIT - 5


def test_deposit_without_allowance_fails_on_the_token(vault, energy_token, ann):
    with reverts(energy_token.ERC20InsufficientAllowance, spender=vault.address, allowance=0, needed=1):
        vault.deposit(energy_token, 1, sender=ann)


@pytest.mark.parametrize("kind", ["energy", "payment"])
def test_deposit_with_permit(vault, tokens, ann, kind, chain, assert_books_balance):
    """One transaction with a real EIP-2612 signature: no approval beforehand, none left after."""
    token = tokens[kind]
    amount = 4_321 if kind == "energy" else 3 * UNIT
    nonce = token.nonces(ann)
    deadline = chain.pending_timestamp + 3_600
    v, r, s, _ = sign_permit(token, ann, vault, amount, nonce, deadline, chain.chain_id)
    tx = vault.depositWithPermit(token, amount, deadline, v, r, s, sender=ann)
    assert_logs(
        tx,
        log(token.Approval, owner=ann.address, spender=vault.address, value=amount),
        deposited(vault, ann, token, amount),
        transfer(token, ann, vault, amount),
    )
    assert token.nonces(ann) == nonce + 1
    assert token.allowance(ann, vault) == 0
    assert vault.balanceOf(token, ann) == amount
    assert token.balanceOf(vault) == amount
    assert_books_balance()


def test_deposit_with_permit_survives_a_front_run_permit(vault, stablecoin, ann, stranger, chain, assert_books_balance):
    """Someone who saw the permit in the mempool used it first: the allowance is there, so the deposit goes on."""
    deadline = chain.pending_timestamp + 3_600
    v, r, s, _ = sign_permit(stablecoin, ann, vault, 2 * UNIT, stablecoin.nonces(ann), deadline, chain.chain_id)
    stablecoin.permit(ann, vault, 2 * UNIT, deadline, v, r, s, sender=stranger)
    tx = vault.depositWithPermit(stablecoin, 2 * UNIT, deadline, v, r, s, sender=ann)
    assert_logs(tx, deposited(vault, ann, stablecoin, 2 * UNIT), transfer(stablecoin, ann, vault, 2 * UNIT))
    assert vault.balanceOf(stablecoin, ann) == 2 * UNIT
    assert_books_balance()


def test_deposit_with_a_bad_permit_fails_on_the_allowance(vault, energy_token, ann, ben, chain):
    """A permit that does not verify (expired, or signed by someone else) leaves no allowance."""
    expired = chain.pending_timestamp - 1
    v, r, s, _ = sign_permit(energy_token, ann, vault, 1_000, energy_token.nonces(ann), expired, chain.chain_id)
    with reverts(energy_token.ERC20InsufficientAllowance, spender=vault.address, allowance=0, needed=1_000):
        vault.depositWithPermit(energy_token, 1_000, expired, v, r, s, sender=ann)
    deadline = chain.pending_timestamp + 3_600
    v, r, s, _ = sign_permit(energy_token, ann, vault, 1_000, energy_token.nonces(ann), deadline, chain.chain_id, signer=ben)
    with reverts(energy_token.ERC20InsufficientAllowance, spender=vault.address, allowance=0, needed=1_000):
        vault.depositWithPermit(energy_token, 1_000, deadline, v, r, s, sender=ann)
    assert vault.reserves() == (0, 0)


# ----------------------------------------------------------------------------- relayed deposits and withdrawals


@pytest.mark.parametrize("kind", ["energy", "payment"])
def test_deposit_with_permit_relayed_for_the_account(vault, tokens, ann, stranger, kind, chain, assert_books_balance):
    """A relayer sends ann's permit: ann's tokens move into ann's balance, the relayer's are untouched."""
    token = tokens[kind]
    amount = 2_468 if kind == "energy" else 7 * UNIT
    nonce, wallet, relayer_wallet = token.nonces(ann), token.balanceOf(ann), token.balanceOf(stranger)
    deadline = chain.pending_timestamp + 3_600
    v, r, s, _ = sign_permit(token, ann, vault, amount, nonce, deadline, chain.chain_id)
    tx = vault.depositWithPermitFor(ann, token, amount, deadline, v, r, s, sender=stranger)
    assert_logs(
        tx,
        log(token.Approval, owner=ann.address, spender=vault.address, value=amount),
        deposited(vault, ann, token, amount),
        transfer(token, ann, vault, amount),
    )
    assert token.nonces(ann) == nonce + 1 and token.allowance(ann, vault) == 0
    assert (token.balanceOf(ann), token.balanceOf(stranger)) == (wallet - amount, relayer_wallet)
    assert vault.balanceOf(token, ann) == amount and vault.balancesOf(stranger) == (0, 0)
    # Replayed: the permit has paid for its deposit, so nothing more moves.
    with reverts(vault.PermitAlreadyUsed, account=ann.address, nonce=nonce):
        vault.depositWithPermitFor(ann, token, amount, deadline, v, r, s, sender=stranger)
    assert vault.balanceOf(token, ann) == amount
    assert_books_balance()


def test_deposit_with_permit_for_survives_a_front_run_permit(vault, stablecoin, ann, ben, stranger, chain, assert_books_balance):
    """The permit was used before the relayed deposit (front-run): the allowance it set carries the deposit."""
    deadline = chain.pending_timestamp + 3_600
    v, r, s, _ = sign_permit(stablecoin, ann, vault, 3 * UNIT, stablecoin.nonces(ann), deadline, chain.chain_id)
    stablecoin.permit(ann, vault, 3 * UNIT, deadline, v, r, s, sender=ben)
    tx = vault.depositWithPermitFor(ann, stablecoin, 3 * UNIT, deadline, v, r, s, sender=stranger)
    assert_logs(tx, deposited(vault, ann, stablecoin, 3 * UNIT), transfer(stablecoin, ann, vault, 3 * UNIT))
    assert vault.balanceOf(stablecoin, ann) == 3 * UNIT and stablecoin.allowance(ann, vault) == 0
    assert_books_balance()


def test_deposit_with_permit_for_refuses_what_the_account_did_not_permit(vault, energy_token, foreign_token, ann, ben, stranger, chain):
    """An expired permit, one signed by another key, or one for another amount or account is neither
    applied nor the account's last permit: the relayed deposit is refused; bad input is refused first."""
    expired = chain.pending_timestamp - 1
    v, r, s, _ = sign_permit(energy_token, ann, vault, 1_000, energy_token.nonces(ann), expired, chain.chain_id)
    with reverts(vault.PermitNotApplied, account=ann.address):
        vault.depositWithPermitFor(ann, energy_token, 1_000, expired, v, r, s, sender=stranger)
    deadline = chain.pending_timestamp + 3_600
    v, r, s, _ = sign_permit(energy_token, ann, vault, 1_000, energy_token.nonces(ann), deadline, chain.chain_id, signer=ben)
    with reverts(vault.PermitNotApplied, account=ann.address):
        vault.depositWithPermitFor(ann, energy_token, 1_000, deadline, v, r, s, sender=stranger)
    v, r, s, _ = sign_permit(energy_token, ann, vault, 1_000, energy_token.nonces(ann), deadline, chain.chain_id)
    with reverts(vault.PermitNotApplied, account=ann.address):
        vault.depositWithPermitFor(ann, energy_token, 1_001, deadline, v, r, s, sender=stranger)
    with reverts(vault.PermitNotApplied, account=ben.address):
        vault.depositWithPermitFor(ben, energy_token, 1_000, deadline, v, r, s, sender=stranger)
    with reverts(vault.UnsupportedToken, token=foreign_token.address):
        vault.depositWithPermitFor(ann, foreign_token, 1_000, deadline, v, r, s, sender=stranger)
    v0, r0, s0, _ = sign_permit(energy_token, ann, vault, 0, energy_token.nonces(ann), deadline, chain.chain_id)
    with reverts(vault.ZeroAmount):
        vault.depositWithPermitFor(ann, energy_token, 0, deadline, v0, r0, s0, sender=stranger)
    assert vault.reserves() == (0, 0) and energy_token.nonces(ann) == 0


def test_a_relayer_cannot_deposit_an_allowance_the_account_gave_for_something_else(
    vault, stablecoin, ann, ben, stranger, chain, assert_books_balance
):
    """ann allows the vault a standing amount (for a market's pull) and once used a permit of another
    amount: neither lets a relayer move ann's tokens into the vault; ann's own deposit still uses it."""
    stablecoin.approve(vault, 5 * UNIT, sender=ann)
    deadline = chain.pending_timestamp + 3_600
    v, r, s, _ = sign_permit(stablecoin, ann, vault, 2 * UNIT, stablecoin.nonces(ann), deadline, chain.chain_id)
    stablecoin.permit(ann, vault, 2 * UNIT, deadline, v, r, s, sender=ben)
    stablecoin.approve(vault, 5 * UNIT, sender=ann)
    wallet = stablecoin.balanceOf(ann)
    for amount in (5 * UNIT, 3 * UNIT):
        with reverts(vault.PermitNotApplied, account=ann.address):
            vault.depositWithPermitFor(ann, stablecoin, amount, deadline, v, r, s, sender=stranger)
    with reverts(vault.PermitNotApplied, account=ann.address):
        vault.depositWithPermitFor(ann, stablecoin, 2 * UNIT, deadline, 27, b"\x01" * 32, b"\x01" * 32, sender=stranger)
    assert stablecoin.balanceOf(ann) == wallet and vault.balancesOf(ann) == (0, 0)
    # The permit was for 2 units: that deposit goes through on it (front-run), from the allowance.
    vault.depositWithPermitFor(ann, stablecoin, 2 * UNIT, deadline, v, r, s, sender=stranger)
    assert vault.balanceOf(stablecoin, ann) == 2 * UNIT and stablecoin.allowance(ann, vault) == 3 * UNIT
    vault.depositWithPermit(stablecoin, 3 * UNIT, deadline, 27, b"\x01" * 32, b"\x01" * 32, sender=ann)
    assert vault.balanceOf(stablecoin, ann) == 5 * UNIT
    assert_books_balance()


@pytest.mark.parametrize("kind", ["energy", "payment"])
def test_withdrawal_by_signature_relayed_by_anyone(vault, tokens, funded, ann, ben, stranger, kind, chain, assert_books_balance):
    token = tokens[kind]
    amount = DEPOSIT_WH // 4 if kind == "energy" else DEPOSIT_PAY // 4
    deadline = chain.pending_timestamp + 3_600
    nonce, ben_wallet = vault.nonces(ann), token.balanceOf(ben)
    signature = sign_withdrawal(vault, ann, token, amount, ben, deadline, chain.chain_id)
    tx = vault.withdrawBySig(ann, token, amount, ben, deadline, signature, sender=stranger)
    assert_logs(
        tx,
        log(vault.Withdrawn, account=ann.address, token=token.address, amount=amount, to=ben.address),
        transfer(token, vault, ben, amount),
    )
    assert vault.balanceOf(token, ann) == amount * 3 and token.balanceOf(ben) == ben_wallet + amount
    assert vault.nonces(ann) == nonce + 1
    # Replayed: its nonce is used.
    with reverts(vault.InvalidWithdrawalSignature, account=ann.address):
        vault.withdrawBySig(ann, token, amount, ben, deadline, signature, sender=stranger)
    assert vault.balanceOf(token, ann) == amount * 3 and vault.nonces(ann) == nonce + 1
    assert_books_balance()


def test_withdrawal_and_market_approval_signatures_share_the_nonce(vault, energy_token, funded, ann, market_b, stranger, chain):
    """A signed approval and a signed withdrawal at the same nonce: the first relayed uses it up."""
    deadline = chain.pending_timestamp + 3_600
    nonce = vault.nonces(ann)
    withdrawal = sign_withdrawal(vault, ann, energy_token, 100, ann, deadline, chain.chain_id)
    approval = sign_approval(vault, ann, market_b, deadline, chain.chain_id)
    vault.approveMarketBySig(ann, market_b, deadline, approval, sender=stranger)
    with reverts(vault.InvalidWithdrawalSignature, account=ann.address):
        vault.withdrawBySig(ann, energy_token, 100, ann, deadline, withdrawal, sender=stranger)
    vault.withdrawBySig(
        ann,
        energy_token,
        100,
        ann,
        deadline,
        sign_withdrawal(vault, ann, energy_token, 100, ann, deadline, chain.chain_id),
        sender=stranger,
    )
    assert vault.nonces(ann) == nonce + 2 and vault.balanceOf(energy_token, ann) == DEPOSIT_WH - 100


def test_withdrawal_signature_is_valid_until_its_deadline_second(vault, stablecoin, funded, ann, stranger, chain):
    deadline = chain.pending_timestamp + 60
    nonce = vault.nonces(ann)
    signature = sign_withdrawal(vault, ann, stablecoin, UNIT, ann, deadline, chain.chain_id)
    chain.pending_timestamp = deadline + 1
    with reverts(vault.WithdrawalExpired, deadline=deadline):
        vault.withdrawBySig(ann, stablecoin, UNIT, ann, deadline, signature, sender=stranger)
    assert vault.nonces(ann) == nonce and vault.balanceOf(stablecoin, ann) == DEPOSIT_PAY
    deadline = chain.pending_timestamp + 60
    signature = sign_withdrawal(vault, ann, stablecoin, UNIT, ann, deadline, chain.chain_id)
    chain.pending_timestamp = deadline
    vault.withdrawBySig(ann, stablecoin, UNIT, ann, deadline, signature, sender=stranger)
    assert vault.balanceOf(stablecoin, ann) == DEPOSIT_PAY - UNIT


def test_withdrawal_signature_of_someone_else_or_altered_is_refused(
    vault, energy_token, stablecoin, funded, ann, ben, stranger, chain, assert_books_balance
):
    deadline = chain.pending_timestamp + 3_600
    nonce = vault.nonces(ann)
    forged = sign_withdrawal(vault, ann, energy_token, 500, ben, deadline, chain.chain_id, signer=ben)
    with reverts(vault.InvalidWithdrawalSignature, account=ann.address):
        vault.withdrawBySig(ann, energy_token, 500, ben, deadline, forged, sender=stranger)
    signature = sign_withdrawal(vault, ann, energy_token, 500, ann, deadline, chain.chain_id)
    # Signed for 500 Wh to ann: no other amount, recipient, token, deadline nor account.
    altered = [
        (ann, energy_token, 501, ann, deadline),
        (ann, energy_token, 500, stranger, deadline),
        (ann, stablecoin, 500, ann, deadline),
        (ann, energy_token, 500, ann, deadline + 1),
    ]
    for account, token, amount, to, until in altered:
        with reverts(vault.InvalidWithdrawalSignature, account=ann.address):
            vault.withdrawBySig(account, token, amount, to, until, signature, sender=stranger)
    with reverts(vault.InvalidWithdrawalSignature, account=ben.address):
        vault.withdrawBySig(ben, energy_token, 500, ann, deadline, signature, sender=stranger)
    with reverts(vault.InvalidWithdrawalSignature, account=ann.address):
        vault.withdrawBySig(ann, energy_token, 500, ann, deadline, b"\x01" * 65, sender=stranger)
    assert vault.nonces(ann) == nonce and vault.balancesOf(ann) == (DEPOSIT_WH, DEPOSIT_PAY)
    vault.withdrawBySig(ann, energy_token, 500, ann, deadline, signature, sender=stranger)
    assert vault.balancesOf(ann) == (DEPOSIT_WH - 500, DEPOSIT_PAY)
    assert_books_balance()


def test_a_contract_wallet_withdraws_by_its_erc1271_signature(
    project, vault, stablecoin, ann, ben, stranger, market_a, chain, assert_books_balance
):
    """A smart-contract account (ERC-1271) cannot send permits, but holds a balance credited to it and
    withdraws it with a signature its owner key makes and the wallet vouches for."""
    wallet = project.ContractWallet.deploy(ann, sender=ann)
    stablecoin.transfer(vault, 4 * UNIT, sender=ann)
    vault.creditArrived(stablecoin, [wallet], [4 * UNIT], sender=market_a)
    deadline = chain.pending_timestamp + 3_600
    forged = sign_withdrawal(vault, wallet.address, stablecoin, UNIT, ben, deadline, chain.chain_id, signer=ben)
    with reverts(vault.InvalidWithdrawalSignature, account=wallet.address):
        vault.withdrawBySig(wallet, stablecoin, UNIT, ben, deadline, forged, sender=stranger)
    signature = sign_withdrawal(vault, wallet.address, stablecoin, UNIT, ben, deadline, chain.chain_id, signer=ann)
    ben_cash = stablecoin.balanceOf(ben)
    tx = vault.withdrawBySig(wallet, stablecoin, UNIT, ben, deadline, signature, sender=stranger)
    assert_logs(
        tx,
        log(vault.Withdrawn, account=wallet.address, token=stablecoin.address, amount=UNIT, to=ben.address),
        transfer(stablecoin, vault, ben, UNIT),
    )
    assert stablecoin.balanceOf(ben) == ben_cash + UNIT
    assert vault.balancesOf(wallet) == (0, 3 * UNIT) and vault.nonces(wallet) == 1
    assert_books_balance(wallet)


def test_withdrawal_by_signature_refuses_what_withdraw_refuses(
    vault, energy_token, stablecoin, foreign_token, funded, ann, stranger, chain
):
    """A valid signature of a withdrawal the account could not send itself moves nothing."""
    deadline = chain.pending_timestamp + 3_600
    nonce = vault.nonces(ann)
    cases = [
        (
            (energy_token, DEPOSIT_WH + 1, ann),
            (vault.InsufficientEnergy, {"account": ann.address, "availableWh": DEPOSIT_WH, "neededWh": DEPOSIT_WH + 1}),
        ),
        (
            (stablecoin, DEPOSIT_PAY + 1, ann),
            (vault.InsufficientPayment, {"account": ann.address, "available": DEPOSIT_PAY, "needed": DEPOSIT_PAY + 1}),
        ),
        ((stablecoin, 1, ZERO_ADDRESS), (vault.ZeroAddress, {})),
        ((stablecoin, 0, ann), (vault.ZeroAmount, {})),
        ((foreign_token, 1, ann), (vault.UnsupportedToken, {"token": foreign_token.address})),
    ]
    for (token, amount, to), (error, arguments) in cases:
        signature = sign_withdrawal(vault, ann, token, amount, to, deadline, chain.chain_id)
        with reverts(error, **arguments):
            vault.withdrawBySig(ann, token, amount, to, deadline, signature, sender=stranger)
    assert vault.nonces(ann) == nonce and vault.balancesOf(ann) == (DEPOSIT_WH, DEPOSIT_PAY)


def test_reserve_is_bounded_on_every_way_in(vault, energy_token, energy_minter, ann, ben, market_a, assert_books_balance):
    """MAX_RESERVE (the most a uint112 balance holds) can be reached exactly and not passed: not by a
    deposit, a pull in take, a credit of arrived tokens, nor a batch paying an account past it."""
    energy_token.mint(ann, MAX_RESERVE + 1, sender=energy_minter)
    energy_token.approve(vault, MAX_UINT, sender=ann)
    vault.deposit(energy_token, MAX_RESERVE - 1, sender=ann)
    vault.deposit(energy_token, 1, sender=ann)
    assert vault.reserves() == (MAX_RESERVE, 0)
    with reverts(vault.ReserveTooLarge, token=energy_token.address, reserve=MAX_RESERVE + 1, maxReserve=MAX_RESERVE):
        vault.deposit(energy_token, 1, sender=ann)
    vault.setMarketApproval(market_a, True, sender=ann)
    with reverts(vault.ReserveTooLarge, token=energy_token.address, reserve=MAX_RESERVE + 1, maxReserve=MAX_RESERVE):
        vault.take(ann, MAX_RESERVE + 1, 0, sender=market_a)
    energy_token.mint(vault, 1, sender=energy_minter)
    with reverts(vault.ReserveTooLarge, token=energy_token.address, reserve=MAX_RESERVE + 1, maxReserve=MAX_RESERVE):
        vault.creditArrived(energy_token, [ben], [1], sender=market_a)
    vault.take(ann, MAX_RESERVE, 0, sender=market_a)
    with reverts(vault.ReserveTooLarge, token=energy_token.address, reserve=MAX_RESERVE + 1, maxReserve=MAX_RESERVE):
        vault.settleBatch([ben, ben], [MAX_RESERVE, 1], [0, 0], sender=market_a)
    vault.settleBatch([ben], [MAX_RESERVE], [0], sender=market_a)
    assert vault.balanceOf(energy_token, ben) == MAX_RESERVE
    vault.withdraw(energy_token, 1, ben, sender=ben)  # room again: the arrived token is credited now
    vault.creditArrived(energy_token, [ben], [1], sender=market_a)
    assert vault.reserves() == (MAX_RESERVE, 0)
    assert_books_balance()


# ----------------------------------------------------------------------------- market approvals


def test_set_market_approval_and_withdraw_it(vault, ann, market_a, market_b):
    """Each direct change spends the account's nonce (a signed approval not yet relayed cannot undo it)."""
    assert not vault.isMarketApproved(ann, market_a)
    tx = vault.setMarketApproval(market_a, True, sender=ann)
    assert_logs(
        tx,
        log(vault.NoncesInvalidated, account=ann.address, previousNonce=0, newNonce=1),
        log(vault.MarketApprovalSet, account=ann.address, market=market_a.address, approved=True),
    )
    assert vault.isMarketApproved(ann, market_a)
    assert not vault.isMarketApproved(ann, market_b)  # each market its own bit
    vault.setMarketApproval(market_b, True, sender=ann)
    tx = vault.setMarketApproval(market_a, False, sender=ann)
    assert_logs(
        tx,
        log(vault.NoncesInvalidated, account=ann.address, previousNonce=2, newNonce=3),
        log(vault.MarketApprovalSet, account=ann.address, market=market_a.address, approved=False),
    )
    assert not vault.isMarketApproved(ann, market_a)
    assert vault.isMarketApproved(ann, market_b)


def test_approval_of_an_unregistered_market_is_refused(vault, ann, stranger):
    with reverts(vault.NotMarket, caller=stranger.address):
        vault.setMarketApproval(stranger, True, sender=ann)
    assert not vault.isMarketApproved(ann, stranger)


def test_a_closed_market_is_not_approved_and_approval_can_still_be_withdrawn(vault, admin, ann, market_a):
    vault.setMarketApproval(market_a, True, sender=ann)
    vault.closeMarket(market_a, sender=admin)
    assert not vault.isMarketApproved(ann, market_a)
    tx = vault.setMarketApproval(market_a, False, sender=ann)
    assert_logs(
        tx,
        log(vault.NoncesInvalidated, account=ann.address, previousNonce=1, newNonce=2),
        log(vault.MarketApprovalSet, account=ann.address, market=market_a.address, approved=False),
    )


def test_payments_for_a_markets_batch(vault, funded, admin, ann, ben, stranger, market_a, market_b):
    """A market's one call for a batch: each account's payment balance and whether it approved the market
    (a repeated account answered alike); an unregistered or a closed market is approved by nobody."""
    accounts = [ann, ben, stranger, ann]
    payments = [DEPOSIT_PAY, DEPOSIT_PAY, 0, DEPOSIT_PAY]
    assert vault.paymentsFor(market_a, accounts) == (payments, [True, True, False, True])
    assert vault.paymentsFor(market_b, accounts) == (payments, [False] * 4)
    vault.setMarketApproval(market_b, True, sender=ben)
    assert vault.paymentsFor(market_b, accounts) == (payments, [False, True, False, False])
    assert vault.paymentsFor(stranger, accounts) == (payments, [False] * 4)
    vault.closeMarket(market_a, sender=admin)
    assert vault.paymentsFor(market_a, accounts) == (payments, [False] * 4)
    assert vault.paymentsFor(market_b, []) == ([], [])


def test_approve_market_by_signature_relayed_by_anyone(vault, ann, market_a, market_b, stranger, chain):
    deadline = chain.pending_timestamp + 3_600
    assert vault.nonces(ann) == 0
    signature = sign_approval(vault, ann, market_b, deadline, chain.chain_id)
    tx = vault.approveMarketBySig(ann, market_b, deadline, signature, sender=stranger)
    assert_logs(tx, log(vault.MarketApprovalSet, account=ann.address, market=market_b.address, approved=True))
    assert vault.isMarketApproved(ann, market_b)
    assert not vault.isMarketApproved(ann, market_a)
    assert vault.nonces(ann) == 1
    # The next approval signs the next nonce.
    vault.approveMarketBySig(ann, market_a, deadline, sign_approval(vault, ann, market_a, deadline, chain.chain_id), sender=market_a)
    assert vault.isMarketApproved(ann, market_a) and vault.nonces(ann) == 2


def test_approval_signature_is_valid_until_its_deadline_second(vault, ann, market_a, market_b, stranger, chain):
    deadline = chain.pending_timestamp + 60
    signature = sign_approval(vault, ann, market_a, deadline, chain.chain_id)
    chain.pending_timestamp = deadline
    vault.approveMarketBySig(ann, market_a, deadline, signature, sender=stranger)
    assert vault.isMarketApproved(ann, market_a)
    # One second later a signature with the same deadline is expired.
    chain.pending_timestamp = deadline + 1
    late = sign_approval(vault, ann, market_b, deadline, chain.chain_id)
    with reverts(vault.ApprovalExpired, deadline=deadline):
        vault.approveMarketBySig(ann, market_b, deadline, late, sender=stranger)
    assert not vault.isMarketApproved(ann, market_b)
    assert vault.nonces(ann) == 1


def test_approval_signature_of_someone_else_or_replayed_is_refused(vault, ann, ben, market_a, market_b, stranger, chain):
    deadline = chain.pending_timestamp + 3_600
    forged = sign_approval(vault, ann, market_a, deadline, chain.chain_id, signer=ben)
    with reverts(vault.InvalidApprovalSignature, account=ann.address):
        vault.approveMarketBySig(ann, market_a, deadline, forged, sender=stranger)
    signature = sign_approval(vault, ann, market_a, deadline, chain.chain_id)
    # Signed for market_a: it approves no other market, nor another deadline.
    with reverts(vault.InvalidApprovalSignature, account=ann.address):
        vault.approveMarketBySig(ann, market_b, deadline, signature, sender=stranger)
    with reverts(vault.InvalidApprovalSignature, account=ann.address):
        vault.approveMarketBySig(ann, market_a, deadline + 1, signature, sender=stranger)
    vault.approveMarketBySig(ann, market_a, deadline, signature, sender=stranger)
    vault.setMarketApproval(market_a, False, sender=ann)
    # Replayed after ann withdrew the approval: its nonce is used.
    with reverts(vault.InvalidApprovalSignature, account=ann.address):
        vault.approveMarketBySig(ann, market_a, deadline, signature, sender=stranger)
    assert not vault.isMarketApproved(ann, market_a)
    assert vault.nonces(ann) == 2  # the signed approval's, then the direct change's


def test_approval_signature_for_an_unregistered_market_is_refused(vault, ann, stranger, chain):
    deadline = chain.pending_timestamp + 3_600
    signature = sign_approval(vault, ann, stranger, deadline, chain.chain_id)
    with reverts(vault.NotMarket, caller=stranger.address):
        vault.approveMarketBySig(ann, stranger, deadline, signature, sender=stranger)
    assert vault.nonces(ann) == 0


# ----------------------------------------------------------------------------- take


def test_take_moves_balances_from_account_to_market(vault, funded, ann, market_a, assert_books_balance):
    reserves = vault.reserves()
    tx = vault.take(ann, 2_500, 7 * UNIT, sender=market_a)
    assert_logs(tx)  # a market move emits no event of its own
    assert vault.balancesOf(ann) == (DEPOSIT_WH - 2_500, DEPOSIT_PAY - 7 * UNIT)
    assert vault.balancesOf(market_a) == (2_500, 7 * UNIT)
    assert vault.reserves() == reserves
    vault.take(ann, DEPOSIT_WH - 2_500, 0, sender=market_a)  # all the rest of its energy
    assert vault.balancesOf(ann) == (0, DEPOSIT_PAY - 7 * UNIT)
    assert_books_balance()


def test_take_needs_the_accounts_approval(vault, funded, ann, ben, market_a, market_b):
    with reverts(vault.MarketNotApproved, account=ann.address, market=market_b.address):
        vault.take(ann, 1, 0, sender=market_b)
    vault.setMarketApproval(market_a, False, sender=ben)
    with reverts(vault.MarketNotApproved, account=ben.address, market=market_a.address):
        vault.take(ben, 0, 1, sender=market_a)
    assert vault.balancesOf(market_a) == vault.balancesOf(market_b) == (0, 0)


def test_closed_market_takes_nothing(vault, funded, admin, ann, market_a):
    vault.closeMarket(market_a, sender=admin)
    with reverts(vault.MarketClosed, market=market_a.address):
        vault.take(ann, 1, 0, sender=market_a)


def test_take_by_a_non_market_is_refused(vault, funded, ann, stranger):
    with reverts(vault.NotMarket, caller=stranger.address):
        vault.take(ann, 1, 0, sender=stranger)


def test_take_pulls_the_shortfall_from_the_wallet(vault, energy_token, stablecoin, funded, ann, market_a, assert_books_balance):
    energy_token.approve(vault, 600, sender=ann)
    stablecoin.approve(vault, MAX_UINT, sender=ann)
    wallet = (energy_token.balanceOf(ann), stablecoin.balanceOf(ann))
    reserves = vault.reserves()
    tx = vault.take(ann, DEPOSIT_WH + 600, DEPOSIT_PAY + 4 * UNIT, sender=market_a)
    # Only the parts beyond ann's vault balance come from her wallet, each booked as her deposit.
    assert_logs(
        tx,
        deposited(vault, ann, energy_token, 600),
        transfer(energy_token, ann, vault, 600),
        deposited(vault, ann, stablecoin, 4 * UNIT),
        transfer(stablecoin, ann, vault, 4 * UNIT),
    )
    assert vault.balancesOf(ann) == (0, 0)
    assert vault.balancesOf(market_a) == (DEPOSIT_WH + 600, DEPOSIT_PAY + 4 * UNIT)
    assert (energy_token.balanceOf(ann), stablecoin.balanceOf(ann)) == (wallet[0] - 600, wallet[1] - 4 * UNIT)
    assert vault.reserves() == (reserves[0] + 600, reserves[1] + 4 * UNIT)
    # Nothing left in the vault: the whole take comes from the wallet.
    tx = vault.take(ann, 0, UNIT, sender=market_a)
    assert_logs(tx, deposited(vault, ann, stablecoin, UNIT), transfer(stablecoin, ann, vault, UNIT))
    assert_books_balance()


def test_take_without_allowance_or_wallet_fails_on_the_token(vault, energy_token, stablecoin, funded, ann, market_a):
    """take never reverts with Insufficient*: a shortfall is pulled, and the token refuses the pull."""
    with reverts(energy_token.ERC20InsufficientAllowance, spender=vault.address, allowance=0, needed=1):
        vault.take(ann, DEPOSIT_WH + 1, 0, sender=market_a)
    stablecoin.approve(vault, 5, sender=ann)
    with reverts(stablecoin.ERC20InsufficientAllowance, spender=vault.address, allowance=5, needed=6):
        vault.take(ann, 0, DEPOSIT_PAY + 6, sender=market_a)
    energy_token.approve(vault, MAX_UINT, sender=ann)
    wallet = energy_token.balanceOf(ann)
    with reverts(energy_token.ERC20InsufficientBalance, sender=ann.address, balance=wallet, needed=wallet + 1):
        vault.take(ann, DEPOSIT_WH + wallet + 1, 0, sender=market_a)
    assert vault.balancesOf(ann) == (DEPOSIT_WH, DEPOSIT_PAY)
    assert vault.balancesOf(market_a) == (0, 0)


# ----------------------------------------------------------------------------- give


def test_give_pays_out_of_the_markets_balance(vault, stocked, ann, ben, stranger, market_a, assert_books_balance):
    reserves = vault.reserves()
    tx = vault.give(stranger, 1_200, 2 * UNIT, sender=market_a)
    assert_logs(tx)
    assert vault.balancesOf(stranger) == (1_200, 2 * UNIT)  # anyone, approval or not
    assert vault.balancesOf(market_a) == (800, 6 * UNIT)
    vault.give(ann, 800, 0, sender=market_a)
    assert vault.balancesOf(ann) == (DEPOSIT_WH - 1_500 + 800, DEPOSIT_PAY - 3 * UNIT)
    assert vault.balancesOf(market_a) == (0, 6 * UNIT)
    assert vault.reserves() == reserves
    assert_books_balance()


def test_give_more_than_the_market_holds(vault, stocked, ben, market_a, market_b, assert_books_balance):
    with reverts(vault.InsufficientEnergy, account=market_a.address, availableWh=2_000, neededWh=2_001):
        vault.give(ben, 2_001, 0, sender=market_a)
    with reverts(vault.InsufficientPayment, account=market_a.address, available=8 * UNIT, needed=8 * UNIT + 1):
        vault.give(ben, 0, 8 * UNIT + 1, sender=market_a)
    # Accounts' balances are no help: market_b holds nothing of its own.
    with reverts(vault.InsufficientEnergy, account=market_b.address, availableWh=0, neededWh=1):
        vault.give(ben, 1, 0, sender=market_b)
    assert vault.balancesOf(market_a) == (2_000, 8 * UNIT)
    assert_books_balance()


def test_closed_market_still_gives(vault, stocked, admin, ben, market_a, assert_books_balance):
    vault.closeMarket(market_a, sender=admin)
    vault.give(ben, 2_000, 8 * UNIT, sender=market_a)
    assert vault.balancesOf(market_a) == (0, 0)
    assert vault.balancesOf(ben) == (DEPOSIT_WH - 500 + 2_000, DEPOSIT_PAY - 5 * UNIT + 8 * UNIT)
    assert_books_balance()


def test_give_by_a_non_market_is_refused(vault, funded, ann, ben):
    with reverts(vault.NotMarket, caller=ann.address):
        vault.give(ben, 1, 0, sender=ann)


# ----------------------------------------------------------------------------- settleBatch


def test_settle_batch_with_mixed_signs_and_repeated_accounts(vault, stocked, ann, ben, stranger, market_a, assert_books_balance):
    accounts = [ann, ben, ann, stranger, ben]
    energy = [-300, 700, 1_000, 250, -50]
    payment = [2 * UNIT, -3 * UNIT, -UNIT, 0, 4 * UNIT]
    expected = {address(x): list(vault.balancesOf(x)) for x in (*accounts, market_a)}
    for account, wh, pay in zip(accounts, energy, payment, strict=True):
        expected[address(account)][0] += wh
        expected[address(account)][1] += pay
        expected[market_a.address][0] -= wh
        expected[market_a.address][1] -= pay
    reserves = vault.reserves()
    tx = vault.settleBatch(accounts, energy, payment, sender=market_a)
    assert_logs(tx)
    assert {a: list(vault.balancesOf(a)) for a in expected} == expected
    assert vault.reserves() == reserves
    assert_books_balance()


def test_settle_batch_lists_of_different_lengths(vault, stocked, ann, ben, market_a):
    with reverts(vault.BatchLengthMismatch, accounts=2, amounts=1):
        vault.settleBatch([ann, ben], [1], [1, 1], sender=market_a)
    with reverts(vault.BatchLengthMismatch, accounts=2, amounts=3):
        vault.settleBatch([ann, ben], [1, 1], [1, 1, 1], sender=market_a)


def test_settle_batch_takes_only_with_approval(vault, stocked, ann, ben, market_a, market_b, assert_books_balance):
    vault.setMarketApproval(market_a, False, sender=ben)
    with reverts(vault.MarketNotApproved, account=ben.address, market=market_a.address):
        vault.settleBatch([ann, ben], [-10, -10], [0, 0], sender=market_a)
    with reverts(vault.MarketNotApproved, account=ben.address, market=market_a.address):
        vault.settleBatch([ben], [10], [-1], sender=market_a)  # a negative payment alone needs it too
    vault.settleBatch([ben], [10], [UNIT], sender=market_a)  # paying ben does not
    assert vault.balancesOf(ben) == (DEPOSIT_WH - 500 + 10, DEPOSIT_PAY - 5 * UNIT + UNIT)
    assert_books_balance()


def test_settle_batch_of_a_closed_market_only_pays_out(vault, stocked, admin, ann, ben, market_a, assert_books_balance):
    vault.closeMarket(market_a, sender=admin)
    with reverts(vault.MarketClosed, market=market_a.address):
        vault.settleBatch([ann, ben], [100, -100], [0, 0], sender=market_a)
    vault.settleBatch([ann, ben], [1_000, 1_000], [UNIT, 7 * UNIT], sender=market_a)
    assert vault.balancesOf(market_a) == (0, 0)
    assert vault.balancesOf(ann) == (DEPOSIT_WH - 500, DEPOSIT_PAY - 2 * UNIT)
    assert vault.balancesOf(ben) == (DEPOSIT_WH + 500, DEPOSIT_PAY + 2 * UNIT)
    assert_books_balance()


def test_settle_batch_cannot_pay_out_more_than_the_market_holds(vault, stocked, ann, ben, market_a, assert_books_balance):
    """The market's side is netted: what it takes in the batch pays for what it pays out, and the
    error names the market's balance and the net payout asked of it."""
    vault.settleBatch([ann, ben], [-1_000, 3_000], [0, 0], sender=market_a)  # 2,000 + 1,000 - 3,000 = 0
    assert vault.balancesOf(market_a) == (0, 8 * UNIT)
    vault.take(ann, 2_000, 0, sender=market_a)
    with reverts(vault.InsufficientEnergy, account=market_a.address, availableWh=2_000, neededWh=2_001):
        vault.settleBatch([ann, ben], [2_000, 1], [0, 0], sender=market_a)
    with reverts(vault.InsufficientPayment, account=market_a.address, available=8 * UNIT, needed=9 * UNIT):
        vault.settleBatch([ann, ben, ann], [0, 0, 0], [5 * UNIT, 5 * UNIT, -UNIT], sender=market_a)
    assert vault.balancesOf(market_a) == (2_000, 8 * UNIT)
    assert_books_balance()


def test_settle_batch_takes_no_more_than_the_account_holds(vault, energy_token, stablecoin, stocked, ann, ben, market_a):
    """Unlike take, a batch pulls nothing from wallets, allowance or not."""
    energy_token.approve(vault, MAX_UINT, sender=ben)
    stablecoin.approve(vault, MAX_UINT, sender=ben)
    held_wh, held_pay = vault.balancesOf(ben)
    with reverts(vault.InsufficientEnergy, account=ben.address, availableWh=held_wh, neededWh=held_wh + 1):
        vault.settleBatch([ann, ben], [10, -held_wh - 1], [0, 0], sender=market_a)
    with reverts(vault.InsufficientPayment, account=ben.address, available=held_pay, needed=held_pay + 1):
        vault.settleBatch([ben], [0], [-held_pay - 1], sender=market_a)
    # The two entries of one account are checked one after the other against its running balance.
    with reverts(vault.InsufficientEnergy, account=ben.address, availableWh=held_wh - 100, neededWh=held_wh):
        vault.settleBatch([ben, ben], [-100, -held_wh], [0, 0], sender=market_a)


def test_settle_batch_entry_for_the_market_itself_nets_out(vault, stocked, ann, market_a, assert_books_balance):
    """A market naming itself in its own batch pays (or takes from) itself: nothing changes hands."""
    vault.settleBatch([market_a, ann], [500, 100], [UNIT, 0], sender=market_a)
    assert vault.balancesOf(market_a) == (2_000 - 100, 8 * UNIT)
    assert_books_balance()
    vault.setMarketApproval(market_a, True, sender=market_a)
    vault.settleBatch([market_a], [-700], [-2 * UNIT], sender=market_a)
    assert vault.balancesOf(market_a) == (2_000 - 100, 8 * UNIT)
    assert_books_balance()


def test_settle_batch_by_a_non_market_is_refused(vault, funded, ann, stranger):
    with reverts(vault.NotMarket, caller=stranger.address):
        vault.settleBatch([ann], [1], [0], sender=stranger)


# ----------------------------------------------------------------------------- retireEnergy


def test_retire_energy_burns_the_markets_energy(vault, energy_token, stocked, market_a, assert_books_balance):
    supply = energy_token.totalSupply()
    reserves = vault.reserves()
    tx = vault.retireEnergy(1_200, sender=market_a)
    assert_logs(tx, log(vault.EnergyRetired, market=market_a.address, amountWh=1_200), transfer(energy_token, vault, ZERO_ADDRESS, 1_200))
    assert energy_token.totalSupply() == supply - 1_200
    assert vault.reserves() == (reserves[0] - 1_200, reserves[1])
    assert vault.balancesOf(market_a) == (800, 8 * UNIT)
    assert_books_balance()


def test_closed_market_still_retires(vault, energy_token, stocked, admin, market_a, assert_books_balance):
    vault.closeMarket(market_a, sender=admin)
    vault.retireEnergy(2_000, sender=market_a)
    assert vault.balancesOf(market_a) == (0, 8 * UNIT)
    assert_books_balance()


def test_retire_more_than_the_market_holds(vault, energy_token, stocked, market_a, market_b):
    with reverts(vault.InsufficientEnergy, account=market_a.address, availableWh=2_000, neededWh=2_001):
        vault.retireEnergy(2_001, sender=market_a)
    # The energy it holds is the market's own, not the other markets' or accounts'.
    with reverts(vault.InsufficientEnergy, account=market_b.address, availableWh=0, neededWh=1):
        vault.retireEnergy(1, sender=market_b)


def test_retire_by_a_non_market_is_refused(vault, funded, ann):
    with reverts(vault.NotMarket, caller=ann.address):
        vault.retireEnergy(1, sender=ann)


# ----------------------------------------------------------------------------- creditArrived


def test_credit_minted_energy_to_accounts(vault, energy_token, funded, energy_minter, ann, ben, stranger, market_a, assert_books_balance):
    reserves = vault.reserves()
    energy_token.mint(vault, 900, sender=energy_minter)
    tx = vault.creditArrived(energy_token, [ann, stranger, ann], [200, 650, 50], sender=market_a)
    assert_logs(
        tx,
        log(vault.ArrivedCredited, token=energy_token.address, creditor=market_a.address,
            accounts=[ann.address, stranger.address, ann.address], amounts=[200, 650, 50]),
    )
    assert vault.balanceOf(energy_token, ann) == DEPOSIT_WH + 250
    assert vault.balanceOf(energy_token, stranger) == 650
    assert vault.balanceOf(energy_token, ben) == DEPOSIT_WH
    assert vault.reserves() == (reserves[0] + 900, reserves[1])
    assert_books_balance()


def test_credit_transferred_payment(vault, stablecoin, funded, ann, ben, market_a, assert_books_balance):
    stablecoin.transfer(vault, 3 * UNIT, sender=ann)
    tx = vault.creditArrived(stablecoin, [ben], [3 * UNIT], sender=market_a)
    assert_logs(
        tx,
        log(vault.ArrivedCredited, token=stablecoin.address, creditor=market_a.address, accounts=[ben.address], amounts=[3 * UNIT]),
    )
    assert vault.balanceOf(stablecoin, ben) == DEPOSIT_PAY + 3 * UNIT
    assert_books_balance()


def test_credit_more_than_arrived_is_refused(
    vault, energy_token, stablecoin, funded, energy_minter, ann, ben, market_a, assert_books_balance
):
    # Deposits are in the reserve: nothing has arrived outside it.
    with reverts(vault.NotArrived, token=energy_token.address, arrived=0, amount=1):
        vault.creditArrived(energy_token, [ann], [1], sender=market_a)
    with reverts(vault.NotArrived, token=stablecoin.address, arrived=0, amount=1):
        vault.creditArrived(stablecoin, [ann], [1], sender=market_a)
    energy_token.mint(vault, 500, sender=energy_minter)
    with reverts(vault.NotArrived, token=energy_token.address, arrived=500, amount=501):
        vault.creditArrived(energy_token, [ann, ben], [250, 251], sender=market_a)
    vault.creditArrived(energy_token, [ann], [300], sender=market_a)
    # What was credited is in the reserve now: only the rest can still be.
    with reverts(vault.NotArrived, token=energy_token.address, arrived=200, amount=300):
        vault.creditArrived(energy_token, [ben], [300], sender=market_a)
    vault.creditArrived(energy_token, [ben], [200], sender=market_a)
    assert vault.balancesOf(ann)[0] == DEPOSIT_WH + 300
    assert vault.balancesOf(ben)[0] == DEPOSIT_WH + 200
    assert_books_balance()


def test_credit_lists_of_different_lengths(vault, energy_token, energy_minter, ann, ben, market_a):
    energy_token.mint(vault, 10, sender=energy_minter)
    with reverts(vault.BatchLengthMismatch, accounts=2, amounts=1):
        vault.creditArrived(energy_token, [ann, ben], [10], sender=market_a)
    with reverts(vault.BatchLengthMismatch, accounts=1, amounts=2):
        vault.creditArrived(energy_token, [ann], [5, 5], sender=market_a)


# ----------------------------------------------------------------------------- hostile tokens


def test_a_reentrant_token_finds_the_vault_locked(project, admin, energy_token, ann, stranger, market_a, chain):
    """A payment token that calls back into the vault from inside a transfer (withdraw's, a relayed
    withdrawal's or deposit's, and take's pull) meets ReentrancyGuardReentrantCall, and nothing moves."""
    token = project.ReentrantToken.deploy(sender=admin)
    vault = project.EnergyVault.deploy(admin, energy_token, token, NO_FREEZE_QUERY, sender=admin)
    vault.registerMarket(market_a, sender=admin)
    token.mint(ann, 10_000, sender=ann)
    token.approve(vault, MAX_UINT, sender=ann)
    vault.deposit(token, 4_000, sender=ann)
    vault.setMarketApproval(market_a, True, sender=ann)
    token.arm(vault, vault.deposit.encode_input(token, 1), sender=ann)
    with reverts(vault.ReentrancyGuardReentrantCall):
        vault.withdraw(token, 1_000, ann, sender=ann)
    with reverts(vault.ReentrancyGuardReentrantCall):
        vault.take(ann, 0, 4_001, sender=market_a)
    deadline = chain.pending_timestamp + 3_600
    signature = sign_withdrawal(vault, ann, token, 1_000, ann, deadline, chain.chain_id)
    with reverts(vault.ReentrancyGuardReentrantCall):
        vault.withdrawBySig(ann, token, 1_000, ann, deadline, signature, sender=stranger)
    # The token has no permit: ann's own deposit goes on to the allowance ann gave, and the transfer
    # calls back; a relayer has no permit of ann's to show, so it is refused before any transfer.
    with reverts(vault.ReentrancyGuardReentrantCall):
        vault.depositWithPermit(token, 1_000, deadline, 27, b"\x01" * 32, b"\x01" * 32, sender=ann)
    with reverts(vault.PermitNotApplied, account=ann.address):
        vault.depositWithPermitFor(ann, token, 1_000, deadline, 27, b"\x01" * 32, b"\x01" * 32, sender=stranger)
    assert (vault.balancesOf(ann), vault.balancesOf(market_a)) == ((0, 4_000), (0, 0))
    assert vault.reserves() == (0, 4_000) and token.balanceOf(vault) == 4_000


def test_a_token_whose_transfer_returns_false_fails_the_withdrawal(project, admin, energy_token, ann):
    token = project.FailingToken.deploy(sender=admin)
    vault = project.EnergyVault.deploy(admin, energy_token, token, NO_FREEZE_QUERY, sender=admin)
    token.mint(ann, 1_000, sender=ann)
    token.approve(vault, 1_000, sender=ann)
    vault.deposit(token, 1_000, sender=ann)
    token.setMode(1, sender=admin)  # transfers return false without moving anything
    with reverts(vault.SafeERC20FailedOperation, token=token.address):
        vault.withdraw(token, 400, ann, sender=ann)
    assert vault.balancesOf(ann) == (0, 1_000)
    assert vault.reserves() == (0, 1_000) and token.balanceOf(vault) == 1_000


# ----------------------------------------------------------------------------- safeguards


def test_a_token_callback_cannot_undo_a_market_move_inside_take(project, admin, energy_token, ann, market_a):
    """take reads the account's and the market's words, pulls a shortfall from the wallet, then writes
    the words back. A payment token that, from inside that pull, has a second market settle the same
    account must find the vault locked: otherwise the write-back would erase the second market's
    debit and the balances would add up to more than the vault holds."""
    token = project.ReentrantToken.deploy(sender=admin)
    vault = project.EnergyVault.deploy(admin, energy_token, token, NO_FREEZE_QUERY, sender=admin)
    vault.registerMarket(market_a, sender=admin)
    vault.registerMarket(token, sender=admin)  # the token is a market too: its settleBatch is a real one
    token.mint(ann, 10_000, sender=ann)
    token.approve(vault, MAX_UINT, sender=ann)
    vault.deposit(token, 1_000, sender=ann)
    vault.setMarketApproval(market_a, True, sender=ann)
    vault.setMarketApproval(token, True, sender=ann)
    token.arm(vault, vault.settleBatch.encode_input([ann], [0], [-1_000]), sender=ann)
    with reverts(vault.ReentrancyGuardReentrantCall):
        vault.take(ann, 0, 1_500, sender=market_a)
    assert (vault.balancesOf(ann), vault.balancesOf(market_a), vault.balancesOf(token)) == ((0, 1_000), (0, 0), (0, 0))
    assert vault.reserves() == (0, 1_000) and token.balanceOf(vault) == 1_000


@pytest.mark.parametrize("inner", ["give", "settleBatch", "creditArrived", "retireEnergy", "setMarketApproval", "approveMarketBySig"])
def test_every_balance_writer_is_locked_inside_a_token_transfer(project, admin, energy_token, ann, market_a, chain, inner):
    """Each vault entry that writes a balance word, called from inside the wallet pull of a take by a
    registered market (the token itself), meets the lock before anything else."""
    token = project.ReentrantToken.deploy(sender=admin)
    vault = project.EnergyVault.deploy(admin, energy_token, token, NO_FREEZE_QUERY, sender=admin)
    vault.registerMarket(market_a, sender=admin)
    vault.registerMarket(token, sender=admin)
    token.mint(ann, 10_000, sender=ann)
    token.approve(vault, MAX_UINT, sender=ann)
    vault.setMarketApproval(market_a, True, sender=ann)
    deadline = chain.pending_timestamp + 3_600
    payloads = {
        "give": vault.give.encode_input(ann, 0, 1),
        "settleBatch": vault.settleBatch.encode_input([ann], [0], [1]),
        "creditArrived": vault.creditArrived.encode_input(token, [ann], [1]),
        "retireEnergy": vault.retireEnergy.encode_input(0),
        "setMarketApproval": vault.setMarketApproval.encode_input(market_a, True),
        "approveMarketBySig": vault.approveMarketBySig.encode_input(
            ann, token, deadline, sign_approval(vault, ann, token, deadline, chain.chain_id, nonce=vault.nonces(ann))
        ),
    }
    token.arm(vault, payloads[inner], sender=ann)
    with reverts(vault.ReentrancyGuardReentrantCall):
        vault.take(ann, 0, 500, sender=market_a)
    assert vault.balancesOf(ann) == (0, 0) and vault.reserves() == (0, 0)


def test_market_moves_are_recorded_by_the_vault(vault, energy_token, stablecoin, funded, ann, ben, market_a):
    """take and give name the market, the account and both signed deltas; settleBatch names every entry."""
    tx = vault.take(ann, 300, 2 * UNIT, sender=market_a)
    assert_logs(tx, log(vault.MarketMoved, market=market_a.address, account=ann.address, energyDeltaWh=-300, paymentDelta=-2 * UNIT))
    tx = vault.give(ben, 100, UNIT, sender=market_a)
    assert_logs(tx, log(vault.MarketMoved, market=market_a.address, account=ben.address, energyDeltaWh=100, paymentDelta=UNIT))
    tx = vault.settleBatch([ann, ben], [50, -20], [0, UNIT], sender=market_a)
    assert_logs(
        tx,
        log(vault.MarketBatchSettled, market=market_a.address, accounts=[ann.address, ben.address],
            energyDeltasWh=[50, -20], paymentDeltas=[0, UNIT]),
    )


def test_arrived_tokens_are_booked_only_by_markets_and_creditors(
    vault, energy_token, energy_minter, admin, ann, stranger, market_a, assert_books_balance
):
    """A plain transfer to the vault is not a deposit: anyone else booking it would take it."""
    energy_token.mint(vault, 30, sender=energy_minter)
    with reverts(vault.NotCreditor, caller=stranger.address):
        vault.creditArrived(energy_token, [stranger], [30], sender=stranger)
    tx = vault.creditArrived(energy_token, [ann], [10], sender=market_a)
    assert_logs(tx, log(vault.ArrivedCredited, token=energy_token.address, creditor=market_a.address, accounts=[ann.address], amounts=[10]))
    with reverts(vault.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=DEFAULT_ADMIN_ROLE):
        vault.grantRole(vault.CREDITOR_ROLE(), stranger, sender=stranger)
    vault.grantRole(vault.CREDITOR_ROLE(), energy_minter, sender=admin)
    vault.creditArrived(energy_token, [ann], [20], sender=energy_minter)
    assert vault.balancesOf(ann) == (30, 0)
    assert_books_balance()


@pytest.fixture
def frozen_setup(project, admin, energy_token, energy_minter, ann, ben, market_a):
    """A vault whose payment token is a USDC-style stablecoin with a freeze list, asked through its
    isFrozen(address) view; ann holds both tokens in it and approves market_a."""
    token = project.BlacklistToken.deploy(sender=admin)
    query = keccak(text="isFrozen(address)")[:4]
    vault = project.EnergyVault.deploy(admin, energy_token, token, query, sender=admin)
    vault.registerMarket(market_a, sender=admin)
    token.mint(ann, 1_000, sender=ann)
    token.approve(vault, 1_000, sender=ann)
    vault.deposit(token, 1_000, sender=ann)
    energy_token.mint(ann, 500, sender=energy_minter)
    deposit(vault, energy_token, ann, 500)
    vault.setMarketApproval(market_a, True, sender=ann)
    return vault, token, query


def test_a_frozen_account_cannot_withdraw_to_a_clean_address(frozen_setup, energy_token, admin, ann, ben, stranger, chain):
    """The token sees vault -> clean address and lets it through: the vault keeps the freeze itself."""
    vault, token, query = frozen_setup
    assert vault.frozenQuery() == query and not vault.isFrozen(ann)
    token.freeze(ann, sender=admin)
    assert vault.isFrozen(ann)
    with reverts(vault.AccountFrozen, account=ann.address):
        vault.withdraw(token, 400, ben, sender=ann)
    with reverts(vault.AccountFrozen, account=ann.address):
        vault.withdraw(energy_token, 100, ben, sender=ann)
    deadline = chain.pending_timestamp + 3_600
    signature = sign_withdrawal(vault, ann, token, 400, ben, deadline, chain.chain_id)
    with reverts(vault.AccountFrozen, account=ann.address):
        vault.withdrawBySig(ann, token, 400, ben, deadline, signature, sender=stranger)
    assert token.balanceOf(ben) == 0 and vault.balancesOf(ann) == (500, 1_000)
    token.unfreeze(ann, sender=admin)
    vault.withdraw(token, 400, ben, sender=ann)
    assert token.balanceOf(ben) == 400


def test_a_frozen_account_is_credited_but_no_market_debits_it(frozen_setup, admin, ann, ben, market_a):
    """A frozen account blocks nobody: payouts reach it; but its balance does not leave through a market."""
    vault, token, _ = frozen_setup
    vault.take(ann, 100, 300, sender=market_a)
    token.freeze(ann, sender=admin)
    vault.give(ann, 50, 100, sender=market_a)
    vault.settleBatch([ann], [10], [10], sender=market_a)
    with reverts(vault.AccountFrozen, account=ann.address):
        vault.take(ann, 0, 1, sender=market_a)
    with reverts(vault.AccountFrozen, account=ann.address):
        vault.settleBatch([ann], [0], [-1], sender=market_a)
    # A market's batch asks first and skips the frozen account instead of failing on it.
    assert vault.paymentsFor(market_a, [ann]) == ([810], [False])
    assert vault.balancesOf(ann) == (460, 810)


def test_a_freeze_query_the_token_does_not_answer_fails_the_deployment(project, admin, energy_token, stablecoin):
    query = keccak(text="isBlacklisted(address)")[:4]  # MockStablecoin keeps no freeze list
    with deploy_reverts(project.EnergyVault.FrozenQueryFailed, stablecoin.address, admin.address):
        project.EnergyVault.deploy(admin, energy_token, stablecoin, query, sender=admin)


def test_a_fee_on_transfer_token_is_refused_at_deposit(project, admin, energy_token, ann):
    """A token that delivers less than it was asked to move would leave the reserve unbacked."""
    token = project.FailingToken.deploy(sender=admin)
    vault = project.EnergyVault.deploy(admin, energy_token, token, NO_FREEZE_QUERY, sender=admin)
    token.mint(ann, 10_000, sender=ann)
    token.approve(vault, MAX_UINT, sender=ann)
    token.setMode(5, sender=admin)  # keeps 1 % of every transfer
    with reverts(vault.TransferShort, token=token.address, received=990, amount=1_000):
        vault.deposit(token, 1_000, sender=ann)
    assert vault.reserves() == (0, 0) and token.balanceOf(vault) == 0


def test_a_permit_pays_for_one_deposit_only(vault, stablecoin, ann, stranger, chain, assert_books_balance):
    """A relayer holding one permit cannot use it again on the allowance the account gave the vault
    for something else."""
    stablecoin.approve(vault, MAX_UINT, sender=ann)  # a standing allowance, for a market's pulls
    deadline = chain.pending_timestamp + 3_600
    nonce = stablecoin.nonces(ann)
    v, r, s, _ = sign_permit(stablecoin, ann, vault, 2, nonce, deadline, chain.chain_id)
    vault.depositWithPermitFor(ann, stablecoin, 2, deadline, v, r, s, sender=stranger)
    stablecoin.approve(vault, MAX_UINT, sender=ann)  # the permit overwrote it; the account sets it again
    with reverts(vault.PermitAlreadyUsed, account=ann.address, nonce=nonce):
        vault.depositWithPermitFor(ann, stablecoin, 2, deadline, v, r, s, sender=stranger)
    with reverts(vault.PermitAlreadyUsed, account=ann.address, nonce=nonce):
        vault.depositWithPermit(stablecoin, 2, deadline, v, r, s, sender=ann)
    assert vault.balancesOf(ann) == (0, 2)
    assert_books_balance()


def test_a_front_run_permit_still_pays_for_one_deposit_only(vault, stablecoin, ann, stranger, chain):
    deadline = chain.pending_timestamp + 3_600
    nonce = stablecoin.nonces(ann)
    v, r, s, _ = sign_permit(stablecoin, ann, vault, 2 * UNIT, nonce, deadline, chain.chain_id)
    stablecoin.permit(ann, vault, 2 * UNIT, deadline, v, r, s, sender=stranger)  # seen in the mempool
    vault.depositWithPermitFor(ann, stablecoin, 2 * UNIT, deadline, v, r, s, sender=stranger)
    stablecoin.approve(vault, MAX_UINT, sender=ann)
    with reverts(vault.PermitAlreadyUsed, account=ann.address, nonce=nonce):
        vault.depositWithPermitFor(ann, stablecoin, 2 * UNIT, deadline, v, r, s, sender=stranger)
    assert vault.balancesOf(ann) == (0, 2 * UNIT)


def test_a_direct_approval_change_voids_a_signed_approval_not_yet_relayed(vault, ann, stranger, market_a, chain):
    """Withdrawing an approval directly must not be undone by relaying an older signed approval."""
    deadline = chain.pending_timestamp + 3_600
    signature = sign_approval(vault, ann, market_a, deadline, chain.chain_id)
    tx = vault.setMarketApproval(market_a, False, sender=ann)
    assert_logs(
        tx,
        log(vault.NoncesInvalidated, account=ann.address, previousNonce=0, newNonce=1),
        log(vault.MarketApprovalSet, account=ann.address, market=market_a.address, approved=False),
    )
    with reverts(vault.InvalidApprovalSignature, account=ann.address):
        vault.approveMarketBySig(ann, market_a, deadline, signature, sender=stranger)
    assert not vault.isMarketApproved(ann, market_a)


def test_invalidated_nonces_void_signed_withdrawals_and_approvals(vault, stablecoin, funded, ann, ben, stranger, market_b, chain):
    deadline = chain.pending_timestamp + 3_600
    nonce = vault.nonces(ann)
    withdrawal = sign_withdrawal(vault, ann, stablecoin, UNIT, ben, deadline, chain.chain_id)
    approval = sign_approval(vault, ann, market_b, deadline, chain.chain_id, nonce=nonce + 1)
    tx = vault.invalidateNonces(nonce + 2, sender=ann)
    assert_logs(tx, log(vault.NoncesInvalidated, account=ann.address, previousNonce=nonce, newNonce=nonce + 2))
    with reverts(vault.InvalidWithdrawalSignature, account=ann.address):
        vault.withdrawBySig(ann, stablecoin, UNIT, ben, deadline, withdrawal, sender=stranger)
    with reverts(vault.InvalidApprovalSignature, account=ann.address):
        vault.approveMarketBySig(ann, market_b, deadline, approval, sender=stranger)
    for refused in (nonce + 2, nonce, nonce + 2 + 2**32):
        with reverts(vault.NonceNotRaised, account=ann.address, newNonce=refused, currentNonce=nonce + 2):
            vault.invalidateNonces(refused, sender=ann)
    vault.invalidateNonces(nonce + 2 + vault.MAX_NONCE_SKIP(), sender=ann)
    assert vault.nonces(ann) == nonce + 2 + 2**32 - 1
