// Grid operator: grid status, load by region with its status colours, the market zones' prices, flows
// and links per interval, oracle data, demand-response events; with the operator token: report load,
// start a demand-response event, balancing, emergency.
import { dataset, lineChart, markEmpty, setTimeRange } from "./charts.js";
import { $, api, chainTimeOf, fillRows, formatClock, formatFrequency, formatMoney, formatPowerW, formatTime, formatVoltage, h, live, lockControls,
  formatKWh, formatPrice, formatUnits, parseUnits, query, runAction, pageReady, startPage } from "./common.js";
import { boundLinksText, clockSpan, flowText, intervalOf, isBound, limitText, priceRangeText, roleText } from "./zones.js";

const TOKEN_KEY = "energy-grid.operator-token";
// Balancing priority by name (the API maps it onto the contract's 1 = most urgent .. 10).
const PRIORITIES = [["CRITICAL", "Critical"], ["HIGH", "High"], ["MEDIUM", "Medium"], ["LOW", "Low"]];
const HIGH_LOAD_PERCENT = 80; // IGridOperations.getLoadStatus: HIGH from 80 %
const DAY_SECONDS = 86_400;
const MAX_LOAD_REPORTS = 500; // the API's largest page; a day of quarter-hourly reports is 96
const ZONE_MARKETS = 8; // the latest markets cleared across zones: two hours of intervals
// The service signs the operator's actions with its own key: no wallet asks anything.
const OPERATOR_PROGRESS = "Sending: the service signs it with the operator key…";

const cfg = await startPage();
if (cfg) document.querySelectorAll(".payment-symbol").forEach((el) => { el.textContent = cfg.paymentSymbol; });
$("#balance-priority").replaceChildren(...PRIORITIES.map(([value, label]) => h("option", { value, selected: value === "MEDIUM" }, label)));

function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

// "unchecked" until the service has said whether the stored token is its operator token.
let tokenState = "unchecked";

function renderControls() {
  const enabled = Boolean(cfg && cfg.operatorRoutes);
  const usable = enabled && Boolean(token()) && tokenState === "accepted";
  $("#operator-routes-note").textContent = enabled
    ? "Actions are signed by the service's operator key; the token proves you may ask for them."
    : "The service runs without an operator key: the operator actions are disabled.";
  const states = { accepted: "token accepted", refused: "token refused: not this service's operator token", unchecked: "checking the token…" };
  $("#token-state").textContent = token() || tokenState === "refused" ? states[tokenState] : "no token";
  const reason = !enabled ? "Disabled: the service runs without an operator key."
    : tokenState === "refused" ? "Disabled: the token was refused; give the operator token above."
      : !token() ? "Give the operator token above to use this."
        : tokenState === "unchecked" ? "Checking the operator token…" : null;
  for (const scope of ["#load-form", "#dr-form", "#balance-form", "#emergency-panel"]) lockControls($(scope), usable ? null : reason);
}

// Asks the service whether the stored token is its operator token; a refused one is forgotten.
async function checkToken() {
  if (!token() || !(cfg && cfg.operatorRoutes)) {
    renderControls();
    return;
  }
  tokenState = "unchecked";
  renderControls();
  const check = await api("/operator/token", { token: token() });
  tokenState = check.accepted ? "accepted" : "refused";
  if (!check.accepted) sessionStorage.removeItem(TOKEN_KEY);
  renderControls();
}

$("#token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const value = $("#operator-token").value.trim();
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  $("#operator-token").value = "";
  runAction(null, checkToken);
});
$("#forget-token").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  tokenState = "unchecked";
  renderControls();
});
await runAction(null, checkToken);

function loadCell(load) {
  if (!load) return [h("td", {}, h("span", { class: "status-badge load-none", dataset: { testid: "region-status" } }, "no report")), h("td", {}, "—")];
  const pct = Math.min(100, Number(load.loadPercentage));
  return [
    h("td", {}, h("span", { class: `status-badge load-${load.status}`, dataset: { testid: "region-status", status: load.status } }, load.status)),
    h("td", {}, h("div", { class: "meter", role: "meter", "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": load.loadPercentage, "aria-label": "Load" },
      h("span", { class: `load-${load.status}`, style: `width:${pct}%` })), h("span", { class: "muted", dataset: { testid: "region-load" } }, `${load.loadPercentage} %`)),
  ];
}

