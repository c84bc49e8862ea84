"""What the chain says of a soak run's simulated intervals, read back once the community is at rest.

- Each meter's signed readings on chain (SmartMeter's ReadingAccepted, from the first block of the
  simulated day on): a meter that has exactly one reading per interval, one per reading time, lost
  none and has none twice. A reading without its event that the meter's load profile holds counts
  as on chain: a node restarted from its last state dump (anvil) may hold storage a little newer
  than its last block, so the reading stands in the state while its block, and event, are gone.
- Each reading's block time against its market's clearing time (EnergyAuction.clearingTime of the
  period the reading measured): a reading is on time when its block came before the market closed
  (the auction takes a reading's standing orders while `block.timestamp < clearingTime`). A late
  reading is still booked; its standing orders are skipped (MeteredOrderSkipped, MARKET_CLOSED).
- The intervals' reading markets, by their state (EnergyAuction.getMarket): those that took an
  order and those of them that cleared. The state, not the MarketCleared events, because a node
  restarted from its last state dump may hold storage a little newer than its last block: a
  clearing can stand in the state while its block, and so its event, is gone. An interval whose
  readings all came late has no order in its market and nothing to clear.
- The gateway's transactions in those blocks: how many, how many failed, the gas they used.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from hexbytes import HexBytes
from web3 import Web3

from energy_grid.chain.events import EventDecoder, address_topic, first_block_at
from energy_grid.contracts.client import GridClient
from energy_grid.contracts.sender import TransactionSender
from energy_grid.domain.units import INTERVAL_SECONDS

TOPIC_CHUNK = 200  # meters a log query asks for at once
# OpenZeppelin's Pausable events, which SmartMeter emits when its guardian pauses and lifts it.
PAUSED_TOPIC = "0x" + bytes(Web3.keccak(text="Paused(address)")).hex()
UNPAUSED_TOPIC = "0x" + bytes(Web3.keccak(text="Unpaused(address)")).hex()
SKIP_REASONS = ("NOT_APPROVED", "MARKET_CLOSED", "PRICE_OFF_GRID", "TICK_FULL", "ALREADY_PLACED", "NOTHING_FREE", "PAUSED")


@dataclass
class ChainFacts:
    intervals: int
    meters: int
    readings: int = 0
    readings_on_time: int = 0
    late_by_interval: Counter[int] = field(default_factory=Counter)
    meters_complete: int = 0  # exactly one reading per reading time of the intervals
    duplicated: int = 0  # readings beyond one per meter and reading time
    without_event: int = 0  # readings the load profiles hold whose event the node lost
    missing: int = 0  # (meter, interval) pairs with no reading
    skipped_by_reason: Counter[str] = field(default_factory=Counter)
    markets_with_orders: int = 0  # the intervals' reading markets that took an order
    markets_cleared: int = 0  # of those, the cleared ones
    intervals_without_orders: list[int] = field(default_factory=list)
    gateway_transactions: int = 0
    gateway_failed: int = 0
    gateway_failed_paused: int = 0  # of those, the ones in a block after SmartMeter's pause, before its unpause
    gateway_gas: int = 0
    first_block: int = 0
    last_block: int = 0
    on_chain_at: set[tuple[str, int]] = field(default_factory=set)  # (meter in lowercase, reading time) of each reading

    @property
    def expected_readings(self) -> int:
        return self.intervals * self.meters

    @property
    def on_time_share(self) -> float:
        return self.readings_on_time / self.expected_readings if self.expected_readings else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "readingsExpected": self.expected_readings,
            "readingsOnChain": self.readings,
            "readingsOnTime": self.readings_on_time,
            "onTimeShare": round(self.on_time_share, 5),
            "lateByInterval": {str(k): v for k, v in sorted(self.late_by_interval.items())},
            "metersComplete": self.meters_complete,
            "readingsMissing": self.missing,
            "readingsDuplicated": self.duplicated,
            "readingsWithoutEvent": self.without_event,
            "standingOrdersSkippedByReason": dict(sorted(self.skipped_by_reason.items())),
            "marketsWithOrders": self.markets_with_orders,
            "marketsCleared": self.markets_cleared,
            "intervalsWithoutOrders": self.intervals_without_orders,
            "gatewayTransactions": self.gateway_transactions,
            "gatewayTransactionsFailed": self.gateway_failed,
            "gatewayTransactionsFailedWhilePaused": self.gateway_failed_paused,
            "gatewayGas": self.gateway_gas,
            "blocks": [self.first_block, self.last_block],
        }


def read_chain_facts(client: GridClient, meters: list[str], gateway: str, day_start_s: int, intervals: int) -> ChainFacts:
    """The facts of intervals 0 … `intervals` − 1 of the day that starts at `day_start_s`, for
    `meters`, with `gateway` the gateway service's account."""
    sender = TransactionSender(client, manual_mining=False)
    w3 = client.w3
    facts = ChainFacts(intervals, len(meters))
    latest = int(w3.eth.block_number)
    # The set-up's last blocks are stamped D itself: the day's own blocks come after.
    facts.first_block = first_block_at(w3, day_start_s + 1, 0, latest)
    facts.last_block = latest
    reading_times = {day_start_s + (i + 1) * INTERVAL_SECONDS - 1: i for i in range(intervals)}
    on_chain = _read_readings(facts, client, sender, meters, reading_times)
    _read_markets(facts, client, sender, reading_times, on_chain)
    _read_skipped(facts, client, sender, meters)
    _read_gateway(facts, sender, gateway, client["SmartMeter"].address)
    return facts


