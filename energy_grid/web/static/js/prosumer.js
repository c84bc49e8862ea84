// Prosumer dashboard: my balances (wallet and vault, free and locked in orders, with deposits and
// withdrawals), my meters' production and consumption and my trades over the last 24 hours of chain
// time (a day that has only just begun on the chain would show a night's worth), every fill of mine
// in the book, the auction and my meters' standing orders, my feeder's price in the latest markets
// cleared across zones beside the community's, my standing limits, orders and auction orders.
import { dataset, lineChart, markEmpty, setTimeRange } from "./charts.js";
import { $, ENERGY_DECIMALS, api, apiAnswer, connectWallet, fillRows, formatClock, formatKWh, formatMoney, formatPrice, formatTime, h,
  labelCells, lastKnownText, live, lockControls, pager, parseUnits, query, requireWallet, runAction, shortAddress, showMessage, pageReady, startPage,
  wallet } from "./common.js";
import { cancelOrder } from "./orders.js";
import { depositToVault, setStandingOrder, withdrawFromVault } from "./standing.js";
import { clockSpan, feederLinkWords, feederRoleText, flowText, intervalOf } from "./zones.js";

const cfg = await startPage();
$("#connect-hint-button").addEventListener("click", connectWallet);
labelCells($('[data-testid="balances-table"]'));
if (cfg) document.querySelectorAll(".payment-symbol").forEach((el) => { el.textContent = cfg.paymentSymbol; });

const DAY_S = 86400;
const INTERVAL_S = 900; // a metering interval, the quarter-hourly auction's period
const FILLS_PER_PAGE = 10; // intervals of standing-order fills per page: a phone shows each as a card
const TRADES_SHOWN = 50;
// Enough fills for a day of intervals: a sale and a purchase per interval, besides the book's trades.
const FILLS_PER_DAY = 300;
const MARKETS = { book: "order book", auction: "auction", standing: "standing order" };
const FEEDER_MARKETS = 8; // the latest markets shown for my feeder: two hours of intervals
const COLORS = { produced: "#f2a900", consumed: "#d32f2f", sold: "#0f9d58", bought: "#1f6feb" };

let household = null;
if (!window.Chart) {
  showMessage("Chart.js did not load: the service could not find it (run `npm ci` in the project).", "error");
} else if (cfg) {
  const traded = { stepped: "after", pointRadius: 0, borderDash: [5, 3] }; // an interval's fills from its start
  household = lineChart($("#household-chart"), [
    dataset("Produced (kWh)", COLORS.produced, { pointRadius: 0 }),
    dataset("Consumed (kWh)", COLORS.consumed, { pointRadius: 0 }),
    dataset("Sold (kWh)", COLORS.sold, traded),
    dataset("Bought (kWh)", COLORS.bought, traded),
  ], "kWh per 15 min", { beginAtZero: true });
  // For the browser tests and the curious: the chart instance.
  window.energyGridCharts = { household };
}

// A long id (an auction order's 37 digits, an address) shown short, the whole in its title; a click
// copies the whole.
function idCell(full, testid) {
  if (full === null || full === undefined) return h("td", {}, "—");
  const text = String(full);
  const short = text.length > 12 ? shortAddress(text) : text;
  return h("td", {}, h("button", {
    type: "button", class: "short-id", title: text, "aria-label": `Copy ${text}`, dataset: { testid: testid || "short-id", full: text },
    onclick: () => copyText(text),
  }, short));
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    showMessage(`Copied ${text} to the clipboard.`);
  } catch {
    showMessage(`The browser did not let the page copy: ${text}`, "error");
  }
}

const sum = (values) => values.reduce((total, value) => total + BigInt(value ?? 0), 0n);

// The standing-order fills a page at a time, by default only the intervals that traded.
const fillsPages = pager("fills", FILLS_PER_PAGE, () => view.refreshNow());

// Each meter's standing limits (live) and the page of its settled intervals shown (indexed).
async function standingOf(meters) {
  return Promise.all(meters.map(async (m) => {
    const [limits, fills] = await Promise.all([
      api(`/meters/${m.meter}/standing-order`),
      api(`/meters/${m.meter}/standing-fills${fillsPages.query()}`),
    ]);
    return { meter: m.meter, limits, fills: fills.items, total: fills.total };
  }));
}