function regionRow(r) {
  const load = r.load;
  const oracle = r.oracle;
  return h("tr", { dataset: { testid: `region-${r.regionId}`, status: load ? load.status : "NONE" } },
    h("td", { class: "num" }, r.regionId),
    ...loadCell(load),
    h("td", { class: "num", dataset: { testid: "region-load-demand" } }, load ? `${load.demandKW} kW` : "—"),
    h("td", { class: "num" }, load ? `${load.capacityKW} kW` : "—"),
    h("td", { dataset: { testid: "region-load-reported" } }, load ? formatTime(load.reportedAt) : "—"),
    h("td", { class: "num" }, oracle ? formatPowerW(oracle.supplyW) : "—"),
    h("td", { class: "num", dataset: { testid: "region-oracle-demand" } }, oracle ? formatPowerW(oracle.demandW) : "—"),
    h("td", { class: "num" }, oracle ? formatFrequency(oracle.frequencyMilliHz) : "—"),
    h("td", { class: "num" }, oracle ? formatVoltage(oracle.voltagePerMille) : "—"),
    h("td", { dataset: { testid: "region-oracle-updated" } }, oracle ? formatTime(oracle.updatedAt) : "—"),
    h("td", {}, r.emergencyMode ? h("span", { class: "status-badge emergency-on", dataset: { testid: "region-emergency" } }, "EMERGENCY") : "—"));
}

let regions = [];

// Each grid figure's source and time in words: the operator's grid status (GridManagement) when it
// reports one; else the meters' readings (supply, demand) and the regions' oracle figures
// (frequency, voltage), as /grid/status names them. A region's load report differs from both.
function showGridSources(status) {
  const power = status.powerSource === "GRID_STATUS" ? `grid status (operator), ${formatClock(status.updatedAt)}`
    : status.powerSource === "METERS" ? `the meters' readings, interval to ${formatClock(status.updatedAt)}`
      : "no grid status or meter readings yet";
  const regions = status.frequencyRegions === 1 ? "1 region" : `${status.frequencyRegions} regions`;
  const quality = status.frequencySource === "GRID_STATUS" ? `grid status (operator), ${formatClock(status.frequencyUpdatedAt)}`
    : status.frequencySource === "ORACLE" ? `oracle, ${regions}, ${formatClock(status.frequencyUpdatedAt)}`
      : "no grid status or oracle figures yet";
  const says = { supply: `PV production · ${power}`, demand: `household consumption · ${power}`, frequency: quality, voltage: `lowest · ${quality}` };
  for (const [figure, text] of Object.entries(says)) $(`[data-testid="grid-${figure}-source"]`).textContent = text;
}

// The toggle acts on the region in its field: it offers the opposite of that region's state.
function showEmergencyToggle() {
  const regionId = Number($("#emergency-region").value);
  const active = regions.some((r) => r.regionId === regionId && r.emergencyMode);
  $("#emergency-toggle").textContent = active ? `End region ${regionId}'s emergency` : `Declare emergency in region ${regionId}`;
  $("#emergency-toggle").dataset.next = String(!active);
}

// The day's load of one region: its reports as a line against the HIGH threshold, with the
// region's demand-response events as shaded spans, so a peak and the event meant to cut it show together.
const loading = window.Chart
  ? lineChart($("#loading-chart"), [
    dataset("Load (% of capacity)", "#1f6feb"),
    dataset(`HIGH (${HIGH_LOAD_PERCENT} %)`, "#d32f2f", { pointRadius: 0, borderDash: [6, 4], borderWidth: 1 }),
    dataset("Demand-response event", "rgba(46, 125, 50, 0.5)", { pointRadius: 0, borderWidth: 0, fill: "origin", backgroundColor: "rgba(46, 125, 50, 0.15)" }),
  ], "% of capacity", { beginAtZero: true })
  : null;
// For the browser tests and the curious: the chart instance.
if (loading) window.energyGridCharts = { loading };

function chartRegion(reported) {
  const select = $("#loading-region");
  const chosen = Number(select.value);
  const ids = reported.map((r) => r.regionId);
  if (select.options.length !== ids.length || ids.some((id, i) => Number(select.options[i].value) !== id)) {
    select.replaceChildren(...ids.map((id) => h("option", { value: id }, `region ${id}`)));
    if (ids.includes(chosen)) select.value = String(chosen);
  }
  return select.value === "" ? null : Number(select.value);
}

