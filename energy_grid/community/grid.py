"""The low-voltage grid: pandapower benchmark feeders and their AC power flows, each interval.

Default network: Kerber's rural cable grid 1 (`create_kerber_landnetz_kabel_1`), a 100 kVA
10/0.4 kV transformer feeding 8 house connections over two NAYY cable feeders. A community gets
one such network (a feeder, in this module's words) per `households_per_feeder` households (30 by
default: the evening peak of 30 households loads a 100 kVA transformer to about 90 % on the
default June day; on the typical year's coldest days, daily means down to −10 °C, the heat pumps
run beside the cars and load it to 120–160 % for about an hour in the evening, the strain rural
transformers meet as heating turns electric), every one behind its own transformer on the same MV
grid. The feeders fill in order; within one, households
are placed on its load buses round-robin in bus order (household i on load bus i mod 8), so 30
put 3–4 households behind each connection, as a row of terraced houses would.

Each interval a bus's load is the net active power of its households' meters (import − export,
mean over the interval; negative = the bus feeds the grid) and a reactive power for their
consumption at cos φ = 0.95 inductive (PV inverters and batteries run at unity power factor).

Units out: W; voltage in per mille of nominal (1000 = 100 %); transformer loading in per cent
(pandapower's own figure) and per mille; the transformers' rating and apparent power in VA (and in
whole kVA, as the operator reports them to GridOperations). Frequency is not a result of a power
flow: the MV grid behind the transformer is a slack that holds it, so the state reports nominal
50,000 mHz, always.
"""

from __future__ import annotations

import copy
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandapower as pp
import pandapower.networks as pn
import pandas as pd

from energy_grid.domain.units import FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE

WATTS_PER_MEGAWATT = 1_000_000
VA_PER_KVA = 1_000
LOAD_POWER_FACTOR = 0.95
REACTIVE_PER_ACTIVE = math.tan(math.acos(LOAD_POWER_FACTOR))  # var per W of consumption
LV_MAX_KV = 1.0  # buses at or below this nominal voltage are the low-voltage side