function standingRow(s) {
  const l = s.limits;
  return h("tr", { dataset: { testid: "standing-row", meter: s.meter, active: String(l.active) } },
    idCell(s.meter),
    h("td", { class: "num", dataset: { testid: "standing-sell" } }, l.sellPricePerKWh ? formatPrice(l.sellPricePerKWh, cfg) : "no selling"),
    h("td", { class: "num" }, l.sellPricePerKWh ? (l.sellCapWh ? formatKWh(l.sellCapWh) : "all") : "—"),
    h("td", { class: "num", dataset: { testid: "standing-buy" } }, l.buyPricePerKWh ? formatPrice(l.buyPricePerKWh, cfg) : "no buying"),
    h("td", { class: "num" }, l.buyPricePerKWh ? (l.buyCapWh ? formatKWh(l.buyCapWh) : "all") : "—"),
    h("td", { dataset: { testid: "standing-status" } }, !l.active ? "none"
      : l.readingMarketApproved ? "active" : "market not approved: save again to approve"));
}

function intervalText(start) {
  return `${formatTime(start)} – ${formatClock(start + INTERVAL_S)}`;
}

function fillRow(f) {
  const start = f.period * INTERVAL_S;
  return h("tr", { dataset: { testid: "standing-fill", meter: f.meter, period: f.period } },
    h("td", { dataset: { testid: "fill-interval" } }, intervalText(start)),
    idCell(f.meter),
    h("td", { class: "num", dataset: { testid: "fill-offered" } }, formatKWh(f.askWh)),
    h("td", { class: "num", dataset: { testid: "fill-sold" } }, formatKWh(f.soldWh)),
    h("td", { class: "num", dataset: { testid: "fill-proceeds" } }, formatMoney(f.proceeds, cfg)),
    h("td", { class: "num", dataset: { testid: "fill-bid" } }, formatKWh(f.bidWh)),
    h("td", { class: "num", dataset: { testid: "fill-bought" } }, formatKWh(f.boughtWh)),
    h("td", { class: "num", dataset: { testid: "fill-paid" } }, formatMoney(f.paid, cfg)));
}

// The meter choice survives a refresh.
function fillMeterChoice(meters) {
  const select = $("#standing-meter");
  const chosen = select.value;
  select.replaceChildren(...meters.map((m) => h("option", { value: m.meter }, shortAddress(m.meter))));
  if (meters.some((m) => m.meter === chosen)) select.value = chosen;
}

// My meters with their production and consumption per interval over the last 24 hours of chain time.
async function meterRows(me, from) {
  const listing = await api(`/meters${query({ owner: me, limit: 100 })}`);
  return Promise.all(listing.items.map(async (m) => {
    const [production, consumption] = await Promise.all([
      api(`/meters/${m.meter}/production${query({ from })}`),
      api(`/meters/${m.meter}/consumption${query({ from })}`),
    ]);
    return { ...m, production, consumption };
  }));
}

function orderRow(o, refresh) {
  // Only the trader's own wallet can sign the cancellation.
  const cancellable = o.status === "ACTIVE" && wallet.account && wallet.account.toLowerCase() === o.trader.toLowerCase();
  return h("tr", { dataset: { testid: "order-row", orderId: o.orderId, status: o.status } },
    idCell(o.orderId, "order-id"),
    h("td", { class: `side-${o.side}` }, o.side),
    h("td", { class: "num" }, formatKWh(o.amountWh)),
    h("td", { class: "num" }, formatKWh(o.filledWh)),
    h("td", { class: "num" }, formatPrice(o.pricePerKWh, cfg)),
    h("td", {}, formatTime(o.expiry), o.expired ? " (expired)" : ""),
    h("td", { dataset: { testid: "order-status" } }, o.status),
    h("td", {}, cancellable
      ? h("button", { type: "button", class: "small danger", dataset: { testid: "cancel-order" }, "aria-label": `Cancel order ${o.orderId}`,
        onclick: (e) => runAction(e.currentTarget, async () => {
          await cancelOrder(o.orderId);
          refresh();
          return `Order #${o.orderId} cancelled.`;
        }) }, "Cancel")
      : ""));
}