async function drawLoading(status, events) {
  if (!loading) return;
  const regionId = chartRegion((status.regions || []).filter((r) => r.load));
  const to = chainTimeOf(status);
  const from = to - DAY_SECONDS;
  const answer = regionId === null ? { points: [] } : await api(`/grid/loads${query({ regionId, from, to, limit: MAX_LOAD_REPORTS })}`);
  const [load, high, dr] = loading.data.datasets;
  load.data = answer.points.map((p) => ({ x: p.reportedAt, y: Number(p.loadPercentage) }));
  high.data = load.data.length ? [{ x: from, y: HIGH_LOAD_PERCENT }, { x: to, y: HIGH_LOAD_PERCENT }] : [];
  dr.data = events
    .filter((e) => e.regionId === regionId && Number(e.endTime) > from && Number(e.startTime) < to)
    .flatMap((e) => [{ x: Number(e.startTime), y: 100 }, { x: Number(e.endTime), y: 100 }, { x: Number(e.endTime), y: null }]);
  loading.options.scales.y.suggestedMax = 100;
  setTimeRange(loading, from, to);
  markEmpty(loading);
  loading.update("none");
}

// The market zones: the chosen interval's market (the latest by default) zone by zone, and the
// latest markets in a line each. The choice is kept while its market is among the latest.
function zoneRow(z) {
  return h("tr", { dataset: { testid: "zone-row", zone: z.zone, role: z.role || "" } },
    h("td", { class: "num" }, z.zone === 0 ? "bus" : z.zone),
    h("td", { class: "num" }, z.regionId ?? "—"),
    h("td", { class: "num", dataset: { testid: "zone-price" } }, formatPrice(z.clearingPricePerKWh, cfg)),
    h("td", { class: "num", dataset: { testid: "zone-flow" } }, flowText(z.netExportWh)),
    h("td", { class: "num", dataset: { testid: "zone-import-limit" } }, z.regionId === null ? "—" : limitText(z.importLimitKW, z.importLimitWh)),
    h("td", { class: "num", dataset: { testid: "zone-export-limit" } }, z.regionId === null ? "—" : limitText(z.exportLimitKW, z.exportLimitWh)),
    h("td", { dataset: { testid: "zone-link" } }, isBound(z)
      ? h("span", { class: `status-badge role-${z.role}` }, roleText(z)) : roleText(z)));
}

// The interval the user picked; null follows the latest market as new ones clear.
let pickedPeriod = null;

function showZones(markets) {
  $('[data-testid="zones-none"]').hidden = markets.length > 0;
  $('[data-testid="zones-detail"]').hidden = markets.length === 0;
  if (!markets.length || !cfg) return;
  const select = $("#zones-interval");
  // The latest markets are the last two hours': the clock says which, the day is in the option's title.
  select.replaceChildren(...markets.map((m, i) => h("option", { value: m.period, title: intervalOf(m.period) },
    `${clockSpan(m.period)}${i === 0 ? " (latest)" : ""}`)));
  if (markets.some((m) => String(m.period) === pickedPeriod)) select.value = pickedPeriod;
  const market = markets.find((m) => String(m.period) === select.value);
  $('[data-testid="zones-detail"]').dataset.period = market.period;
  // The cards give the figure alone, its unit on the line under it: a phone's half-width card fits it.
  $('[data-testid="zones-bus-price"]').textContent = formatUnits(market.busPricePerKWh, cfg.paymentDecimals);
  $('[data-testid="zones-volume"]').textContent = formatKWh(market.volumeWh);
  $('[data-testid="zones-rent"]').textContent = formatUnits(market.congestionRent, cfg.paymentDecimals);
  $('[data-testid="zones-full-count"]').textContent = `${market.zones.filter(isBound).length} of ${market.zones.filter((z) => z.zone !== 0).length}`;
  fillRows($('[data-testid="zones-table"] tbody'), market.zones, zoneRow, "No zone held orders in this market.");
  fillRows($('[data-testid="zone-markets-table"] tbody'), markets, (m) => h("tr", { dataset: { testid: "zone-market", period: m.period } },
    h("td", { title: intervalOf(m.period) }, clockSpan(m.period)),
    h("td", { class: "num" }, formatPrice(m.busPricePerKWh, cfg)),
    h("td", { class: "num" }, priceRangeText(m, (p) => formatPrice(p, cfg))),
    h("td", { class: "num" }, formatMoney(m.congestionRent, cfg)),
    h("td", { dataset: { testid: "zone-market-bound" } }, boundLinksText(m))), "");
}

$("#loading-region").addEventListener("change", () => view.refreshNow());
// Picking the latest interval follows the latest again; an earlier one stays until it leaves the list.
$("#zones-interval").addEventListener("change", (event) => {
  pickedPeriod = event.target.selectedIndex === 0 ? null : event.target.value;
  view.refreshNow();
});

