"""The API's relayed vault deposits and withdrawals on a real deployment: the account signs the
token's ERC-2612 permit of the vault (a deposit) or the vault's EIP-712 Withdrawal in its wallet
(played by eth-account signing the typed data the API hands out), the relayer sends it and pays only
gas; every refusal is a 4xx naming it in words a user reads, with nothing sent. Each relay is
charged to its account's quota, whatever route it came by.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import meter_energy_to
from fastapi.testclient import TestClient

from energy_grid.api import create_app
from energy_grid.api.settings import RelayLimits

from support.service_helpers import ok, problem, sign_typed

API = "/api/v1"
CASH = 3_000_000  # PaymentToken base units deposited
ENERGY_WH = 4_000  # metered EnergyToken in the household's wallet
ZERO_ADDRESS = "0x" + "00" * 20


@pytest.fixture(scope="module")
def vault_household(accounts):
    return accounts[5]


@pytest.fixture(scope="module", autouse=True)
def _vault_household_energy(api_system, vault_household, admin, accounts, chain):
    """The household holds metered EnergyToken, before any test's own state (ape isolation)."""
    meter_energy_to([vault_household], ENERGY_WH, api_system.smart_meter, admin, accounts, chain)


@pytest.fixture
def vault_api(api_settings):
    with TestClient(create_app(api_settings(follow=False))) as http:
        yield http


@pytest.fixture
def two_relays_api(api_settings):
    """A service whose relayer sends two transactions per account an hour."""
    with TestClient(create_app(api_settings(follow=False, relay_limits=RelayLimits(per_account=2)))) as http:
        yield http


def signed(http: TestClient, kind: str, signer: Any, **draft: Any) -> dict:
    """The body of POST /vault/{kind} for `draft`, signed by `signer` as /vault/{kind}/typed-data offered it."""
    offer = ok(http.post(f"{API}/vault/{kind}/typed-data", json=draft))
    keys = ("account", "token", "amount", "deadline") + (("to",) if kind == "withdrawal" else ())
    return {key: offer[key] for key in keys} | {"signature": sign_typed(signer, offer["typedData"])}