NETWORKS: Mapping[str, Callable[[], pp.pandapowerNet]] = {
    "kerber_landnetz_kabel_1": pn.create_kerber_landnetz_kabel_1,  # 8 connections, 100 kVA
    "kerber_landnetz_kabel_2": pn.create_kerber_landnetz_kabel_2,  # 14 connections, 160 kVA
    "kerber_dorfnetz": pn.create_kerber_dorfnetz,  # 57 connections, 400 kVA
}
DEFAULT_NETWORK = "kerber_landnetz_kabel_1"
FEEDER_BUS_STRIDE = 10_000  # above any bus index of the networks above
DEFAULT_HOUSEHOLDS_PER_FEEDER = 30
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
    """The grid during one interval: every feeder's power flow, summed or at its worst."""

    transformer_loading_percent: float  # the most loaded transformer's (pandapower's: apparent power / rating, worse side)
    transformer_loading_per_mille: int
    transformer_rating_va: int  # the transformers' ratings, summed
    # The transformers' apparent power, summed: each one's loading × its rating, i.e. the current
    # of its more loaded side at rated voltage (what pandapower's loading measures), VA.
    transformer_apparent_va: int
    bus_voltage_per_mille: Mapping[int, int]  # every low-voltage bus, by bus id (see LowVoltageGrid)
    voltage_min_per_mille: int  # over the low-voltage buses
    voltage_max_per_mille: int
    grid_import_w: int  # drawn from the MV grid through the transformers; negative = fed back
    losses_w: int  # in cables and transformers
    load_w: int  # the households' consumption, summed (behind the meters: gross, not net)
    generation_w: int  # their PV production, summed
    # Each feeder's transformer: its loading, and its apparent power in whole kVA (a market zone's
    # load report and the peak the report shows per feeder).
    feeder_loading_per_mille: tuple[int, ...] = ()
    feeder_apparent_kva: tuple[int, ...] = ()
    frequency_millihz: int = FREQUENCY_NOMINAL_MILLIHZ  # nominal: an LV power flow has no frequency

    @property
    def transformer_rating_kva(self) -> int:
        return _kva(self.transformer_rating_va)

    @property
    def transformer_apparent_kva(self) -> int:
        return _kva(self.transformer_apparent_va)

    @property
    def feeder_rating_kva(self) -> int:
        return _kva(self.transformer_rating_va // max(1, len(self.feeder_loading_per_mille)))


def _kva(va: int) -> int:
    """VA in whole kVA, halves rounded up (apparent power is never negative)."""
    return (va + VA_PER_KVA // 2) // VA_PER_KVA


@dataclass(frozen=True)
class _Flows:
    """Every feeder's power flow, before the feeders are added up."""

    loading_percent: Sequence[float]  # each transformer's, in feeder order
    voltages: dict[int, int]  # every low-voltage bus, by bus id
    grid_import_w: float
    losses_w: float


def _feeders_on_one_slack(template: pp.pandapowerNet, feeders: int) -> pp.pandapowerNet:
    """`feeders` copies of `template` whose transformers share its MV bus, the one external grid.

    The MV grid is a slack holding its voltage, so each feeder's flow is what it would be alone, and
    one power flow solves them all: pandapower's set-up of a power flow costs far more than the
    sweep over these few buses, and is paid once, not once a feeder. Feeder f's buses, lines,
    loads and transformer are the template's with `f × FEEDER_BUS_STRIDE` added to their indices
    and bus references (feeder 0 keeps pandapower's own), but for each transformer's HV side.
    """
    mv_bus = int(template.ext_grid["bus"].iloc[0])
    if len(template.ext_grid) != 1 or (template.bus["vn_kv"] > LV_MAX_KV).sum() != 1 or int(template.trafo["hv_bus"].iloc[0]) != mv_bus:
        raise ValueError("a feeder network must be one MV bus with the external grid, its transformer and LV buses")
    net = copy.deepcopy(template)

    def copies(table: pd.DataFrame, bus_columns: Sequence[str]) -> pd.DataFrame:
        shifted = []
        for feeder in range(1, feeders):
            offset = feeder * FEEDER_BUS_STRIDE
            frame = table.copy()
            frame.index = frame.index + offset
            for column in bus_columns:
                frame[column] = frame[column] + offset
            shifted.append(frame)
        return pd.concat([table, *shifted])

    net.bus = pd.concat([template.bus.loc[[mv_bus]], copies(template.bus.drop(index=mv_bus), ())])
    net.line = copies(template.line, ("from_bus", "to_bus"))
    net.load = copies(template.load, ("bus",))
    net.trafo = copies(template.trafo, ("lv_bus",))
    return net


class LowVoltageGrid:
    """`feeders` copies of a pandapower LV network, each behind its own MV/LV transformer, whose
    load buses carry the community's households.

    A transformer of a rural network serves a few dozen households, so a larger community is more
    feeders, not a bigger one: they share only the MV grid, a slack that holds its voltage, so each
    flows as it would alone. A bus id is `feeder × FEEDER_BUS_STRIDE + the network's bus index`:
    on one feeder, pandapower's own indices.
    """

    def __init__(self, network: str = DEFAULT_NETWORK, feeders: int = 1) -> None:
        if network not in NETWORKS:
            raise ValueError(f"unknown network {network!r}; known: {', '.join(NETWORKS)}")
        if feeders < 1:
            raise ValueError(f"a grid needs at least one feeder, got {feeders}")
        self.network_name = network
        self.feeders = feeders
        template = _build_network(network)
        if len(template.trafo) != 1:
            raise ValueError(f"{network} has {len(template.trafo)} transformers; one is expected")
        self._net = _feeders_on_one_slack(template, feeders)
        # One load element per house connection in Kerber's networks; we drive them all.
        self._load_position_by_bus = {int(bus): position for position, bus in enumerate(self._net.load["bus"])}
        self.load_buses: tuple[int, ...] = tuple(sorted(self._load_position_by_bus))
        self.lv_buses: tuple[int, ...] = tuple(int(bus) for bus, vn_kv in self._net.bus["vn_kv"].items() if vn_kv <= LV_MAX_KV)
        self._feeder_load_buses = tuple(bus for bus in self.load_buses if bus < FEEDER_BUS_STRIDE)
        self.feeder_rating_va = round(float(template.trafo["sn_mva"].iloc[0]) * WATTS_PER_MEGAWATT)
        self.transformer_rating_va = self.feeder_rating_va * feeders

    @property
    def transformer_rating_kva(self) -> int:
        return _kva(self.transformer_rating_va)

    @property
    def feeder_rating_kva(self) -> int:
        return _kva(self.feeder_rating_va)

    def assign_buses(self, household_count: int, households_per_feeder: int | None = None) -> tuple[int, ...]:
        """The load bus of each household. The feeders fill in order, `households_per_feeder` each
        (default: the community split evenly), and within a feeder its households go round-robin
        over the load buses in bus order."""
        per_feeder = households_per_feeder or -(-household_count // self.feeders)
        if per_feeder < 1 or -(-household_count // per_feeder) > self.feeders:
            raise ValueError(
                f"{household_count} households at {per_feeder} a feeder do not fit on {self.feeders} feeder(s)"
            )
        buses = self._feeder_load_buses
        return tuple(
            (i // per_feeder) * FEEDER_BUS_STRIDE + buses[(i % per_feeder) % len(buses)]
            for i in range(household_count)
        )

    def _check_load_buses(self, bus_loads: Mapping[int, BusLoad]) -> None:
        unknown = [bus for bus in bus_loads if bus not in self._load_position_by_bus]
        if unknown:
            raise ValueError(f"not load buses: {sorted(unknown)}")

    def solve(self, bus_loads: Mapping[int, BusLoad]) -> GridState:
        """Runs the feeders' power flow with `bus_loads` (load buses not named draw nothing)."""
        self._check_load_buses(bus_loads)
        net = self._net
        p_mw = np.zeros(len(net.load))
        q_mvar = np.zeros(len(net.load))
        for bus, load in bus_loads.items():
            position = self._load_position_by_bus[bus]
            p_mw[position] = load.net_active_w / WATTS_PER_MEGAWATT
            q_mvar[position] = load.reactive_var / WATTS_PER_MEGAWATT
        net.load["p_mw"] = p_mw
        net.load["q_mvar"] = q_mvar
        # Backward/forward sweep, the method for radial feeders such as these: Newton-Raphson's
        # answer within 3e-8 p.u. in half the time. A DC start, not the previous interval's
        # results: the same loads give the same answer whatever ran before (a resumed run matches
        # an uninterrupted one).
        pp.runpp(net, algorithm="bfsw", numba=False, init="dc")
        voltages_per_mille = np.rint(net.res_bus["vm_pu"].loc[list(self.lv_buses)].to_numpy() * VOLTAGE_NOMINAL_PER_MILLE)
        flows = _Flows(
            loading_percent=net.res_trafo["loading_percent"].to_numpy().tolist(),
            voltages=dict(zip(self.lv_buses, voltages_per_mille.astype(int).tolist(), strict=True)),
            grid_import_w=float(net.res_ext_grid["p_mw"].sum()) * WATTS_PER_MEGAWATT,
            losses_w=float(net.res_line["pl_mw"].sum() + net.res_trafo["pl_mw"].sum()) * WATTS_PER_MEGAWATT,
        )
        return self._state(flows, bus_loads)

    def copper_plate(self, bus_loads: Mapping[int, BusLoad]) -> GridState:
        """The grid as a copper plate: no impedances, so every bus at nominal voltage, no losses,
        and each transformer carries its feeder's net power (loading from that apparent power at
        nominal voltage). For meter history whose voltages nobody reads: no power flow (the baseline
        days alone are 480 intervals)."""
        self._check_load_buses(bus_loads)
        net_active_w = [0.0] * self.feeders
        reactive_var = [0.0] * self.feeders
        for bus, load in bus_loads.items():
            feeder = bus // FEEDER_BUS_STRIDE
            net_active_w[feeder] += load.net_active_w
            reactive_var[feeder] += load.reactive_var
        flows = _Flows(
            loading_percent=[
                math.hypot(active, reactive) / self.feeder_rating_va * 100
                for active, reactive in zip(net_active_w, reactive_var, strict=True)
            ],
            voltages=dict.fromkeys(self.lv_buses, VOLTAGE_NOMINAL_PER_MILLE),
            grid_import_w=sum(net_active_w),
            losses_w=0.0,
        )
        return self._state(flows, bus_loads)

    def _state(self, flows: _Flows, bus_loads: Mapping[int, BusLoad]) -> GridState:
        loading_percent = max(flows.loading_percent)
        voltages = flows.voltages
        return GridState(
            transformer_loading_percent=loading_percent,
            transformer_loading_per_mille=round(loading_percent * 10),
            transformer_rating_va=self.transformer_rating_va,
            transformer_apparent_va=round(sum(flows.loading_percent) * self.feeder_rating_va / 100),
            bus_voltage_per_mille=voltages,
            voltage_min_per_mille=min(voltages.values()),
            voltage_max_per_mille=max(voltages.values()),
            grid_import_w=round(flows.grid_import_w),
            losses_w=round(flows.losses_w),
            load_w=round(sum(load.consumption_w for load in bus_loads.values())),
            generation_w=round(sum(load.generation_w for load in bus_loads.values())),
            feeder_loading_per_mille=tuple(round(percent * 10) for percent in flows.loading_percent),
            feeder_apparent_kva=tuple(_kva(round(percent * self.feeder_rating_va / 100)) for percent in flows.loading_percent),
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
