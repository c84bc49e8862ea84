// Analytics: the connected household's (or the community's) day, week or month in figures, a
// region's committed forecast against its metered load, then price over time (trades and auction
// clearings), traded volume, production against consumption, whole-grid demand and supply.
// Chart.js 4 (the UMD build at /vendor/chart.js).
import { dataset, lineChart, markEmpty, setTimeRange } from "./charts.js";
import { $, api, chainNow, formatCents, formatClock, formatDay, formatKWh, formatUnitPrice, h, live, query, pageReady, showMessage, startPage, wallet } from "./common.js";

const cfg = await startPage();
const COLORS = { trade: "#1f6feb", auction: "#8e44ad", traded: "#0f9d58", production: "#f2a900", consumption: "#d32f2f", demand: "#d32f2f", supply: "#2e7d32", band: "#1f6feb", metered: "#d32f2f" };
const BAND_FILL = "rgba(31, 111, 235, 0.18)";
const PV_FILL = "rgba(242, 169, 0, 0.22)";
const DAY_S = 86_400;
const SCORE_DAYS = 7; // the forecasts' rolling score: the scored intervals of the last week
const KW_PER_WH_IN_AN_INTERVAL = 4 / 1000; // an interval's Wh as its mean kW: × 3,600 / 900 s, / 1,000

let charts = null;
if (!window.Chart) {
  showMessage("Chart.js did not load: the service could not find it (run `npm ci` in the project).", "error");
} else if (cfg) {
  const symbol = cfg.paymentSymbol;
  charts = {
    price: lineChart($("#price-chart"), [dataset("Trades", COLORS.trade, { showLine: false, pointRadius: 3 }), dataset("Auction clearings", COLORS.auction, { stepped: true })], `${symbol}/kWh`),
    volume: lineChart($("#volume-chart"), [dataset("Traded (kWh)", COLORS.traded)], "kWh", { type: "bar", beginAtZero: true }),
    energy: lineChart($("#energy-chart"), [dataset("Production (kWh)", COLORS.production, { pointRadius: 0 }), dataset("Consumption (kWh)", COLORS.consumption, { pointRadius: 0 })], "kWh", { beginAtZero: true }),
    grid: lineChart($("#grid-chart"), [dataset("Demand (kW)", COLORS.demand), dataset("Supply (kW)", COLORS.supply)], "kW", { beginAtZero: true }),
    // The band is the area between the P10 line and the P90 line filled down to it ("-1": the dataset before).
    forecast: lineChart($("#forecast-chart"), [
      dataset("P10", COLORS.band, { pointRadius: 0, borderWidth: 1 }),
      dataset("P10–P90 forecast", COLORS.band, { pointRadius: 0, borderWidth: 1, fill: "-1", backgroundColor: BAND_FILL }),
      dataset("P50 forecast", COLORS.band, { pointRadius: 0, borderDash: [6, 4] }),
      dataset("Metered net import", COLORS.metered, { pointRadius: 0 }),
    ], "kW (net import)"),
  };
  charts.forecast.options.plugins.legend.labels.filter = (item) => item.text !== "P10"; // the band's lower edge: the band says it
  charts.pv = lineChart($("#pv-chart"), [
    dataset("P10", COLORS.production, { pointRadius: 0, borderWidth: 1 }),
    dataset("P10–P90 forecast", COLORS.production, { pointRadius: 0, borderWidth: 1, fill: "-1", backgroundColor: PV_FILL }),
    dataset("P50 forecast", COLORS.production, { pointRadius: 0, borderDash: [6, 4] }),
  ], "kW (production)", { beginAtZero: true });
  charts.pv.options.plugins.legend.labels.filter = (item) => item.text !== "P10";
  // For the browser tests and the curious: the chart instances.
  window.energyGridCharts = charts;
}

function bucketSecondsFor(rangeS) {
  return rangeS <= 86_400 ? 900 : 3_600;
}

const scale = (value, decimals) => Number(value) / 10 ** decimals;

const field = (testId) => $(`[data-testid="${testId}"]`);
const share = (fraction) => (fraction === null || fraction === undefined ? "—" : `${Math.round(fraction * 100)} %`);

