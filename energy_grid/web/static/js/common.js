// What every view shares: the API client, the wallet (EIP-1193), units, live refresh, the header.

export const API = "/api/v1";
// A page may set `energyGridPollIntervalMs` before the views load (the browser tests poll faster,
// so that a change made on the chain shows in a fraction of a second instead of up to three).
export const POLL_INTERVAL_MS = Number(globalThis.energyGridPollIntervalMs) > 0 ? Number(globalThis.energyGridPollIntervalMs) : 3000;

// ------------------------------------------------------------------ API

export class ApiError extends Error {
  constructor(status, error, message, details) {
    super(message);
    this.status = status;
    this.error = error;
    this.details = details || {};
  }
}

// Integers beyond 2^53 (a permit's max allowance, wei balances) would lose digits as JS numbers,
// and a signature over a rounded value is a signature over another message: keep them as decimal
// strings (eth_signTypedData_v4 and the API both take uint values as decimal strings).
function keepBigIntegers(_key, value, context) {
  if (typeof value === "number" && !Number.isSafeInteger(value) && context && /^-?\d+$/.test(context.source)) {
    return context.source;
  }
  return value;
}

export async function api(path, options = {}) {
  return (await apiAnswer(path, options)).data;
}

// The header the service worker (sw.js) puts on an answer it kept: when the service gave it.
const STORED_AT = "X-Energy-Grid-Stored-At";

// An answer and, when the service could not be reached and the service worker answered with the
// last one it kept, that answer's time (`storedAtMs`, null for a live answer).
export async function apiAnswer(path, { method = "GET", body, token } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(`${API}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new ApiError(0, "Unreachable", `The service does not answer (${err.message}).`);
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text, keepBigIntegers);
    } catch {
      throw new ApiError(response.status, "BadResponse", `The service answered ${response.status} with something other than JSON.`);
    }
  }
  if (!response.ok) {
    const message = (data && data.message) || `The service answered ${response.status}.`;
    throw new ApiError(response.status, (data && data.error) || "HttpError", message, data && data.details);
  }
  const storedAt = response.headers.get(STORED_AT);
  return { data, storedAtMs: storedAt ? Number(storedAt) : null };
}

// The service did not answer at all: the browser is offline, or the service is down.
export function isUnreachable(err) {
  return err instanceof ApiError && err.status === 0;
}

let configPromise = null;
export function config() {
  if (!configPromise) {
    configPromise = api("/config")
      .then((cfg) => {
        utcOffsetMinutes = Number(cfg.utcOffsetMinutes ?? 0);
        return cfg;
      })
      .catch((err) => {
        configPromise = null; // try again on the next refresh
        throw err;
      });
  }
  return configPromise;
}

export function query(params) {
  const entries = Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== "");
  return entries.length ? `?${new URLSearchParams(entries).toString()}` : "";
}

// ------------------------------------------------------------------ units

function toBigInt(value) {
  if (typeof value === "bigint") return value;
  return BigInt(typeof value === "number" ? Math.trunc(value) : String(value));
}

function groupThousands(digits) {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

// A base-unit integer as a decimal with exactly `decimals` places: formatUnits(1234567, 6) = "1.234567".
export function formatUnits(value, decimals) {
  if (value === null || value === undefined) return "—";
  let n = toBigInt(value);
  const negative = n < 0n;
  if (negative) n = -n;
  const scale = 10n ** BigInt(decimals);
  const whole = groupThousands((n / scale).toString());
  const fraction = decimals > 0 ? `.${(n % scale).toString().padStart(decimals, "0")}` : "";
  return `${negative ? "-" : ""}${whole}${fraction}`;
}

// A decimal string as base units: parseUnits("0.22", 6) = 220000n; null when it is no such number.
export function parseUnits(text, decimals) {
  const match = /^\s*(\d*)(?:\.(\d*))?\s*$/.exec(String(text));
  if (!match || (!match[1] && !match[2])) return null;
  const fraction = match[2] || "";
  if (fraction.length > decimals) return null;
  return BigInt(match[1] || "0") * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, "0") || "0");
}

export const ENERGY_DECIMALS = 3; // 1 EnergyToken unit = 1 Wh; 1,000 Wh = 1 kWh

export function formatKWh(amountWh) {
  return amountWh === null || amountWh === undefined ? "—" : `${formatUnits(amountWh, ENERGY_DECIMALS)} kWh`;
}

export function formatMoney(amount, cfg) {
  return amount === null || amount === undefined ? "—" : `${formatUnits(amount, cfg.paymentDecimals)} ${cfg.paymentSymbol}`;
}

export function formatPrice(pricePerKWh, cfg) {
  return pricePerKWh === null || pricePerKWh === undefined ? "—" : `${formatUnits(pricePerKWh, cfg.paymentDecimals)} ${cfg.paymentSymbol}/kWh`;
}

// Money as a household reads a bill, to the cent (half a cent up): "20,000.07 MOCKUSD". An amount
// that is not 0 but under half a cent says so ("< 0.01 MOCKUSD") rather than showing a 0 it is not.
export function formatCents(amount, cfg) {
  if (amount === null || amount === undefined) return "—";
  const decimals = Number(cfg.paymentDecimals);
  if (decimals <= 2) return formatMoney(amount, cfg);
  let n = toBigInt(amount);
  const negative = n < 0n;
  if (negative) n = -n;
  const cent = 10n ** BigInt(decimals - 2);
  const cents = (n + cent / 2n) / cent;
  if (cents === 0n && n > 0n) return `< 0.01 ${cfg.paymentSymbol}`; // its size, either way
  return `${negative && cents > 0n ? "-" : ""}${formatUnits(cents, 2)} ${cfg.paymentSymbol}`;
}

// A price per kWh to its last digit that is not 0, at least to the cent: "0.19 MOCKUSD/kWh",
// "0.257 MOCKUSD/kWh" (the auction's grid steps finer than a cent; six decimals of zeros say nothing).
export function formatUnitPrice(pricePerKWh, cfg) {
  if (pricePerKWh === null || pricePerKWh === undefined) return "—";
  return `${trimmedUnits(pricePerKWh, cfg.paymentDecimals, 2)} ${cfg.paymentSymbol}/kWh`;
}

// A base-unit integer with no trailing zeros beyond `least` places: trimmedUnits(215000n, 6, 2) = "0.215".
function trimmedUnits(value, decimals, least) {
  const [whole, fraction = ""] = formatUnits(value, decimals).split(".");
  const kept = fraction.replace(/0+$/, "").padEnd(Math.min(least, fraction.length), "0");
  return kept ? `${whole}.${kept}` : whole;
}

// A figure as a form's field takes it back (parseUnits reads it): inputUnits(2000, 3) = "2".
export function inputUnits(value, decimals) {
  return trimmedUnits(value, decimals, 0).replace(/,/g, "");
}

// ------------------------------------------------------------------ times

// Every time is shown in one zone, the deployment's configured UTC offset (its time-of-use
// tariff's), not the browser's: the same day reads the same in every view, chart and plot.
let utcOffsetMinutes = 0;

// The zone's name: "UTC", "UTC−05:00", "UTC+05:30".
export function zoneLabel() {
  if (utcOffsetMinutes === 0) return "UTC";
  const minutes = Math.abs(utcOffsetMinutes);
  const hhmm = `${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;
  return `UTC${utcOffsetMinutes < 0 ? "−" : "+"}${hhmm}`;
}

// Seconds since the zone's midnight of `timestampS`, for aligning chart ticks to its hours.
export function secondsIntoZoneDay(timestampS) {
  const local = Number(timestampS) + utcOffsetMinutes * 60;
  return ((local % 86_400) + 86_400) % 86_400;
}

// A wall-clock reading in the zone: the instant shifted by the offset, formatted as UTC.
function zoned(timestampS, options) {
  return new Date((Number(timestampS) + utcOffsetMinutes * 60) * 1000).toLocaleString(undefined, { ...options, timeZone: "UTC" });
}

export function formatTime(timestampS) {
  if (!timestampS) return "—";
  return zoned(timestampS, { dateStyle: "short", timeStyle: "medium" });
}

// The day alone, "12/2/26": beside a span of clock times within it.
export function formatDay(timestampS) {
  return zoned(timestampS, { dateStyle: "short" });
}

export function formatClock(timestampS) {
  return zoned(timestampS, { hour: "2-digit", minute: "2-digit" });
}

// The time of day to the second, for when the page last heard from the service: in the zone too,
// beside the figures it dates.
export function formatTimeOfDay(timestampS) {
  return zoned(timestampS, { timeStyle: "medium" });
}

export function shortAddress(address) {
  return address ? `${address.slice(0, 6)}…${address.slice(-4)}` : "—";
}

export function formatFrequency(milliHz) {
  return milliHz === null || milliHz === undefined ? "—" : `${formatUnits(milliHz, 3)} Hz`;
}

export function formatVoltage(perMille) {
  return perMille === null || perMille === undefined ? "—" : `${formatUnits(perMille, 1)} %`;
}

export function formatPowerW(watts) {
  if (watts === null || watts === undefined) return "—";
  return `${formatUnits(Math.round(Number(watts) / 1000), 0)} kW`;
}

// ------------------------------------------------------------------ DOM

// h("td", {class: "num", dataset: {testid: "x"}}, "text", child) builds an element.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

// Fills a table body with one row per item, or one row saying `empty` when there is none.
export function fillRows(tbody, items, makeRow, empty) {
  const table = tbody.closest("table");
  const columns = table.querySelectorAll("thead th").length || 1;
  const rows = items.length ? items.map(makeRow) : [h("tr", { class: "empty" }, h("td", { colspan: columns }, empty))];
  tbody.replaceChildren(...rows);
  labelCells(table);
}

// Each cell gets its column's heading as `data-label`: on a phone a table's rows show as cards,
// each value under its heading (app.css), instead of a row wider than the screen.
export function labelCells(table) {
  const headings = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
  for (const row of table.querySelectorAll("tbody tr")) {
    [...row.children].forEach((cell, i) => {
      if (headings[i] && !cell.hasAttribute("colspan")) cell.dataset.label = headings[i];
    });
  }
}

// A list shown a page at a time, newest first: Newer and Older and "1–10 of 40" in its `.pager`
// and, when the list has one, its "Only intervals that traded" checkbox (a day's list is mostly
// intervals that traded nothing). The controls are found by the list's `name`: data-testid
// `${name}-newer`, `${name}-older`, `${name}-page` and `${name}-traded`. `changed` reloads the list.
export function pager(name, size, changed) {
  const control = (part) => $(`[data-testid="${name}-${part}"]`);
  const [newer, older, label, traded] = ["newer", "older", "page", "traded"].map(control);
  let offset = 0;
  newer.addEventListener("click", () => { offset = Math.max(0, offset - size); changed(); });
  older.addEventListener("click", () => { offset += size; changed(); });
  if (traded) traded.addEventListener("change", () => { offset = 0; changed(); });
  return {
    size,
    get offset() { return offset; },
    get tradedOnly() { return Boolean(traded && traded.checked); },
    // The page's parameters for the list's route: `limit`, `offset` and, while ticked, `traded`.
    query(params = {}) {
      return query({ ...params, limit: size, offset, traded: this.tradedOnly ? "true" : undefined });
    },
    // Says which rows of `total` the page shows and which way there are more; a page the list no
    // longer reaches (it shrank) gives way to its last one.
    show(total, shown) {
      if (offset > 0 && offset >= total) {
        offset = Math.max(0, Math.floor((total - 1) / size) * size);
        changed();
        return;
      }
      label.textContent = `${total === 0 ? 0 : offset + 1}–${offset + shown} of ${total}`;
      newer.disabled = offset === 0;
      older.disabled = offset + size >= total;
    },
  };
}

// ------------------------------------------------------------------ messages

function messageArea() {
  return $("#messages");
}

// Shows `text` in the page's message area; errors stay until the next success replaces them.
export function showMessage(text, kind = "info") {
  const area = messageArea();
  if (!area) return;
  const el = h("p", { class: `message ${kind}`, role: kind === "error" ? "alert" : "status", dataset: { testid: kind === "error" ? "error" : "notice" } }, text,
    h("button", { type: "button", class: "dismiss", "aria-label": "Dismiss", onclick: () => el.remove() }, "×"));
  area.replaceChildren(el);
}

export function clearMessage() {
  const area = messageArea();
  if (area) area.replaceChildren();
}

export function describeError(err) {
  if (err instanceof ApiError) return err.message;
  // EIP-1193 errors: 4001 the user rejected the request, 4100 not authorized.
  if (err && err.code === 4001) return "The request was rejected in the wallet.";
  if (err && err.message) return err.message;
  return String(err);
}

export function showError(err) {
  showMessage(describeError(err), "error");
}

// ------------------------------------------------------------------ feedback beside a control

// A form's progress, success and error show beside its buttons, where the user looks after a
// click (on a phone the page's top is screens away): in the `.feedback` status line of the
// control's form or `[data-feedback-scope]`. The banner at the top is for page-wide messages.
export function feedbackBeside(control) {
  const scope = control && control.closest("form, [data-feedback-scope]");
  return scope ? scope.querySelector(".feedback") : null;
}

// kind: "progress", "info" (done), "error" or "locked" (why the controls are disabled).
export function sayBeside(control, text, kind = "info") {
  sayOn(feedbackBeside(control), text, kind);
}

// `sayBeside` on a feedback line found before (null: the banner at the top).
function sayOn(line, text, kind) {
  if (!line) {
    if (text && (kind === "info" || kind === "error")) showMessage(text, kind);
    return;
  }
  line.textContent = text;
  line.dataset.kind = text ? kind : "";
  if (text && kind !== "locked") line.scrollIntoView({ block: "nearest" });
}

// Disables every control of `scope` (a form, a panel) and says why beside them; `reason` null
// enables them again. A control stays disabled while its scope is locked, even after an action.
export function lockControls(scope, reason) {
  if (!scope) return;
  const locked = Boolean(reason);
  const wasLocked = scope.dataset.locked === "true";
  scope.dataset.locked = String(locked);
  // Only a change of state touches the controls: a refresh must not enable a button an action
  // still holds disabled.
  if (locked !== wasLocked) {
    for (const control of scope.querySelectorAll("button, input, select")) control.disabled = locked;
  }
  const line = scope.querySelector(".feedback");
  if (!line) return;
  if (locked) {
    line.textContent = reason;
    line.dataset.kind = "locked";
  } else if (wasLocked) {
    line.textContent = "";
    line.dataset.kind = "";
  }
}

// ------------------------------------------------------------------ wallet (EIP-1193)

const listeners = new Set();
export const wallet = { account: null, chainId: null, wrongChain: false };

function provider() {
  return window.ethereum || null;
}

function setAccount(accounts) {
  const next = accounts && accounts.length ? accounts[0] : null;
  // Addresses are sent as the wallet gives them; the API checksums what it answers.
  wallet.account = next;
  renderWallet();
  for (const listener of listeners) listener(wallet);
}

export function onWalletChange(listener) {
  listeners.add(listener);
}

async function checkChain() {
  const eth = provider();
  if (!eth) return;
  const [hexChainId, cfg] = await Promise.all([eth.request({ method: "eth_chainId" }), config()]);
  wallet.chainId = Number.parseInt(hexChainId, 16);
  wallet.wrongChain = wallet.chainId !== Number(cfg.chainId);
  renderWallet();
  if (wallet.wrongChain) {
    showMessage(`The wallet is on chain ${wallet.chainId}; this grid runs on chain ${cfg.chainId}. Switch networks in the wallet.`, "error");
  }
}

export async function connectWallet() {
  const eth = provider();
  if (!eth) {
    showMessage("No browser wallet found: install one (an EIP-1193 provider such as MetaMask) to sign orders.", "error");
    return;
  }
  try {
    const accounts = await eth.request({ method: "eth_requestAccounts" });
    await checkChain();
    setAccount(accounts);
  } catch (err) {
    showError(err);
  }
}

// Reconnects silently when the site is already authorized (eth_accounts asks nothing of the user).
async function restoreWallet() {
  const eth = provider();
  if (!eth) {
    renderWallet();
    return;
  }
  if (typeof eth.on === "function") {
    eth.on("accountsChanged", (accounts) => setAccount(accounts));
    eth.on("chainChanged", () => checkChain().catch(showError));
  }
  try {
    const accounts = await eth.request({ method: "eth_accounts" });
    if (accounts && accounts.length) await checkChain();
    setAccount(accounts);
  } catch (err) {
    showError(err);
  }
}

// Before anything is built for the wallet to sign: a connected wallet on the grid's chain.
export function requireWallet() {
  if (!provider() || !wallet.account) throw new Error("Connect a wallet first.");
  if (wallet.wrongChain) throw new Error("The wallet is on another chain than the grid: switch networks first.");
}

// Signs EIP-712 typed data (as the API builds it) in the wallet; returns the 65-byte signature.
export async function signTypedData(typedData) {
  requireWallet();
  const eth = provider();
  return eth.request({ method: "eth_signTypedData_v4", params: [wallet.account, JSON.stringify(typedData)] });
}

function renderWallet() {
  const button = $("#wallet-button");
  if (!button) return;
  const status = $("#wallet-status");
  if (!provider()) {
    button.textContent = "No wallet";
    button.disabled = true;
    status.textContent = "";
    return;
  }
  button.disabled = false;
  if (wallet.account) {
    button.textContent = shortAddress(wallet.account);
    button.title = wallet.account;
    button.dataset.account = wallet.account;
    status.textContent = wallet.wrongChain ? `wrong chain (${wallet.chainId})` : "connected";
    status.className = wallet.wrongChain ? "wallet-status bad" : "wallet-status ok";
  } else {
    button.textContent = "Connect wallet";
    button.removeAttribute("title");
    delete button.dataset.account;
    status.textContent = "";
  }
}

// ------------------------------------------------------------------ header

const VIEWS = [
  ["/prosumer", "Prosumer"],
  ["/trading", "Trading"],
  ["/operator", "Grid operator"],
  ["/analytics", "Analytics"],
];

function renderHeader() {
  const header = $("#app-header");
  if (!header) return;
  const here = window.location.pathname;
  header.replaceChildren(
    h("a", { class: "brand", href: "/" }, "⚡ Energy Grid"),
    h("nav", { "aria-label": "Views" },
      h("ul", {}, VIEWS.map(([path, label]) =>
        h("li", {}, h("a", { href: path, "aria-current": here === path ? "page" : null, dataset: { testid: `nav-${path.slice(1)}` } }, label))))),
    h("span", { class: "zone muted", title: "Every time on these pages is in the deployment's zone", id: "zone", dataset: { testid: "zone" } }),
    h("div", { class: "wallet" },
      h("span", { id: "wallet-status", class: "wallet-status", "aria-live": "polite" }),
      h("button", { id: "wallet-button", type: "button", dataset: { testid: "wallet-button" }, onclick: () => (wallet.account ? null : connectWallet()) }, "Connect wallet")),
  );
}

// ------------------------------------------------------------------ live refresh

// Runs `refresh` now and every POLL_INTERVAL_MS while the tab is visible (a hidden tab polls
// nothing); `refreshNow()` on the returned handle runs it at once (after an action). When the
// service cannot be reached the page says it is offline and runs `offline` instead, which shows
// what the view kept from before (the last known figures, each with its time).
export function live(refresh, { offline } = {}) {
  let timer = null;
  let running = false;
  let again = false;
  let lastLiveMs = null;
  const stamp = $("#updated-at");

  async function tick() {
    clearTimeout(timer);
    timer = null;
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      await showIndexProgress();
      await refresh();
      lastLiveMs = Date.now();
      showOffline(false);
      if (stamp) stamp.textContent = `updated ${formatTimeOfDay(lastLiveMs / 1000)}`;
    } catch (err) {
      if (isUnreachable(err)) {
        showOffline(true, lastLiveMs);
        if (stamp) stamp.textContent = lastLiveMs ? `offline: last updated ${formatTimeOfDay(lastLiveMs / 1000)}` : "offline";
        if (offline) await offline().catch(() => undefined);
      } else {
        showError(err);
      }
    } finally {
      running = false;
    }
    if (again) {
      again = false;
      tick();
    } else if (document.visibilityState === "visible") {
      timer = setTimeout(tick, POLL_INTERVAL_MS);
    }
  }

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && timer === null && !running) tick();
    else if (document.visibilityState !== "visible") {
      clearTimeout(timer);
      timer = null;
    }
  });
  onWalletChange(() => tick());
  window.addEventListener("online", () => tick());
  tick();
  return { refreshNow: tick };
}

