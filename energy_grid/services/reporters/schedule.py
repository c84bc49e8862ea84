"""When a report is due, by the chain's clock, and whether a service made it already.

A report is stamped with the time of the block it lands in, and the contracts keep no other time:
an interval's report is therefore made in the interval after it, the *report window* from the
interval's end to the next interval's end. A report for interval k is one made at a block time in
[end of k, end of k + 1); a report cannot be made for an interval whose window has passed, so a
service that was down through a window skips that interval (counted, and logged, as missed).

Whether a service reported already is read from the chain, never remembered: the oracles keep no
per-reporter value, so a reporter looks for its own report events (indexed by region and reporter)
in the blocks stamped at or after the report's due time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from web3 import Web3

from energy_grid.chain.events import EventDecoder, address_topic, uint_topic
from energy_grid.contracts.client import GridClient
from energy_grid.domain.units import INTERVAL_SECONDS, interval_of

LOG_CHUNK_BLOCKS = 10_000  # blocks per eth_getLogs request (public nodes cap the range)
# How long after an interval's end a report waits for the meters' readings at most (chain seconds).
DEFAULT_READING_DELAY_S = 300
LOOKBACK_S = 86_400  # how far back a starting service looks for its own latest report


def interval_start_s(interval: int) -> int:
    return interval * INTERVAL_SECONDS


def last_ended_interval(now_s: int) -> int:
    """The latest interval that has ended at chain time `now_s`: the one whose report window is open."""
    return interval_of(now_s) - 1


def report_due_s(interval: int) -> int:
    """When interval `interval`'s report window opens: the interval's end."""
    return interval_start_s(interval + 1)


def interval_label(interval: int) -> str:
    """An interval as the logs name it: its number and its start in UTC."""
    start = datetime.fromtimestamp(interval_start_s(interval), UTC)
    return f"interval {interval} ({start:%Y-%m-%d %H:%M}Z)"


def missed_reports(last_due_s: int | None, due_s: int, period_s: int = INTERVAL_SECONDS) -> int:
    """How many reports, one every `period_s` (an interval unless given), fell due strictly between two
    due times (0 when the first is unknown)."""
    return 0 if last_due_s is None else max(0, (due_s - last_due_s) // period_s - 1)


class BlockSearch:
    """Finds the first block stamped at or after a time, by bisection over block numbers; what it
    found is kept, as blocks do not change (a service restarted on another chain starts afresh)."""

    def __init__(self, w3: Web3) -> None:
        self.w3 = w3
        self._found: dict[int, int] = {}

    def timestamp_of(self, number: int) -> int:
        return int(self.w3.eth.get_block(number)["timestamp"])

    def first_at_or_after(self, timestamp_s: int) -> int | None:
        """The number of the first block stamped at or after `timestamp_s`; None while the chain is earlier."""
        if timestamp_s in self._found:
            return self._found[timestamp_s]
        head = self.w3.eth.get_block("latest")
        high = int(head["number"])
        if int(head["timestamp"]) < timestamp_s:
            return None
        low = 0
        while low < high:
            middle = (low + high) // 2
            if self.timestamp_of(middle) >= timestamp_s:
                high = middle
            else:
                low = middle + 1
        self._found[timestamp_s] = low
        return low


class OwnReports:
    """A reporter's own report events of one region in one contract (their first two indexed
    arguments are the region and the reporter, as WeatherReported and GridDataReported have them)."""

    def __init__(self, client: GridClient, contract: str, event: str, region_id: int, reporter: str, blocks: BlockSearch) -> None:
        self.client = client
        self.address = client[contract].address
        self.topics: list[Any] = [EventDecoder(client[contract], event).topic, uint_topic(region_id), address_topic(reporter)]
        self.blocks = blocks

    def latest_since(self, timestamp_s: int) -> int | None:
        """The block time of the reporter's latest report made at or after `timestamp_s`; None when
        it made none since."""
        first = self.blocks.first_at_or_after(timestamp_s)
        if first is None:
            return None
        head = int(self.client.w3.eth.block_number)
        latest_block: int | None = None
        start = first
        while start <= head:
            end = min(start + LOG_CHUNK_BLOCKS - 1, head)
            logs = self.client.w3.eth.get_logs({"address": self.address, "topics": self.topics, "fromBlock": start, "toBlock": end})
            if logs:
                latest_block = max(int(entry["blockNumber"]) for entry in logs)
            start = end + 1
        return None if latest_block is None else self.blocks.timestamp_of(latest_block)


__all__ = [
    "DEFAULT_READING_DELAY_S",
    "LOOKBACK_S",
    "BlockSearch",
    "OwnReports",
    "interval_label",
    "interval_start_s",
    "last_ended_interval",
    "missed_reports",
    "report_due_s",
]
