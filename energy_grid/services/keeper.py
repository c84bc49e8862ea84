"""The keeper: matches crossing orders, settles what is due, clears auctions, settles the meters'
standing orders and claims.

Each round it reads the events since the last round (energy_grid.services.order_book), then, in bounded
batches: matches the open book's crossing orders by price-time priority (`matchOrders`), settles
the pending transactions whose settlement window has passed (`settleTransactions`, up to 50 per
transaction), clears every EnergyAuction market with orders once its clearing time has come
(`clear`; the auction says when: gate closure, or for the reading market the period's end plus the
reading deadline; a coupled market too large for one transaction first runs SteppedClearing's
steps, one transaction each), settles the standing orders placed in the cleared markets that no later reading
settled yet (SmartMeter's `settleStandingOrders`, up to 100 meters per transaction) and claims the
orders of the cleared markets for the traders it serves (`claimBatch`, up to 100 orders per
transaction).

A meter's reading two intervals later, which reuses the order slot, settles its standing orders of
a cleared market in the same transaction, for less gas than a settlement of the keeper's. With
`standing_grace_s` (1,800 s covers that reading's arrival after a 900-second market's clearing),
the keeper leaves a cleared market's standing orders that long after its clearing time to the
readings, and settles only those still open then (a meter that stopped reading, the day's end).

Keepers race each other (and traders, and the operator): before each transaction the keeper
checks the state with a dry run, and a rejection that means someone else did it already
(OrderNotActive, TransactionNotPending, MarketAlreadyCleared, AlreadyClaimed, …) counts as a
skip, not a failure. Two keepers on the same book therefore never fail on each other.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from types import FrameType
from typing import Any, cast

from eth_account.signers.local import LocalAccount
from eth_typing import ABIEvent
from eth_utils import event_abi_to_log_topic
from web3 import Web3
from web3.logs import DISCARD

from energy_grid.chain.events import unpacked
from energy_grid.contracts.client import GridClient
from energy_grid.contracts.zones import ONE_TRANSACTION_CLEAR_GAS, needs_steps
from energy_grid.domain.enums import ClearingStage
from energy_grid.services.order_book import OrderBook, plan_matches
from energy_grid.services.runtime import ChainClock, MetricsServer, ServiceMetrics
from energy_grid.services.sending import send_checked

MAX_SETTLEMENT_BATCH = 50  # Settlement.MAX_SETTLEMENT_BATCH
MAX_STANDING_BATCH = 100  # SmartMeter.MAX_BATCH_SIZE: meters per settleStandingOrders
MAX_CLAIM_BATCH = 100  # EnergyAuction.MAX_CLAIM_BATCH: orders per claimBatch
LOG_CHUNK_BLOCKS = 10_000  # blocks per eth_getLogs request (public nodes cap the range)
PENDING = 0  # ISettlement.TransactionStatus.PENDING
# Rejections that mean another keeper, a trader or the operator acted first, or time moved on.
ALREADY_DONE = frozenset(
    {
        "OrderNotActive",
        "OrderExpired",
        "TransactionNotPending",
        "MarketAlreadyCleared",
        "StepsFinished",  # another keeper ran a large market's last step
        "AlreadyClaimed",
        "OrderSlotReused",  # the trader's next order in its place claimed it in line first
    }
)
# What the keeper counts of its work, each a field of KeeperReport and a `kind` of its actions metric.
COUNTED_ACTIONS = ("matched", "settled", "markets_cleared", "standing_settled", "orders_claimed", "skipped")

log = logging.getLogger("energy_grid.keeper")


@dataclass
class KeeperReport:
    rounds: int = 0
    matched: int = 0  # matchOrders sent and mined
    settled: int = 0  # transactions this keeper settled
    markets_cleared: int = 0
    orders_claimed: int = 0
    standing_settled: int = 0  # meters' standing orders of a market paid out (MeteredOrdersSettled)
    skipped: int = 0  # actions someone else took first (dry run or a lost race)
    transactions: int = 0
    gas_used: int = 0
    failures: list[str] = field(default_factory=list)  # rejections that are not a lost race

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Round:
    """What one round did, to decide whether to go on at once or wait for the next poll."""

    actions: int = 0
    full: bool = False  # a batch bound was reached: more may be waiting


class Keeper:
    """One keeper's state between rounds: the rebuilt book and the next block to read."""

    def __init__(
        self,
        client: GridClient,
        account: LocalAccount,
        *,
        max_batch: int = 20,
        traders: Iterable[str] | None = None,
        from_block: int = 0,
        report: KeeperReport | None = None,
        standing_grace_s: int = 0,
        one_transaction_clear_gas: int = ONE_TRANSACTION_CLEAR_GAS,
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        if standing_grace_s < 0:
            raise ValueError(f"standing_grace_s cannot be negative, got {standing_grace_s}")
        self.standing_grace_s = standing_grace_s
        # A clear estimated above this runs in steps first (SteppedClearing, for the market it serves).
        self.one_transaction_clear_gas = one_transaction_clear_gas
        self.client = client
        self.account = account
        self.max_batch = max_batch
        self.traders = None if traders is None else {Web3.to_checksum_address(t) for t in traders}
        self.from_block = from_block
        self.next_block = from_block
        # The hash of the last block read, to tell a reorganisation: the book is then read again.
        self._read_hash: bytes | None = None
        self.reorgs = 0
        self.book = OrderBook()
        self.report = report or KeeperReport()
        self.auctions = [name for name in client.contracts if name.startswith("EnergyAuction")]
        reading_market = client.smart_meter.reading_market().lower()
        # The auction SmartMeter's readings place standing orders in (None: standing orders are off).
        self.reading_market = next((n for n in self.auctions if client[n].address.lower() == reading_market), None)
        if self.reading_market is not None:
            period_length_s = int(client[self.reading_market].functions.periodLength().call())
            self.book.reading_market = (self.reading_market, period_length_s)
        stepped = client.stepped_clearing
        zones = client.market_zones
        # The auction whose coupled markets SteppedClearing clears in steps, if any.
        self.stepped_market = None
        if stepped is not None and zones is not None and stepped.market_zones() == zones.address:
            auction = zones.auction().lower()
            self.stepped_market = next((n for n in self.auctions if client[n].address.lower() == auction), None)
        self._meter_owners: dict[str, str] = {}
        # SmartMeter's readings tell which meters' standing orders may wait for settlement.
        watched = ["EnergyTrading", *self.auctions, *(["SmartMeter"] if self.reading_market else [])]
        self._events: dict[bytes, tuple[str, Any]] = {}
        for name in watched:
            contract = client[name]
            for item in contract.abi:
                if item.get("type") == "event":
                    event_abi = cast(ABIEvent, item)
                    self._events[event_abi_to_log_topic(event_abi)] = (name, getattr(contract.events, event_abi["name"])())
        self._addresses = [client[name].address for name in watched]

    def serves(self, *accounts: str) -> bool:
        return self.traders is None or any(Web3.to_checksum_address(a) in self.traders for a in accounts)

    def serves_meter(self, meter: str) -> bool:
        """Whether the keeper serves the meter's owner (whose vault balance its standing orders trade)."""
        if self.traders is None:
            return True
        if meter not in self._meter_owners:
            self._meter_owners[meter] = self.client.smart_meter.get_meter(meter).owner
        return self.serves(self._meter_owners[meter])

    # -------------------------------------------------------------------- events

    def sync(self) -> int:
        """Applies the events up to the latest block; returns that block's timestamp. If the last block
        read is no longer the chain's (a reorganisation dropped it), the book is read again from the
        start, so that nothing a dropped block held is acted on."""
        latest = self.client.w3.eth.get_block("latest")
        to_block = int(latest["number"])
        if self._read_hash is not None and not self._still_read(to_block):
            self.reorgs += 1
            log.warning("the chain reorganised below block %d: reading the book again from block %d", self.next_block - 1, self.from_block)
            reading_market = self.book.reading_market
            self.book = OrderBook()
            self.book.reading_market = reading_market
            self.next_block = self.from_block
        while self.next_block <= to_block:
            end = min(self.next_block + LOG_CHUNK_BLOCKS - 1, to_block)
            logs = self.client.w3.eth.get_logs({"address": self._addresses, "fromBlock": self.next_block, "toBlock": end})
            for entry in sorted(logs, key=lambda e: (e["blockNumber"], e["logIndex"])):
                known = self._events.get(bytes(entry["topics"][0])) if entry["topics"] else None
                if known is not None:
                    name, event = known
                    self.book.apply(name, event.event_name, unpacked(event.event_name, event.process_log(entry)["args"]))
            self.next_block = end + 1
        self._read_hash = bytes(latest["hash"])
        return int(latest["timestamp"])

    def _still_read(self, to_block: int) -> bool:
        """Whether the last block read is still the chain's at its height."""
        last = self.next_block - 1
        if last > to_block:
            return False
        return bytes(self.client.w3.eth.get_block(last)["hash"]) == self._read_hash

    # -------------------------------------------------------------------- one round

    def run_round(self, stop: threading.Event | None = None) -> _Round:
        done = _Round()
        now_s = self.sync()
        self._match(now_s, done, stop)
        now_s = self.sync()
        self._settle(now_s, done)
        self._clear(now_s, done, stop)
        now_s = self.sync()
        self._settle_standing(now_s, done, stop)
        self._claim(done, stop)
        self.report.rounds += 1
        return done

    def _match(self, now_s: int, done: _Round, stop: threading.Event | None) -> None:
        # The next block is at least a second later: an order expiring then cannot trade.
        plan = [
            m
            for m in plan_matches(self.book.open_orders(), now_s + 1)
            if self.serves(self.book.orders[m.buy_order_id].trader, self.book.orders[m.sell_order_id].trader)
        ]
        done.full |= len(plan) > self.max_batch
        for match in plan[: self.max_batch]:
            if stop is not None and stop.is_set():
                return
            call = self.client["EnergyTrading"].functions.matchOrders(match.buy_order_id, match.sell_order_id)
            if self._send(f"matchOrders({match.buy_order_id}, {match.sell_order_id})", call):
                self.report.matched += 1
                done.actions += 1

    def _settle(self, now_s: int, done: _Round) -> None:
        trading = self.client["EnergyTrading"].functions
        window_s = int(trading.settlementWindow().call())
        due: list[int] = []
        for transaction_id in sorted(self.book.pending_transactions):
            if len(due) == min(self.max_batch, MAX_SETTLEMENT_BATCH):
                done.full = True
                break
            info = trading.getTransaction(transaction_id).call()
            if int(info.status) != PENDING:
                self.book.pending_transactions.pop(transaction_id)
                continue
            if int(info.matchedAt) + window_s <= now_s and self.serves(info.buyer, info.seller):
                due.append(transaction_id)
        if not due:
            return
        receipt = self._send(f"settleTransactions({len(due)} ids)", trading.settleTransactions(due))
        if receipt:
            events = self.client["EnergyTrading"].events
            settled = len(events.TransactionSettled().process_receipt(receipt, errors=DISCARD))
            self.report.settled += settled
            self.report.skipped += len(events.TransactionSkipped().process_receipt(receipt, errors=DISCARD))
            done.actions += settled

    def _clear(self, now_s: int, done: _Round, stop: threading.Event | None) -> None:
        book = self.book
        firm = {(ref.auction, ref.period) for ref in book.auction_orders.values() if self.serves(ref.trader)}
        standing = {market for market, meters in book.unsettled_meters.items() if any(self.serves_meter(m) for m in meters)}
        markets = sorted((firm | standing) - book.cleared_markets)
        slots: dict[tuple[str, str], Any] = {}  # a meter's two order slots, read once a round
        sent = 0
        for auction, period in markets:
            if stop is not None and stop.is_set():
                return
            functions = self.client[auction].functions
            if int(functions.clearingTime(period).call()) > now_s:
                continue
            if (auction, period) not in firm and not self._placed_standing(auction, period, slots):
                # Its readings placed nothing (read before their meters had limits, or skipped).
                book.settled_standing(auction, period, list(book.unsettled_meters[(auction, period)]))
                continue
            if sent == self.max_batch:
                done.full = True
                return
            sent += 1
            if not self._stepped_if_needed(auction, period, functions.clear(period)):
                continue
            if self._send(f"{auction}.clear({period})", functions.clear(period)):
                self.report.markets_cleared += 1
                done.actions += 1

    def _stepped_if_needed(self, auction: str, period: int, clear: Any) -> bool:
        """Runs the steps of a coupled market whose clear would take more than one transaction's worth of
        gas (or finishes steps begun by anyone); returns whether the market can now be cleared. A step
        that fails leaves the rest for the next round."""
        stepped = self.client.stepped_clearing
        if stepped is None or auction != self.stepped_market:
            return True
        stage, _ = stepped.stage(period)
        if stage == ClearingStage.NONE and not needs_steps(clear, self.account.address, self.one_transaction_clear_gas):
            return True
        max_ticks = stepped.max_step_ticks()
        while stage != ClearingStage.FINISHED:
            if not self._send(f"SteppedClearing.step({period})", stepped.contract.functions.step(period, max_ticks)):
                return False
            stage, _ = stepped.stage(period)
        return True

    def _placed_standing(self, auction: str, period: int, slots: dict[tuple[str, str], Any]) -> bool:
        """Whether a meter the book names for the market holds an unsettled standing order there."""
        for meter in self.book.unsettled_meters[(auction, period)]:
            if (auction, meter) not in slots:
                slots[(auction, meter)] = self.client[auction].functions.getMeteredOrders(meter).call()
            if any(int(slot[0]) == period and not slot[1] for slot in slots[(auction, meter)]):
                return True
        return False

    def _settle_standing(self, now_s: int, done: _Round, stop: threading.Event | None) -> None:
        """Settles the standing orders of the reading market's cleared markets that no reading settled
        within `standing_grace_s` of the clearing time: batches of up to min(max_batch,
        MAX_STANDING_BATCH) meters, at most max_batch batches a round."""
        auction = self.reading_market
        if auction is None:
            return
        book = self.book
        cleared = [market for market in book.unsettled_meters if market[0] == auction and market in book.cleared_markets]
        functions = self.client[auction].functions
        due_markets = sorted(
            market
            for market in cleared
            if self.standing_grace_s == 0 or int(functions.clearingTime(market[1]).call()) + self.standing_grace_s <= now_s
        )
        due_periods = {period for _, period in due_markets}
        candidates = sorted({m for market in due_markets for m in book.unsettled_meters[market] if self.serves_meter(m)})
        meters = [m for m in candidates if self._has_unsettled(auction, m, due_periods)]
        for period in due_periods:
            book.settled_standing(auction, period, set(candidates) - set(meters))
        size = min(self.max_batch, MAX_STANDING_BATCH)
        batches = [meters[start : start + size] for start in range(0, len(meters), size)]
        done.full |= len(batches) > self.max_batch
        settled_event = self.client[auction].events.MeteredOrdersSettled()
        for batch in batches[: self.max_batch]:
            if stop is not None and stop.is_set():
                return
            call = self.client["SmartMeter"].functions.settleStandingOrders(batch)
            receipt = self._send(f"settleStandingOrders({len(batch)} meters)", call)
            if receipt:
                settled = len(settled_event.process_receipt(receipt, errors=DISCARD))
                self.report.standing_settled += settled
                done.actions += settled
            # Settled, or settled by a reading meanwhile, or failed (in the report): not tried again.
            for period in due_periods:
                book.settled_standing(auction, period, batch)

    def _has_unsettled(self, auction: str, meter: str, periods: set[int]) -> bool:
        """Whether the meter's slots in the auction hold unsettled orders of one of `periods` (a reading
        with energy may have placed nothing: no limits, or skipped)."""
        slots = self.client[auction].functions.getMeteredOrders(meter).call()
        return any(int(slot[0]) in periods and not slot[1] for slot in slots)

    def _claim(self, done: _Round, stop: threading.Event | None) -> None:
        book = self.book
        size = min(self.max_batch, MAX_CLAIM_BATCH)
        by_auction: dict[str, list[int]] = {}
        for key, ref in sorted(book.auction_orders.items()):
            if (ref.auction, ref.period) in book.cleared_markets and key not in book.claimed and self.serves(ref.trader):
                by_auction.setdefault(ref.auction, []).append(ref.order_id)
        batches = [
            (auction, orders[start : start + size]) for auction, orders in by_auction.items() for start in range(0, len(orders), size)
        ]
        done.full |= len(batches) > self.max_batch
        for auction, batch in batches[: self.max_batch]:
            if stop is not None and stop.is_set():
                return
            # claimBatch skips an order someone claimed meanwhile (its trader's next order, in line).
            receipt = self._send(f"{auction}.claimBatch({len(batch)} orders)", self.client[auction].functions.claimBatch(batch))
            if receipt:
                claimed = len(self.client[auction].events.OrderClaimed().process_receipt(receipt, errors=DISCARD))
                self.report.orders_claimed += claimed
                done.actions += claimed
            # Claimed, or claimed by someone else, or failed (in the report): not tried again.
            book.claimed.update((auction, order_id) for order_id in batch)

    # -------------------------------------------------------------------- sending

    def _send(self, what: str, call: Any) -> Any:
        """Dry-runs `call`, then sends it; returns the receipt, or None when it was skipped (someone
        else did it) or failed (recorded in the report)."""
        outcome = send_checked(self.client, self.account, call)
        if outcome.receipt is not None:
            self.report.transactions += 1
            self.report.gas_used += int(outcome.receipt["gasUsed"])
            log.info("sent %s: mined in block %d, %d gas", what, outcome.receipt["blockNumber"], outcome.receipt["gasUsed"])
            return outcome.receipt
        if outcome.unexplained:
            self.report.failures.append(f"{what}: {outcome.error}")
            log.warning("failed %s: %s", what, outcome.error)
        elif outcome.error_name in ALREADY_DONE:
            self.report.skipped += 1
            log.info("skipped %s: done already (%s)", what, outcome.error_name)
        else:
            self.report.failures.append(f"{what} rejected: {outcome.error}")
            log.warning("failed %s: %s", what, outcome.error)
        return None


class KeeperMetrics:
    """The keeper's figures: ServiceMetrics("keeper") (transactions, gas, lag) and its own counters,
    `energy_grid_keeper_actions_total{kind}` (matched, settled, markets_cleared, standing_settled,
    orders_claimed, skipped) and `energy_grid_keeper_failures_total`, fed from its report after
    each round."""

    def __init__(self) -> None:
        self.service = ServiceMetrics("keeper")
        self.actions = self.service.counter("actions", "What the keeper did, by kind.", ["kind"])
        self.failures = self.service.counter("failures", "Rejections that were not a lost race.")
        for kind in COUNTED_ACTIONS:
            self.actions.labels(kind=kind)
        self._seen = KeeperReport()

    @property
    def registry(self) -> Any:
        return self.service.registry

    def observe(self, report: KeeperReport) -> None:
        """Adds what the report counts since the last call."""
        seen = self._seen
        for kind in COUNTED_ACTIONS:
            added = getattr(report, kind) - getattr(seen, kind)
            if added:
                self.actions.labels(kind=kind).inc(added)
        if report.transactions > seen.transactions:
            self.service.transactions.labels(outcome="mined").inc(report.transactions - seen.transactions)
        if report.skipped > seen.skipped:
            self.service.transactions.labels(outcome="skipped").inc(report.skipped - seen.skipped)
        if report.gas_used > seen.gas_used:
            self.service.gas_used.inc(report.gas_used - seen.gas_used)
        if len(report.failures) > len(seen.failures):
            self.failures.inc(len(report.failures) - len(seen.failures))
        self._seen = replace(report, failures=list(report.failures))


def run_keeper(
    client: GridClient,
    account: LocalAccount,
    *,
    once: bool = False,
    poll_interval_s: float = 5.0,
    max_batch: int = 20,
    traders: Iterable[str] | None = None,
    from_block: int = 0,
    stop: threading.Event | None = None,
    on_round: Callable[[KeeperReport], None] | None = None,
    metrics: KeeperMetrics | None = None,
    metrics_port: int | None = None,
    standing_grace_s: int = 0,
    one_transaction_clear_gas: int = ONE_TRANSACTION_CLEAR_GAS,
) -> KeeperReport:
    """Runs keeper rounds: one with `once`, else until `stop` is set or, in the main thread,
    SIGINT or SIGTERM arrives (the transaction in flight completes first). A round that reached a
    batch bound is followed at once by the next; otherwise the keeper waits `poll_interval_s`.
    `traders` limits the keeper to the orders, transactions and markets of those accounts.
    `metrics` gathers the keeper's figures; with `metrics_port` (0: a free one) they are served
    on /metrics, with /health, for as long as the keeper runs. `standing_grace_s`: see the module's
    docstring. A coupled clear estimated above `one_transaction_clear_gas` runs in steps first."""
    keeper = Keeper(
        client,
        account,
        max_batch=max_batch,
        traders=traders,
        from_block=from_block,
        standing_grace_s=standing_grace_s,
        one_transaction_clear_gas=one_transaction_clear_gas,
    )
    stop = stop or threading.Event()
    metrics = metrics or (KeeperMetrics() if metrics_port is not None else None)
    server = None
    if metrics is not None and metrics_port is not None:
        watched = metrics
        server = MetricsServer(watched.registry, health=lambda: keeper_health(watched, poll_interval_s), port=metrics_port).start()
        log.info("metrics on %s/metrics, health on %s/health", server.url, server.url)
    clock = ChainClock(client.w3)
    restore = _stop_on_signals(stop) if not once else None
    try:
        while not stop.is_set():
            try:
                done = keeper.run_round(stop)
            except Exception as err:
                # A round that fails (the node restarting, a block gone by the time it is read) is tried
                # again: the keeper never exits on the chain's account. A single round raises it.
                if once:
                    raise
                if metrics is not None:
                    metrics.service.failed(err)
                log.warning("round failed, trying again in %g s: %s: %s", poll_interval_s, type(err).__name__, err)
                stop.wait(poll_interval_s)
                continue
            if metrics is not None:
                head = clock.head()
                metrics.observe(keeper.report)
                metrics.service.observe_head(head)
                metrics.service.processed(min(keeper.next_block - 1, head.number), head.number)
            if on_round is not None:
                on_round(keeper.report)
            if once:
                break
            if not done.full:
                stop.wait(poll_interval_s)
    finally:
        if restore is not None:
            restore()
        if server is not None:
            server.stop()
    return keeper.report


def keeper_health(metrics: KeeperMetrics, poll_interval_s: float) -> dict[str, Any]:
    """Healthy while rounds keep coming: a keeper stuck on a node that does not answer is not."""
    since_s = metrics.service.seconds_since_step()
    return {
        "healthy": since_s < max(60.0, 10 * poll_interval_s),
        "seconds_since_round": round(since_s, 1),
        "last_error": metrics.service.last_error,
    }


def _stop_on_signals(stop: threading.Event) -> Callable[[], None] | None:
    """Sets `stop` on SIGINT and SIGTERM; returns what puts the previous handlers back."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore
