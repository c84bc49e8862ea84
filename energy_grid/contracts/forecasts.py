"""ForecastLedger: each grid region's quantile forecast of its net import (consumption − production
over the region's meters, Wh per 900 s interval), committed by its operator before the market's gate,
then tallied from the meters and scored by anyone (IForecastLedger describes the cycle).

The ledger keeps a forecast's hash; the vectors themselves travel in the ForecastCommitted event,
which `committed_forecast` reads back from the block the ledger names, so a reader needs no scan of
the chain's logs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_abi import encode
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3.types import TxReceipt

from energy_grid.chain.errors import ContractRevertError
from energy_grid.contracts.base import ContractClient, decode_event, decode_struct, require
from energy_grid.contracts.structs import Forecast, ForecastScore

MAX_INTERVALS = 96  # ForecastLedger.MAX_INTERVALS: a window of at most one day
MAX_TALLY_BATCH = 16  # ForecastLedger.MAX_TALLY_BATCH: meters per tallyMeters call
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


@dataclass(frozen=True)
class QuantileForecast:
    """A region's forecast of its net import, Wh per interval from `first_interval` (negative while the
    feeder exports)."""

    region_id: int
    first_interval: int
    p10_wh: tuple[int, ...]
    p50_wh: tuple[int, ...]
    p90_wh: tuple[int, ...]

    @property
    def interval_count(self) -> int:
        return len(self.p10_wh)

    @property
    def forecast_hash(self) -> bytes:
        """What the ledger keeps: keccak256(abi.encode(p10Wh, p50Wh, p90Wh))."""
        return keccak(encode(["int32[]", "int32[]", "int32[]"], [list(self.p10_wh), list(self.p50_wh), list(self.p90_wh)]))

    def vectors(self) -> tuple[list[int], list[int], list[int]]:
        return list(self.p10_wh), list(self.p50_wh), list(self.p90_wh)


class ForecastLedger(ContractClient):
    """Commits a region's forecast (its operator), tallies the region's meters and scores the forecast
    (anyone), and reads committed forecasts and their scores back."""

    def commit_forecast(self, operator: LocalAccount, forecast: QuantileForecast) -> TxReceipt:
        """Commits before the gate of the forecast's first interval closes (gate_closure_time)."""
        count = forecast.interval_count
        require(0 < count <= MAX_INTERVALS, f"a forecast covers 1 to {MAX_INTERVALS} intervals, not {count}")
        require(len(forecast.p50_wh) == count == len(forecast.p90_wh), "P10, P50 and P90 must have one length")
        require(
            all(INT32_MIN <= p10 <= p50 <= p90 <= INT32_MAX for p10, p50, p90 in zip(*forecast.vectors(), strict=True)),
            "each interval needs P10 ≤ P50 ≤ P90, each within a 32-bit integer of Wh",
        )
        return self._send(operator, "commitForecast", forecast.region_id, forecast.first_interval, *forecast.vectors())

    def tally_meters(self, sender: LocalAccount, region_id: int, first_interval: int, meters: Sequence[str]) -> int:
        """Adds up to MAX_TALLY_BATCH meters of the region to the window's sums; returns the meters tallied so far."""
        require(0 < len(meters) <= MAX_TALLY_BATCH, f"a tally batch holds 1 to {MAX_TALLY_BATCH} meters, not {len(meters)}")
        receipt = self._send(sender, "tallyMeters", region_id, first_interval, list(meters))
        return self._id(receipt, "MetersTallied", "metersTallied")

    def score_forecast(self, sender: LocalAccount, forecast: QuantileForecast) -> ForecastScore:
        """Scores the forecast (once every meter is tallied) and returns the score stored."""
        self._send(sender, "scoreForecast", forecast.region_id, forecast.first_interval, *forecast.vectors())
        return self.get_score(forecast.region_id, forecast.first_interval)

    def preview_score(self, forecast: QuantileForecast) -> ForecastScore:
        """The score scoring would store now (scored_at 0)."""
        return decode_struct(ForecastScore, self._call("previewScore", forecast.region_id, forecast.first_interval, *forecast.vectors()))

    def get_forecast(self, region_id: int, first_interval: int) -> Forecast:
        return decode_struct(Forecast, self._call("getForecast", region_id, first_interval))

    def get_score(self, region_id: int, first_interval: int) -> ForecastScore:
        return decode_struct(ForecastScore, self._call("getScore", region_id, first_interval))

    def net_import_wh(self, region_id: int, first_interval: int) -> list[int]:
        """The window's net import per interval over the meters tallied so far, Wh."""
        return [int(wh) for wh in self._call("getNetImport", region_id, first_interval)]

    def is_meter_tallied(self, region_id: int, first_interval: int, meter: str) -> bool:
        return bool(self._call("isMeterTallied", region_id, first_interval, meter))

    def gate_closure_time(self, interval: int) -> int:
        """When a forecast from `interval` must be committed by, unix s (the auction's gate)."""
        return self._int("gateClosureTime", interval)

    def committed_forecast(self, region_id: int, first_interval: int) -> QuantileForecast | None:
        """The region's forecast from `first_interval`, read from its ForecastCommitted event; None when
        none was committed."""
        try:
            kept = self.get_forecast(region_id, first_interval)
        except ContractRevertError as refused:
            if refused.error_name == "ForecastNotCommitted":
                return None
            raise
        logs = self.contract.events.ForecastCommitted().get_logs(
            from_block=kept.committed_at_block,
            to_block=kept.committed_at_block,
            argument_filters={"regionId": region_id, "firstInterval": first_interval},
        )
        (log,) = logs  # one commitment per region and first interval
        committed = decode_event(_Committed, log["args"])
        return QuantileForecast(region_id, first_interval, tuple(committed.p10_wh), tuple(committed.p50_wh), tuple(committed.p90_wh))


@dataclass(frozen=True)
class _Committed:
    """The vectors of a ForecastCommitted event."""

    p10_wh: list[int]
    p50_wh: list[int]
    p90_wh: list[int]


__all__ = ["MAX_INTERVALS", "MAX_TALLY_BATCH", "ForecastLedger", "QuantileForecast"]
