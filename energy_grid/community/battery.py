"""A home battery in whole Wh, run for self-consumption.

Strategy: charge from the PV surplus, discharge to cover the deficit, never from or to the grid.

Losses: the round-trip efficiency η is split evenly between the two directions (√η each).
Everything is integer Wh so that the household's balance closes exactly:
- charging `charge_wh` at the terminals stores `floor(charge_wh × √η)`;
- delivering `discharge_wh` at the terminals draws `ceil(discharge_wh / √η)` from storage;
- the difference is `loss_wh`, and per interval
  `soc_after_wh = soc_before_wh + charge_wh − discharge_wh − loss_wh` holds exactly.
Both roundings favour the battery never holding energy it was not given, so the state of charge
stays within 0..capacity by construction, not by clamping.

Power limits are in W over a 900 s interval: at most `floor(max_w × 900 / 3600)` Wh per interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from energy_grid.domain.units import INTERVAL_SECONDS

SECONDS_PER_HOUR = 3_600


@dataclass(frozen=True)
class BatterySpec:
    """A battery's ratings."""

    capacity_wh: int  # usable
    max_charge_w: int  # at the AC terminals
    max_discharge_w: int  # at the AC terminals
    round_trip_efficiency: float  # energy out / energy in over a full cycle, 0 < η ≤ 1
    initial_soc_wh: int

    def __post_init__(self) -> None:
        if not 0 < self.round_trip_efficiency <= 1:
            raise ValueError(
                f"round-trip efficiency must be in (0, 1], got {self.round_trip_efficiency}"
            )
        if not 0 <= self.initial_soc_wh <= self.capacity_wh:
            raise ValueError(
                f"initial state of charge {self.initial_soc_wh} Wh outside 0..{self.capacity_wh}"
            )
        if self.max_charge_w < 0 or self.max_discharge_w < 0:
            raise ValueError("power limits must not be negative")

    @property
    def one_way_efficiency(self) -> float:
        return math.sqrt(self.round_trip_efficiency)

    @property
    def max_charge_wh_per_interval(self) -> int:
        return self.max_charge_w * INTERVAL_SECONDS // SECONDS_PER_HOUR

    @property
    def max_discharge_wh_per_interval(self) -> int:
        return self.max_discharge_w * INTERVAL_SECONDS // SECONDS_PER_HOUR


@dataclass(frozen=True)
class BatteryFlow:
    """One interval's flows at the battery's terminals (at most one of charge and discharge)."""

    charge_wh: int
    discharge_wh: int
    loss_wh: int
    soc_wh: int  # after the interval


@dataclass
class Battery:
    """A battery's state of charge over a run."""

    spec: BatterySpec
    soc_wh: int

    @classmethod
    def new(cls, spec: BatterySpec) -> Battery:
        return cls(spec=spec, soc_wh=spec.initial_soc_wh)

    def charge(self, surplus_wh: int) -> BatteryFlow:
        """Takes what it can of `surplus_wh` (terminal energy): limited by power and headroom."""
        efficiency = self.spec.one_way_efficiency
        headroom_wh = self.spec.capacity_wh - self.soc_wh
        # The largest terminal energy whose stored part fits the headroom.
        fits_wh = math.floor(headroom_wh / efficiency)
        charge_wh = max(0, min(surplus_wh, self.spec.max_charge_wh_per_interval, fits_wh))
        # min(): float rounding must never store more than the headroom.
        stored_wh = min(math.floor(charge_wh * efficiency), headroom_wh)
        if stored_wh == 0:
            # A Wh or two that would all be lost (nearly full, or a sliver of surplus): export it.
            charge_wh = 0
        self.soc_wh += stored_wh
        return BatteryFlow(
            charge_wh=charge_wh, discharge_wh=0, loss_wh=charge_wh - stored_wh, soc_wh=self.soc_wh
        )

    def discharge(self, deficit_wh: int) -> BatteryFlow:
        """Delivers what it can of `deficit_wh` (terminal energy): limited by power and charge."""
        efficiency = self.spec.one_way_efficiency
        deliverable_wh = math.floor(self.soc_wh * efficiency)
        discharge_wh = max(
            0, min(deficit_wh, self.spec.max_discharge_wh_per_interval, deliverable_wh)
        )
        # Never less than delivered (η ≤ 1), never more than stored (float rounding).
        drawn_wh = max(discharge_wh, min(math.ceil(discharge_wh / efficiency), self.soc_wh))
        self.soc_wh -= drawn_wh
        return BatteryFlow(
            charge_wh=0,
            discharge_wh=discharge_wh,
            loss_wh=drawn_wh - discharge_wh,
            soc_wh=self.soc_wh,
        )

    def idle(self) -> BatteryFlow:
        return BatteryFlow(charge_wh=0, discharge_wh=0, loss_wh=0, soc_wh=self.soc_wh)