// One fill of mine: a book trade at its time, an auction order or a standing order at the start of
// the interval it delivered in.
function tradeRow(f) {
  const sold = f.side === "SELL";
  return h("tr", { dataset: { testid: "trade-row", market: f.market, side: f.side, time: f.time, status: f.status } },
    h("td", { dataset: { testid: "trade-time" }, title: f.market === "book" ? null : `interval ${intervalText(f.time)}` }, formatTime(f.time)),
    h("td", { dataset: { testid: "trade-market" } }, MARKETS[f.market] || f.market),
    h("td", { class: sold ? "side-SELL" : "side-BUY", dataset: { testid: "trade-side" } }, sold ? "sold" : "bought"),
    h("td", { class: "num", dataset: { testid: "trade-amount" } }, formatKWh(f.amountWh)),
    h("td", { class: "num", dataset: { testid: "trade-price" } }, formatPrice(f.pricePerKWh, cfg)),
    h("td", { class: "num", dataset: { testid: "trade-value" } }, formatMoney(f.value, cfg)),
    idCell(f.id, "trade-id"),
    h("td", { dataset: { testid: "trade-settled" } }, f.status));
}

function auctionRow(o) {
  const start = o.period * INTERVAL_S;
  return h("tr", { dataset: { testid: "auction-order-row", period: o.period } },
    idCell(o.orderId, "auction-order-id"),
    h("td", { dataset: { testid: "auction-interval" } }, intervalText(start)),
    h("td", { class: `side-${o.side}` }, o.side),
    h("td", { class: "num" }, formatKWh(o.amountWh)),
    h("td", { class: "num" }, formatPrice(o.limitPricePerKWh, cfg)),
    h("td", { class: "num" }, formatKWh(o.filledWh)),
    h("td", {}, o.claimed ? "yes" : "no"));
}

// My feeder: my first meter's region, and its zone in the latest markets cleared across zones (the
// route keeps only that region's zone in each market, beside the market's own bus price).
async function feederMarkets(meters) {
  if (!meters.length) return null;
  const regionId = meters[0].regionId;
  const answer = await api(`/auction/zone-markets${query({ regionId, limit: FEEDER_MARKETS })}`);
  return { regionId, markets: answer.items };
}

function feederRow(m) {
  const [zone] = m.zones;
  return h("tr", { dataset: { testid: "feeder-row", period: m.period, role: zone ? zone.role || "" : "" } },
    h("td", { title: intervalOf(m.period) }, clockSpan(m.period)),
    h("td", { class: "num", dataset: { testid: "feeder-price" } }, zone ? formatPrice(zone.clearingPricePerKWh, cfg) : "—"),
    h("td", { class: "num", dataset: { testid: "community-price" } }, formatPrice(m.busPricePerKWh, cfg)),
    h("td", { class: "num", dataset: { testid: "feeder-flow" } }, zone ? flowText(zone.netExportWh) : "—"),
    h("td", { dataset: { testid: "feeder-link" } }, zone ? feederRoleText(zone) : "no orders from my feeder"));
}

// In plain words first: my feeder's price in the latest market beside the community's, and why
// they differ; a market of one zone says so in a line.
function showFeeder(feeder) {
  $('[data-testid="feeder-panel"]').hidden = !feeder;
  $('[data-testid="jump-feeder"]').hidden = !feeder;
  if (!feeder) return;
  const { regionId, markets } = feeder;
  const summary = $('[data-testid="feeder-summary"]');
  const when = $('[data-testid="feeder-when"]');
  $('[data-testid="feeder-detail"]').hidden = markets.length === 0;
  if (!markets.length) {
    when.textContent = "";
    summary.textContent = "Your market is one zone: every household of the community trades at the same price.";
    summary.dataset.period = "";
    return;
  }
  const latest = markets[0];
  const [zone] = latest.zones;
  const community = formatPrice(latest.busPricePerKWh, cfg);
  when.textContent = `The latest market, ${intervalOf(latest.period)}; your meter's feeder is region ${regionId}.`;
  summary.dataset.period = latest.period;
  summary.textContent = zone
    ? `Your feeder's price: ${formatPrice(zone.clearingPricePerKWh, cfg)}; the community's: ${community}; ${feederLinkWords(zone)}.`
    : `Your feeder had no orders in it; the community's price: ${community}.`;
  fillRows($('[data-testid="feeder-table"] tbody'), markets, feederRow, "");
}

