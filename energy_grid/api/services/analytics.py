"""A household's or the community's day, week or month: the figures the event index holds
(energy_grid.index.analytics) with the few it does not, read live from the chain. Shared by the
`/analytics/...summary` routes and `energy-grid report`. And a region's forecasts against its meters
(energy_grid.index.forecasts) as `/analytics/forecasts` answers them."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from energy_grid.api import schemas
from energy_grid.contracts.client import GridClient
from energy_grid.domain.units import INTERVAL_SECONDS
from energy_grid.index import analytics
from energy_grid.index.analytics import Summary, Terms
from energy_grid.index.forecasts import ForecastView


def chain_terms(client: GridClient, tariff_per_kwh: int | None = None) -> tuple[Terms, int]:
    """The terms the figures take from the chain now (the tariff, unless given: GridManagement's base
    price; CarbonCredits' avoided-emission factor) and the deployment's zone (minutes east of UTC)."""
    given = tariff_per_kwh is not None
    tariff = tariff_per_kwh if tariff_per_kwh is not None else client.grid_management.base_price_per_kwh()
    terms = Terms(tariff, analytics.GIVEN if given else analytics.BASE_PRICE, client.carbon_credits.avoided_emission_grams_per_kwh())
    return terms, client.price_discovery.utc_offset_minutes()


def summarize(
    session: Session, client: GridClient, period: str, day: date | None, owner: str | None, tariff_per_kwh: int | None = None
) -> tuple[Summary, int]:
    """The summary of the `period` holding `day` (by default the day of the index's head), and the zone it is in."""
    terms, utc_offset_minutes = chain_terms(client, tariff_per_kwh)
    window = analytics.period_window(period, day or analytics.head_day(session, utc_offset_minutes), utc_offset_minutes)
    return analytics.summary(session, window, terms, owner), utc_offset_minutes


def summary_out(result: Summary, utc_offset_minutes: int, payment_symbol: str, payment_decimals: int) -> schemas.SummaryOut:
    window = result.window
    return schemas.SummaryOut(
        owner=result.owner,
        period=window.period,
        firstDay=window.first_day.isoformat(),
        label=window.label(),
        **{"from": window.from_s},
        to=window.to_s,
        utcOffsetMinutes=utc_offset_minutes,
        bucketSeconds=window.bucket_s,
        tariffPerKWh=result.terms.tariff_per_kwh,
        tariffSource=result.terms.tariff_source,
        paymentSymbol=payment_symbol,
        paymentDecimals=payment_decimals,
        meters=result.meters,
        savings=result.savings,
        supply=result.supply,
        export=result.export,
        transformerPeaks=result.peaks,
        co2=result.co2,
        series=result.series,
        households=result.households,
        notes=analytics.notes(result, payment_decimals, payment_symbol),
    )


def forecasts_out(view: ForecastView) -> schemas.ForecastsOut:
    return schemas.ForecastsOut(
        regionId=view.region_id,
        regions=view.regions,
        **{"from": view.first_interval * INTERVAL_SECONDS},
        to=(view.last_interval + 1) * INTERVAL_SECONDS - 1,
        intervalSeconds=INTERVAL_SECONDS,
        intervals=view.intervals,
        scores=view.scores,
        scored=view.totals,
    )
