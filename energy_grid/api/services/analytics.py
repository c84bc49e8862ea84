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
    window, savings, supply, export, co2 = result.window, result.savings, result.supply, result.export, result.co2
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
        savings=schemas.SavingsOut(
            importWh=savings.import_wh, boughtWh=savings.bought_wh, paid=savings.paid, soldWh=savings.sold_wh,
            earned=savings.earned, demandResponseRewards=savings.demand_response_rewards, pendingWh=savings.pending_wh,
            billAtTariff=savings.bill_at_tariff, netCost=savings.net_cost, saved=savings.saved,
        ),
        supply=schemas.SelfSupplyOut(
            consumptionWh=supply.consumption_wh, productionWh=supply.production_wh,
            consumptionMetLocallyWh=supply.consumption_met_locally_wh, productionUsedLocallyWh=supply.production_used_locally_wh,
            selfSufficiency=supply.self_sufficiency, selfConsumption=supply.self_consumption,
        ),
        export=schemas.ExportUseOut(
            exportedWh=export.exported_wh, soldP2pWh=export.sold_p2p_wh, soldShare=export.sold_share,
            linkFullWh=export.link_full_wh, noBuyerWh=export.no_buyer_wh, notOfferedWh=export.not_offered_wh,
            beyondCommunityDrawWh=export.beyond_community_draw_wh,
        ),
        transformerPeaks=[
            schemas.TransformerPeakOut(
                regionId=p.region_id, peakDemandKW=p.peak_demand_kw, capacityKW=p.capacity_kw, loadPercentage=p.load_percentage,
                reportedAt=p.reported_at_s, peakWithoutDemandResponseKW=p.peak_without_demand_response_kw,
                reductionKnown=p.reduction_known,
            )
            for p in result.peaks
        ],
        co2=schemas.Co2Out(avoidedGrams=co2.avoided_grams, exportWh=co2.export_wh, gramsCo2ePerKWh=co2.grams_co2e_per_kwh),
        series=[
            schemas.SummaryBucketOut(
                start=b.start_s, importWh=b.import_wh, exportWh=b.export_wh, importMetLocallyWh=b.import_met_locally_wh
            )
            for b in result.series
        ],
        households=[
            schemas.HouseholdRowOut(
                owner=h.owner, meters=h.meters, importWh=h.import_wh, exportWh=h.export_wh, soldP2pWh=h.sold_p2p_wh, saved=h.saved
            )
            for h in result.households
        ],
        notes=analytics.notes(result, payment_decimals, payment_symbol),
    )


def forecasts_out(view: ForecastView) -> schemas.ForecastsOut:
    totals = view.totals
    return schemas.ForecastsOut(
        regionId=view.region_id,
        regions=view.regions,
        **{"from": view.first_interval * INTERVAL_SECONDS},
        to=(view.last_interval + 1) * INTERVAL_SECONDS - 1,
        intervalSeconds=INTERVAL_SECONDS,
        intervals=[
            schemas.ForecastIntervalOut(
                interval=i.interval, start=i.start_s, p10Wh=i.p10_wh, p50Wh=i.p50_wh, p90Wh=i.p90_wh, netImportWh=i.net_import_wh
            )
            for i in view.intervals
        ],
        scores=[
            schemas.ForecastScoreOut(
                firstInterval=s.first_interval, intervalCount=s.interval_count, coveredIntervals=s.covered_intervals,
                exceededP90Intervals=s.exceeded_p90_intervals, pinballP10Wh=s.pinball_p10_wh, pinballP50Wh=s.pinball_p50_wh,
                pinballP90Wh=s.pinball_p90_wh, metersTallied=s.meters_tallied, scorer=s.scorer, scoredAt=s.scored_at_s,
            )
            for s in view.scores
        ],
        scored=schemas.ForecastScoreTotalsOut(
            forecasts=totals.forecasts, intervals=totals.intervals, coveredIntervals=totals.covered_intervals,
            exceededP90Intervals=totals.exceeded_p90_intervals, coverage=totals.coverage, exceededP90Share=totals.exceeded_p90_share,
        ),
    )