// Wallet, vault free, free together, locked in orders (with where) and the total, for one token.
function showBalance(token, walletAmount, vaultFree, locked, format) {
  const free = sum([walletAmount, vaultFree]);
  const lockedTotal = sum(Object.values(locked));
  const where = [["book", locked.book], ["auction", locked.auction], ["standing orders", locked.standing]]
    .filter(([, amount]) => BigInt(amount ?? 0) > 0n).map(([name, amount]) => `${name} ${format(amount)}`);
  $(`[data-testid="${token}-wallet"]`).textContent = format(walletAmount);
  $(`[data-testid="vault-free-${token}"]`).textContent = format(vaultFree);
  $(`[data-testid="${token}-balance"]`).textContent = format(free);
  $(`[data-testid="vault-locked-${token}"]`).textContent = format(lockedTotal);
  $(`[data-testid="locked-${token}-detail"]`).textContent = where.length ? `in ${where.join(" · ")}` : "";
  $(`[data-testid="${token}-total"]`).textContent = format(free + lockedTotal);
}

// The balances' time: nothing while they are live, "last known, from …" for the service worker's copy.
function showBalancesTime(storedAtMs) {
  const asOf = $('[data-testid="balances-as-of"]');
  asOf.textContent = storedAtMs ? `(${lastKnownText(storedAtMs)})` : "";
  asOf.dataset.stale = String(Boolean(storedAtMs));
}

function showBalances(account, vault) {
  const units = { paymentDecimals: vault.paymentDecimals, paymentSymbol: vault.paymentSymbol };
  const { bookOrders: book, auctionOrders: auction, standingOrders: standing } = vault.locked;
  showBalance("energy", account.energyBalanceWh, vault.freeEnergyWh,
    { book: book.energyWh, auction: auction.energyWh, standing: standing.energyWh }, formatKWh);
  showBalance("payment", account.paymentBalance, vault.freePayment,
    { book: book.payment, auction: auction.payment, standing: standing.payment }, (amount) => formatMoney(amount, units));
}

// Per finished interval of the window: my meters' production and consumption and my fills, in kWh.
function drawHousehold(meters, fills, from, to) {
  if (!household) return;
  const perInterval = new Map();
  const first = from - (from % INTERVAL_S) + INTERVAL_S;
  for (let start = first; start + INTERVAL_S <= to; start += INTERVAL_S) {
    perInterval.set(start, { produced: 0, consumed: 0, sold: 0, bought: 0 });
  }
  const add = (timestamp, key, wh) => {
    const slot = perInterval.get(timestamp - (timestamp % INTERVAL_S));
    if (slot) slot[key] += Number(wh) / 1000;
  };
  for (const m of meters) {
    for (const i of m.production.intervals) add(i.timestamp, "produced", i.productionWh);
    for (const i of m.consumption.intervals) add(i.timestamp, "consumed", i.consumptionWh);
  }
  for (const f of fills) add(f.time, f.side === "SELL" ? "sold" : "bought", f.amountWh);
  const series = (key) => [...perInterval].map(([x, slot]) => ({ x, y: slot[key] }));
  ["produced", "consumed", "sold", "bought"].forEach((key, i) => { household.data.datasets[i].data = series(key); });
  setTimeRange(household, from, to);
  markEmpty(household);
  household.update("none");
}

// The account shown: `?account=0x…` (any household, read only unless it is the wallet's), else the wallet's.
function shownAccount() {
  return new URLSearchParams(window.location.search).get("account") || wallet.account;
}

// Why the forms are disabled, or null when the connected wallet is the account shown: only its
// own wallet can sign for an account.
function readOnlyReason(me) {
  if (wallet.account && wallet.account.toLowerCase() === me.toLowerCase()) return null;
  const connected = wallet.account ? ` (the wallet connected is ${shortAddress(wallet.account)})` : "";
  return `Read only: connect the wallet of ${shortAddress(me)} to change this${connected}.`;
}

