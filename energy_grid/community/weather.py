"""The weather of a typical year, per 15-minute interval, in the units WeatherOracle takes.

The source is the TMY3 file pvlib ships (Greensboro, North Carolina: 8,760 hourly records, no
download). The community lives there, on local standard time (UTC−5, no daylight saving time, as
the file is); the TMY's months come from different years, so records are taken by position, day
of year and hour, never by their timestamps.

TMY3 conventions this module relies on: the record labelled HH:00 holds the irradiance *averaged
over the hour ending* at HH:00, while temperature, wind and cloud cover are *observed* at HH:00.
So the hourly irradiance is placed at the middle of its hour, the observations at their label,
and both are interpolated linearly to each interval's midpoint (the year wraps around: Dec 31
continues into Jan 1). Irradiance is forced to zero while the sun is below the horizon, which
linear interpolation alone would not guarantee at dawn and dusk. Cloud cover is held, not
interpolated: it is reported in whole tenths.
"""

from __future__ import annotations

import datetime
import functools
import pathlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import pvlib

from energy_grid.domain.units import BPS, DAY_SECONDS, INTERVAL_SECONDS, INTERVALS_PER_DAY

FloatArray = npt.NDArray[np.float64]

TMY_FILE_NAME = "723170TYA.CSV"
HOURS_PER_YEAR = 8_760
DAYS_PER_TMY_YEAR = 365
SECONDS_PER_HOUR = 3_600
HORIZON_ZENITH_DEG = 90.0  # the sun at or below the horizon: night
# TMY3 reports total sky cover in tenths; the oracle takes basis points.
BPS_PER_TENTH = BPS // 10


@dataclass(frozen=True)
class Site:
    """Where the community is: the TMY station."""

    name: str
    latitude_deg: float
    longitude_deg: float
    altitude_m: float
    utc_offset_minutes: int  # local standard time − UTC


@dataclass(frozen=True, eq=False)
class TypicalYear:
    """A TMY's hourly records; record k covers hour [k, k+1) of the year, local standard time."""

    site: Site
    ghi_w_per_m2: FloatArray  # global horizontal irradiance, mean over the hour
    dni_w_per_m2: FloatArray  # direct normal irradiance, mean over the hour
    dhi_w_per_m2: FloatArray  # diffuse horizontal irradiance, mean over the hour
    temperature_c: FloatArray  # air temperature at the end of the hour
    wind_speed_m_per_s: FloatArray  # wind speed at the end of the hour
    cloud_cover_tenths: FloatArray  # total sky cover at the end of the hour, 0..10


@dataclass(frozen=True)
class WeatherSample:
    """One interval's weather in WeatherOracle.submitWeather's units."""

    irradiance_w_per_m2: int  # global horizontal
    temperature_milli_celsius: int
    wind_speed_mm_per_s: int
    cloud_cover_bps: int  # 10,000 = overcast


@dataclass(frozen=True, eq=False)
class WeatherWindow:
    """The weather of consecutive 15-minute intervals, at each interval's midpoint.

    Floats for the physical models; `sample(i)` gives interval i in the oracle's integer units.
    """

    site: Site
    calendar_year: int
    start_day_of_year: int  # 1 = Jan 1
    days: int
    interval_start_unix_s: npt.NDArray[np.int64]
    ghi_w_per_m2: FloatArray
    dni_w_per_m2: FloatArray
    dhi_w_per_m2: FloatArray
    temperature_c: FloatArray
    wind_speed_m_per_s: FloatArray
    cloud_cover_tenths: FloatArray
    solar_zenith_deg: FloatArray  # apparent (refraction-corrected), at the midpoint
    solar_azimuth_deg: FloatArray  # clockwise from north

    @property
    def interval_count(self) -> int:
        return len(self.interval_start_unix_s)

    def sample(self, interval: int) -> WeatherSample:
        return WeatherSample(
            irradiance_w_per_m2=round(self.ghi_w_per_m2[interval]),
            temperature_milli_celsius=round(self.temperature_c[interval] * 1_000),
            wind_speed_mm_per_s=round(self.wind_speed_m_per_s[interval] * 1_000),
            cloud_cover_bps=round(self.cloud_cover_tenths[interval] * BPS_PER_TENTH),
        )


def tmy_path() -> pathlib.Path:
    """The TMY3 file inside the installed pvlib package."""
    return pathlib.Path(pvlib.__file__).parent / "data" / TMY_FILE_NAME


@functools.lru_cache(maxsize=4)
def load_typical_year(path: pathlib.Path | None = None) -> TypicalYear:
    """Reads a TMY3 file (pvlib's by default); cached, as every model of a run shares it."""
    data, meta = pvlib.iotools.read_tmy3(path or tmy_path(), map_variables=True)
    if len(data) != HOURS_PER_YEAR:
        raise ValueError(f"a TMY3 year has {HOURS_PER_YEAR} hours, the file has {len(data)}")

    def column(name: str) -> FloatArray:
        values: FloatArray = data[name].to_numpy(dtype=np.float64)
        values.setflags(write=False)  # shared through the cache
        return values

    site = Site(
        name=str(meta["Name"]).strip('"'),
        latitude_deg=float(meta["latitude"]),
        longitude_deg=float(meta["longitude"]),
        altitude_m=float(meta["altitude"]),
        utc_offset_minutes=round(float(meta["TZ"]) * 60),
    )
    return TypicalYear(
        site=site,
        ghi_w_per_m2=column("ghi"),
        dni_w_per_m2=column("dni"),
        dhi_w_per_m2=column("dhi"),
        temperature_c=column("temp_air"),
        wind_speed_m_per_s=column("wind_speed"),
        cloud_cover_tenths=column("TotCld (tenths)"),
    )


