"""What the relayer pays gas for on others' behalf, within quotas, and what it has spent.

Every transaction the service relays for an account (the signer or trader the relay acts for) is
charged, once the call is known to pass and before anything is sent, to that account's quota and to
the quota of the request's client (its IP address): `RelayLimits.per_account` and `per_client`
transactions in any window of `window_s` (`ServiceSettings.relay_limits`). Over either, the request is
answered 429 `RelayQuotaExceeded` with `Retry-After` (seconds), and nothing is sent.

    sponsor.charge(trader, transactions=2)     # the approval and the order, before the first is sent
    receipt = await sponsor.send(call)         # one charged transaction, as the relayer
    receipt = await sponsor.relay(trader, call)  # one call: checked, charged, sent

The service's `/metrics` (Prometheus's text format) shows what is left and what went:
`energy_grid_api_relayer_balance_wei` (read from the node when scraped; NaN while it does not
answer), `energy_grid_api_relayed_transactions_total`, `energy_grid_api_relayed_gas_used_total`
and `energy_grid_api_relayed_fees_wei_total` (since the service started), and
`energy_grid_api_relays_refused_total{reason}` (account_quota, client_quota, order_below_minimum).
A transaction that passed its check but reverted on chain (the state changed in between) is in the
balance only.
"""

from __future__ import annotations

import math
import time
from http import HTTPStatus
from typing import NoReturn

from eth_account.signers.local import LocalAccount
from prometheus_client import generate_latest
from requests.exceptions import RequestException
from web3.contract.contract import ContractFunction
from web3.types import TxReceipt

from energy_grid.api.problems import ApiProblem
from energy_grid.api.quota import Clock, Limit, QuotaExceeded, Quotas
from energy_grid.api.relay import Relay
from energy_grid.api.settings import ServiceSettings
from energy_grid.chain.errors import GridError
from energy_grid.contracts.base import CONNECTION_ERRORS
from energy_grid.contracts.client import GridClient
from energy_grid.domain.units import SECONDS_PER_HOUR
from energy_grid.services.runtime import Metrics

ACCOUNT_QUOTA = "account"
CLIENT_QUOTA = "client"
ORDER_BELOW_MINIMUM = "order_below_minimum"
REFUSAL_REASONS = (f"{ACCOUNT_QUOTA}_quota", f"{CLIENT_QUOTA}_quota", ORDER_BELOW_MINIMUM)
# A request without a peer address (none over a Unix socket) is counted as this one client.
UNKNOWN_CLIENT = "unknown"


class RelayMetrics(Metrics):
    """The relayer's figures (see the module's docstring)."""

    def __init__(self) -> None:
        super().__init__("api")
        self.balance_wei = self.gauge(
            "relayer_balance_wei", "The relayer's native balance (wei) when scraped; NaN while the node does not answer."
        )
        self.transactions = self.counter("relayed_transactions", "Transactions the relayer sent for others since the service started.")
        self.gas_used = self.counter("relayed_gas_used", "Gas the relayer's transactions for others used since the service started.")
        self.fees_wei = self.counter("relayed_fees_wei", "What the relayer paid for that gas (wei) since the service started.")
        self.refused = self.counter("relays_refused", "Relays refused before anything was sent, by reason.", ["reason"])
        # Every reason shows from the start, at 0: an alert on its rate needs the series to exist.
        for reason in REFUSAL_REASONS:
            self.refused.labels(reason=reason)