function showAccount(me) {
  $("#connect-hint").hidden = Boolean(me);
  $("#dashboard").hidden = !me;
  $("#account-label").textContent = me ? `Account ${me}${readOnlyReason(me) ? " (read only)" : ""}` : "No wallet connected.";
  if (!me) return;
  const reason = readOnlyReason(me);
  lockControls($("#vault-form"), reason);
  lockControls($("#standing-form"), reason);
}

// Offline: the balances the service worker kept from the last time they were shown, with their time.
async function showLastKnown() {
  const me = shownAccount();
  showAccount(me);
  if (!me) return;
  const [account, vault] = await Promise.all([apiAnswer(`/accounts/${me}`), apiAnswer(`/vault/${me}`)]);
  showBalances(account.data, vault.data);
  const times = [account.storedAtMs, vault.storedAtMs].filter(Boolean);
  showBalancesTime(times.length ? Math.min(...times) : null);
}

const view = live(async () => {
  const me = shownAccount();
  showAccount(me);
  if (!me || !cfg) return;
  const status = await api("/grid/status");
  const to = Number(status.timestamp);
  const from = Math.max(0, to - DAY_S);
  const [account, vault, meters, orders, fills, auctionOrders, index] = await Promise.all([
    api(`/accounts/${me}`),
    api(`/vault/${me}`),
    meterRows(me, from),
    api(`/orders${query({ trader: me, limit: 50 })}`),
    api(`/accounts/${me}/fills${query({ limit: FILLS_PER_DAY })}`),
    api(`/auction/orders${query({ trader: me, limit: 50 })}`),
    api("/index/status"),
  ]);
  showBalances(account, vault);
  showBalancesTime(null);
  const today = fills.items.filter((f) => f.time >= from);
  $('[data-testid="produced-today"]').textContent = formatKWh(sum(meters.map((m) => m.production.productionWh)));
  $('[data-testid="consumed-today"]').textContent = formatKWh(sum(meters.map((m) => m.consumption.consumptionWh)));
  $('[data-testid="sold-today"]').textContent = formatKWh(sum(today.filter((f) => f.side === "SELL").map((f) => f.amountWh)));
  $('[data-testid="bought-today"]').textContent = formatKWh(sum(today.filter((f) => f.side === "BUY").map((f) => f.amountWh)));
  drawHousehold(meters, today, from, to);
  fillRows($('[data-testid="meters-table"] tbody'), meters, (m) => h("tr", { dataset: { testid: "meter-row" } },
    idCell(m.meter),
    h("td", { class: "num" }, m.regionId),
    h("td", {}, m.active ? "yes" : "no"),
    h("td", { class: "num" }, formatKWh(m.production.productionWh)),
    h("td", { class: "num" }, formatKWh(m.consumption.consumptionWh)),
    h("td", {}, formatTime(m.registeredAt))), "No meters registered to this account.");
  // Until the index has caught up, no fill found may only mean "not indexed yet": no "No trades yet".
  const indexing = !index.caughtUp && fills.items.length === 0;
  $('[data-testid="trades-indexing"]').hidden = !indexing;
  if (indexing) $('[data-testid="trades-table"] tbody').replaceChildren();
  else fillRows($('[data-testid="trades-table"] tbody'), fills.items.slice(0, TRADES_SHOWN), tradeRow, "No trades yet.");
  showFeeder(await feederMarkets(meters));
  const standing = await standingOf(meters);
  // No meter, no standing orders: how to get one instead of an empty choice.
  $("#standing-form").hidden = meters.length === 0;
  $('[data-testid="standing-table"]').hidden = meters.length === 0;
  $('[data-testid="no-meter"]').hidden = meters.length > 0;
  fillMeterChoice(meters);
  fillRows($('[data-testid="standing-table"] tbody'), standing, standingRow, "No meters registered to this account.");
  const standingFills = standing.flatMap((s) => s.fills).sort((a, b) => b.period - a.period);
  fillRows($('[data-testid="standing-fills-table"] tbody'), standingFills, fillRow,
    fillsPages.tradedOnly ? "No standing order has traded yet." : "No standing order settled yet.");
  // A household with more than one meter pages through each meter's intervals side by side: the
  // count is the longest meter's (with one meter, every interval's).
  fillsPages.show(Math.max(0, ...standing.map((s) => s.total)), Math.max(0, ...standing.map((s) => s.fills.length)));
  fillRows($('[data-testid="orders-table"] tbody'), orders.items, (o) => orderRow(o, view.refreshNow), "No orders yet.");
  fillRows($('[data-testid="auction-orders-table"] tbody'), auctionOrders.items, auctionRow, "No auction orders.");
}, { offline: showLastKnown });

