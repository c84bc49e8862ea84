"""The API's write routes through FastAPI's TestClient: orders and cancellations a wallet signed and
the relayer sent (the order is the signer's, the relayer pays gas only), meter-signed readings, the
operator routes behind their token, every refusal as a 4xx that names it with nothing sent, and the
`serve` command's settings, with the operator token it makes kept out of its output.

The wallet is played by eth-account signing the typed data the API hands out, as a browser wallet
signs it with eth_signTypedData_v4.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from click.testing import CliRunner, Result
from conftest import API_OPERATOR_TOKEN, meter_energy_to
from eth_account import Account
from eth_account.messages import encode_typed_data
from fastapi.testclient import TestClient
from web3 import Web3

from energy_grid.api import create_app
from energy_grid.api.settings import RelayLimits
from energy_grid.chain.accounts import AccountError, anvil_account
from energy_grid.cli import cli
from energy_grid.cli.serve_commands import build_service_settings
from energy_grid.domain.enums import ActionType, LoadStatus, OrderStatus
from energy_grid.domain.units import FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE
from energy_grid.live.chain import Pace
from energy_grid.live.stack import program_commands, write_run_folder
from energy_grid.signing.readings import sign_reading

from support.anvil_node import wait_until

PRICE = 200_000  # PaymentToken base units per kWh (0.20 with 6 decimals)
SELLER_ENERGY_WH = 50_000
HOUR_S = 3600
MAX_UINT256 = 2**256 - 1
AUTH = {"Authorization": f"Bearer {API_OPERATOR_TOKEN}"}
READING_FIELDS = ("timestamp", "consumptionRegisterWh", "productionRegisterWh", "gridFrequencyMilliHz", "voltagePerMille")
ROOT = Path(__file__).resolve().parent.parent
SERVICE_START_S = 60


@pytest.fixture(scope="module")
def writes_seller(accounts):
    return accounts[1]


@pytest.fixture(scope="module")
def writes_buyer(accounts):
    return accounts[2]


@pytest.fixture(scope="module")
def writes_relayer(accounts):
    return accounts[9]  # API_RELAYER_INDEX


@pytest.fixture(scope="module", autouse=True)
def _writes_energy(api_system, writes_seller, admin, accounts, chain):
    """The seller holds metered EnergyToken, before any test's own state (ape isolation)."""
    meter_energy_to([writes_seller], SELLER_ENERGY_WH, api_system.smart_meter, admin, accounts, chain)


@pytest.fixture(scope="module")
def api(api_settings):
    with TestClient(create_app(api_settings(follow=False))) as client:
        yield client


def sign_typed(account: Any, typed: dict) -> str:
    """What a wallet returns for eth_signTypedData_v4: r ‖ s ‖ v as 0x-hex."""
    signed = Account.sign_message(encode_typed_data(full_message=typed), account.private_key)
    return "0x" + bytes(signed.signature).hex()


def expiry_s(chain: Any) -> int:
    return chain.blocks.head.timestamp + HOUR_S


def draft(trader: Any, side: str, amount_wh: int, chain: Any, **extra: Any) -> dict:
    return {"trader": trader.address, "side": side, "amountWh": amount_wh, "pricePerKWh": PRICE, "expiry": expiry_s(chain)} | extra


def signed_body(api: TestClient, trader: Any, side: str, amount_wh: int, chain: Any, signer: Any = None, **extra: Any) -> dict:
    """POST /orders/typed-data, signed by `signer` (the trader unless another is named), as POST /orders takes it."""
    answer = api.post("/api/v1/orders/typed-data", json=draft(trader, side, amount_wh, chain, **extra))
    assert answer.status_code == 200, answer.json()
    offer = answer.json()
    body = {"order": offer["order"], "signature": sign_typed(signer or trader, offer["typedData"]), "permit": None}
    if offer["marketApproval"] is not None:
        approval = offer["marketApproval"]
        body["marketApproval"] = {"deadline": approval["deadline"], "signature": sign_typed(signer or trader, approval["typedData"])}
    if offer["permit"] is not None:
        permit = offer["permit"]
        permit_signature = sign_typed(signer or trader, permit["typedData"])
        body["permit"] = {"value": permit["value"], "deadline": permit["deadline"], "signature": permit_signature}
    return body


class Ledger:
    """Token balances of the named accounts and the relayer's transaction count: 'nothing moved, nothing sent'."""

    def __init__(self, system: Any, relayer: Any, *holders: Any) -> None:
        self.system = system
        self.relayer = relayer
        self.holders = [*holders, relayer, system.energy_trading]

    def read(self) -> dict:
        tokens = (self.system.energy_token, self.system.payment_token)
        return {
            "balances": {str(h.address): tuple(int(t.balanceOf(h)) for t in tokens) for h in self.holders},
            "relayer_nonce": self.relayer.nonce,
        }


def problem(answer: Any, status: int, error: str) -> dict:
    assert answer.status_code == status, answer.json()
    body = answer.json()
    assert body["error"] == error, body
    assert set(body) == {"error", "message", "details"}
    return body


# ------------------------------------------------------------------------------ relayed orders


