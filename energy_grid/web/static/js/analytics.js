// Analytics: the connected household's (or the community's) day, week or month in figures, then
// price over time (trades and auction clearings), traded volume, production against consumption,
// whole-grid demand and supply. Chart.js 4 (the UMD build at /vendor/chart.js).
import { dataset, lineChart, markEmpty, setTimeRange } from "./charts.js";
import { $, api, chainNow, formatCents, formatClock, formatDay, formatKWh, formatUnitPrice, h, live, query, pageReady, showMessage, startPage, wallet } from "./common.js";

const cfg = await startPage();
const COLORS = { trade: "#1f6feb", auction: "#8e44ad", traded: "#0f9d58", production: "#f2a900", consumption: "#d32f2f", demand: "#d32f2f", supply: "#2e7d32" };

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
  };
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
  for (const chart of Object.values(charts)) {
    markEmpty(chart);
    chart.update("none");
  }
});

$("#range").addEventListener("change", () => view.refreshNow());
$("#summary-period").addEventListener("change", () => view.refreshNow());

pageReady();
