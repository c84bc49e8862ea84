"""Demand response from meter data: write consumption patterns into SmartMeter cheaply, and verify
reductions with the figures the meter gives (DemandResponse.previewReduction).

SmartMeter books a reading's energy in the 900 s interval the reading falls in, as the increase of
the import register since the meter's previous reading. `MeterWriter` therefore writes one reading
per wanted interval, with the register raised by exactly that interval's energy; intervals it
does not write have no reading and count 0. Readings are sent in gateway batches of up to
SmartMeter.MAX_BATCH_SIZE, and may be backdated (after the meter's previous reading, at most
SmartMeter.maxReadingAge() old, not after the block), so days of history cost one batch per 100
readings, not one block per interval.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from energy_grid.domain.units import (
    FREQUENCY_NOMINAL_MILLIHZ,
    INTERVAL_SECONDS,
    INTERVALS_PER_DAY,
    VOLTAGE_NOMINAL_PER_MILLE,
    transformer_loading_per_mille,
)

BASELINE_DAYS = 5  # DemandResponse's baseline: the same clock intervals of the 5 previous days
READING_OFFSET_SECONDS = 600  # where in its interval a written reading lies
MAX_BATCH_SIZE = 100  # SmartMeter.MAX_BATCH_SIZE

EnergyPattern = Callable[[str, int], int]  # (meter, interval) -> Wh consumed in that interval
BULK_GAS_LIMIT = 10_000_000  # per bulk transaction: skips gas estimation


def send_bulk(contract: Any, method: str, calls: Iterable[Sequence[Any]], sender: Any) -> list[Any]:
    """Sends `contract.method(*args)` for each args in `calls` from `sender` through the node's
    eth_sendTransaction (the sender must be an account the node holds unlocked, as anvil's dev
    accounts are) without ape's per-transaction round trips: about twice ape's rate. Waits for all,
    raises if any reverted; returns the receipts (web3 dicts)."""
    web3 = contract.provider.web3
    encode = getattr(contract, method).encode_input
    hashes = [
        web3.eth.send_transaction(
            {"from": sender.address, "to": contract.address, "data": encode(*args), "gas": BULK_GAS_LIMIT}
        )
        for args in calls
    ]
    receipts = [web3.eth.wait_for_transaction_receipt(h) for h in hashes]
    failed = [i for i, r in enumerate(receipts) if r["status"] != 1]
    if failed:
        raise RuntimeError(f"{method}: {len(failed)} of {len(receipts)} calls reverted, first at {failed[0]}")
    return receipts


def window_intervals(start_time: int, end_time: int) -> list[int]:
    """The 900 s intervals of an event window [start_time, end_time)."""
    return list(range(start_time // INTERVAL_SECONDS, end_time // INTERVAL_SECONDS))


def baseline_intervals(window: Sequence[int], days: int = BASELINE_DAYS) -> list[int]:
    """The same clock intervals on each of the `days` days before `window`, oldest first."""
    return [interval - day * INTERVALS_PER_DAY for day in range(days, 0, -1) for interval in window]


Reading = tuple[int, int, int, int, int]  # ISmartMeter.MeterReading


def interval_readings(
    registers_wh: dict[str, int], meters: Sequence[str], intervals: Iterable[int], energy: EnergyPattern | int
) -> list[tuple[str, Reading]]:
    """One reading per meter and interval, READING_OFFSET_SECONDS into the interval, whose import
    register rose by `energy(meter, interval)` Wh (or a constant) over `registers_wh[meter]`
    (0 if absent), which is updated. In time order, as SmartMeter needs them."""
    wh = energy if callable(energy) else (lambda _meter, _interval: energy)
    items: list[tuple[str, Reading]] = []
    for interval in sorted(set(intervals)):
        timestamp = interval * INTERVAL_SECONDS + READING_OFFSET_SECONDS
        for meter in meters:
            register = registers_wh.get(meter, 0) + wh(meter, interval)
            registers_wh[meter] = register
            items.append((meter, (timestamp, register, 0, FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE)))
    return items


class MeterWriter:
    """Writes consumption into SmartMeter for many meters through the gateway's batches.

    The meters must be registered with installation registers of 0 (`register`, or SmartMeter's
    5-argument registerMeter) before the first interval written; the writer keeps each meter's
    import register, so later writes continue where earlier ones stopped.
    """

    def __init__(self, smart_meter: Any, gateway: Any, bulk: bool = False, batch_size: int = MAX_BATCH_SIZE) -> None:
        """`bulk`: send through `send_bulk` (the gateway must be unlocked in the node). `batch_size`:
        readings per gateway batch, 1..MAX_BATCH_SIZE; an anvil that records every step of every
        transaction (ape-foundry's does) holds memory growing with batch size × batch length, so
        long backfills there are kinder to it in smaller batches."""
        self.smart_meter = smart_meter
        self.gateway = gateway
        self.bulk = bulk
        self.batch_size = batch_size
        self.registers_wh: dict[str, int] = {}

    def register(self, meters: Iterable[str], owners: Iterable[Any], region_id: int) -> None:
        """Registers each meter to its owner with registers 0 (gateway needs OPERATOR_ROLE too)."""
        pairs = list(zip(meters, owners, strict=True))
        calls = [(meter, owner, region_id, 0, 0) for meter, owner in pairs]
        if self.bulk:
            send_bulk(self.smart_meter, "registerMeter", calls, self.gateway)
        else:
            for args in calls:
                self.smart_meter.registerMeter(*args, sender=self.gateway)
        for meter, _ in pairs:
            self.registers_wh[meter] = 0

    def write(self, meters: Sequence[str], intervals: Iterable[int], energy: EnergyPattern | int) -> list[Any]:
        """One reading per meter and interval, READING_OFFSET_SECONDS into the interval, whose
        import register rose by `energy(meter, interval)` Wh (or a constant). Every interval must
        lie after the meters' previous readings and end before the next block. Returns the receipts."""
        items = interval_readings(self.registers_wh, meters, intervals, energy)
        batches = [items[i : i + self.batch_size] for i in range(0, len(items), self.batch_size)]
        calls = [([m for m, _ in batch], [r for _, r in batch]) for batch in batches]
        if self.bulk:
            return send_bulk(self.smart_meter, "submitReadings", calls, self.gateway)
        return [self.smart_meter.submitReadings(*args, sender=self.gateway) for args in calls]

    def write_event_days(
        self,
        meters: Sequence[str],
        start_time: int,
        end_time: int,
        baseline_wh: EnergyPattern | int,
        window_wh: EnergyPattern | int | None,
    ) -> None:
        """Writes `baseline_wh` into the window's clock intervals on the BASELINE_DAYS days before it
        and, unless `window_wh` is None (the window is still ahead), `window_wh` into the window."""
        window = window_intervals(start_time, end_time)
        self.write(meters, baseline_intervals(window), baseline_wh)
        if window_wh is not None:
            self.write(meters, window, window_wh)


def verify_from_meter(demand_response: Any, event_id: int, consumer: Any, sender: Any) -> Any:
    """Submits `consumer`'s reduction in `event_id` with exactly the meter's figures; returns the receipt."""
    figures = demand_response.previewReduction(event_id, consumer)
    return demand_response.verifyReduction(event_id, consumer, *figures, sender=sender)


def expected_power_w(energy_wh: int, interval_count: int) -> int:
    """Average power in W of `energy_wh` over `interval_count` intervals, rounded down (the contract's)."""
    return energy_wh * 3600 // (interval_count * INTERVAL_SECONDS)


def expected_baseline_w(daily_window_wh: Sequence[int], interval_count: int) -> int:
    """Baseline W from the window-clock energy of each baseline day, as MeterBaseline computes it."""
    return sum(daily_window_wh) * 3600 // (BASELINE_DAYS * interval_count * INTERVAL_SECONDS)


# ------------------------------------------------------------------------------------ planning events


def cautious_forecast(days: Sequence[Sequence[int]]) -> list[int]:
    """Each time of day's forecast: the highest figure the past days saw at that time. A planner's
    cautious forecast: the mean of five days smooths away the evening peak (the cars come home at a
    different time each day)."""
    if not days:
        raise ValueError("a forecast needs at least one whole day")
    return [max(day[k] for day in days) for k in range(len(days[0]))]


ForecastSource = Literal["committed", "cautious"]


@dataclass(frozen=True)
class LoadingForecast:
    """A day's forecast transformer loading, per mille of the rating in each interval, and what it was made
    from: the region's forecast committed on chain, or the cautious rule over the baseline days."""

    loading_per_mille: list[int]
    source: ForecastSource


def worst_loading_wh(p10_wh: int, p90_wh: int) -> int:
    """The transformer's loading a forecast band allows for: the larger magnitude of its P10 and P90
    (it carries export as much as import, so within [P10, P90] the worst case is at one end)."""
    return max(abs(p10_wh), abs(p90_wh))


def day_loading_forecast(
    baseline_days_per_mille: Sequence[Sequence[int]],
    committed_wh: tuple[Sequence[int], Sequence[int]] | None = None,
    rating_kva: int | None = None,
    margin_wh: Sequence[int] | None = None,
) -> LoadingForecast:
    """The day's loading forecast: from the forecast committed for the day when there is one covering
    the whole day (`committed_wh`: its P10 and P90, net import in Wh per interval), else the cautious
    forecast over the baseline days. A committed interval's loading is the larger magnitude of P10 and
    P90 (the transformer carries export as much as import, so the worst case within [P10, P90] is at
    one of its ends), widened by its `margin_wh` when given (the forecaster's calibrated loading bound,
    energy_grid.forecast.day_ahead), against `rating_kva`, as the meters' loading is measured."""
    day_length = len(baseline_days_per_mille[0]) if baseline_days_per_mille else INTERVALS_PER_DAY
    if committed_wh is not None and len(committed_wh[0]) == day_length:
        if rating_kva is None or rating_kva <= 0:
            raise ValueError("a committed forecast's loading needs the transformer's rating")
        p10_wh, p90_wh = committed_wh
        margins = margin_wh if margin_wh is not None else [0] * day_length
        worst_wh = [max(0, worst_loading_wh(low, high) + margin) for low, high, margin in zip(p10_wh, p90_wh, margins, strict=True)]
        return LoadingForecast([transformer_loading_per_mille(wh, rating_kva) for wh in worst_wh], "committed")
    return LoadingForecast(cautious_forecast(baseline_days_per_mille), "cautious")


def centred_window(forecast: Sequence[int], span: int, length: int, trigger: int) -> tuple[int, int] | None:
    """Where in a day an event of `length` intervals goes: (its first interval, the peak's), centred
    on the forecast's peak when that reaches `trigger`, within the day's first `span` intervals and
    never in the first (an event is started in the interval before its window); None for no event."""
    if span <= length:  # no window fits after the day's first interval
        return None
    peak = max(range(1, span), key=lambda k: forecast[k])
    if forecast[peak] < trigger:
        return None
    return min(max(1, peak - length // 2), span - length), peak

