"""The low-voltage grid: pandapower benchmark feeders and their AC power flows, each interval.

Default network: Kerber's rural cable grid 1 (`create_kerber_landnetz_kabel_1`), a 100 kVA
10/0.4 kV transformer feeding 8 house connections over two NAYY cable feeders. A community gets
one such network (a feeder, in this module's words) per `households_per_feeder` households (30 by
default: the evening peak of 30 households loads a 100 kVA transformer to about 90 %), every one
behind its own transformer on the same MV grid. The feeders fill in order; within one, households
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

import pandapower as pp
import pandapower.networks as pn

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
class _FeederFlow:
    """One feeder's power flow, before the feeders are added up."""

    loading_percent: float
    voltages: dict[int, int]
    grid_import_w: float
    losses_w: float


class LowVoltageGrid:
    """`feeders` copies of a pandapower LV network, each behind its own MV/LV transformer, whose
    load buses carry the community's households.

    A transformer of a rural network serves a few dozen households, so a larger community is more
    feeders, not a bigger one: they share only the MV grid, a slack that holds its voltage, so each
    is solved on its own. A bus id is `feeder × FEEDER_BUS_STRIDE + the network's bus index`:
    on one feeder, pandapower's own indices.
    """

    def __init__(self, network: str = DEFAULT_NETWORK, feeders: int = 1) -> None:
        if network not in NETWORKS:
            raise ValueError(f"unknown network {network!r}; known: {', '.join(NETWORKS)}")
        if feeders < 1:
            raise ValueError(f"a grid needs at least one feeder, got {feeders}")
        self.network_name = network
        template = _build_network(network)
        if len(template.trafo) != 1:
            raise ValueError(f"{network} has {len(template.trafo)} transformers; one is expected")
        self._nets = [template] + [copy.deepcopy(template) for _ in range(feeders - 1)]
        # One load element per house connection in Kerber's networks; we drive them all.
        load_index_by_bus = {int(bus): int(index) for index, bus in template.load["bus"].items()}
        positions = {index: position for position, index in enumerate(template.load.index)}
        self._load_position_by_bus = {bus: positions[index] for bus, index in load_index_by_bus.items()}
        self._feeder_load_buses = tuple(sorted(load_index_by_bus))
        self._feeder_lv_buses = tuple(
            int(bus) for bus, vn_kv in template.bus["vn_kv"].items() if vn_kv <= LV_MAX_KV
        )
        self.load_buses: tuple[int, ...] = self._on_every_feeder(self._feeder_load_buses)
        self.lv_buses: tuple[int, ...] = self._on_every_feeder(self._feeder_lv_buses)
        self.feeder_rating_va = round(float(template.trafo["sn_mva"].iloc[0]) * WATTS_PER_MEGAWATT)
        self.transformer_rating_va = self.feeder_rating_va * feeders

    @property
    def feeders(self) -> int:
        return len(self._nets)

    @property
    def transformer_rating_kva(self) -> int:
        return _kva(self.transformer_rating_va)

    def _on_every_feeder(self, buses: Sequence[int]) -> tuple[int, ...]:
        return tuple(feeder * FEEDER_BUS_STRIDE + bus for feeder in range(self.feeders) for bus in buses)

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

    def _by_feeder(self, bus_loads: Mapping[int, BusLoad]) -> list[dict[int, BusLoad]]:
        """`bus_loads` split by feeder, keyed by the network's own bus index."""
        by_feeder: list[dict[int, BusLoad]] = [{} for _ in self._nets]
        unknown = []
        for bus, load in bus_loads.items():
            feeder, local = divmod(bus, FEEDER_BUS_STRIDE)
            if feeder >= self.feeders or local not in self._load_position_by_bus:
                unknown.append(bus)
            else:
                by_feeder[feeder][local] = load
        if unknown:
            raise ValueError(f"not load buses: {sorted(unknown)}")
        return by_feeder

    def solve(self, bus_loads: Mapping[int, BusLoad]) -> GridState:
        """Runs every feeder's power flow with `bus_loads` (load buses not named draw nothing)."""
        flows = [self._solve_feeder(net, loads) for net, loads in zip(self._nets, self._by_feeder(bus_loads), strict=True)]
        return self._state(flows, bus_loads)

    def _solve_feeder(self, net: pp.pandapowerNet, bus_loads: Mapping[int, BusLoad]) -> _FeederFlow:
        p_mw = [0.0] * len(net.load)
        q_mvar = [0.0] * len(net.load)
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
        return _FeederFlow(
            loading_percent=float(net.res_trafo["loading_percent"].iloc[0]),
            voltages={
                bus: round(float(net.res_bus.at[bus, "vm_pu"]) * VOLTAGE_NOMINAL_PER_MILLE)
                for bus in self._feeder_lv_buses
            },
            grid_import_w=float(net.res_ext_grid["p_mw"].sum()) * WATTS_PER_MEGAWATT,
            losses_w=float(net.res_line["pl_mw"].sum() + net.res_trafo["pl_mw"].sum()) * WATTS_PER_MEGAWATT,
        )

    def copper_plate(self, bus_loads: Mapping[int, BusLoad]) -> GridState:
        """The grid as a copper plate: no impedances, so every bus at nominal voltage, no losses,
        and each transformer carries its feeder's net power (loading from that apparent power at
        nominal voltage). For meter history whose voltages nobody reads: no power flow (one costs
        milliseconds a feeder; the baseline days alone are 480 of them)."""
        flows = []
        for loads in self._by_feeder(bus_loads):
            net_active_w = sum(load.net_active_w for load in loads.values())
            reactive_var = sum(load.reactive_var for load in loads.values())
            flows.append(
                _FeederFlow(
                    loading_percent=math.hypot(net_active_w, reactive_var) / self.feeder_rating_va * 100,
                    voltages=dict.fromkeys(self._feeder_lv_buses, VOLTAGE_NOMINAL_PER_MILLE),
                    grid_import_w=net_active_w,
                    losses_w=0.0,
                )
            )
        return self._state(flows, bus_loads)

    def _state(self, flows: Sequence[_FeederFlow], bus_loads: Mapping[int, BusLoad]) -> GridState:
        loading_percent = max(flow.loading_percent for flow in flows)
        voltages = {
            feeder * FEEDER_BUS_STRIDE + bus: voltage
            for feeder, flow in enumerate(flows)
            for bus, voltage in flow.voltages.items()
        }
        return GridState(
            transformer_loading_percent=loading_percent,
            transformer_loading_per_mille=round(loading_percent * 10),
            transformer_rating_va=self.transformer_rating_va,
            transformer_apparent_va=round(sum(flow.loading_percent for flow in flows) * self.feeder_rating_va / 100),
            bus_voltage_per_mille=voltages,
            voltage_min_per_mille=min(voltages.values()),
            voltage_max_per_mille=max(voltages.values()),
            grid_import_w=round(sum(flow.grid_import_w for flow in flows)),
            losses_w=round(sum(flow.losses_w for flow in flows)),
            load_w=round(sum(load.consumption_w for load in bus_loads.values())),
            generation_w=round(sum(load.generation_w for load in bus_loads.values())),
            feeder_loading_per_mille=tuple(round(flow.loading_percent * 10) for flow in flows),
            feeder_apparent_kva=tuple(_kva(round(flow.loading_percent * self.feeder_rating_va / 100)) for flow in flows),
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