class RelayBudget:
    """The service's one account of what its relayer pays for: the quotas and the figures, shared by
    every request's `Sponsor`."""

    def __init__(self, client: GridClient, relay: Relay, settings: ServiceSettings, clock: Clock = time.monotonic) -> None:
        self.client = client
        self.relay = relay
        self.relayer = settings.relayer
        limits = settings.relay_limits
        quotas = {ACCOUNT_QUOTA: Limit(limits.per_account, limits.window_s), CLIENT_QUOTA: Limit(limits.per_client, limits.window_s)}
        self.quotas = Quotas(quotas, clock)
        self.metrics = RelayMetrics()

    def for_client(self, host: str | None) -> Sponsor:
        return Sponsor(self, host or UNKNOWN_CLIENT)

    def metrics_text(self) -> bytes:
        """The figures in Prometheus's text format, with the relayer's balance read now."""
        try:
            balance_wei = float(self.client.w3.eth.get_balance(self.relayer.address))
        except (*CONNECTION_ERRORS, RequestException):
            balance_wei = math.nan
        self.metrics.balance_wei.set(balance_wei)
        return generate_latest(self.metrics.registry)


class Sponsor:
    """One request's relays, charged to the account each is for and to the request's client."""

    def __init__(self, budget: RelayBudget, client_host: str) -> None:
        self.budget = budget
        self.client_host = client_host
        self._charged = 0

    @property
    def relayer(self) -> LocalAccount:
        return self.budget.relayer

    def check(self, call: ContractFunction) -> GridError | None:
        """What `call` from the relayer would revert with now (None: it would go through); nothing is sent."""
        return self.budget.relay.check(self.relayer.address, call)

    def charge(self, account: str, transactions: int = 1) -> None:
        """Takes `transactions` from the account's and the client's quotas, or answers 429 and takes none."""
        try:
            self.budget.quotas.take({ACCOUNT_QUOTA: account, CLIENT_QUOTA: self.client_host}, transactions)
        except QuotaExceeded as full:
            whose = f"account {account}" if full.quota == ACCOUNT_QUOTA else f"client {self.client_host}"
            message = (
                f"The service relays at most {full.limit.units} transactions per {full.quota} in {_window(full.limit.window_s)} "
                f"and {whose} has had them: try again in {full.retry_after_s} s, or send from your own wallet."
            )
            details = {
                "quota": full.quota,
                full.quota: full.key,
                "limit": full.limit.units,
                "windowSeconds": full.limit.window_s,
                "retryAfterSeconds": full.retry_after_s,
            }
            retry = {"Retry-After": str(full.retry_after_s)}
            self.refuse(f"{full.quota}_quota", ApiProblem(HTTPStatus.TOO_MANY_REQUESTS, "RelayQuotaExceeded", message, details, retry))
        self._charged += transactions

    def refuse(self, reason: str, problem: ApiProblem) -> NoReturn:
        """Counts the refusal by its reason (one of REFUSAL_REASONS) and raises `problem`."""
        self.budget.metrics.refused.labels(reason=reason).inc()
        raise problem

    async def send(self, call: ContractFunction) -> TxReceipt:
        """Sends `call` as the relayer, one of the transactions charged (a send not charged is a bug)."""
        if self._charged <= 0:
            raise RuntimeError(f"{call.fn_name} would be relayed without being charged to a quota")
        self._charged -= 1
        receipt = await self.budget.relay.send_async(self.relayer, call)
        metrics = self.budget.metrics
        metrics.transactions.inc()
        metrics.gas_used.inc(int(receipt["gasUsed"]))
        metrics.fees_wei.inc(int(receipt["gasUsed"]) * int(receipt.get("effectiveGasPrice", 0)))
        return receipt

    async def relay(self, account: str, call: ContractFunction) -> TxReceipt:
        """`call` for `account`: the contract's refusal (nothing charged, nothing sent), else charged and sent."""
        rejection = self.check(call)
        if rejection is not None:
            raise rejection
        self.charge(account)
        return await self.send(call)


def _window(window_s: float) -> str:
    """A quota's window in words: "1 hour", "2 hours", else seconds."""
    if window_s % SECONDS_PER_HOUR == 0:
        hours = int(window_s // SECONDS_PER_HOUR)
        return "1 hour" if hours == 1 else f"{hours} hours"
    return f"{window_s:g} s"


__all__ = ["REFUSAL_REASONS", "RelayBudget", "RelayMetrics", "Sponsor"]
