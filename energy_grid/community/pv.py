"""Rooftop PV: AC power per interval from the weather, a PVWatts-style model on pvlib.

The chain of models, each the simplest pvlib offers for its step:
1. plane-of-array irradiance for the roof's tilt and azimuth: beam from DNI and the angle of
   incidence, sky diffuse by the isotropic model, ground-reflected with albedo 0.2
   (`pvlib.irradiance.get_total_irradiance`);
2. cell temperature from that irradiance, the air temperature and the wind (Faiman's model,
   its default coefficients for an open-rack module);
3. DC power: PVWatts, `pdc0 × POA/1000 W/m² × (1 + γ (T_cell − 25 °C))` with γ = −0.4 %/K,
   less 14 % system losses (PVWatts' default: soiling, shading, wiring, mismatch, ageing);
4. AC power: PVWatts' inverter efficiency curve (96 % nominal), rated at pdc0 / 1.1 (a DC/AC
   ratio of 1.1, so a bright noon clips a little, as real installations do).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pvlib

from energy_grid.community.weather import WeatherWindow

FloatArray = npt.NDArray[np.float64]

GROUND_ALBEDO = 0.2
PVWATTS_SYSTEM_LOSS = 0.14
INVERTER_NOMINAL_EFFICIENCY = 0.96
DC_AC_RATIO = 1.1
TEMPERATURE_COEFFICIENT_PER_C = -0.004
HORIZON_ZENITH_DEG = 90.0  # the sun at or below the horizon: no power


@dataclass(frozen=True)
class PvSystem:
    """A roof's PV array and inverter."""

    peak_power_w: int  # DC nameplate at 1000 W/m² and 25 °C (kWp × 1000)
    tilt_deg: float  # 0 = flat
    azimuth_deg: float  # the direction the modules face, clockwise from north: 180 = south

    @property
    def inverter_rating_w(self) -> float:
        return INVERTER_NOMINAL_EFFICIENCY * self.peak_power_w / DC_AC_RATIO


def plane_of_array_w_per_m2(system: PvSystem, weather: WeatherWindow) -> FloatArray:
    """Irradiance on the modules per interval (W/m²)."""
    irradiance = pvlib.irradiance.get_total_irradiance(
        surface_tilt=system.tilt_deg,
        surface_azimuth=system.azimuth_deg,
        solar_zenith=weather.solar_zenith_deg,
        solar_azimuth=weather.solar_azimuth_deg,
        dni=weather.dni_w_per_m2,
        ghi=weather.ghi_w_per_m2,
        dhi=weather.dhi_w_per_m2,
        albedo=GROUND_ALBEDO,
        model="isotropic",
    )
    poa = np.asarray(irradiance["poa_global"], dtype=np.float64)
    return np.clip(np.nan_to_num(poa), 0.0, None)


def pv_ac_power_w(system: PvSystem, weather: WeatherWindow) -> FloatArray:
    """AC power the system feeds into the house per interval (W, mean over the interval)."""
    poa = plane_of_array_w_per_m2(system, weather)
    cell_temperature_c = pvlib.temperature.faiman(
        poa, weather.temperature_c, weather.wind_speed_m_per_s
    )
    dc_w = pvlib.pvsystem.pvwatts_dc(
        poa, cell_temperature_c, system.peak_power_w, TEMPERATURE_COEFFICIENT_PER_C
    ) * (1.0 - PVWATTS_SYSTEM_LOSS)
    ac_w = pvlib.inverter.pvwatts(
        dc_w, system.peak_power_w / DC_AC_RATIO, eta_inv_nom=INVERTER_NOMINAL_EFFICIENCY
    )
    # No sun, no power: inverters draw a little at night, but a meter's export register ignores it.
    ac_w = np.clip(np.nan_to_num(np.asarray(ac_w, dtype=np.float64)), 0.0, None)
    ac_w[weather.solar_zenith_deg >= HORIZON_ZENITH_DEG] = 0.0
    return ac_w