// A bar under the header while the service cannot be reached: nothing on the page is live.
function showOffline(offline, lastLiveMs = null) {
  let banner = $("#offline");
  if (!offline) {
    if (banner) banner.remove();
    return;
  }
  if (!banner) {
    banner = h("div", { id: "offline", class: "offline", role: "status", "aria-live": "polite", dataset: { testid: "offline" } });
    $("#app-header").after(banner);
  }
  const since = lastLiveMs ? ` (this page last heard from it at ${formatTimeOfDay(lastLiveMs / 1000)})` : "";
  banner.textContent = `You are offline: the service cannot be reached${since}. Nothing here is live: the figures shown are the last known ones, with their time.`;
}

// "last known, from 11/25/26, 12:40:12 PM" (in the zone) for an answer the service worker kept.
export function lastKnownText(storedAtMs) {
  return `last known, from ${formatTime(storedAtMs / 1000)}`;
}

// Until the index has caught up with the chain every view answers from the blocks indexed so far,
// so an empty table may only mean "not yet": a bar under the header says how far it is, moved on
// every poll as the follower indexes the history range by range, and gone once it has caught up.
async function showIndexProgress() {
  const status = await api("/index/status");
  let banner = $("#index-progress");
  if (status.caughtUp) {
    if (banner) banner.remove();
    return;
  }
  if (!banner) {
    // Built once and updated in place: a screen reader hears the status line change, not a new one.
    banner = h("div", { id: "index-progress", class: "index-progress", role: "status", dataset: { testid: "index-progress" } },
      h("span", {}), h("progress", { max: "1", "aria-label": "Indexed so far" }));
    $("#app-header").after(banner);
  }
  banner.querySelector("span").textContent = `${status.message}: the views show what is indexed so far`;
  banner.querySelector("progress").setAttribute("value", String(status.progress));
}

