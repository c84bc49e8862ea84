"""What the oracle reporter reports: an observation of the weather, of the grid, or both, due from
a chain time on, in the oracles' units."""

from __future__ import annotations

from dataclasses import dataclass

from energy_grid.community.weather import WeatherSample


@dataclass(frozen=True)
class GridSample:
    """The grid's state in GridOracle.submitGridData's units."""

    frequency_millihz: int
    voltage_per_mille: int
    supply_w: int  # power fed into the region's grid
    demand_w: int  # power drawn from it


@dataclass(frozen=True)
class Observation:
    """What a source says from `due_s` on (chain time); `label` names it in the logs (an interval,
    or a file's line)."""

    due_s: int
    label: str
    weather: WeatherSample | None = None
    grid: GridSample | None = None


__all__ = ["GridSample", "Observation", "WeatherSample"]
