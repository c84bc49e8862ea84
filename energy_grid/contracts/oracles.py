"""The data feeds (PriceOracle as a Chainlink feed, WeatherOracle, GridOracle) and PriceDiscovery,
the reference price from them."""

from __future__ import annotations

from typing import NamedTuple

from eth_account.signers.local import LocalAccount
from web3.types import TxReceipt

from energy_grid.contracts.base import (
    ContractClient,
    decode_struct,
    require,
    require_enum,
)
from energy_grid.contracts.structs import GridData, PriceFactors, WeatherData
from energy_grid.domain.enums import DataSource


class RoundData(NamedTuple):
    """Chainlink's AggregatorV3Interface round; the answer in PaymentToken base units per kWh."""

    round_id: int
    answer_per_kwh: int
    started_at: int
    updated_at: int  # 0 = no round yet: check it, as Chainlink asks of consumers
    answered_in_round: int


class ReporterOracle(ContractClient):
    """What the three feeds share: reporters, a heartbeat and a quorum. A value is written only once
    a round holds `quorum()` fresh reports, one per reporter; a reporter whose report still waits in
    the round being gathered is refused (AlreadyReported)."""

    def add_reporter(self, admin: LocalAccount, reporter: str) -> TxReceipt:
        return self._send(admin, "addReporter", reporter)

    def remove_reporter(self, admin: LocalAccount, reporter: str) -> TxReceipt:
        return self._send(admin, "removeReporter", reporter)

    def reporters(self) -> list[str]:
        return [str(a) for a in self._call("getReporters")]

    def is_reporter(self, account: str) -> bool:
        return bool(self._call("isReporter", account))

    def heartbeat_s(self) -> int:
        return self._int("heartbeat")

    def set_min_quorum(self, admin: LocalAccount, min_reports: int) -> TxReceipt:
        """0 = more than half of the reporters (the floor); at most the reporter count."""
        require(min_reports >= 0, f"set_min_quorum: {min_reports} is negative")
        return self._send(admin, "setMinQuorum", min_reports)

    def min_quorum(self) -> int:
        return self._int("minQuorum")

    def quorum(self) -> int:
        """Fresh reports a round needs now before its value is written."""
        return self._int("quorum")


class PriceOracle(ReporterOracle):
    def submit_price(self, reporter: LocalAccount, price_per_kwh: int) -> int:
        """Reports the base price; returns the round it joined, answered with the median of its fresh
        reports once they reach the quorum (`latest_round` is the latest answered round)."""
        require(price_per_kwh > 0, f"submit_price: {price_per_kwh} is not a positive price")
        return self._id(self._send(reporter, "submitPrice", price_per_kwh), "PriceReported", "roundId")

    def latest_round(self) -> RoundData:
        return RoundData(*(int(v) for v in self._call("latestRoundData")))

    def round(self, round_id: int) -> RoundData:
        return RoundData(*(int(v) for v in self._call("getRoundData", round_id)))

    def decimals(self) -> int:
        return self._int("decimals")


class WeatherOracle(ReporterOracle):
    def submit_weather(
        self,
        reporter: LocalAccount,
        region_id: int,
        irradiance_w_per_m2: int,
        temperature_milli_celsius: int,
        wind_speed_mm_per_s: int,
        cloud_cover_bps: int,
    ) -> TxReceipt:
        args = (region_id, irradiance_w_per_m2, temperature_milli_celsius, wind_speed_mm_per_s, cloud_cover_bps)
        return self._send(reporter, "submitWeather", *args)

    def weather(self, region_id: int) -> WeatherData:
        """The per-field median of the region's latest round to reach a quorum (report_count 0 = none)."""
        return decode_struct(WeatherData, self._call("getWeather", region_id))


class GridOracle(ReporterOracle):
    def submit_grid_data(
        self, reporter: LocalAccount, region_id: int, frequency_millihz: int, voltage_per_mille: int, supply_w: int, demand_w: int
    ) -> TxReceipt:
        return self._send(reporter, "submitGridData", region_id, frequency_millihz, voltage_per_mille, supply_w, demand_w)

    def grid_data(self, region_id: int) -> GridData:
        return decode_struct(GridData, self._call("getGridData", region_id))


class PriceDiscovery(ContractClient):
    def reference_price_per_kwh(self, region_id: int) -> int:
        """base × (0.3 D + 0.3 S + 0.2 T + 0.2 G), PaymentToken base units per kWh."""
        return self._int("getReferencePrice", region_id)

    def price_factors(self, region_id: int) -> PriceFactors:
        return decode_struct(PriceFactors, self._call("getPriceFactors", region_id))

    def max_age_s(self, source: int) -> int:
        return self._int("maxAge", int(require_enum(DataSource, source)))

    def utc_offset_minutes(self) -> int:
        """The deployment's zone: local time − UTC, minutes (its tariff hours and every shown time)."""
        return self._int("utcOffsetMinutes")

    def time_factors_bps(self) -> list[int]:
        """The 24 local hours' time factors."""
        return [int(v) for v in self._call("getTimeFactors")]