// A blank field is 0: no selling or buying at a blank price, no cap at a blank cap.
function readAmount(data, name, decimals, label) {
  const text = String(data.get(name) || "").trim();
  if (!text) return 0;
  const value = parseUnits(text, decimals);
  if (value !== null) return Number(value);
  // Say what is wrong with it, not only what would be right.
  if (/^-/.test(text)) throw new Error(`${label} cannot be negative.`);
  if (/^\d*\.\d+$/.test(text)) throw new Error(`${label}: at most ${decimals} decimals.`);
  throw new Error(`${label}: "${text}" is not a number (write it like 1.5).`);
}

function readStanding(form) {
  const data = new FormData(form);
  const meter = data.get("meter");
  if (!meter) throw new Error("No meter to set standing orders for.");
  const limits = {
    sellPricePerKWh: readAmount(data, "sellPrice", cfg.paymentDecimals, "Sell price"),
    sellCapWh: readAmount(data, "sellCap", ENERGY_DECIMALS, "Sell cap"),
    buyPricePerKWh: readAmount(data, "buyPrice", cfg.paymentDecimals, "Buy price"),
    buyCapWh: readAmount(data, "buyCap", ENERGY_DECIMALS, "Buy cap"),
  };
  if (!limits.sellPricePerKWh && !limits.buyPricePerKWh) throw new Error("Give a sell or a buy price (or clear the standing orders).");
  return { meter, limits };
}

$("#standing-form").addEventListener("submit", (event) => {
  event.preventDefault();
  runAction($('[data-testid="save-standing"]'), async () => {
    if (!cfg) throw new Error("The service's configuration is not loaded yet.");
    requireWallet();
    const { meter, limits } = readStanding(event.target);
    await setStandingOrder(meter, limits);
    view.refreshNow();
    return `Standing orders of meter ${shortAddress(meter)} saved: they apply from its next reading.`;
  });
});

$('[data-testid="clear-standing"]').addEventListener("click", (event) => {
  runAction(event.currentTarget, async () => {
    requireWallet();
    const meter = $("#standing-meter").value;
    if (!meter) throw new Error("No meter to clear standing orders for.");
    await setStandingOrder(meter, { sellPricePerKWh: 0, sellCapWh: 0, buyPricePerKWh: 0, buyCapWh: 0 });
    view.refreshNow();
    return `Standing orders of meter ${shortAddress(meter)} cleared: its readings place nothing from now on.`;
  });
});

// The vault form's token and amount in base units (kWh to Wh for energy).
function readVaultMove() {
  if (!cfg) throw new Error("The service's configuration is not loaded yet.");
  const data = new FormData($("#vault-form"));
  const token = data.get("token");
  const energy = token === "energy";
  const amount = readAmount(data, "amount", energy ? ENERGY_DECIMALS : cfg.paymentDecimals, "Amount");
  if (!amount) throw new Error("Give the amount to move.");
  const shown = energy ? formatKWh(amount) : formatMoney(amount, cfg);
  return { token, amount, shown };
}

$("#vault-form").addEventListener("submit", (event) => {
  event.preventDefault();
  runAction($('[data-testid="vault-deposit"]'), async () => {
    const { token, amount, shown } = readVaultMove();
    await depositToVault(token, amount);
    view.refreshNow();
    return `Deposited ${shown} into your vault balance.`;
  });
});

$('[data-testid="vault-withdraw"]').addEventListener("click", (event) => {
  runAction(event.currentTarget, async () => {
    const { token, amount, shown } = readVaultMove();
    await withdrawFromVault(token, amount);
    view.refreshNow();
    return `Withdrew ${shown} from your vault balance to your wallet.`;
  });
});

pageReady();
