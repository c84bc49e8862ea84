"""The API's write routes through FastAPI's TestClient: orders and cancellations a wallet signed and
the relayer sent (the order is the signer's, the relayer pays gas only), meter-signed readings, the
operator routes behind their token, every refusal as a 4xx that names it with nothing sent, and the
`serve` command's settings.

The wallet is played by eth-account signing the typed data the API hands out, as a browser wallet
signs it with eth_signTypedData_v4.
"""

from __future__ import annotations

import json

import pytest
from conftest import API_OPERATOR_TOKEN, meter_energy_to
from eth_account import Account
from eth_account.messages import encode_typed_data
from fastapi.testclient import TestClient
from web3 import Web3

from energy_grid.api import create_app
from energy_grid.enums import ActionType, LoadStatus, OrderStatus
from energy_grid.signed_readings import sign_reading
from energy_grid.units import FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE

PRICE = 200_000  # PaymentToken base units per kWh (0.20 with 6 decimals)
SELLER_ENERGY_WH = 50_000
HOUR_S = 3600
MAX_UINT256 = 2**256 - 1
AUTH = {"Authorization": f"Bearer {API_OPERATOR_TOKEN}"}


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


def sign_typed(account, typed: dict) -> str:
    """What a wallet returns for eth_signTypedData_v4: r ‖ s ‖ v as 0x-hex."""
    signed = Account.sign_message(encode_typed_data(full_message=typed), account.private_key)
    return "0x" + bytes(signed.signature).hex()


def expiry_s(chain) -> int:
    return chain.blocks.head.timestamp + HOUR_S


def draft(trader, side: str, amount_wh: int, chain, **extra) -> dict:
    return {"trader": trader.address, "side": side, "amountWh": amount_wh, "pricePerKWh": PRICE, "expiry": expiry_s(chain)} | extra


def signed_body(api, trader, side: str, amount_wh: int, chain, signer=None, **extra) -> dict:
    """POST /orders/typed-data, signed by `signer` (the trader unless another is named), as POST /orders takes it."""
    answer = api.post("/api/v1/orders/typed-data", json=draft(trader, side, amount_wh, chain, **extra))
    assert answer.status_code == 200, answer.json()
    offer = answer.json()
    body = {"order": offer["order"], "signature": sign_typed(signer or trader, offer["typedData"]), "permit": None}
    if offer["permit"] is not None:
        permit = offer["permit"]
        body["permit"] = {"value": permit["value"], "deadline": permit["deadline"], "signature": sign_typed(signer or trader, permit["typedData"])}
    return body


class Ledger:
    """Token balances of the named accounts and the relayer's transaction count: 'nothing moved, nothing sent'."""

    def __init__(self, system, relayer, *holders) -> None:
        self.system = system
        self.relayer = relayer
        self.holders = [*holders, relayer, system.energy_trading]

    def read(self) -> dict:
        tokens = (self.system.energy_token, self.system.payment_token)
        return {
            "balances": {str(h.address): tuple(int(t.balanceOf(h)) for t in tokens) for h in self.holders},
            "relayer_nonce": self.relayer.nonce,
        }


def problem(answer, status: int, error: str) -> dict:
    assert answer.status_code == status, answer.json()
    body = answer.json()
    assert body["error"] == error, body
    assert set(body) == {"error", "message", "details"}
    return body


# ------------------------------------------------------------------------------ relayed orders


def test_a_relayed_order_is_the_signers_and_the_relayer_pays_only_gas(api, api_system, writes_buyer, writes_relayer, chain):
    market, payment = api_system.energy_trading, api_system.payment_token
    payment.approve(market, MAX_UINT256, sender=writes_buyer)
    offer = api.post("/api/v1/orders/typed-data", json=draft(writes_buyer, "BUY", 4_000, chain)).json()
    assert offer["permit"] is None  # approved already
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
    assert offer["typedData"]["domain"] == {"name": "EnergyTrading", "version": "1", "chainId": chain.chain_id, "verifyingContract": market.address}
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
    }
    order = market.getOrderInfo(relayed["orderId"])
    assert (order.trader, order.amount, order.price, int(order.status)) == (writes_buyer.address, 4_000, PRICE, OrderStatus.ACTIVE)
    assert receipt["from"] == writes_relayer.address
    assert payment.balanceOf(writes_buyer) == buyer_cash - 4_000 * PRICE // 1000  # the escrow is the signer's
    assert (api_system.energy_token.balanceOf(writes_relayer), payment.balanceOf(writes_relayer)) == relayer_tokens
    assert writes_relayer.balance == relayer_eth - receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert (market.nonces(writes_buyer), market.nonces(writes_relayer)) == (1, 0)


def test_a_first_order_needs_no_approval_the_permit_comes_along(api, api_system, writes_seller, chain):
    market, energy = api_system.energy_trading, api_system.energy_token
    assert energy.allowance(writes_seller, market) == 0
    offer = api.post("/api/v1/orders/typed-data", json=draft(writes_seller, "SELL", 3_000, chain)).json()
    permit = offer["permit"]
    assert permit["value"] == 3_000
    assert permit["typedData"]["domain"]["verifyingContract"] == energy.address
    assert permit["typedData"]["message"] == {
        "owner": writes_seller.address,
        "spender": market.address,
        "value": 3_000,
        "nonce": 0,
        "deadline": permit["deadline"],
    }
    body = {
        "order": offer["order"],
        "signature": sign_typed(writes_seller, offer["typedData"]),
        "permit": {"value": 3_000, "deadline": permit["deadline"], "signature": sign_typed(writes_seller, permit["typedData"])},
    }
    before = energy.balanceOf(writes_seller)
    answer = api.post("/api/v1/orders", json=body)
    assert answer.status_code == 201, answer.json()
    order = market.getOrderInfo(answer.json()["orderId"])
    assert (order.trader, int(order.orderType)) == (writes_seller.address, 1)
    assert energy.balanceOf(writes_seller) == before - 3_000
    assert energy.nonces(writes_seller) == 1  # the permit was used


def test_a_signed_cancellation_returns_the_escrow(api, api_system, writes_seller, chain):
    market, energy = api_system.energy_trading, api_system.energy_token
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
    assert energy.balanceOf(writes_seller) == before
    # Cancelling again: the order is closed, said before the wallet is asked.
    problem(api.post(f"/api/v1/orders/{order_id}/cancel/typed-data"), 409, "OrderNotActive")
