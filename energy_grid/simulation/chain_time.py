"""Where the model's days land on the chain's clock (local chains only: the driver sets block times).

The model runs on 2025 dates; a chain cannot go back there, so a run maps the model's first
simulated local midnight onto the chain: D = the first local midnight at least BASELINE_DAYS + 1
days after the chain's current time. The BASELINE_DAYS before D receive the model's baseline days
(backdated gateway batches, for DemandResponse's 5-day baselines); the day after "now" leaves room
for the meters' registration to come before their first reading.

Every interval keeps its clock time: model interval k of the run (baseline days included) starts
at `offset_s + model start + 900 k` on the chain, a whole number of days after its 2025 start, so
local clock times, weekdays aside, are the model's.
"""

from __future__ import annotations

from dataclasses import dataclass

from energy_grid.domain.units import DAY_SECONDS, INTERVAL_SECONDS, INTERVALS_PER_DAY

SECONDS_PER_MINUTE = 60


def first_local_midnight_after(timestamp_s: int, utc_offset_minutes: int) -> int:
    """The first local midnight at or after `timestamp_s` (unix s), for a zone `utc_offset_minutes` from UTC."""
    offset_s = utc_offset_minutes * SECONDS_PER_MINUTE
    local_s = timestamp_s + offset_s
    local_midnight = -(-local_s // DAY_SECONDS) * DAY_SECONDS
    return local_midnight - offset_s


@dataclass(frozen=True)
class ChainCalendar:
    """The chain times of a run's intervals."""

    day_start_s: int  # D: chain unix s of the first simulated local midnight
    baseline_days: int

    @property
    def baseline_start_s(self) -> int:
        """Chain time of the model's first (baseline) interval."""
        return self.day_start_s - self.baseline_days * DAY_SECONDS

    @property
    def baseline_intervals(self) -> int:
        return self.baseline_days * INTERVALS_PER_DAY

    def interval_start_s(self, interval: int) -> int:
        """Chain start of simulated interval `interval` (0 = D's first quarter hour; negative = baseline)."""
        return self.day_start_s + interval * INTERVAL_SECONDS

    def step_time_s(self, interval: int) -> int:
        """The block time of interval `interval`'s step: its end."""
        return self.interval_start_s(interval + 1)

    def reading_time_s(self, interval: int) -> int:
        """A reading's timestamp for `interval`: its last second, so the energy lands in it."""
        return self.interval_start_s(interval + 1) - 1

    def interval_of(self, timestamp_s: int) -> int:
        """The simulated interval a chain time falls in (negative in the baseline days)."""
        return (timestamp_s - self.day_start_s) // INTERVAL_SECONDS

    def period_of(self, interval: int) -> int:
        """The auction period (start / 900) of simulated interval `interval`."""
        return self.interval_start_s(interval) // INTERVAL_SECONDS


def plan_day_start(now_s: int, baseline_days: int, utc_offset_minutes: int) -> int:
    """D for a run starting at chain time `now_s`."""
    return first_local_midnight_after(now_s + (baseline_days + 1) * DAY_SECONDS, utc_offset_minutes)


__all__ = ["ChainCalendar", "first_local_midnight_after", "plan_day_start"]
