"""The low-voltage grid: a pandapower benchmark network and one AC power flow per interval.

Default network: Kerber's rural cable grid 1 (`create_kerber_landnetz_kabel_1`), a 100 kVA
10/0.4 kV transformer feeding 8 house connections over two NAYY cable feeders. Households are
placed on its load buses round-robin in bus order (household i on load bus i mod 8), so a
community of 30 puts 3–4 households behind each connection, as a row of terraced houses would.

Each interval a bus's load is the net active power of its households' meters (import − export,
mean over the interval; negative = the bus feeds the grid) and a reactive power for their
consumption at cos φ = 0.95 inductive (PV inverters and batteries run at unity power factor).

Units out: W; voltage in per mille of nominal (1000 = 100 %); transformer loading
in per cent (pandapower's own figure) and per mille. Frequency is not a result of a power flow:
the MV grid behind the transformer is a slack that holds it, so the state reports nominal
50,000 mHz, always.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pandapower as pp
import pandapower.networks as pn

from energy_grid.units import FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE

WATTS_PER_MEGAWATT = 1_000_000
LOAD_POWER_FACTOR = 0.95
REACTIVE_PER_ACTIVE = math.tan(math.acos(LOAD_POWER_FACTOR))  # var per W of consumption
LV_MAX_KV = 1.0  # buses at or below this nominal voltage are the low-voltage side

NETWORKS: Mapping[str, Callable[[], pp.pandapowerNet]] = {
    "kerber_landnetz_kabel_1": pn.create_kerber_landnetz_kabel_1,  # 8 connections, 100 kVA
    "kerber_landnetz_kabel_2": pn.create_kerber_landnetz_kabel_2,  # 14 connections, 160 kVA
    "kerber_dorfnetz": pn.create_kerber_dorfnetz,  # 57 connections, 400 kVA
}
DEFAULT_NETWORK = "kerber_landnetz_kabel_1"
NETWORK_CABLE_SEED = 0  # which house connections get which cable type: one fixed grid


def _build_network(network: str) -> pp.pandapowerNet:
    """The network, the same every time: Kerber's generators draw each house connection's cable
    type from Python's global `random` (half one type, half another), so they run here under a
    fixed seed, and the caller's random state is left as it was."""
    saved = random.getstate()
    random.seed(NETWORK_CABLE_SEED)
    try:
        return NETWORKS[network]()
    finally:
        random.setstate(saved)


@dataclass(frozen=True)
class BusLoad:
    """What the households behind one bus do during an interval (W, mean over the interval)."""

    consumption_w: float  # their consumption
    generation_w: float  # their PV production
    net_active_w: (
        float  # import − export at their meters, batteries included; < 0 = feeding the grid
    )

    @property
    def reactive_var(self) -> float:
        return self.consumption_w * REACTIVE_PER_ACTIVE


@dataclass(frozen=True)
class GridState:
    """The grid during one interval."""

    transformer_loading_percent: float  # pandapower's: apparent power / rating, worse side
    transformer_loading_per_mille: int
    transformer_rating_va: int
    bus_voltage_per_mille: Mapping[int, int]  # every low-voltage bus, by pandapower bus index
    voltage_min_per_mille: int  # over the low-voltage buses
    voltage_max_per_mille: int
    grid_import_w: int  # drawn from the MV grid through the transformer; negative = fed back
    losses_w: int  # in cables and transformer
    load_w: int  # the households' consumption, summed (behind the meters: gross, not net)
    generation_w: int  # their PV production, summed
    frequency_millihz: int = FREQUENCY_NOMINAL_MILLIHZ  # nominal: an LV power flow has no frequency


