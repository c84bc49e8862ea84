"""The oracle reporter's production source: an operator's export of weather-service and SCADA
observations, one CSV row per observation, reported once the chain's clock passes its timestamp.

The file (UTF-8, comma-separated, one header line; blank lines and lines starting with `#` are
ignored):

    timestamp,ghi_w_per_m2,temperature_c,wind_speed_m_per_s,cloud_cover_percent,frequency_hz,voltage_pu,supply_kw,demand_kw
    2025-06-01T12:00:00-05:00,812,27.4,3.1,20,50.012,1.004,38.5,61.2
    2025-06-01T12:15:00-05:00,,,,,49.987,0.998,40.1,58.7

- `timestamp`: when the values were observed: unix seconds, or ISO-8601 *with* a zone (`Z`,
  `-05:00`); a local time without one is ambiguous on the night the clocks go back. Rows are in
  time order.
- The weather columns, as weather services export them (Open-Meteo's, for one):
  `ghi_w_per_m2` global horizontal irradiance (W/m²), `temperature_c` air temperature (°C),
  `wind_speed_m_per_s` (m/s) and `cloud_cover_percent` (total sky cover, 0..100 %).
- The grid columns, as a SCADA historian exports them: `frequency_hz` (Hz), `voltage_pu` (per
  unit of nominal), `supply_kw` (power fed in) and `demand_kw` (power drawn), each the region's.
- A feed may leave out either group of columns, or leave a row's four cells of a group empty:
  that row reports only the other group. Three cells of a group is a malformed row.

Units are converted exactly as WeatherOracle and GridOracle take them (m°C, mm/s, basis points,
mHz, per mille, W), rounded to the nearest unit. A malformed row (a cell that is not a number, a
timestamp without a zone, a row not after the one before it) is reported with its line and left
out; the rest of the file is read. A header that names an unknown column, or no whole group, makes
the file unusable: the service stops and says which column.

The file is read again whenever it changes, so an exporter may append rows while the service runs.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from energy_grid.contracts.client import GridError
from energy_grid.services.ingest import parse_timestamp
from energy_grid.services.reporters.observations import GridSample, Observation, WeatherSample

TIMESTAMP = "timestamp"
WEATHER_COLUMNS = ("ghi_w_per_m2", "temperature_c", "wind_speed_m_per_s", "cloud_cover_percent")
GRID_COLUMNS = ("frequency_hz", "voltage_pu", "supply_kw", "demand_kw")
MILLI = 1_000
BPS_PER_PERCENT = 100
MAX_PERCENT = 100


class ObservationFileError(GridError):
    """The file cannot be read as an observations export."""


@dataclass(frozen=True)
class MalformedRow:
    line: int
    reason: str


def _number(cells: dict[str, str], column: str) -> float:
    text = cells[column].strip()
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{column} {text!r} is not a number") from None


def _non_negative(cells: dict[str, str], column: str) -> float:
    value = _number(cells, column)
    if value < 0:
        raise ValueError(f"{column} {value:g} is negative")
    return value


def _weather(cells: dict[str, str]) -> WeatherSample:
    cloud_percent = _non_negative(cells, "cloud_cover_percent")
    if cloud_percent > MAX_PERCENT:
        raise ValueError(f"cloud_cover_percent {cloud_percent:g} is above 100")
    return WeatherSample(
        irradiance_w_per_m2=round(_non_negative(cells, "ghi_w_per_m2")),
        temperature_milli_celsius=round(_number(cells, "temperature_c") * MILLI),
        wind_speed_mm_per_s=round(_non_negative(cells, "wind_speed_m_per_s") * MILLI),
        cloud_cover_bps=round(cloud_percent * BPS_PER_PERCENT),
    )


def _grid(cells: dict[str, str]) -> GridSample:
    return GridSample(
        frequency_millihz=round(_non_negative(cells, "frequency_hz") * MILLI),
        voltage_per_mille=round(_non_negative(cells, "voltage_pu") * MILLI),
        supply_w=round(_non_negative(cells, "supply_kw") * MILLI),
        demand_w=round(_non_negative(cells, "demand_kw") * MILLI),
    )


def _group(cells: dict[str, str], columns: tuple[str, ...], name: str) -> bool:
    """Whether the row has the group's values: all its cells filled (True) or all empty (False)."""
    filled = [column for column in columns if cells.get(column, "").strip()]
    if filled and len(filled) < len(columns):
        missing = [column for column in columns if column not in filled]
        raise ValueError(f"the {name} cells are incomplete: {', '.join(missing)} empty")
    return bool(filled)


