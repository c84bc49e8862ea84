"""What `live status` tells of a running community besides supervisord's states: each program's
last problem, and how far each of the latest intervals has come.

- A program's last problem is the last line of its log file (logs/<program>.log) that the services'
  log format marks WARNING, ERROR or CRITICAL, with the time it carries. The file is read from its
  end, a block at a time, so a long log costs no more than its tail.
- An interval's progress is read from the chain and the virtual meters' series, the sources the
  live audit trusts: the readings published (the series holds the interval once the virtual meters
  published every household's reading of it), the readings on chain (SmartMeter's nonce of each
  meter: nonce n means its readings of intervals 0 … n − 1 are in), the interval's market (EnergyAuction's
  getMarket: cleared, its price and the energy it traded) and the meters whose standing orders of
  that market were settled (EnergyAuction's MeteredOrdersSettled). The services' metrics count since
  each one started, not per interval, so they answer none of these.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from energy_grid.chain.events import EventDecoder, first_block_at
from energy_grid.contracts.client import GridClient
from energy_grid.contracts.sender import TransactionSender, prepare
from energy_grid.domain.units import INTERVAL_SECONDS
from energy_grid.live.community import LiveCommunity
from energy_grid.live.series import read_series
from energy_grid.services.runtime import PROBLEM_LINE

PROGRESS_INTERVALS = 4  # the latest intervals `live status` shows: an hour
LOG_BLOCK_BYTES = 65_536
AUCTION = "EnergyAuction"  # the quarter-hourly auction the meters' standing orders trade in


@dataclass(frozen=True)
class Problem:
    """A log line of a problem: its time as the line carries it, its level and its message."""

    time: str
    level: str
    message: str


def last_problem(log_file: Path) -> Problem | None:
    """The last WARNING, ERROR or CRITICAL line of the log file; None when it has none (or no file)."""
    try:
        with log_file.open("rb") as log:
            end = log.seek(0, os.SEEK_END)
            tail = b""
            while end > 0:
                start = max(0, end - LOG_BLOCK_BYTES)
                log.seek(start)
                block = log.read(end - start) + tail
                # The block's first line may be cut: it is read whole with the block before, unless the file starts here.
                lines = block.split(b"\n")
                tail, whole = (b"", lines) if start == 0 else (lines[0], lines[1:])
                for line in reversed(whole):
                    found = PROBLEM_LINE.match(line.decode(errors="replace").rstrip("\r"))
                    if found is not None:
                        return Problem(found["time"], found["level"], found["message"])
                end = start
    except FileNotFoundError:
        return None
    return None


@dataclass(frozen=True)
class IntervalProgress:
    """How far one simulated interval of the live community has come."""

    interval: int
    start_s: int  # chain time
    households: int
    published: int  # readings the virtual meters published
    on_chain: int  # meters whose reading of the interval is on chain
    cleared: bool  # the interval's market
    clearing_price_per_kwh: int | None  # None until the market cleared
    traded_wh: int
    standing_settled: int  # meters whose standing orders of the market were settled

    def as_json(self) -> dict[str, Any]:
        return {
            "interval": self.interval, "start_s": self.start_s, "households": self.households, "published": self.published,
            "on_chain": self.on_chain, "cleared": self.cleared, "clearing_price_per_kwh": self.clearing_price_per_kwh,
            "traded_wh": self.traded_wh, "standing_settled": self.standing_settled,
        }


def interval_progress(client: GridClient, community: LiveCommunity, intervals: int = PROGRESS_INTERVALS) -> list[IntervalProgress]:
    """The progress of the latest `intervals` simulated intervals that have ended on the chain's
    clock, the oldest first; none before the first interval ends."""
    w3 = client.w3
    head = w3.eth.get_block("latest")
    last = (int(head["timestamp"]) - community.day_start_s) // INTERVAL_SECONDS - 1
    if last < 0:
        return []
    shown = range(max(0, last - intervals + 1), last + 1)
    starts = {i: community.day_start_s + i * INTERVAL_SECONDS for i in shown}
    periods = {i: start_s // INTERVAL_SECONDS for i, start_s in starts.items()}
    households = community.config.households
    published = read_series(community.series_file)
    meters = [account.address for account in community.meter_keys()]
    reader = TransactionSender(client, manual_mining=False)
    nonces = [int(n) for n in reader.read([prepare(client["SmartMeter"], "nonces", m) for m in meters])]
    auction = client.auctions[AUCTION]
    markets = {i: auction.get_market(periods[i]) for i in shown}
    settled = _meters_settled(client, set(periods.values()), starts[shown[0]], int(head["number"]))
    return [
        IntervalProgress(
            interval=i,
            start_s=starts[i],
            households=households,
            published=households if i in published else 0,
            on_chain=sum(1 for nonce in nonces if nonce > i),
            cleared=markets[i].cleared,
            clearing_price_per_kwh=markets[i].clearing_price_per_kwh if markets[i].cleared else None,
            traded_wh=markets[i].volume_wh,
            standing_settled=len(settled[periods[i]]),
        )
        for i in shown
    ]


def _meters_settled(client: GridClient, periods: set[int], since_s: int, head_block: int) -> dict[int, set[str]]:
    """By period, the meters whose standing orders of its market were settled: the settlement events
    from the first block of the earliest period shown (none can settle a market before it begins)."""
    settled_event = EventDecoder(client[AUCTION], "MeteredOrdersSettled")
    first = first_block_at(client.w3, since_s, 0, head_block)
    query = {"address": client[AUCTION].address, "topics": [settled_event.topic], "fromBlock": hex(first), "toBlock": hex(head_block)}
    settled: dict[int, set[str]] = defaultdict(set)
    if first > head_block:
        return settled
    for log in TransactionSender(client, manual_mining=False).rpc("eth_getLogs", [query]):
        fill = settled_event.decode(log)
        if int(fill["period"]) in periods:
            settled[int(fill["period"])].add(str(fill["meter"]))
    return settled


__all__ = ["PROGRESS_INTERVALS", "IntervalProgress", "Problem", "interval_progress", "last_problem"]