// The chain's time (the indexed head's), for expiries and ranges: the chain can run ahead of the
// wall clock (a local node whose time was advanced).
export async function chainNow() {
  try {
    return chainTimeOf(await api("/grid/status"));
  } catch {
    return chainTimeOf(null); // the wall clock will do
  }
}

// The same, from a /grid/status answer a view has already fetched.
export function chainTimeOf(status) {
  const wallClock = Math.floor(Date.now() / 1000);
  return status && status.timestamp ? Math.max(Number(status.timestamp), wallClock) : wallClock;
}

// ------------------------------------------------------------------ start

// The service worker (sw.js at the app's root: its scope is every view) keeps the app shell for
// offline use and makes the app installable. A browser without one still runs every view.
function registerServiceWorker() {
  if (!("serviceWorker" in navigator) || !window.isSecureContext) return;
  navigator.serviceWorker.register("/sw.js").catch(() => undefined);
}

// Every view calls this first: the header, the wallet, the service's configuration.
export async function startPage() {
  registerServiceWorker();
  renderHeader();
  await restoreWallet();
  try {
    const cfg = await config();
    const zone = $("#zone");
    if (zone) zone.textContent = `times in ${zoneLabel()}`;
    return cfg;
  } catch (err) {
    showError(err);
    return null;
  }
}

// Each view calls this last, once its forms and buttons listen: a browser test interacts only
// after it (a form submitted before would reload the page natively).
export function pageReady() {
  document.documentElement.dataset.ready = "true";
}

// Runs a form's action with its button disabled: "working" beside the button while it runs, then
// what `action` returns (the sentence saying what was done) or the error, in words, beside it.
export async function runAction(button, action, progress = "Working: sign in your wallet if it asks…") {
  if (button) button.disabled = true;
  // The line is found while the button is in its form: a refresh that renders the button's table
  // again while the action runs takes the button out of the page, and the outcome must still
  // replace the progress on the line the user is looking at.
  const line = feedbackBeside(button);
  sayOn(line, progress, "progress");
  try {
    const done = await action();
    sayOn(line, done || "", "info");
    return done;
  } catch (err) {
    sayOn(line, describeError(err), "error");
    return undefined;
  } finally {
    if (button) button.disabled = Boolean(button.closest('[data-locked="true"]'));
  }
}
