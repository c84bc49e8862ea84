"""What the chain says of a soak run's simulated intervals, read back once the community is at rest.

- Each meter's signed readings on chain (SmartMeter's ReadingAccepted, from the first block of the
  simulated day on): a meter that has exactly one reading per interval, one per reading time, lost
  none and has none twice.
- Each reading's block time against its market's clearing time (EnergyAuction.clearingTime of the
  period the reading measured): a reading is on time when its block came before the market closed
  (the auction takes a reading's standing orders while `block.timestamp < clearingTime`). A late
  reading is still booked; its standing orders are skipped (MeteredOrderSkipped, MARKET_CLOSED).
- The intervals' reading markets that cleared (MarketCleared).
- The gateway's transactions in those blocks: how many, how many failed, the gas they used.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from energy_grid.chain.client import GridClient
from energy_grid.chain.events import EventDecoder, address_topic, first_block_at
from energy_grid.chain.sender import TransactionSender
from energy_grid.domain.units import INTERVAL_SECONDS

TOPIC_CHUNK = 200  # meters a log query asks for at once
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
    missing: int = 0  # (meter, interval) pairs with no reading
    skipped_by_reason: Counter[str] = field(default_factory=Counter)
    markets_cleared: int = 0  # the intervals' reading markets cleared (EnergyAuction's MarketCleared)
    gateway_transactions: int = 0
    gateway_failed: int = 0
    gateway_gas: int = 0
    first_block: int = 0
    last_block: int = 0

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
            "standingOrdersSkippedByReason": dict(sorted(self.skipped_by_reason.items())),
            "marketsCleared": self.markets_cleared,
            "gatewayTransactions": self.gateway_transactions,
            "gatewayTransactionsFailed": self.gateway_failed,
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

    accepted = EventDecoder(client["SmartMeter"], "ReadingAccepted")
    by_meter: dict[str, Counter[int]] = defaultdict(Counter)
    on_chain: list[tuple[int, int]] = []  # (reading time, block) of the day's readings
    for start in range(0, len(meters), TOPIC_CHUNK):
        topics = [accepted.topic, [address_topic(m) for m in meters[start : start + TOPIC_CHUNK]]]
        for log in _logs(sender, accepted.address, topics, facts.first_block, latest):
            args = accepted.decode(log)
            timestamp = int(args["timestamp"])
            if timestamp not in reading_times:
                continue  # a reading of another time (none in a soak's run)
            by_meter[str(args["meter"]).lower()][timestamp] += 1
            on_chain.append((timestamp, int(log["blockNumber"], 16)))
    for meter in meters:
        counts = by_meter.get(meter.lower(), Counter())
        facts.missing += sum(1 for t in reading_times if counts[t] == 0)
        facts.duplicated += sum(n - 1 for n in counts.values() if n > 1)
        facts.meters_complete += all(counts[t] == 1 for t in reading_times)
    facts.readings = len(on_chain)

    auction = client["EnergyAuction"].functions
    period_length_s = int(auction.periodLength().call())
    periods = {t // period_length_s for t in reading_times}
    closes_at = {p: int(auction.clearingTime(p).call()) for p in periods}
    blocks = sorted({block for _, block in on_chain})
    block_time = dict(zip(blocks, sender.block_timestamps(blocks), strict=True))
    for timestamp, block in on_chain:
        if block_time[block] < closes_at[timestamp // period_length_s]:
            facts.readings_on_time += 1
        else:
            facts.late_by_interval[reading_times[timestamp]] += 1

    cleared = EventDecoder(client["EnergyAuction"], "MarketCleared")
    cleared_periods = {
        int(cleared.decode(log)["period"]) for log in _logs(sender, cleared.address, [cleared.topic], facts.first_block, latest)
    }
    facts.markets_cleared = len(periods & cleared_periods)

    skipped = EventDecoder(client["EnergyAuction"], "MeteredOrderSkipped")
    for start in range(0, len(meters), TOPIC_CHUNK):
        topics = [skipped.topic, [address_topic(m) for m in meters[start : start + TOPIC_CHUNK]]]
        for log in _logs(sender, skipped.address, topics, facts.first_block, latest):
            reason = int(skipped.decode(log)["reason"])
            facts.skipped_by_reason[SKIP_REASONS[reason] if reason < len(SKIP_REASONS) else str(reason)] += 1

    numbers = list(range(facts.first_block, latest + 1))
    for receipts in sender.rpc_batch([("eth_getBlockReceipts", [hex(b)]) for b in numbers]):
        for receipt in receipts or []:
            if str(receipt["from"]).lower() == gateway.lower():
                facts.gateway_transactions += 1
                facts.gateway_failed += int(receipt["status"], 16) != 1
                facts.gateway_gas += int(receipt["gasUsed"], 16)
    return facts


def _logs(sender: TransactionSender, address: str, topics: list[Any], from_block: int, to_block: int) -> list[dict[str, Any]]:
    query = {"address": address, "topics": topics, "fromBlock": hex(from_block), "toBlock": hex(to_block)}
    logs: list[dict[str, Any]] = sender.rpc("eth_getLogs", [query])
    return logs


__all__ = ["ChainFacts", "read_chain_facts"]