def test_deposit_and_withdrawal_signed_in_the_wallet_are_relayed(vault_api, api_system, vault_household, accounts):
    http, vault, payment, energy = vault_api, api_system.energy_vault, api_system.payment_token, api_system.energy_token
    household, recipient, relayer = vault_household, accounts[6], accounts[9]
    wallet, relayer_cash = payment.balanceOf(household), payment.balanceOf(relayer)

    offer = ok(http.post(f"{API}/vault/deposit/typed-data", json={"account": household.address, "token": "payment", "amount": CASH}))
    assert offer["token"] == payment.address and offer["nonce"] == payment.nonces(household)
    assert offer["typedData"]["primaryType"] == "Permit"
    assert offer["typedData"]["message"] | {"deadline": 0} == {
        "owner": household.address,
        "spender": vault.address,
        "value": CASH,
        "nonce": offer["nonce"],
        "deadline": 0,
    }
    body = {key: offer[key] for key in ("account", "token", "amount", "deadline")} | {
        "signature": sign_typed(household, offer["typedData"])
    }
    relayed = ok(http.post(f"{API}/vault/deposit", json=body))
    assert (relayed["account"], relayed["token"], relayed["amount"]) == (household.address, payment.address, CASH)
    assert vault.balancesOf(household) == (0, CASH)
    assert (payment.balanceOf(household), payment.balanceOf(relayer)) == (wallet - CASH, relayer_cash)
    # The same permit again: used, so it allows nothing more.
    refused = problem(http.post(f"{API}/vault/deposit", json=body), 403, "InvalidPermit")
    assert "Sign the deposit again" in refused["message"]

    # Energy by the token's address, in any case.
    body = signed(http, "deposit", household, account=household.address, token=energy.address.lower(), amount=ENERGY_WH)
    ok(http.post(f"{API}/vault/deposit", json=body))
    held = ok(http.get(f"{API}/vault/{household.address}"))
    assert (held["freeEnergyWh"], held["freePayment"]) == (ENERGY_WH, CASH)

    nonce = vault.nonces(household)
    draft = {"account": household.address, "token": "payment", "amount": CASH // 3, "to": recipient.address}
    offer = ok(http.post(f"{API}/vault/withdrawal/typed-data", json=draft))
    assert offer["typedData"]["message"] == {
        "account": household.address,
        "token": payment.address,
        "amount": CASH // 3,
        "to": recipient.address,
        "nonce": nonce,
        "deadline": offer["deadline"],
    }
    recipient_cash = payment.balanceOf(recipient)
    body = {key: offer[key] for key in ("account", "token", "amount", "to", "deadline")} | {
        "signature": sign_typed(household, offer["typedData"])
    }
    relayed = ok(http.post(f"{API}/vault/withdrawal", json=body))
    assert relayed["to"] == recipient.address and relayed["txHash"].startswith("0x")
    assert payment.balanceOf(recipient) == recipient_cash + CASH // 3
    assert vault.balancesOf(household) == (ENERGY_WH, CASH - CASH // 3) and vault.nonces(household) == nonce + 1
    problem(http.post(f"{API}/vault/withdrawal", json=body), 403, "InvalidWithdrawalSignature")

    # Energy back to the account's own wallet by default.
    body = signed(http, "withdrawal", household, account=household.address, token="energy", amount=ENERGY_WH)
    assert body["to"] == household.address
    ok(http.post(f"{API}/vault/withdrawal", json=body))
    assert energy.balanceOf(household) == ENERGY_WH and vault.balancesOf(household) == (0, CASH - CASH // 3)


def test_refused_deposits_and_withdrawals_get_their_4xx_and_nothing_is_sent(vault_api, api_system, vault_household, accounts, chain):
    http, vault, payment = vault_api, api_system.energy_vault, api_system.payment_token
    household, other, relayer = vault_household, accounts[6], accounts[9]
    sent = relayer.nonce
    account = household.address
    wallet = payment.balanceOf(household)

    # Refused before the wallet is asked: what the wallet or the vault would refuse.
    short = problem(
        http.post(f"{API}/vault/deposit/typed-data", json={"account": account, "token": "payment", "amount": wallet + 1}),
        400,
        "InsufficientWalletBalance",
    )
    assert short["details"] == {"account": account, "token": payment.address, "held": wallet, "amount": wallet + 1}
    foreign = accounts.generate_test_account().address
    refused = problem(
        http.post(f"{API}/vault/deposit/typed-data", json={"account": account, "token": foreign, "amount": 1}), 400, "UnsupportedToken"
    )
    assert refused["details"] == {"token": foreign}
    problem(http.post(f"{API}/vault/deposit/typed-data", json={"account": account, "token": "payment", "amount": 0}), 400, "ZeroAmount")
    problem(http.post(f"{API}/vault/deposit/typed-data", json={"account": account, "token": "gold", "amount": 1}), 422, "InvalidAddress")
    refused = problem(
        http.post(f"{API}/vault/withdrawal/typed-data", json={"account": account, "token": "payment", "amount": 1}),
        400,
        "InsufficientPayment",
    )
    assert refused["details"] == {"account": account, "available": 0, "needed": 1}
    draft = {"account": account, "token": "energy", "amount": 1, "to": ZERO_ADDRESS}
    problem(http.post(f"{API}/vault/withdrawal/typed-data", json=draft), 400, "ZeroAddress")

    # Signed by another key, or past its deadline: refused by the dry run, so nothing is sent.
    body = signed(http, "deposit", other, account=account, token="payment", amount=CASH)
    problem(http.post(f"{API}/vault/deposit", json=body), 403, "InvalidPermit")
    past = chain.pending_timestamp - 1
    body = signed(http, "deposit", household, account=account, token="payment", amount=CASH, deadline=past)
    expired = problem(http.post(f"{API}/vault/deposit", json=body), 400, "PermitExpired")
    assert "deadline has passed" in expired["message"] and expired["details"] == {"account": account, "deadline": past}
    body = signed(http, "deposit", household, account=account, token="payment", amount=CASH)
    problem(http.post(f"{API}/vault/deposit", json=body | {"amount": CASH + 1}), 403, "InvalidPermit")
    assert relayer.nonce == sent and vault.balancesOf(household) == (0, 0)

    ok(http.post(f"{API}/vault/deposit", json=body))
    body = signed(http, "withdrawal", other, account=account, token="payment", amount=CASH)
    refused = problem(http.post(f"{API}/vault/withdrawal", json=body), 403, "InvalidWithdrawalSignature")
    assert refused["details"] == {"account": account}
    body = signed(http, "withdrawal", household, account=account, token="payment", amount=CASH)
    problem(http.post(f"{API}/vault/withdrawal", json=body | {"to": other.address}), 403, "InvalidWithdrawalSignature")
    body = signed(http, "withdrawal", household, account=account, token="payment", amount=CASH, deadline=past)
    expired = problem(http.post(f"{API}/vault/withdrawal", json=body), 400, "WithdrawalExpired")
    assert "deadline has passed" in expired["message"] and expired["details"] == {"deadline": past}
    problem(http.post(f"{API}/vault/withdrawal", json=body | {"signature": "0x12"}), 422, "InvalidSignature")
    assert relayer.nonce == sent + 1 and vault.balancesOf(household) == (0, CASH)


def market_approval(http: TestClient, signer: Any) -> dict:
    offer = ok(http.post(f"{API}/vault/market-approval/typed-data", json={"account": signer.address}))
    return {key: offer[key] for key in ("account", "market", "deadline")} | {"signature": sign_typed(signer, offer["typedData"])}


def test_deposits_withdrawals_and_approvals_draw_on_one_quota_per_account(two_relays_api, api_system, vault_household, accounts):
    http, vault, household, neighbour, relayer = two_relays_api, api_system.energy_vault, vault_household, accounts[6], accounts[9]
    deposit = signed(http, "deposit", household, account=household.address, token="payment", amount=CASH)
    ok(http.post(f"{API}/vault/deposit", json=deposit))
    problem(http.post(f"{API}/vault/deposit", json=deposit), 403, "InvalidPermit")  # refused by the chain: not charged
    withdrawal = signed(http, "withdrawal", household, account=household.address, token="payment", amount=1)
    ok(http.post(f"{API}/vault/withdrawal", json=withdrawal))
    sent, approval = relayer.nonce, market_approval(http, household)
    refused = problem(http.post(f"{API}/vault/market-approval", json=approval), 429, "RelayQuotaExceeded")
    assert (refused["details"]["quota"], refused["details"]["account"]) == ("account", household.address)
    assert relayer.nonce == sent and not vault.isMarketApproved(household, approval["market"])
    assert ok(http.post(f"{API}/vault/market-approval", json=market_approval(http, neighbour)))["account"] == neighbour.address