def test_a_relayed_order_is_the_signers_and_the_relayer_pays_only_gas(api, api_system, writes_buyer, writes_relayer, chain):
    market, payment, vault = api_system.energy_trading, api_system.payment_token, api_system.energy_vault
    payment.approve(vault, MAX_UINT256, sender=writes_buyer)
    vault.setMarketApproval(market, True, sender=writes_buyer)
    offer = api.post("/api/v1/orders/typed-data", json=draft(writes_buyer, "BUY", 4_000, chain)).json()
    assert offer["permit"] is None and offer["marketApproval"] is None  # approved already
    assert offer["order"] | {"deadline": 0} == {
        "trader": writes_buyer.address,
        "amountWh": 4_000,
        "pricePerKWh": PRICE,
        "expiry": expiry_s(chain),
        "orderType": 0,
        "counterparty": "0x" + "00" * 20,
        "nonce": 0,
        "deadline": 0,
    }
    assert offer["order"]["deadline"] == chain.blocks.head.timestamp + HOUR_S
    domain = {"name": "EnergyTrading", "version": "1", "chainId": chain.chain_id, "verifyingContract": market.address}
    assert offer["typedData"]["domain"] == domain
    relayer_tokens = (api_system.energy_token.balanceOf(writes_relayer), payment.balanceOf(writes_relayer))
    relayer_eth, buyer_cash = writes_relayer.balance, payment.balanceOf(writes_buyer)

    answer = api.post("/api/v1/orders", json={"order": offer["order"], "signature": sign_typed(writes_buyer, offer["typedData"])})

    assert answer.status_code == 201, answer.json()
    relayed = answer.json()
    receipt = chain.provider.web3.eth.get_transaction_receipt(relayed["txHash"])
    assert relayed == {
        "orderId": relayed["orderId"],
        "trader": writes_buyer.address,
        "txHash": relayed["txHash"],
        "blockNumber": receipt["blockNumber"],
        "relayer": writes_relayer.address,
        "cancelledWh": 0,
    }
    order = market.getOrderInfo(relayed["orderId"])
    assert (order.trader, order.amount, order.price, int(order.status)) == (writes_buyer.address, 4_000, PRICE, OrderStatus.ACTIVE)
    assert receipt["from"] == writes_relayer.address
    # The escrow is the signer's: no vault deposit, so the vault pulled it from the wallet.
    assert payment.balanceOf(writes_buyer) == buyer_cash - 4_000 * PRICE // 1000
    assert vault.balancesOf(market) == (0, 4_000 * PRICE // 1000)
    assert (api_system.energy_token.balanceOf(writes_relayer), payment.balanceOf(writes_relayer)) == relayer_tokens
    assert writes_relayer.balance == relayer_eth - receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert (market.nonces(writes_buyer), market.nonces(writes_relayer)) == (1, 0)


def test_a_first_order_needs_no_approval_the_permit_comes_along(api, api_system, writes_seller, chain):
    """A first order: the trader signs its approval of the book in the vault and a permit of the vault,
    and the relayer submits the approval, then the order with the permit."""
    market, energy, vault = api_system.energy_trading, api_system.energy_token, api_system.energy_vault
    assert energy.allowance(writes_seller, vault) == 0 and not vault.isMarketApproved(writes_seller, market)
    offer = api.post("/api/v1/orders/typed-data", json=draft(writes_seller, "SELL", 3_000, chain)).json()
    approval = offer["marketApproval"]
    assert approval["typedData"]["domain"] == {
        "name": "EnergyVault",
        "version": "1",
        "chainId": chain.chain_id,
        "verifyingContract": vault.address,
    }
    assert approval["typedData"]["message"] == {
        "account": writes_seller.address,
        "market": market.address,
        "nonce": 0,
        "deadline": approval["deadline"],
    }
    permit = offer["permit"]
    assert permit["value"] == 3_000
    assert permit["typedData"]["domain"]["verifyingContract"] == energy.address
    assert permit["typedData"]["message"] == {
        "owner": writes_seller.address,
        "spender": vault.address,
        "value": 3_000,
        "nonce": 0,
        "deadline": permit["deadline"],
    }
    body = {
        "order": offer["order"],
        "signature": sign_typed(writes_seller, offer["typedData"]),
        "permit": {"value": 3_000, "deadline": permit["deadline"], "signature": sign_typed(writes_seller, permit["typedData"])},
        "marketApproval": {"deadline": approval["deadline"], "signature": sign_typed(writes_seller, approval["typedData"])},
    }
    before = energy.balanceOf(writes_seller)
    answer = api.post("/api/v1/orders", json=body)
    assert answer.status_code == 201, answer.json()
    order = market.getOrderInfo(answer.json()["orderId"])
    assert (order.trader, int(order.orderType)) == (writes_seller.address, 1)
    assert energy.balanceOf(writes_seller) == before - 3_000
    assert energy.nonces(writes_seller) == 1  # the permit was used
    assert vault.isMarketApproved(writes_seller, market) and vault.nonces(writes_seller) == 1


def test_a_signed_cancellation_returns_the_escrow(api, api_system, writes_seller, chain):
    market, energy, vault = api_system.energy_trading, api_system.energy_token, api_system.energy_vault
    before = energy.balanceOf(writes_seller)
    order_id = api.post("/api/v1/orders", json=signed_body(api, writes_seller, "SELL", 2_000, chain)).json()["orderId"]
    offer = api.post(f"/api/v1/orders/{order_id}/cancel/typed-data").json()
    assert offer["nonce"] == 1
    assert offer["typedData"]["message"] == {"orderId": order_id, "nonce": 1, "deadline": offer["deadline"]}
    body = {"nonce": 1, "deadline": offer["deadline"], "signature": sign_typed(writes_seller, offer["typedData"])}

    answer = api.post(f"/api/v1/orders/{order_id}/cancel", json=body)

    assert answer.status_code == 200, answer.json()
    assert answer.json() == {"orderId": order_id, "txHash": answer.json()["txHash"], "status": "CANCELLED"}
    assert int(market.getOrderInfo(order_id).status) == OrderStatus.CANCELLED
    # Pulled from the wallet, refunded into the vault balance.
    assert energy.balanceOf(writes_seller) == before - 2_000
    assert vault.balanceOf(energy, writes_seller) == 2_000
    # Cancelling again: the order is closed, said before the wallet is asked.
    problem(api.post(f"/api/v1/orders/{order_id}/cancel/typed-data"), 409, "OrderNotActive")


# ------------------------------------------------------------------------------ meter readings


def reading_body(device: Any, smart_meter: Any, chain: Any, nonce: int, registers_wh: tuple[int, int]) -> dict:
    """A reading the device signs at the head block's time (the relayed transaction comes after it)."""
    timestamp = chain.blocks.head.timestamp
    reading = (timestamp, *registers_wh, FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE)
    deadline = timestamp + HOUR_S
    signed = sign_reading(device.key, chain.chain_id, smart_meter.address, nonce, deadline, reading)
    return {
        "meter": device.address,
        "nonce": nonce,
        "deadline": deadline,
        "reading": dict(zip(READING_FIELDS, reading, strict=True)),
        "signature": "0x" + (signed.r + signed.s + bytes([signed.v])).hex(),
    }


def test_a_meter_signed_reading_is_relayed_and_mints_to_its_owner(api, api_system, admin, accounts, writes_relayer, chain):
    smart_meter, energy = api_system.smart_meter, api_system.energy_token
    device, owner = Account.create(), accounts[5]
    smart_meter.registerMeter(device.address, owner, 1, sender=admin)
    before = energy.balanceOf(owner)
    relayer_energy = energy.balanceOf(writes_relayer)

    baseline = api.post("/api/v1/meters/reading", json=reading_body(device, smart_meter, chain, 0, (1_000, 2_000)))
    assert baseline.status_code == 201, baseline.json()
    assert baseline.json() == {"meter": device.address, "txHash": baseline.json()["txHash"], "blockNumber": chain.blocks.head.number}
    chain.mine(timestamp=chain.blocks.head.timestamp + smart_meter.minReadingInterval())
    answer = api.post("/api/v1/meters/reading", json=reading_body(device, smart_meter, chain, 1, (1_400, 2_750)))

    assert answer.status_code == 201, answer.json()
    assert smart_meter.nonces(device.address) == 2
    assert energy.balanceOf(owner) == before + 750
    assert energy.balanceOf(writes_relayer) == relayer_energy
    # The same signed reading again: its nonce is used.
    again = reading_body(device, smart_meter, chain, 1, (1_400, 2_750))
    replayed = problem(api.post("/api/v1/meters/reading", json=again), 409, "InvalidReadingNonce")
    assert replayed["details"] == {"meter": device.address, "nonce": 1, "expectedNonce": 2}
    # Signed by another key than the meter's.
    forged = reading_body(Account.create(), smart_meter, chain, 2, (1_500, 2_800)) | {"meter": device.address}
    assert problem(api.post("/api/v1/meters/reading", json=forged), 403, "InvalidReadingSignature")["details"]["meter"] == device.address
    assert energy.balanceOf(owner) == before + 750


# ------------------------------------------------------------------------------ refusals


def test_a_replayed_order_signature_gets_409_and_moves_nothing(api, api_system, writes_seller, writes_relayer, chain):
    body = signed_body(api, writes_seller, "SELL", 2_000, chain)
    assert api.post("/api/v1/orders", json=body).status_code == 201
    ledger = Ledger(api_system, writes_relayer, writes_seller)
    before = ledger.read()
    replayed = problem(api.post("/api/v1/orders", json=body), 409, "InvalidNonce")
    assert replayed["details"] == {"trader": writes_seller.address, "nonce": 0, "currentNonce": 1}
    assert replayed["message"].startswith("A signed message whose nonce is not the trader's current one")
    assert ledger.read() == before


def test_wrong_signatures_are_refused_naming_the_contracts_error(api, api_system, writes_seller, writes_buyer, writes_relayer, chain):
    ledger = Ledger(api_system, writes_relayer, writes_seller, writes_buyer)
    before = ledger.read()
    # Signed by the buyer for an order that names the seller.
    body = signed_body(api, writes_seller, "SELL", 2_000, chain, signer=writes_buyer)
    refused = problem(api.post("/api/v1/orders", json=body), 403, "InvalidSigner")
    assert refused["details"] == {"trader": writes_seller.address, "signer": writes_buyer.address}
    # The seller's signature, over other contents than those sent.
    body = signed_body(api, writes_seller, "SELL", 2_000, chain)
    body["order"]["amountWh"] = 20_000
    assert problem(api.post("/api/v1/orders", json=body), 403, "InvalidSigner")["details"]["trader"] == writes_seller.address
    # Not a signature of the right shape at all.
    body["signature"] = "0x1234"
    refused = problem(api.post("/api/v1/orders", json=body), 422, "InvalidSignature")
    assert refused["details"]["errors"][0]["location"] == ["body", "signature"]
    # A signature's high-s twin (valid for ecrecover): refused as malleable.
    body = signed_body(api, writes_seller, "SELL", 2_000, chain)
    raw = bytes.fromhex(body["signature"][2:])
    s = (0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141 - int.from_bytes(raw[32:64], "big")).to_bytes(32, "big")
    body["signature"] = "0x" + (raw[:32] + s + bytes([55 - raw[64]])).hex()
    assert problem(api.post("/api/v1/orders", json=body), 400, "MalleableSignature")["details"] == {"s": "0x" + s.hex()}
    assert ledger.read() == before


def test_an_expired_signature_gets_400(api, api_system, writes_seller, writes_relayer, chain):
    ledger = Ledger(api_system, writes_relayer, writes_seller)
    before = ledger.read()
    head = chain.blocks.head.timestamp
    body = signed_body(api, writes_seller, "SELL", 2_000, chain, deadline=head)
    refused = problem(api.post("/api/v1/orders", json=body), 400, "SignatureExpired")
    assert refused["details"]["deadline"] == head
    assert refused["details"]["blockTimestamp"] >= head
    assert ledger.read() == before


def test_an_order_the_trader_cannot_pay_is_refused_before_signing(api, api_system, writes_buyer, writes_relayer, chain):
    ledger = Ledger(api_system, writes_relayer, writes_buyer)
    before = ledger.read()
    cash = api_system.payment_token.balanceOf(writes_buyer)
    too_much_wh = (cash // PRICE + 1) * 1000
    answer = api.post("/api/v1/orders/typed-data", json=draft(writes_buyer, "BUY", too_much_wh, chain))
    refused = problem(answer, 400, "ERC20InsufficientBalance")
    assert refused["details"] == {"sender": writes_buyer.address, "balance": cash, "needed": too_much_wh * PRICE // 1000}
    expired = draft(writes_buyer, "BUY", 1_000, chain) | {"expiry": chain.blocks.head.timestamp}
    assert problem(api.post("/api/v1/orders/typed-data", json=expired), 400, "ExpiryNotInFuture")["details"]["expiry"] == expired["expiry"]
    assert ledger.read() == before


def test_unknown_orders_get_404(api, api_system, writes_seller, writes_relayer, chain):
    ledger = Ledger(api_system, writes_relayer, writes_seller)
    before = ledger.read()
    unknown = api_system.energy_trading.orderCount() + 100
    assert problem(api.post(f"/api/v1/orders/{unknown}/cancel/typed-data"), 404, "OrderUnknown")["details"] == {"orderId": unknown}
    body = {"nonce": 0, "deadline": chain.blocks.head.timestamp + HOUR_S, "signature": "0x" + "11" * 64 + "1b"}
    assert problem(api.post(f"/api/v1/orders/{unknown}/cancel", json=body), 404, "OrderUnknown")["details"] == {"orderId": unknown}
    refused = problem(api.post("/api/v1/orders/-1/cancel", json=body), 422, "InvalidRequest")
    assert refused["details"]["errors"][0]["location"] == ["path", "order_id"]
    assert ledger.read() == before


def test_malformed_json_and_bad_input_get_their_4xx(api, writes_seller, chain):
    malformed = api.post("/api/v1/orders", content=b'{"order": {', headers={"Content-Type": "application/json"})
    problem(malformed, 400, "MalformedJson")
    answer = api.post("/api/v1/orders/typed-data", json=draft(writes_seller, "SELL", 1_000, chain) | {"trader": "0x1234"})
    bad_address = problem(answer, 422, "InvalidAddress")
    assert bad_address["details"]["errors"][0]["location"] == ["body", "trader"]
    wrong_checksum = writes_seller.address[:-1] + ("a" if writes_seller.address[-1] != "a" else "b")
    mixed = writes_seller.address[:2] + writes_seller.address[2:].swapcase()
    if mixed[2:] not in (mixed[2:].lower(), mixed[2:].upper()):
        problem(api.get(f"/api/v1/accounts/{mixed}"), 422, "InvalidAddress")
    assert api.get(f"/api/v1/accounts/{writes_seller.address.lower()}").status_code == 200
    problem(api.get(f"/api/v1/accounts/{wrong_checksum}x"), 422, "InvalidAddress")
    problem(api.get("/api/v1/accounts/not-an-address"), 422, "InvalidAddress")
    problem(api.post("/api/v1/orders/typed-data", json=draft(writes_seller, "HOLD", 1_000, chain)), 422, "InvalidRequest")
    problem(api.post("/api/v1/orders/typed-data", json=draft(writes_seller, "SELL", 2**256, chain)), 422, "InvalidRequest")
    fractional = draft(writes_seller, "SELL", 1.5, chain)  # type: ignore[arg-type]  # a fraction of a Wh, which the API refuses
    problem(api.post("/api/v1/orders/typed-data", json=fractional), 422, "InvalidRequest")
    problem(api.post("/api/v1/orders", json=[1, 2]), 422, "InvalidRequest")
    problem(api.post("/api/v1/orders/typed-data", json=draft(writes_seller, "SELL", 1_000, chain) | {"extra": 1}), 422, "InvalidRequest")


def test_a_silent_node_gets_503(api_settings, writes_seller, chain):
    app = create_app(api_settings(follow=False))
    with TestClient(app) as client:
        body = signed_body(client, writes_seller, "SELL", 2_000, chain)
        app.state.client.w3.provider.endpoint_uri = "http://127.0.0.1:9"  # nothing listens on the discard port
        problem(client.get(f"/api/v1/accounts/{writes_seller.address}"), 503, "NodeUnreachable")
        problem(client.post("/api/v1/orders", json=body), 503, "NodeUnreachable")


# ------------------------------------------------------------------------------ live reads


def test_config_and_accounts_read_the_chain(api, api_system, api_manifest, writes_buyer, chain):
    config = api.get("/api/v1/config").json()
    manifest = json.loads(api_manifest.read_text())
    assert config == {
        "chainId": chain.chain_id,
        "contracts": {name: Web3.to_checksum_address(entry["address"]) for name, entry in manifest["contracts"].items()},
        "paymentSymbol": api_system.payment_token.symbol(),
        "paymentDecimals": 6,
        "energyDecimals": api_system.energy_token.decimals(),
        "utcOffsetMinutes": api_system.price_discovery.utcOffsetMinutes(),
        "operatorRoutes": True,
        "forecaster": False,
        "auctionPeriodS": 900,
        # The reading market clears a period once its readings are in: its reading deadline after its end.
        "auctionClaimDelayS": api_system.energy_auction.readingDeadline(),
    }
    assert api.get(f"/api/v1/accounts/{writes_buyer.address}").json() == {
        "address": writes_buyer.address,
        "energyBalanceWh": api_system.energy_token.balanceOf(writes_buyer),
        "paymentBalance": api_system.payment_token.balanceOf(writes_buyer),
        "paymentSymbol": api_system.payment_token.symbol(),
        "paymentDecimals": 6,
        "marketNonce": api_system.energy_trading.nonces(writes_buyer),
        "vaultEnergyWh": 0,
        "vaultPayment": 0,
        "bookApprovedInVault": False,
        "ethBalanceWei": str(writes_buyer.balance),
    }


# ------------------------------------------------------------------------------ operator routes


def test_operator_routes_need_the_token(api, api_system, admin):
    body = {"regionId": 1, "capacityKW": 100, "demandKW": 50}
    operator_nonce = admin.nonce
    problem(api.post("/api/v1/grid/load", json=body), 401, "Unauthorized")
    problem(api.post("/api/v1/grid/load", json=body, headers={"Authorization": "Bearer wrong"}), 401, "Unauthorized")
    problem(api.post("/api/v1/grid/load", json=body, headers={"Authorization": API_OPERATOR_TOKEN}), 401, "Unauthorized")
    problem(api.post("/api/v1/grid/emergency", json={"regionId": 1, "active": True}), 401, "Unauthorized")
    # The token alone can be checked, with nothing sent.
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        refused = api.get("/api/v1/operator/token", headers=headers)
        assert refused.status_code == 200 and refused.json() == {"accepted": False, "operator": None}
    accepted = api.get("/api/v1/operator/token", headers=AUTH)
    assert accepted.status_code == 200 and accepted.json() == {"accepted": True, "operator": admin.address}
    assert admin.nonce == operator_nonce  # the operator sent nothing
    assert api_system.grid_management.getGridStatus().emergencyMode is False


def test_operator_routes_answer_503_when_not_configured(api_settings):
    for overrides in ({"operator": None}, {"operator_token": None}):
        with TestClient(create_app(api_settings(follow=False, **overrides))) as client:
            answer = client.post("/api/v1/grid/load", json={"regionId": 1, "capacityKW": 100, "demandKW": 50}, headers=AUTH)
            problem(answer, 503, "OperatorNotConfigured")
            problem(client.get("/api/v1/operator/token", headers=AUTH), 503, "OperatorNotConfigured")
            assert client.get("/api/v1/config").json()["operatorRoutes"] is False


def test_a_load_report_and_the_emergency_state(api, api_system, admin):
    operations, management = api_system.grid_operations, api_system.grid_management
    # A 100 kVA community feeder peaking at 90 kW: kW carry it, 90 % is HIGH.
    feeder = api.post("/api/v1/grid/load", json={"regionId": 1, "capacityKW": 100, "demandKW": 90}, headers=AUTH)
    assert feeder.status_code == 201, feeder.json()
    assert (feeder.json()["loadPercentage"], feeder.json()["status"]) == (90, "HIGH")
    load = operations.getCurrentLoad(1)
    assert (load.capacityKW, load.demandKW, load.loadPercentage, int(load.status)) == (100, 90, 90, LoadStatus.HIGH)
    answer = api.post("/api/v1/grid/load", json={"regionId": 1, "capacityKW": 100, "demandKW": 96}, headers=AUTH)
    assert answer.status_code == 201, answer.json()
    assert answer.json() == {"regionId": 1, "loadPercentage": 96, "status": "CRITICAL", "txHash": answer.json()["txHash"]}
    assert int(operations.getCurrentLoad(1).status) == LoadStatus.CRITICAL
    # Region 7 has no operator: the contract says whose it is not.
    answer = api.post("/api/v1/grid/load", json={"regionId": 7, "capacityKW": 100, "demandKW": 96}, headers=AUTH)
    refused = problem(answer, 403, "OperatorNotInRegion")
    assert refused["details"] == {"operator": admin.address, "operatorRegionId": 1, "regionId": 7}

    on = api.post("/api/v1/grid/emergency", json={"regionId": 1, "active": True}, headers=AUTH)
    assert on.status_code == 200, on.json()
    assert on.json()["emergencyMode"] is True and on.json()["regionId"] == 1 and on.json()["txHash"].startswith("0x")
    assert management.getGridStatus().emergencyMode is True and management.isRegionInEmergency(1) is True
    again = api.post("/api/v1/grid/emergency", json={"regionId": 1, "active": True}, headers=AUTH).json()
    assert again == {"regionId": 1, "emergencyMode": True, "txHash": None}
    # Another region's emergency is its own operators' to declare.
    refused = problem(api.post("/api/v1/grid/emergency", json={"regionId": 7, "active": True}, headers=AUTH), 403, "OperatorNotInRegion")
    assert refused["details"] == {"operator": admin.address, "operatorRegionId": 1, "regionId": 7}
    assert management.isRegionInEmergency(7) is False
    off = api.post("/api/v1/grid/emergency", json={"regionId": 1, "active": False}, headers=AUTH).json()
    assert off["emergencyMode"] is False
    assert management.getGridStatus().emergencyMode is False


def test_a_balancing_action(api, api_system, admin):
    operations = api_system.grid_operations
    operations.setRegionCapacity(1, 500, 300, 100, sender=admin)
    body = {"regionId": 1, "actionType": "GENERATION_UP", "targetKW": 40, "priority": "HIGH"}
    answer = api.post("/api/v1/grid/balance", json=body, headers=AUTH)
    assert answer.status_code == 201, answer.json()
    action = operations.getBalancingAction(answer.json()["actionId"])
    assert (action.regionId, int(action.actionType), action.targetKW, action.priority) == (1, ActionType.GENERATION_UP, 40, 3)
    # More than the uncommitted reserve: the contract's error, nothing committed.
    answer = api.post("/api/v1/grid/balance", json=body | {"targetKW": 1_000, "priority": 2}, headers=AUTH)
    refused = problem(answer, 400, "InsufficientReserve")
    assert refused["details"] == {"regionId": 1, "targetKW": 1_000, "availableKW": 60}
    problem(api.post("/api/v1/grid/balance", json=body | {"actionType": "NONE"}, headers=AUTH), 422, "InvalidRequest")


def test_a_demand_response_event_is_funded_from_the_operator(api, api_system, admin):
    demand, payment, vault = api_system.demand_response, api_system.payment_token, api_system.energy_vault
    event = {"targetReductionKW": 50, "rewardPerKW": 2_000, "durationSeconds": 3600}
    assert payment.allowance(admin, demand) == 0
    # The deployer holds no stablecoin until it is funded: refused before anything is approved.
    unfunded = problem(api.post("/api/v1/demand-response/events", json=event, headers=AUTH), 400, "InsufficientBudget")
    assert unfunded["details"] == {"budget": 100_000, "balance": payment.balanceOf(admin), "operator": admin.address}
    assert payment.allowance(admin, demand) == 0
    payment.addConsumerBalance(admin, 1, sender=admin)  # 1 whole unit = 1,000,000 base units
    before = payment.balanceOf(admin)
    answer = api.post("/api/v1/demand-response/events", json=event, headers=AUTH)
    assert answer.status_code == 201, answer.json()
    started = demand.getEvent(answer.json()["eventId"])
    # By default the operator's own GridManagement region (the deployer's is LOCAL_OPERATOR_REGION, 1).
    assert answer.json()["regionId"] == started.regionId == 1
    assert (started.gridOperator, started.targetReductionKW, started.rewardPerKW) == (admin.address, 50, 2_000)
    assert payment.balanceOf(admin) == before - 100_000
    held = vault.balanceOf(payment, demand)  # the budget sits in DemandResponse's vault balance
    assert held >= 100_000 and payment.balanceOf(demand) == 0
    answer = api.post("/api/v1/demand-response/events", json=event | {"targetReductionKW": 0}, headers=AUTH)
    refused = problem(answer, 400, "ZeroEventParameter")
    assert refused["details"] == {}
    # Another region's event: the contract refuses the operator there (403), nothing approved.
    answer = api.post("/api/v1/demand-response/events", json=event | {"regionId": 2}, headers=AUTH)
    refused = problem(answer, 403, "OperatorNotAuthorizedForRegion")
    assert refused["details"] == {"operator": admin.address, "regionId": 2}
    assert payment.allowance(admin, demand) == 0  # nothing approved for an event that cannot start
    assert payment.balanceOf(admin) == before - 100_000


# ------------------------------------------------------------------------------ energy-grid serve


SERVE_ENV = (
    "ENERGY_GRID_RELAYER_KEY",
    "ENERGY_GRID_OPERATOR_KEY",
    "ENERGY_GRID_OPERATOR_TOKEN",
    "DATABASE_URL",
    "ENERGY_GRID_KEYSTORE_PASSWORD",
)


@pytest.fixture
def serve_runs(monkeypatch, tmp_path, networks, api_manifest):
    """Runs `energy-grid serve ARGS` in an empty folder with uvicorn stubbed out; returns the CLI
    result and what uvicorn was handed (app, host, port)."""
    for name in SERVE_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    served: dict = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, host, port, **_: served.update(app=app, host=host, port=port))

    def run(*args: str, env: dict | None = None) -> tuple[Result, dict]:
        base = ["--rpc-url", networks.provider.uri, "--manifest", str(api_manifest), "serve"]
        result = CliRunner().invoke(cli, [*base, *args], env=env or {}, catch_exceptions=False)
        return result, served

    return run


def test_serve_on_anvil_defaults_to_dev_accounts_a_fresh_token_and_a_sqlite_index(serve_runs, tmp_path, chain):
    result, served = serve_runs()
    assert result.exit_code == 0, result.output
    settings = served["app"].state.settings
    assert (served["host"], served["port"]) == ("127.0.0.1", 8000)
    assert settings.relayer.address == anvil_account(9).address
    assert settings.operator.address == anvil_account(0).address
    assert len(settings.operator_token) >= 32
    # Its output is no terminal here: the token is in a file only its owner reads, and the output says where.
    token_file = tmp_path / ".index" / "operator-token"
    assert settings.operator_token not in result.output
    assert "Operator token for this run: in .index/operator-token (readable by you only)" in result.output
    assert token_file.read_text() == settings.operator_token + "\n"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert settings.database_url == f"sqlite:///.index/{chain.chain_id}.sqlite"
    assert (tmp_path / ".index").is_dir()
    assert settings.relay_limits == RelayLimits(per_account=30, per_client=120, window_s=3_600, min_auction_order_wh=1_000)
    _, served = serve_runs("--host", "0.0.0.0", "--port", "8123")
    assert (served["host"], served["port"]) == ("0.0.0.0", 8123)
    assert served["app"].state.settings.operator_token != settings.operator_token  # a new one each run
    assert token_file.read_text() == served["app"].state.settings.operator_token + "\n"


def test_serve_takes_the_relay_limits_and_shows_its_token_only_to_a_terminal(serve_runs, api_manifest, tmp_path):
    limits = ("--relays-per-account", "5", "--relays-per-client", "7", "--relay-window", "60", "--min-auction-order-kwh", "0.5")
    result, served = serve_runs(*limits, "--token-file", "keys/token")
    assert result.exit_code == 0, result.output
    settings = served["app"].state.settings
    assert settings.relay_limits == RelayLimits(per_account=5, per_client=7, window_s=60, min_auction_order_wh=500)
    assert (tmp_path / "keys" / "token").read_text() == settings.operator_token + "\n"
    assert settings.operator_token not in result.output
    result, _ = serve_runs("--relays-per-account", "0")
    assert result.exit_code == 2 and "--relays-per-account" in result.output
    # On a terminal the token is shown once, and kept in its file all the same.
    plan = build_service_settings("http://node", api_manifest, 31337, environ={}, token_file=Path("t"), show_token=True)
    assert f"Operator token for this run: {plan.settings.operator_token}, also in t" in plan.notes[-1]
    assert plan.token_file == Path("t")
    # A token the operator chose is theirs to keep: no file, and never printed.
    plan = build_service_settings("http://node", api_manifest, 31337, environ={"ENERGY_GRID_OPERATOR_TOKEN": "desk"}, show_token=True)
    assert plan.token_file is None and not any("desk" in note for note in plan.notes)


def test_the_live_web_programs_log_never_holds_the_operator_token(networks, api_manifest, tmp_path):
    """The live stack's web program, its output in logs/web.log as supervisord keeps it, run on this
    module's deployment until it answers: the token is in the run folder's private file only."""
    stack = write_run_folder(tmp_path / "run", project_dir=ROOT, pace=Pace(1, 60))
    command, environment = program_commands(stack, "mosquitto")["web"]
    serve_arguments = command[len(command) - command[::-1].index("serve") :]
    assert serve_arguments[serve_arguments.index("--token-file") + 1] == str(stack.folder.operator_token)
    on_this_chain = [sys.executable, "-m", "energy_grid.cli", "--rpc-url", networks.provider.uri, "--manifest", str(api_manifest)]
    env = {name: value for name, value in os.environ.items() if not name.startswith("ENERGY_GRID_")} | environment
    log_file = stack.folder.logs / "web.log"
    with log_file.open("w") as log:
        process = subprocess.Popen([*on_this_chain, "serve", *serve_arguments], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    try:
        wait_until(lambda: _answers(f"{stack.web_url}/api/v1/health", process, log_file), SERVICE_START_S, "energy-grid serve")
        token = stack.folder.operator_token.read_text().strip()
        answer = httpx.get(f"{stack.web_url}/api/v1/operator/token", headers={"Authorization": f"Bearer {token}"})
        assert answer.json()["accepted"] is True  # the file holds the token the service takes
    finally:
        process.terminate()
        process.wait(timeout=SERVICE_START_S)
    assert stat.S_IMODE(stack.folder.operator_token.stat().st_mode) == 0o600
    logged = {path.name: path.read_text() for path in stack.folder.logs.iterdir()}
    assert "Uvicorn running" in logged["web.log"] and str(stack.folder.operator_token) in logged["web.log"]
    assert [name for name, text in logged.items() if token in text] == []
    assert any(str(stack.folder.operator_token) in line for line in stack.summary())


def _answers(url: str, process: subprocess.Popen, log_file: Path) -> bool:
    assert process.poll() is None, log_file.read_text()
    try:
        return httpx.get(url).status_code == 200
    except httpx.TransportError:
        return False


def test_serve_takes_keys_token_and_database_from_the_environment_and_options(serve_runs, tmp_path):
    relayer, operator = Account.create(), Account.create()
    env = {
        "ENERGY_GRID_RELAYER_KEY": "0x" + bytes(relayer.key).hex(),
        "ENERGY_GRID_OPERATOR_KEY": bytes(operator.key).hex(),
        "ENERGY_GRID_OPERATOR_TOKEN": "control-desk",
        "DATABASE_URL": f"sqlite:///{tmp_path}/env/index.sqlite",
    }
    result, served = serve_runs(env=env)
    assert result.exit_code == 0, result.output
    settings = served["app"].state.settings
    keys = (settings.relayer.address, settings.operator.address, settings.operator_token)
    assert keys == (relayer.address, operator.address, "control-desk")
    assert settings.database_url == env["DATABASE_URL"]
    assert (tmp_path / "env").is_dir()
    assert "control-desk" not in result.output
    result, served = serve_runs("--database-url", f"sqlite:///{tmp_path}/option.sqlite", env=env)
    assert served["app"].state.settings.database_url == f"sqlite:///{tmp_path}/option.sqlite"
    # A relayer from a keystore: the password from the environment.
    keystore = tmp_path / "relayer.json"
    keystore.write_text(json.dumps(Account.encrypt(relayer.key, "pw", iterations=2)))
    result, served = serve_runs("--relayer-keystore", str(keystore), env={"ENERGY_GRID_KEYSTORE_PASSWORD": "pw"})
    assert result.exit_code == 0, result.output
    assert served["app"].state.settings.relayer.address == relayer.address


def test_serve_refuses_a_malformed_key_without_repeating_it(serve_runs):
    served_before = dict(serve_runs()[1])
    result, served = serve_runs(env={"ENERGY_GRID_RELAYER_KEY": "0xnot-a-key-secret"})
    assert result.exit_code == 1
    assert "ENERGY_GRID_RELAYER_KEY is not a 32-byte hex private key." in result.output
    assert "not-a-key-secret" not in result.output
    assert served["app"] is served_before["app"]  # not served again


def test_serve_settings_off_anvil_need_a_relayer_and_turn_operator_routes_off_without_both_keys(api_manifest):
    relayer, operator = Account.create(), Account.create()
    with pytest.raises(AccountError, match="ENERGY_GRID_RELAYER_KEY or --relayer-keystore"):
        build_service_settings("http://node", api_manifest, 1, environ={})
    plan = build_service_settings("http://node", api_manifest, 1, environ={"ENERGY_GRID_RELAYER_KEY": relayer.key.hex()})
    assert (plan.settings.relayer.address, plan.settings.operator, plan.settings.operator_token) == (relayer.address, None, None)
    assert plan.settings.database_url == "sqlite:///.index/1.sqlite"
    assert any("Operator routes are off" in note for note in plan.notes)
    keys = {"ENERGY_GRID_RELAYER_KEY": relayer.key.hex(), "ENERGY_GRID_OPERATOR_KEY": operator.key.hex()}
    assert build_service_settings("http://node", api_manifest, 1, environ=keys).settings.operator is None  # no token: off
    plan = build_service_settings("http://node", api_manifest, 1, environ=keys | {"ENERGY_GRID_OPERATOR_TOKEN": "t"})
    assert plan.settings.operator is not None
    assert (plan.settings.operator.address, plan.settings.operator_token, plan.notes) == (operator.address, "t", [])
