"""A small community's meters and their cumulative registers over a day.

Deterministic profiles, good enough to drive the feature tour: rooftop PV follows a half-sine between
sunrise and sunset scaled to its peak power; households draw a base load with morning and
evening peaks. Energy per interval is power × 0.25 h; registers are running sums, as a meter's are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from energy_grid.domain.units import INTERVAL_SECONDS

SUNRISE_HOUR = 6.0
SUNSET_HOUR = 18.0


def pv_power_w(peak_w: int, hour: float) -> int:
    if not SUNRISE_HOUR < hour < SUNSET_HOUR:
        return 0
    return round(peak_w * math.sin(math.pi * (hour - SUNRISE_HOUR) / (SUNSET_HOUR - SUNRISE_HOUR)))


def household_power_w(base_w: int, hour: float) -> int:
    morning = math.exp(-(((hour - 7.5) / 1.2) ** 2))
    evening = math.exp(-(((hour - 19.0) / 1.8) ** 2))
    return round(base_w * (1 + 1.5 * morning + 2.5 * evening))


@dataclass
class Prosumer:
    name: str
    pv_peak_w: int
    base_load_w: int
    region_id: int = 1
    consumption_register_wh: int = 0
    production_register_wh: int = 0
    _import_carry_wh: float = field(default=0.0, repr=False)
    _export_carry_wh: float = field(default=0.0, repr=False)

    def advance(self, hour: float) -> None:
        """Adds one 900 s interval to the registers; only net flows pass the meter."""
        hours = INTERVAL_SECONDS / 3600
        net_w = household_power_w(self.base_load_w, hour) - pv_power_w(self.pv_peak_w, hour)
        self._import_carry_wh += max(net_w, 0) * hours
        self._export_carry_wh += max(-net_w, 0) * hours
        imported, exported = int(self._import_carry_wh), int(self._export_carry_wh)
        self._import_carry_wh -= imported
        self._export_carry_wh -= exported
        self.consumption_register_wh += imported
        self.production_register_wh += exported


def demo_community() -> list[Prosumer]:
    return [
        Prosumer("Alice (rooftop PV)", pv_peak_w=6_000, base_load_w=400),
        Prosumer("Bob (large PV)", pv_peak_w=9_000, base_load_w=600),
        Prosumer("Carol (flat, no PV)", pv_peak_w=0, base_load_w=350),
        Prosumer("Dave (bakery, no PV)", pv_peak_w=0, base_load_w=1_500, region_id=2),
    ]