class LowVoltageGrid:
    """A pandapower LV network whose load buses carry the community's households."""

    def __init__(self, network: str = DEFAULT_NETWORK) -> None:
        if network not in NETWORKS:
            raise ValueError(f"unknown network {network!r}; known: {', '.join(NETWORKS)}")
        self.network_name = network
        self._net = _build_network(network)
        if len(self._net.trafo) != 1:
            raise ValueError(f"{network} has {len(self._net.trafo)} transformers; one is expected")
        # One load element per house connection in Kerber's networks; we drive them all.
        self._load_index_by_bus = {
            int(bus): int(index) for index, bus in self._net.load["bus"].items()
        }
        self.load_buses: tuple[int, ...] = tuple(sorted(self._load_index_by_bus))
        self.lv_buses: tuple[int, ...] = tuple(
            int(bus) for bus, vn_kv in self._net.bus["vn_kv"].items() if vn_kv <= LV_MAX_KV
        )
        self.transformer_rating_va = round(
            float(self._net.trafo["sn_mva"].iloc[0]) * WATTS_PER_MEGAWATT
        )

    def assign_buses(self, household_count: int) -> tuple[int, ...]:
        """The load bus of each household: round-robin over the load buses in bus order."""
        return tuple(self.load_buses[i % len(self.load_buses)] for i in range(household_count))

    def _check_load_buses(self, bus_loads: Mapping[int, BusLoad]) -> None:
        unknown = set(bus_loads) - set(self._load_index_by_bus)
        if unknown:
            raise ValueError(f"not load buses: {sorted(unknown)}")

    def solve(self, bus_loads: Mapping[int, BusLoad]) -> GridState:
        """Runs the power flow with `bus_loads` (load buses not named draw nothing)."""
        self._check_load_buses(bus_loads)
        net = self._net
        p_mw = [0.0] * len(net.load)
        q_mvar = [0.0] * len(net.load)
        positions = {index: position for position, index in enumerate(net.load.index)}
        for bus, load in bus_loads.items():
            position = positions[self._load_index_by_bus[bus]]
            p_mw[position] = load.net_active_w / WATTS_PER_MEGAWATT
            q_mvar[position] = load.reactive_var / WATTS_PER_MEGAWATT
        net.load["p_mw"] = p_mw
        net.load["q_mvar"] = q_mvar
        # Backward/forward sweep, the method for radial feeders such as these: Newton-Raphson's
        # answer within 3e-8 p.u. in half the time. A DC start, not the previous interval's
        # results: the same loads give the same answer whatever ran before (a resumed run matches
        # an uninterrupted one).
        pp.runpp(net, algorithm="bfsw", numba=False, init="dc")

        loading_percent = float(net.res_trafo["loading_percent"].iloc[0])
        voltages = {
            bus: round(float(net.res_bus.at[bus, "vm_pu"]) * VOLTAGE_NOMINAL_PER_MILLE)
            for bus in self.lv_buses
        }
        losses_mw = float(net.res_line["pl_mw"].sum() + net.res_trafo["pl_mw"].sum())
        return GridState(
            transformer_loading_percent=loading_percent,
            transformer_loading_per_mille=round(loading_percent * 10),
            transformer_rating_va=self.transformer_rating_va,
            bus_voltage_per_mille=voltages,
            voltage_min_per_mille=min(voltages.values()),
            voltage_max_per_mille=max(voltages.values()),
            grid_import_w=round(float(net.res_ext_grid["p_mw"].sum()) * WATTS_PER_MEGAWATT),
            losses_w=round(losses_mw * WATTS_PER_MEGAWATT),
            load_w=round(sum(load.consumption_w for load in bus_loads.values())),
            generation_w=round(sum(load.generation_w for load in bus_loads.values())),
        )


    def copper_plate(self, bus_loads: Mapping[int, BusLoad]) -> GridState:
        """The grid as a copper plate: no impedances, so every bus at nominal voltage, no losses,
        and the transformer carries the buses' net power (loading from that apparent power at
        nominal voltage). For meter history whose voltages nobody reads: no power flow (one costs
        about 20 ms; the baseline days alone are 480 of them)."""
        self._check_load_buses(bus_loads)
        net_active_w = sum(load.net_active_w for load in bus_loads.values())
        reactive_var = sum(load.reactive_var for load in bus_loads.values())
        loading_percent = math.hypot(net_active_w, reactive_var) / self.transformer_rating_va * 100
        voltages = dict.fromkeys(self.lv_buses, VOLTAGE_NOMINAL_PER_MILLE)
        return GridState(
            transformer_loading_percent=loading_percent,
            transformer_loading_per_mille=round(loading_percent * 10),
            transformer_rating_va=self.transformer_rating_va,
            bus_voltage_per_mille=voltages,
            voltage_min_per_mille=VOLTAGE_NOMINAL_PER_MILLE,
            voltage_max_per_mille=VOLTAGE_NOMINAL_PER_MILLE,
            grid_import_w=round(net_active_w),
            losses_w=0,
            load_w=round(sum(load.consumption_w for load in bus_loads.values())),
            generation_w=round(sum(load.generation_w for load in bus_loads.values())),
        )

def sum_by_bus(
    household_buses: Sequence[int],
    consumption_w: Sequence[float],
    generation_w: Sequence[float],
    net_active_w: Sequence[float],
) -> dict[int, BusLoad]:
    """Adds up the households behind each bus."""
    totals: dict[int, tuple[float, float, float]] = {}
    for bus, consumed, generated, net in zip(
        household_buses, consumption_w, generation_w, net_active_w, strict=True
    ):
        c, g, n = totals.get(bus, (0.0, 0.0, 0.0))
        totals[bus] = (c + consumed, g + generated, n + net)
    return {
        bus: BusLoad(consumption_w=c, generation_w=g, net_active_w=n)
        for bus, (c, g, n) in totals.items()
    }
