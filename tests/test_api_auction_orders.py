"""The API's auction routes on a real deployment: firm bids and asks a household signs in its wallet
(played by eth-account signing the typed data the API hands out, as a browser wallet signs it with
eth_signTypedData_v4) and the relayer sends, and claims the relayer sends for anyone, paying the
order's trader. Every refusal is a 4xx that names it, with nothing sent. The relayer pays within
limits: a quota per account and per client (429 with Retry-After, on a clock the tests step), a
smallest order, and its spending on /metrics.
"""

from __future__ import annotations

from typing import Any, cast

import pytest
from conftest import meter_energy_to
from fastapi import FastAPI
from fastapi.testclient import TestClient

from energy_grid.api import create_app
from energy_grid.api.settings import RelayLimits
from energy_grid.domain.auction_words import PriceGrid, off_grid_text
from energy_grid.domain.units import format_kwh, format_money

from support.service_helpers import SteppedClock, metric_samples, ok, problem, sign_typed

API = "/api/v1"
CASH = 2_000_000  # PaymentToken base units the buying household deposits
SELLER_ENERGY_WH = 20_000
MAX_UINT256 = 2**256 - 1
HOUR_S = 3_600
# The limited service's relayer: 3 transactions per account and 5 per client an hour, orders of 2 kWh or more.
LIMITS = RelayLimits(per_account=3, per_client=5, window_s=HOUR_S, min_auction_order_wh=2_000)
CLIENT_A, CLIENT_B = ("192.0.2.1", 50_000), ("198.51.100.2", 50_000)


@pytest.fixture(scope="module")
def households(accounts):
    """A buying household and a selling one; neither has approved the auction in the vault."""
    return accounts[3], accounts[4]


@pytest.fixture(scope="module", autouse=True)
def _households_funded(api_system, households, admin, accounts, chain):
    """The buyer's cash and the seller's metered energy are vault balances, before any test's own state."""
    buyer, seller = households
    vault, payment, energy = api_system.energy_vault, api_system.payment_token, api_system.energy_token
    meter_energy_to([seller], SELLER_ENERGY_WH, api_system.smart_meter, admin, accounts, chain)
    payment.approve(vault, MAX_UINT256, sender=buyer)
    vault.deposit(payment, CASH, sender=buyer)
    energy.approve(vault, MAX_UINT256, sender=seller)
    vault.deposit(energy, SELLER_ENERGY_WH, sender=seller)


@pytest.fixture(scope="module")
def api(api_settings):
    with TestClient(create_app(api_settings(follow=False))) as http:
        yield http


@pytest.fixture
def limited_api(api_settings):
    """A service of its own whose relayer pays only within LIMITS, its quotas on a clock the test
    steps, asked from CLIENT_A; `limited_api.clock`, and `limited_api.app` for a second client."""
    clock = SteppedClock()
    with TestClient(create_app(api_settings(follow=False, relay_limits=LIMITS), clock=clock), client=CLIENT_A) as http:
        http.clock = clock
        yield http


@pytest.fixture
def deployed_auction(api_system):
    return api_system.energy_auction


def price(deployed_auction: Any, tick: int) -> int:
    return int(deployed_auction.minPrice()) + tick * int(deployed_auction.tickSize())


def draft(trader: Any, side: str, amount_wh: int, limit: int, **extra: Any) -> dict:
    return {"trader": trader.address, "side": side, "amountWh": amount_wh, "limitPricePerKWh": limit} | extra


def signed_body(offer: dict, signer: Any) -> dict:
    """POST /auction/orders/typed-data's answer signed by `signer`, as POST /auction/orders takes it."""
    body = {"order": offer["order"], "signature": sign_typed(signer, offer["typedData"])}
    if offer["marketApproval"] is not None:
        approval = offer["marketApproval"]
        body["marketApproval"] = {"deadline": approval["deadline"], "signature": sign_typed(signer, approval["typedData"])}
    return body


def place(api: TestClient, trader: Any, side: str, amount_wh: int, limit: int, **extra: Any) -> dict:
    offer = ok(api.post(f"{API}/auction/orders/typed-data", json=draft(trader, side, amount_wh, limit, **extra)))
    return ok(api.post(f"{API}/auction/orders", json=signed_body(offer, trader)), 201)