const view = live(async () => {
  const [status, events, zoneMarkets] = await Promise.all([
    api("/grid/status"), api("/demand-response/events?limit=50"), api(`/auction/zone-markets${query({ limit: ZONE_MARKETS })}`)]);
  showZones(zoneMarkets.items);
  await drawLoading(status, events.items);
  $('[data-testid="status-block"]').textContent = status.blockNumber ?? "—";
  const emergency = $('[data-testid="emergency-state"]');
  emergency.textContent = status.emergencyMode ? "EMERGENCY" : "normal";
  emergency.className = `status-badge ${status.emergencyMode ? "emergency-on" : "emergency-off"}`;
  emergency.dataset.active = String(Boolean(status.emergencyMode));
  regions = status.regions || [];
  showEmergencyToggle();
  $('[data-testid="grid-supply"]').textContent = formatPowerW(status.supplyW);
  $('[data-testid="grid-demand"]').textContent = formatPowerW(status.demandW);
  $('[data-testid="grid-frequency"]').textContent = formatFrequency(status.frequencyMilliHz);
  $('[data-testid="grid-voltage"]').textContent = formatVoltage(status.voltagePerMille);
  showGridSources(status);
  fillRows($('[data-testid="regions-table"] tbody'), status.regions || [], regionRow, "No regions reported yet.");
  fillRows($('[data-testid="dr-table"] tbody'), events.items, (e) => h("tr", { dataset: { testid: "dr-event", eventId: e.eventId } },
    h("td", { class: "num" }, `#${e.eventId}`),
    h("td", { class: "num" }, e.regionId),
    h("td", {}, e.status),
    h("td", { class: "num" }, `${e.targetReductionKW} kW`),
    h("td", { class: "num" }, cfg ? formatMoney(e.rewardPerKW, cfg) : e.rewardPerKW),
    h("td", { class: "num" }, cfg ? formatMoney(e.budget, cfg) : e.budget),
    h("td", { class: "num" }, e.participants),
    h("td", { class: "num" }, e.verifiedParticipants),
    h("td", { class: "num" }, cfg ? formatMoney(e.rewardsVerified, cfg) : e.rewardsVerified),
    h("td", {}, formatTime(e.startTime)),
    h("td", {}, formatTime(e.endTime))), "No demand-response events.");
});

function operatorForm(selector, describe, send) {
  const form = $(selector);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const values = Object.fromEntries(new FormData(form).entries());
    runAction(form.querySelector("button[type=submit]"), async () => {
      const answer = await send(values);
      view.refreshNow();
      return describe(answer, values);
    }, OPERATOR_PROGRESS);
  });
}

function integer(value, name) {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}: a whole number.`);
  return n;
}

operatorForm("#load-form", (a) => `Load reported for region ${a.regionId}: ${a.loadPercentage} % (${a.status}).`, (v) =>
  api("/grid/load", { method: "POST", token: token(), body: {
    regionId: integer(v.regionId, "Region"), capacityKW: integer(v.capacityKW, "Capacity"), demandKW: integer(v.demandKW, "Demand") } }));

// No region field: the API starts the event in the operator's own region, the only one it may use.
operatorForm("#dr-form", (a) => `Demand-response event #${a.eventId} started in region ${a.regionId}.`, (v) => {
  const reward = parseUnits(v.rewardPerKW, cfg.paymentDecimals);
  if (reward === null) throw new Error(`Reward per kW: an amount of ${cfg.paymentSymbol} with at most ${cfg.paymentDecimals} decimals.`);
  return api("/demand-response/events", { method: "POST", token: token(), body: {
    targetReductionKW: integer(v.targetReductionKW, "Target reduction"), rewardPerKW: Number(reward),
    durationSeconds: integer(v.durationMinutes, "Duration") * 60 } });
});

operatorForm("#balance-form", (a) => `Balancing action #${a.actionId} requested.`, (v) =>
  api("/grid/balance", { method: "POST", token: token(), body: {
    regionId: integer(v.regionId, "Region"), actionType: v.actionType, targetKW: integer(v.targetKW, "Target"), priority: v.priority } }));

$("#emergency-toggle").addEventListener("click", (event) => {
  const button = event.currentTarget;
  const active = button.dataset.next !== "false";
  runAction(button, async () => {
    const regionId = integer($("#emergency-region").value, "Region");
    const answer = await api("/grid/emergency", { method: "POST", token: token(), body: { regionId, active } });
    view.refreshNow();
    return answer.emergencyMode ? `Emergency mode declared in region ${answer.regionId}.` : `Emergency mode ended in region ${answer.regionId}.`;
  }, OPERATOR_PROGRESS);
});

$("#emergency-region").addEventListener("input", showEmergencyToggle);

pageReady();