// The wallet's household when it owns meters here, else the whole community.
async function showSummary() {
  if (!cfg) return;
  const period = $("#summary-period").value;
  let data = null;
  if (wallet.account) {
    data = await api(`/analytics/households/${wallet.account}/summary${query({ period })}`);
    if (!data.meters.length) data = null;
  }
  const yours = data !== null;
  if (!yours) data = await api(`/analytics/summary${query({ period })}`);
  field("summary-title").textContent = `${yours ? "Your" : "The community's"} ${period}`;
  field("summary-span").textContent = `${data.label}: ${formatDay(data.from)} to ${formatDay(data.to)}`;
  field("summary-saved").textContent = formatCents(data.savings.saved, cfg);
  const estimate = data.tariffSource === "BASE_PRICE" ? ", the grid's base price: an estimate" : "";
  field("summary-tariff").textContent = `every kWh at ${formatUnitPrice(data.tariffPerKWh, cfg)}${estimate}`;
  field("summary-self-sufficiency").textContent = share(data.supply.selfSufficiency);
  field("summary-self-consumption").textContent = share(data.supply.selfConsumption);
  field("summary-sold-share").textContent = share(data.export.soldShare);
  field("summary-sold").textContent = `${formatKWh(data.export.soldP2pWh)} of ${formatKWh(data.export.exportedWh)}`;
  const peak = data.transformerPeaks.reduce((high, p) => (high === null || p.loadPercentage > high.loadPercentage ? p : high), null);
  field("summary-peak").textContent = peak ? `${peak.peakDemandKW} kW` : "—";
  field("summary-peak-source").textContent = !peak
    ? "no load report"
    : `region ${peak.regionId}, ${peak.loadPercentage} % of ${peak.capacityKW} kW` +
      (peak.reductionKnown ? `; ${peak.peakWithoutDemandResponseKW} kW without demand response` : "");
  $('[data-testid="summary-co2"]').textContent = `${(data.co2.avoidedGrams / 1000).toFixed(3)} kg`;
  field("summary-notes").replaceChildren(...data.notes.map((note) => h("li", {}, note)));
}

const kw = (wh) => (wh === null ? null : wh * KW_PER_WH_IN_AN_INTERVAL);

// The region's band, P50 and metered net import from `from` to a day past `to` (a committed forecast
// of tomorrow shows), and the rolling score of its forecasts over the last SCORE_DAYS days.
async function showForecasts(from, to) {
  const select = $("#forecast-region");
  const data = await api(`/analytics/forecasts${query({ regionId: select.value, from: Math.min(from, to - SCORE_DAYS * DAY_S), to: to + DAY_S })}`);
  const regions = data.regions.map(String);
  if (select.options.length !== regions.length || regions.some((region, i) => select.options[i].value !== region)) {
    select.replaceChildren(...regions.map((region) => h("option", { value: region }, `region ${region}`)));
  }
  if (data.regionId !== null) select.value = String(data.regionId);
  field("forecast-region-form").hidden = regions.length < 2;

  const chart = charts.forecast;
  const banded = data.intervals.filter((i) => i.p50Wh !== null);
  const empty = field("forecast-empty");
  empty.hidden = banded.length > 0;
  empty.textContent = data.regionId === null
    ? "No operator has committed a forecast of its region's load yet, so there is no band to show."
    : `Region ${data.regionId} has no committed forecast in this range, so there is no band to show.`;
  // An interval no forecast covers breaks the band (null), so two forecasts are not joined across a gap.
  const band = (key) => data.intervals.map((i) => ({ x: i.start, y: kw(i[key]) }));
  chart.data.datasets[0].data = banded.length ? band("p10Wh") : [];
  chart.data.datasets[1].data = banded.length ? band("p90Wh") : [];
  chart.data.datasets[2].data = banded.length ? band("p50Wh") : [];
  // An interval still in progress has only some of its readings: drawn, it would dip at the right edge.
  chart.data.datasets[3].data = data.intervals
    .filter((i) => i.netImportWh !== null && i.start + data.intervalSeconds <= to)
    .map((i) => ({ x: i.start, y: kw(i.netImportWh) }));
  const lastBandEnd = banded.length ? banded[banded.length - 1].start + data.intervalSeconds : to;
  setTimeRange(chart, from, Math.max(to, Math.min(lastBandEnd, to + DAY_S)));
  chart.update("none");

  const scored = data.scored;
  field("forecast-score").textContent = !banded.length
    ? ""
    : scored.intervals === 0
      ? `No forecast of region ${data.regionId} in the last ${SCORE_DAYS} days is scored yet: once a day is metered, anyone can tally its meters and score it.`
      : `P10–P90 held ${share(scored.coverage)} of the ${scored.intervals} intervals scored in the last ${SCORE_DAYS} days; P90 exceeded ${share(scored.exceededP90Share)}.`;
}

const fixed = (wh) => kw(wh).toFixed(1);