def test_a_household_bids_from_its_wallet_and_the_relayer_pays_only_gas(api, api_system, deployed_auction, households, chain):
    buyer, _ = households
    vault, relayer_address = api_system.energy_vault, api.app.state.settings.relayer.address
    limit = price(deployed_auction, 20)
    offer = ok(api.post(f"{API}/auction/orders/typed-data", json=draft(buyer, "BID", 3_000, limit)))
    now = chain.blocks.head.timestamp
    period = (now + deployed_auction.gateClosure()) // deployed_auction.periodLength() + 1  # the next period still open
    escrow = -(-3_000 * limit // 1_000)
    assert offer["order"] == {
        "trader": buyer.address,
        "period": period,
        "isBid": True,
        "amountWh": 3_000,
        "limitPricePerKWh": limit,
        "nonce": 0,
        "deadline": now + 3_600,
        "regionId": 0,  # the common bus
    }
    gate_closes = deployed_auction.gateClosureTime(period)
    assert (offer["escrow"], offer["escrowToken"], offer["gateClosureTime"]) == (escrow, "PaymentToken", gate_closes)
    assert offer["typedData"]["primaryType"] == "AuctionOrder"
    domain = {"name": "EnergyAuction", "version": "1", "chainId": chain.chain_id, "verifyingContract": deployed_auction.address}
    assert offer["typedData"]["domain"] == domain
    assert offer["marketApproval"] is not None  # the auction is not approved in the vault yet
    before = vault.balancesOf(buyer)
    relayed = ok(api.post(f"{API}/auction/orders", json=signed_body(offer, buyer)), 201)
    order_id = int(relayed["orderId"])
    assert relayed | {"orderId": 0, "txHash": "", "blockNumber": 0} == {
        "orderId": 0,
        "trader": buyer.address,
        "period": period,
        "isBid": True,
        "amountWh": 3_000,
        "limitPricePerKWh": limit,
        "escrow": escrow,
        "txHash": "",
        "blockNumber": 0,
        "relayer": relayer_address,
    }
    assert deployed_auction.getOrder(order_id).trader == buyer.address
    assert vault.balancesOf(buyer) == (before[0], before[1] - escrow)
    assert vault.isMarketApproved(buyer, deployed_auction) and deployed_auction.nonces(buyer) == 1
    # Approved now: the next draft asks for the order alone.
    assert ok(api.post(f"{API}/auction/orders/typed-data", json=draft(buyer, "BID", 1_000, limit)))["marketApproval"] is None


def test_an_ask_for_a_delivery_time_and_a_claim_anyone_asks_for_pays_the_trader(api, api_system, deployed_auction, households, chain):
    buyer, seller = households
    vault = api_system.energy_vault
    period_s = int(deployed_auction.periodLength())
    period = (chain.blocks.head.timestamp + int(deployed_auction.gateClosure())) // period_s + 3
    ask = place(api, seller, "ASK", 2_000, price(deployed_auction, 10), deliveryTime=period * period_s + 60)
    assert (ask["period"], ask["escrow"]) == (period, 2_000)
    bid = place(api, buyer, "BID", 2_000, price(deployed_auction, 30), period=period)
    # Not yet claimable: the market clears from its clearing time on.
    problem(api.post(f"{API}/auction/orders/{bid['orderId']}/claim"), 400, "MarketNotCleared")
    chain.mine(timestamp=deployed_auction.clearingTime(period))
    before = vault.balancesOf(buyer)
    claimed = ok(api.post(f"{API}/auction/orders/{bid['orderId']}/claim"))
    outcome = deployed_auction.getOrderOutcome(int(bid["orderId"]))
    assert claimed | {"txHash": "", "blockNumber": 0} == {
        "orderId": bid["orderId"],
        "trader": buyer.address,
        "isBid": True,
        "filledWh": 2_000,
        "payment": outcome.payment,
        "fee": 0,
        "refund": outcome.refund,
        "creditedEnergyWh": 2_000,
        "creditedPayment": outcome.refund,
        "clearedFirst": True,  # nobody had cleared the market: the relay did, then claimed
        "txHash": "",
        "blockNumber": 0,
    }
    assert vault.balancesOf(buyer) == (before[0] + 2_000, before[1] + outcome.refund)
    seller_before = vault.balancesOf(seller)
    sold = ok(api.post(f"{API}/auction/orders/{ask['orderId']}/claim"))
    assert (sold["trader"], sold["clearedFirst"], sold["creditedEnergyWh"]) == (seller.address, False, 0)
    assert vault.balancesOf(seller) == (seller_before[0], seller_before[1] + sold["payment"] - sold["fee"])
    problem(api.post(f"{API}/auction/orders/{ask['orderId']}/claim"), 400, "AlreadyClaimed")


def test_bad_orders_are_refused_before_the_wallet_is_asked(api, api_system, deployed_auction, households, chain):
    buyer, seller = households
    limit = price(deployed_auction, 10)
    typed = f"{API}/auction/orders/typed-data"
    current = int(deployed_auction.currentPeriod())
    problem(api.post(typed, json=draft(buyer, "BID", 1_000, limit, period=current)), 400, "GateClosed")
    problem(api.post(typed, json=draft(buyer, "BID", 1_000, limit, period=current + 10_000)), 400, "PeriodTooFarAhead")
    off = problem(api.post(typed, json=draft(buyer, "BID", 1_000, limit + 1)), 400, "PriceNotOnGrid")
    # The command line's sentence, in the currency with the grid's range, not the contract's terms.
    low, step, count = deployed_auction.minPrice(), deployed_auction.tickSize(), deployed_auction.tickCount()
    symbol = api_system.payment_token.symbol()
    assert off["message"] == off_grid_text(limit + 1, PriceGrid(low, step, count), 6, symbol)
    assert off["message"].startswith(f"{format_money(limit + 1, 6, symbol)}/kWh is not on the auction's price grid: from ")
    top = low + (count - 1) * step
    assert off["details"] == {"limitPricePerKWh": limit + 1, "minPricePerKWh": low, "tickSizePerKWh": step, "maxPricePerKWh": top}
    problem(api.post(typed, json=draft(buyer, "BID", 10**13, limit)), 400, "AmountOutOfRange")
    problem(api.post(typed, json=draft(buyer, "BID", 0, limit)), 422, "InvalidRequest")
    problem(api.post(typed, json=draft(buyer, "BID", 1_000, limit, period=current + 3, deliveryTime=1)), 422, "InvalidRequest")
    problem(api.post(typed, json=draft(buyer, "HOLD", 1_000, limit)), 422, "InvalidRequest")
    # This deployment couples no feeders: an order for a region's market zone has none to trade in.
    problem(api.post(typed, json=draft(buyer, "BID", 1_000, limit, regionId=7)), 400, "RegionNotAZone")
    problem(api.post(typed, json=draft(buyer, "BID", 1_000, limit, regionId=2**32)), 422, "InvalidRequest")
    short = problem(api.post(typed, json=draft(seller, "ASK", SELLER_ENERGY_WH + 1, limit)), 400, "InsufficientVaultBalance")
    assert short["details"] | {"pullableFromWallet": 0} == {
        "trader": seller.address,
        "token": "EnergyToken",
        "escrow": SELLER_ENERGY_WH + 1,
        "vaultBalance": SELLER_ENERGY_WH,
        "pullableFromWallet": 0,
    }
    pullable = short["details"]["pullableFromWallet"]
    from_wallet = f"; the vault may take only {format_kwh(pullable)} more from your wallet" if pullable else ""
    assert short["message"] == (
        f"The order escrows {format_kwh(SELLER_ENERGY_WH + 1)} but your vault balance holds {format_kwh(SELLER_ENERGY_WH)}: "
        f"deposit the rest first{from_wallet}."
    )
    problem(api.post(f"{API}/auction/orders/12345/claim"), 404, "OrderUnknown")


def test_signatures_that_are_not_the_traders_are_refused_with_nothing_sent(api, api_system, deployed_auction, households, chain):
    buyer, seller = households
    limit = price(deployed_auction, 10)
    relayer = api.app.state.settings.relayer.address
    offer = ok(api.post(f"{API}/auction/orders/typed-data", json=draft(buyer, "BID", 1_000, limit)))
    sent_before = chain.provider.web3.eth.get_transaction_count(relayer)
    # Signed by another household: it recovers to the seller, not the buyer.
    forged = signed_body(offer, seller)
    refused = problem(api.post(f"{API}/auction/orders", json=forged), 403, "InvalidSigner")
    assert refused["details"] == {"trader": buyer.address, "signer": seller.address}
    # Signed by the buyer, but the order changed after signing.
    tampered = signed_body(offer, buyer)
    tampered["order"] = tampered["order"] | {"amountWh": 9_000}
    problem(api.post(f"{API}/auction/orders", json=tampered), 403, "InvalidSigner")
    assert chain.provider.web3.eth.get_transaction_count(relayer) == sent_before
    problem(api.post(f"{API}/auction/orders", json=signed_body(offer, buyer) | {"signature": "0x12"}), 422, "InvalidSignature")
    body = signed_body(offer, buyer)
    ok(api.post(f"{API}/auction/orders", json=body), 201)
    # The same signed order again: its nonce is spent.
    problem(api.post(f"{API}/auction/orders", json={"order": body["order"], "signature": body["signature"]}), 409, "InvalidNonce")


def test_an_expired_signature_is_refused(api, deployed_auction, households, chain):
    buyer, _ = households
    now = chain.blocks.head.timestamp
    order = draft(buyer, "BID", 1_000, price(deployed_auction, 10), deadline=now + 30)
    offer = ok(api.post(f"{API}/auction/orders/typed-data", json=order))
    body = signed_body(offer, buyer)
    chain.mine(timestamp=now + 31)
    refused = problem(api.post(f"{API}/auction/orders", json=body), 400, "SignatureExpired")
    assert refused["details"]["deadline"] == now + 30


def test_a_paused_auction_refuses_the_draft(api, api_system, deployed_auction, households, admin):
    buyer, _ = households
    deployed_auction.pause(sender=admin)
    order = draft(buyer, "BID", 1_000, price(deployed_auction, 10))
    problem(api.post(f"{API}/auction/orders/typed-data", json=order), 409, "EnforcedPause")
    deployed_auction.unpause(sender=admin)


def test_the_auction_write_routes_join_the_auction_group_in_the_docs(api):
    paths = api.get("/openapi.json").json()["paths"]
    tagged = {(method.upper(), path) for path, methods in paths.items() for method, op in methods.items() if op["tags"] == ["auction"]}
    writes = {(method, path) for method, path in tagged if method == "POST"}
    assert writes == {
        ("POST", f"{API}/auction/orders/typed-data"),
        ("POST", f"{API}/auction/orders"),
        ("POST", f"{API}/auction/orders/{{orderId}}/claim"),
    }


# ------------------------------------------------------------------------------ what the relayer pays for


def relayer_sent(http: TestClient, chain: Any) -> int:
    return chain.provider.web3.eth.get_transaction_count(cast(FastAPI, http.app).state.settings.relayer.address)


def test_an_account_over_its_relay_quota_gets_429_with_retry_after_while_another_passes(limited_api, deployed_auction, households, chain):
    buyer, seller = households
    limit = price(deployed_auction, 10)
    place(limited_api, buyer, "BID", 2_000, limit)  # the auction's approval and the order: 2 transactions
    limited_api.clock.now_s += 100
    place(limited_api, buyer, "BID", 2_000, limit)  # the buyer's third
    limited_api.clock.now_s += 50
    body = signed_body(ok(limited_api.post(f"{API}/auction/orders/typed-data", json=draft(buyer, "BID", 2_000, limit))), buyer)
    sent = relayer_sent(limited_api, chain)
    answer = limited_api.post(f"{API}/auction/orders", json=body)
    refused = problem(answer, 429, "RelayQuotaExceeded")
    # Its first two transactions leave the hour's window 3,600 s after they were sent, 150 s ago.
    assert answer.headers["Retry-After"] == str(HOUR_S - 150)
    assert refused["details"] == {
        "quota": "account",
        "account": buyer.address,
        "limit": 3,
        "windowSeconds": HOUR_S,
        "retryAfterSeconds": HOUR_S - 150,
    }
    assert refused["message"] == (
        f"The service relays at most 3 transactions per account in 1 hour and account {buyer.address} has had them: "
        f"try again in {HOUR_S - 150} s, or send from your own wallet."
    )
    assert relayer_sent(limited_api, chain) == sent and deployed_auction.nonces(buyer) == 2  # nothing sent
    # Another account, from the same client, still passes.
    place(limited_api, seller, "ASK", 2_000, limit)
    limited_api.clock.now_s += HOUR_S - 150 - 1
    problem(limited_api.post(f"{API}/auction/orders", json=body), 429, "RelayQuotaExceeded")
    limited_api.clock.now_s += 1
    assert ok(limited_api.post(f"{API}/auction/orders", json=body), 201)["trader"] == buyer.address


def test_a_client_over_its_relay_quota_gets_429_whichever_account_it_relays_for(limited_api, deployed_auction, households, chain):
    buyer, seller = households
    limit = price(deployed_auction, 10)
    place(limited_api, buyer, "BID", 2_000, limit)  # 2 of the client's 5
    place(limited_api, seller, "ASK", 2_000, limit)  # 4
    place(limited_api, buyer, "BID", 2_000, limit)  # 5
    body = signed_body(ok(limited_api.post(f"{API}/auction/orders/typed-data", json=draft(seller, "ASK", 2_000, limit))), seller)
    sent = relayer_sent(limited_api, chain)
    answer = limited_api.post(f"{API}/auction/orders", json=body)
    refused = problem(answer, 429, "RelayQuotaExceeded")  # the seller has had 2 of its 3: the client is full
    assert refused["details"] | {"retryAfterSeconds": 0} == {
        "quota": "client",
        "client": CLIENT_A[0],
        "limit": 5,
        "windowSeconds": HOUR_S,
        "retryAfterSeconds": 0,
    }
    assert answer.headers["Retry-After"] == str(HOUR_S)
    assert relayer_sent(limited_api, chain) == sent
    # The same order from another client's address goes through.
    other_client = TestClient(limited_api.app, client=CLIENT_B)
    assert ok(other_client.post(f"{API}/auction/orders", json=body), 201)["trader"] == seller.address


def test_an_order_below_the_relay_minimum_is_refused_in_kwh_and_nothing_is_sent(api, api_system, deployed_auction, households, chain):
    buyer, _ = households
    limit = price(deployed_auction, 10)
    refused = problem(api.post(f"{API}/auction/orders/typed-data", json=draft(buyer, "BID", 999, limit)), 400, "OrderBelowRelayMinimum")
    assert refused["message"] == (
        "The service relays auction orders of 1.000 kWh or more and this one is 0.999 kWh: "
        "place a larger order, or submit it from your own wallet."
    )
    assert refused["details"] == {"amountWh": 999, "minimumWh": 1_000}
    # A 999 Wh order the buyer signed all the same (the draft of 1 kWh, changed before signing).
    offer = ok(api.post(f"{API}/auction/orders/typed-data", json=draft(buyer, "BID", 1_000, limit)))
    offer["order"]["amountWh"] = offer["typedData"]["message"]["amountWh"] = 999
    sent = relayer_sent(api, chain)
    problem(api.post(f"{API}/auction/orders", json=signed_body(offer, buyer)), 400, "OrderBelowRelayMinimum")
    assert relayer_sent(api, chain) == sent  # not even the auction's approval
    assert deployed_auction.nonces(buyer) == 0
    assert not api_system.energy_vault.isMarketApproved(buyer, deployed_auction)


def test_metrics_show_the_relayers_balance_its_spending_and_its_refusals(limited_api, deployed_auction, households, chain):
    buyer, _ = households
    web3, relayer = chain.provider.web3, limited_api.app.state.settings.relayer.address
    limit = price(deployed_auction, 10)
    balance_before, sent_before = web3.eth.get_balance(relayer), relayer_sent(limited_api, chain)
    place(limited_api, buyer, "BID", 2_000, limit)
    place(limited_api, buyer, "BID", 3_000, limit)
    problem(limited_api.post(f"{API}/auction/orders/typed-data", json=draft(buyer, "BID", 1_000, limit)), 400, "OrderBelowRelayMinimum")
    offer = ok(limited_api.post(f"{API}/auction/orders/typed-data", json=draft(buyer, "BID", 2_000, limit)))
    small = offer | {"order": offer["order"] | {"amountWh": 1_999}}
    problem(limited_api.post(f"{API}/auction/orders", json=signed_body(small, buyer)), 400, "OrderBelowRelayMinimum")
    problem(limited_api.post(f"{API}/auction/orders", json=signed_body(offer, buyer)), 429, "RelayQuotaExceeded")

    answer = limited_api.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    figures = metric_samples(answer.text)
    sent = range(sent_before, relayer_sent(limited_api, chain))
    assert len(sent) == 3  # the approval and two orders
    blocks = range(chain.blocks.head.number - 5, chain.blocks.head.number + 1)
    receipts = [
        web3.eth.get_transaction_receipt(tx["hash"])
        for number in blocks
        for tx in web3.eth.get_block(number, full_transactions=True)["transactions"]
        if tx["from"] == relayer and tx["nonce"] in sent
    ]
    assert len(receipts) == 3
    assert figures[("energy_grid_api_relayer_balance_wei", ())] == float(web3.eth.get_balance(relayer))
    assert figures[("energy_grid_api_relayed_transactions_total", ())] == 3
    assert figures[("energy_grid_api_relayed_gas_used_total", ())] == sum(r["gasUsed"] for r in receipts)
    assert figures[("energy_grid_api_relayed_fees_wei_total", ())] == balance_before - web3.eth.get_balance(relayer)
    reasons = ("account_quota", "client_quota", "order_below_minimum")
    refused = {reason: figures[("energy_grid_api_relays_refused_total", (("reason", reason),))] for reason in reasons}
    # The draft's refusal is no relay's: only the signed order's counts.
    assert refused == {"account_quota": 1, "client_quota": 0, "order_below_minimum": 1}