def _check_header(cells: list[str], path: Path) -> list[str]:
    header = [cell.strip().lower() for cell in cells]
    known = (TIMESTAMP, *WEATHER_COLUMNS, *GRID_COLUMNS)
    unknown = [name for name in header if name not in known]
    if unknown:
        raise ObservationFileError(f"{path}: unknown column {unknown[0]!r}; the columns are {','.join(known)}")
    if TIMESTAMP not in header or len(set(header)) != len(header):
        raise ObservationFileError(f"{path}: the header needs one timestamp column and no column twice")
    if not (set(WEATHER_COLUMNS) <= set(header) or set(GRID_COLUMNS) <= set(header)):
        raise ObservationFileError(f"{path}: the header has neither all weather columns nor all grid columns")
    return header


def read_observations(path: Path) -> tuple[list[Observation], list[MalformedRow]]:
    """The file's observations in time order, and its malformed rows with their reasons."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as err:
        raise ObservationFileError(f"cannot read {path}: {err.strerror}") from None
    observations: list[Observation] = []
    malformed: list[MalformedRow] = []
    with handle:
        reader = csv.reader(handle)
        header: list[str] | None = None
        for cells in reader:
            if not "".join(cells).strip() or cells[0].lstrip().startswith("#"):
                continue
            if header is None:
                header = _check_header(cells, path)
                continue
            line = reader.line_num
            try:
                observation = _parse_row(header, cells, line)
            except ValueError as bad:
                malformed.append(MalformedRow(line, str(bad)))
                continue
            if observations and observation.due_s <= observations[-1].due_s:
                previous = observations[-1]
                malformed.append(MalformedRow(line, f"its timestamp is not after {previous.label}'s"))
                continue
            observations.append(observation)
    if header is None:
        raise ObservationFileError(f"{path}: no header line ({TIMESTAMP},{','.join(WEATHER_COLUMNS + GRID_COLUMNS)})")
    return observations, malformed


def _parse_row(header: list[str], cells: list[str], line: int) -> Observation:
    if len(cells) != len(header):
        raise ValueError(f"{len(cells)} cells, the header has {len(header)} columns")
    values = dict(zip(header, cells, strict=True))
    timestamp_s = parse_timestamp(values[TIMESTAMP])
    has_weather = _group(values, WEATHER_COLUMNS, "weather")
    has_grid = _group(values, GRID_COLUMNS, "grid")
    if not has_weather and not has_grid:
        raise ValueError("neither weather nor grid values")
    return Observation(
        due_s=timestamp_s,
        label=f"line {line}",
        weather=_weather(values) if has_weather else None,
        grid=_grid(values) if has_grid else None,
    )


class ObservationFile:
    """The export at `path`, read again when it changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.observations: list[Observation] = []
        self.malformed: list[MalformedRow] = []
        self._stamp: tuple[int, int] | None = None

    def refresh(self) -> list[MalformedRow]:
        """Reads the file if it changed since the last call; returns the malformed rows new since then."""
        try:
            stat = self.path.stat()
        except OSError as err:
            raise ObservationFileError(f"cannot read {self.path}: {err.strerror}") from None
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp:
            return []
        seen = {row.line for row in self.malformed}
        self.observations, self.malformed = read_observations(self.path)
        self._stamp = stamp
        return [row for row in self.malformed if row.line not in seen]


__all__ = ["MalformedRow", "ObservationFile", "ObservationFileError", "read_observations"]