// The forecaster's forecasts that are not committed on chain, when the service asks one: the chosen
// region's net import an hour ahead, and the community's PV tomorrow.
async function showAhead() {
  const nextHour = field("next-hour");
  const pvPanel = field("pv-panel");
  nextHour.hidden = !cfg.forecaster;
  pvPanel.hidden = !cfg.forecaster;
  if (!cfg.forecaster) return;
  let data;
  try {
    data = await api("/analytics/forecasts/ahead");
  } catch (err) {
    nextHour.textContent = `No forecast an hour ahead to show: ${err.message}`;
    for (const set of charts.pv.data.datasets) set.data = [];
    charts.pv.update("none");
    field("pv-total").textContent = `No PV forecast to show: ${err.message}`;
    return;
  }
  const region = $("#forecast-region").value;
  const ahead = data.hourAhead.find((a) => String(a.regionId) === region) || data.hourAhead[0];
  nextHour.textContent = !ahead
    ? "No region has a forecast an hour ahead yet: the forecaster makes one each time the meters have read another quarter hour."
    : `An hour ahead, region ${ahead.regionId} from ${formatClock(ahead.start)}: ${fixed(ahead.p50Wh)} kW net import (P50), ` +
      `${fixed(ahead.p10Wh)} to ${fixed(ahead.p90Wh)} kW (P10–P90), from the meters' readings up to ${formatClock(ahead.meteredThrough)}.`;
  const pv = data.communityPv;
  const at = (k) => pv.dayStart + k * pv.intervalSeconds;
  const line = (key) => (pv ? pv[key].map((wh, k) => ({ x: at(k), y: kw(wh) })) : []);
  charts.pv.data.datasets[0].data = line("p10Wh");
  charts.pv.data.datasets[1].data = line("p90Wh");
  charts.pv.data.datasets[2].data = line("p50Wh");
  if (pv) setTimeRange(charts.pv, pv.dayStart, at(pv.p50Wh.length));
  charts.pv.update("none");
  field("pv-total").textContent = !pv
    ? "The forecaster forecasts the next day's PV at 12:00: there is none yet."
    : `${formatDay(pv.dayStart)}: about ${formatKWh(pv.p50Wh.reduce((sum, wh) => sum + wh, 0))} (the P50s together).`;
}

const view = live(async () => {
  await showSummary();
  if (!charts) return;
  const rangeS = Number($("#range").value);
  const to = await chainNow();
  const from = to - rangeS;
  const bucketSeconds = bucketSecondsFor(rangeS);
  const [prices, energy, demand, supply] = await Promise.all([
    api(`/analytics/prices${query({ from, to })}`),
    api(`/analytics/energy${query({ from, to, bucketSeconds })}`),
    api(`/grid/demand${query({ from, to })}`),
    api(`/grid/supply${query({ from, to })}`),
  ]);
  const point = (p) => ({ x: p.timestamp, y: scale(p.pricePerKWh, cfg.paymentDecimals) });
  charts.price.data.datasets[0].data = prices.points.filter((p) => p.source === "trade").map(point);
  charts.price.data.datasets[1].data = prices.points.filter((p) => p.source === "auction").map(point);
  // A bucket still in progress has only some of its readings (a meter reports at an interval's end):
  // drawn, it would drop to zero at the right edge.
  const buckets = energy.buckets.filter((b) => b.start + bucketSeconds <= to);
  charts.volume.data.labels = buckets.map((b) => formatClock(b.start));
  charts.volume.data.datasets[0].data = buckets.map((b) => b.tradedWh / 1000);
  charts.energy.data.datasets[0].data = buckets.map((b) => ({ x: b.start, y: b.productionWh / 1000 }));
  charts.energy.data.datasets[1].data = buckets.map((b) => ({ x: b.start, y: b.consumptionWh / 1000 }));
  charts.grid.data.datasets[0].data = demand.points.map((p) => ({ x: p.timestamp, y: p.demandW / 1000 }));
  charts.grid.data.datasets[1].data = supply.points.map((p) => ({ x: p.timestamp, y: p.supplyW / 1000 }));
  for (const chart of [charts.price, charts.energy, charts.grid]) setTimeRange(chart, from, to);
  for (const chart of [charts.price, charts.volume, charts.energy, charts.grid]) {
    markEmpty(chart);
    chart.update("none");
  }
  await showForecasts(from, to);
  await showAhead();
});

$("#range").addEventListener("change", () => view.refreshNow());
$("#summary-period").addEventListener("change", () => view.refreshNow());
$("#forecast-region").addEventListener("change", () => view.refreshNow());

pageReady();