def local_midnight_unix_s(site: Site, calendar_year: int, day_of_year: int) -> int:
    """Unix seconds of 00:00 local standard time on `day_of_year` (1 = Jan 1) of `calendar_year`."""
    zone = datetime.timezone(datetime.timedelta(minutes=site.utc_offset_minutes))
    jan_1 = datetime.datetime(calendar_year, 1, 1, tzinfo=zone)
    return int(jan_1.timestamp()) + (day_of_year - 1) * DAY_SECONDS


def check_window(start_day_of_year: int, days: int) -> None:
    """A window must lie inside one TMY year (the H0 profile is one calendar year too)."""
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    last_day = start_day_of_year + days - 1
    if start_day_of_year < 1 or last_day > DAYS_PER_TMY_YEAR:
        raise ValueError(
            f"days {start_day_of_year}..{last_day} leave the year 1..{DAYS_PER_TMY_YEAR}"
        )


def _interpolate_wrapped(
    hour_positions: FloatArray, values: FloatArray, at_hours: FloatArray
) -> FloatArray:
    """Linear interpolation over a year that wraps: the last record also precedes the first."""
    positions = np.concatenate(
        (
            [hour_positions[-1] - HOURS_PER_YEAR],
            hour_positions,
            [hour_positions[0] + HOURS_PER_YEAR],
        )
    )
    extended = np.concatenate(([values[-1]], values, [values[0]]))
    return np.interp(at_hours, positions, extended)


def _midpoint_hours(start_day_of_year: int, days: int) -> FloatArray:
    """Hours since Jan 1 00:00 local standard time of each interval's midpoint."""
    count = days * INTERVALS_PER_DAY
    interval_hours = INTERVAL_SECONDS / SECONDS_PER_HOUR
    return (start_day_of_year - 1) * 24 + (np.arange(count) + 0.5) * interval_hours


_HOURS = np.arange(HOURS_PER_YEAR, dtype=np.float64)
_MEAN_POSITIONS = _HOURS + 0.5  # an hourly mean belongs to the middle of its hour
_OBSERVED_POSITIONS = _HOURS + 1.0  # an observation belongs to its label, the hour's end


def interval_temperature_c(typical_year: TypicalYear, start_day_of_year: int, days: int) -> FloatArray:
    """The air temperature at each interval's midpoint of the window (°C), as `weather_window`
    gives it, without the rest of the weather: what the households' heat pumps answer."""
    check_window(start_day_of_year, days)
    return _interpolate_wrapped(
        _OBSERVED_POSITIONS, typical_year.temperature_c, _midpoint_hours(start_day_of_year, days)
    )


def weather_window(
    typical_year: TypicalYear, calendar_year: int, start_day_of_year: int, days: int
) -> WeatherWindow:
    """The weather of `days` days of 96 intervals each from `start_day_of_year`, per midpoint."""
    check_window(start_day_of_year, days)
    site = typical_year.site
    count = days * INTERVALS_PER_DAY
    midpoint_hours = _midpoint_hours(start_day_of_year, days)

    ghi = _interpolate_wrapped(_MEAN_POSITIONS, typical_year.ghi_w_per_m2, midpoint_hours)
    dni = _interpolate_wrapped(_MEAN_POSITIONS, typical_year.dni_w_per_m2, midpoint_hours)
    dhi = _interpolate_wrapped(_MEAN_POSITIONS, typical_year.dhi_w_per_m2, midpoint_hours)
    temperature = interval_temperature_c(typical_year, start_day_of_year, days)
    wind = _interpolate_wrapped(_OBSERVED_POSITIONS, typical_year.wind_speed_m_per_s, midpoint_hours)
    # Held: the record of the hour the midpoint falls in.
    cloud = typical_year.cloud_cover_tenths[np.floor(midpoint_hours).astype(np.int64)]

    start_unix_s = local_midnight_unix_s(site, calendar_year, start_day_of_year)
    interval_start_unix_s = start_unix_s + np.arange(count, dtype=np.int64) * INTERVAL_SECONDS
    midpoints = pd.DatetimeIndex(
        pd.to_datetime(interval_start_unix_s + INTERVAL_SECONDS // 2, unit="s", utc=True)
    )
    position = pvlib.solarposition.get_solarposition(
        midpoints,
        site.latitude_deg,
        site.longitude_deg,
        altitude=site.altitude_m,
        temperature=temperature,
    )
    zenith = position["apparent_zenith"].to_numpy(dtype=np.float64)
    azimuth = position["azimuth"].to_numpy(dtype=np.float64)

    night = zenith >= HORIZON_ZENITH_DEG
    for irradiance in (ghi, dni, dhi):
        irradiance[night] = 0.0
        np.clip(irradiance, 0.0, None, out=irradiance)

    return WeatherWindow(
        site=site,
        calendar_year=calendar_year,
        start_day_of_year=start_day_of_year,
        days=days,
        interval_start_unix_s=interval_start_unix_s,
        ghi_w_per_m2=ghi,
        dni_w_per_m2=dni,
        dhi_w_per_m2=dhi,
        temperature_c=temperature,
        wind_speed_m_per_s=wind,
        cloud_cover_tenths=cloud,
        solar_zenith_deg=zenith,
        solar_azimuth_deg=azimuth,
    )


def solar_noon_hour(site: Site, day_of_year: int) -> float:
    """Local standard time of solar noon, in hours, from longitude and the equation of time.

    Independent of the solar-position algorithm above (tests use it as a check).
    """
    standard_meridian_deg = site.utc_offset_minutes / 60 * 15
    equation_of_time_min = float(pvlib.solarposition.equation_of_time_spencer71(day_of_year))
    return 12.0 - (site.longitude_deg - standard_meridian_deg) / 15.0 - equation_of_time_min / 60.0
