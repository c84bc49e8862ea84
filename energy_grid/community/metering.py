"""A household's energy in whole Wh per interval, and its meter's cumulative registers.

From the models' float energies to integers without losing anything: `WhCounter` keeps the exact
running total and hands out per interval the change of its floor, so the integer Wh of all
intervals add up to floor(total) — a remainder is carried, never dropped nor counted twice.

The split of one interval (all integers, all ≥ 0), with C = consumption and P = PV production:

    pv_self_used_wh = min(C, P)                       PV used in the house at once
    surplus = P − pv_self_used_wh  →  battery_charge_wh + export_wh
    deficit = C − pv_self_used_wh  →  battery_discharge_wh + import_wh

so, exactly, for every household and interval:

    consumption_wh + battery_grid_charge_wh = pv_self_used_wh + battery_discharge_wh + import_wh
    pv_wh = pv_self_used_wh + (battery_charge_wh − battery_grid_charge_wh) + export_wh

where `battery_grid_charge_wh` is what a battery told to charge from the grid (flex.py: its zone's
price is low) draws through the meter beyond the PV surplus: it tops the surplus up to the battery's
power and is 0 otherwise, which leaves the plain self-consumption identities. At most one of surplus
and deficit is non-zero, hence at most one of import and export and at most one of charge and
discharge: a meter sees only the net flow. The battery's own identity is in
battery.py (its losses are inside the house, behind the meter).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from energy_grid.community.battery import Battery, BatteryFlow


@dataclass
class WhCounter:
    """Whole Wh out of a float energy stream, remainders carried."""

    total_wh: float = 0.0  # exact running total of what was added
    counted_wh: int = 0  # whole Wh handed out so far = floor(total_wh)

    def add(self, energy_wh: float) -> int:
        """Adds `energy_wh` (≥ 0) and returns the whole Wh it completes."""
        if energy_wh < 0:
            raise ValueError(f"energy must not be negative, got {energy_wh}")
        self.total_wh += energy_wh
        whole_wh = math.floor(self.total_wh) - self.counted_wh
        self.counted_wh += whole_wh
        return whole_wh


@dataclass(frozen=True)
class EnergySplit:
    """Where one interval's consumption came from and its production went (integer Wh)."""

    consumption_wh: int
    pv_wh: int
    pv_self_used_wh: int
    battery_charge_wh: int
    battery_discharge_wh: int
    battery_loss_wh: int
    battery_soc_wh: int  # after the interval; 0 without a battery
    import_wh: int
    export_wh: int
    battery_grid_charge_wh: int = 0  # of battery_charge_wh, what came through the meter


def split_interval(consumption_wh: int, pv_wh: int, battery: Battery | None, *, grid_charge: bool = False) -> EnergySplit:
    """The interval's balance behind the meter (see the module docstring for the identities). With
    `grid_charge` a battery charges at its full power, from the PV surplus first and the grid for
    the rest, and covers no deficit."""
    pv_self_used_wh = min(consumption_wh, pv_wh)
    surplus_wh = pv_wh - pv_self_used_wh
    deficit_wh = consumption_wh - pv_self_used_wh
    flow: BatteryFlow
    if battery is not None and grid_charge:
        flow = battery.charge(battery.spec.max_charge_wh_per_interval)
        from_grid_wh = max(0, flow.charge_wh - surplus_wh)
        return EnergySplit(
            consumption_wh=consumption_wh,
            pv_wh=pv_wh,
            pv_self_used_wh=pv_self_used_wh,
            battery_charge_wh=flow.charge_wh,
            battery_discharge_wh=0,
            battery_loss_wh=flow.loss_wh,
            battery_soc_wh=flow.soc_wh,
            import_wh=deficit_wh + from_grid_wh,
            export_wh=surplus_wh - (flow.charge_wh - from_grid_wh),
            battery_grid_charge_wh=from_grid_wh,
        )
    if battery is None:
        flow = BatteryFlow(charge_wh=0, discharge_wh=0, loss_wh=0, soc_wh=0)
    elif surplus_wh > 0:
        flow = battery.charge(surplus_wh)
    elif deficit_wh > 0:
        flow = battery.discharge(deficit_wh)
    else:
        flow = battery.idle()
    return EnergySplit(
        consumption_wh=consumption_wh,
        pv_wh=pv_wh,
        pv_self_used_wh=pv_self_used_wh,
        battery_charge_wh=flow.charge_wh,
        battery_discharge_wh=flow.discharge_wh,
        battery_loss_wh=flow.loss_wh,
        battery_soc_wh=flow.soc_wh,
        import_wh=deficit_wh - flow.discharge_wh,
        export_wh=surplus_wh - flow.charge_wh,
    )


@dataclass
class Meter:
    """A household's bidirectional meter: cumulative import and export registers (Wh).

    SmartMeter's reading calls them `consumption` (import) and `production` (export).
    """

    import_register_wh: int = 0
    export_register_wh: int = 0

    def record(self, import_wh: int, export_wh: int) -> None:
        self.import_register_wh += import_wh
        self.export_register_wh += export_wh