def _read_readings(
    facts: ChainFacts, client: GridClient, sender: TransactionSender, meters: list[str], reading_times: dict[int, int]
) -> list[tuple[int, int]]:
    """Counts each meter's readings of the reading times; returns (reading time, block) of each."""
    accepted = EventDecoder(client["SmartMeter"], "ReadingAccepted")
    by_meter: dict[str, Counter[int]] = defaultdict(Counter)
    on_chain: list[tuple[int, int]] = []
    for start in range(0, len(meters), TOPIC_CHUNK):
        topics = [accepted.topic, [address_topic(m) for m in meters[start : start + TOPIC_CHUNK]]]
        for log in _logs(sender, accepted.address, topics, facts.first_block, facts.last_block):
            args = accepted.decode(log)
            timestamp = int(args["timestamp"])
            if timestamp not in reading_times:
                continue  # a reading of another time (none in a soak's run)
            by_meter[str(args["meter"]).lower()][timestamp] += 1
            on_chain.append((timestamp, int(log["blockNumber"], 16)))
    held = _held_without_event(client, meters, by_meter, reading_times)
    for meter in meters:
        counts = by_meter.get(meter.lower(), Counter())
        counts.update(held.get(meter, []))
        facts.on_chain_at.update((meter.lower(), t) for t, n in counts.items() if n > 0)
        facts.missing += sum(1 for t in reading_times if counts[t] == 0)
        facts.duplicated += sum(n - 1 for n in counts.values() if n > 1)
        facts.meters_complete += all(counts[t] == 1 for t in reading_times)
    facts.without_event = sum(len(times) for times in held.values())
    facts.readings = len(on_chain) + facts.without_event
    return on_chain


def _held_without_event(
    client: GridClient, meters: list[str], by_meter: dict[str, Counter[int]], reading_times: dict[int, int]
) -> dict[str, list[int]]:
    """By meter, the reading times with no ReadingAccepted whose interval the meter's load profile
    holds a reading in (its frequency is 0 where the meter read nothing)."""
    gaps = {m: [t for t in reading_times if by_meter.get(m.lower(), Counter())[t] == 0] for m in meters}
    gaps = {m: times for m, times in gaps.items() if times}
    if not gaps:
        return {}
    first = min(reading_times) // INTERVAL_SECONDS
    held: dict[str, list[int]] = {}
    for meter, times in gaps.items():
        records = client.smart_meter.interval_history(meter, first, len(reading_times))
        held[meter] = [t for t in times if records[t // INTERVAL_SECONDS - first].grid_frequency_millihz > 0]
    return held


def _read_markets(
    facts: ChainFacts, client: GridClient, sender: TransactionSender, reading_times: dict[int, int], on_chain: list[tuple[int, int]]
) -> None:
    """Each reading on time or late against its market's clearing time, and each market's state."""
    auction = client["EnergyAuction"].functions
    period_length_s = int(auction.periodLength().call())
    closes_at = {t: int(auction.clearingTime(t // period_length_s).call()) for t in reading_times}
    blocks = sorted({block for _, block in on_chain})
    block_time = dict(zip(blocks, sender.block_timestamps(blocks), strict=True))
    for timestamp, block in on_chain:
        if block_time[block] < closes_at[timestamp]:
            facts.readings_on_time += 1
        else:
            facts.late_by_interval[reading_times[timestamp]] += 1
    for timestamp, interval in reading_times.items():
        # A market's tick count is 0 until its first order fixes its grid.
        market = client.auctions["EnergyAuction"].get_market(timestamp // period_length_s)
        if market.cleared or market.tick_count != 0:
            facts.markets_with_orders += 1
            facts.markets_cleared += market.cleared
        else:
            facts.intervals_without_orders.append(interval)


def _read_skipped(facts: ChainFacts, client: GridClient, sender: TransactionSender, meters: list[str]) -> None:
    skipped = EventDecoder(client["EnergyAuction"], "MeteredOrderSkipped")
    for start in range(0, len(meters), TOPIC_CHUNK):
        topics = [skipped.topic, [address_topic(m) for m in meters[start : start + TOPIC_CHUNK]]]
        for log in _logs(sender, skipped.address, topics, facts.first_block, facts.last_block):
            reason = int(skipped.decode(log)["reason"])
            facts.skipped_by_reason[SKIP_REASONS[reason] if reason < len(SKIP_REASONS) else str(reason)] += 1


def _read_gateway(facts: ChainFacts, sender: TransactionSender, gateway: str, smart_meter: str) -> None:
    """The gateway's transactions, in chain order; a failed one is told apart when SmartMeter was
    paused at its place in the chain (a guardian's pause mined before it, in its block or earlier,
    and not yet lifted): no gateway can foresee that."""
    numbers = list(range(facts.first_block, facts.last_block + 1))
    paused = False
    for receipts in sender.rpc_batch([("eth_getBlockReceipts", [hex(b)]) for b in numbers]):
        for receipt in receipts or []:
            for log in receipt["logs"]:
                if str(log["address"]).lower() == smart_meter.lower() and log["topics"]:
                    topic = "0x" + bytes(HexBytes(log["topics"][0])).hex()
                    paused = {PAUSED_TOPIC: True, UNPAUSED_TOPIC: False}.get(topic, paused)
            if str(receipt["from"]).lower() == gateway.lower():
                failed = int(receipt["status"], 16) != 1
                facts.gateway_transactions += 1
                facts.gateway_failed += failed
                facts.gateway_failed_paused += failed and paused
                facts.gateway_gas += int(receipt["gasUsed"], 16)


def _logs(sender: TransactionSender, address: str, topics: list[Any], from_block: int, to_block: int) -> list[dict[str, Any]]:
    query = {"address": address, "topics": topics, "fromBlock": hex(from_block), "toBlock": hex(to_block)}
    logs: list[dict[str, Any]] = sender.rpc("eth_getLogs", [query])
    return logs


__all__ = ["ChainFacts", "read_chain_facts"]
