// Prosumer dashboard: my balances (wallet and vault, free and locked in orders, with deposits and
// withdrawals), my meters' production and consumption and my trades over the last 24 hours of chain
// time (a day that has only just begun on the chain would show a night's worth), every fill of mine
// in the book, the auction and my meters' standing orders, my feeder's price in the latest markets
// cleared across zones beside the community's, my standing limits, orders and auction orders. Money
// shows to the cent and prices to their last digit; each part opens from a line with its key figure.
import { auctionOrderState } from "./auction.js";
import { dataset, lineChart, markEmpty, setTimeRange } from "./charts.js";
import { $, ENERGY_DECIMALS, api, apiAnswer, chainTimeOf, connectWallet, fillRows, formatCents, formatClock, formatKWh, formatTime,
  formatUnitPrice, h, inputUnits, labelCells, lastKnownText, live, lockControls, pager, parseUnits, query, requireWallet, runAction,
  shortAddress, showMessage, pageReady, startPage, wallet } from "./common.js";
import { cancelOrder } from "./orders.js";
import { depositToVault, setStandingOrder, withdrawFromVault } from "./standing.js";
import { feederLinkWords, feederRoleText, flowText, intervalOf } from "./zones.js";

const cfg = await startPage();
// Wider than a phone, every part of the dashboard is open; on a phone each opens from its line.
if (window.matchMedia("(min-width: 641px)").matches) document.querySelectorAll("details.section").forEach((part) => { part.open = true; });
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
const FEEDER_MARKETS = 16; // the latest markets shown for my feeder: four hours of intervals (a night's read as one card)
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
    h("td", { class: "num", dataset: { testid: "standing-sell" } }, l.sellPricePerKWh ? formatUnitPrice(l.sellPricePerKWh, cfg) : "no selling"),
    h("td", { class: "num" }, l.sellPricePerKWh ? (l.sellCapWh ? formatKWh(l.sellCapWh) : "all") : "—"),
    h("td", { class: "num", dataset: { testid: "standing-buy" } }, l.buyPricePerKWh ? formatUnitPrice(l.buyPricePerKWh, cfg) : "no buying"),
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
    h("td", { class: "num", dataset: { testid: "fill-proceeds" } }, formatCents(f.proceeds, cfg)),
    h("td", { class: "num", dataset: { testid: "fill-bid" } }, formatKWh(f.bidWh)),
    h("td", { class: "num", dataset: { testid: "fill-bought" } }, formatKWh(f.boughtWh)),
    h("td", { class: "num", dataset: { testid: "fill-paid" } }, formatCents(f.paid, cfg)));
}

// What an interval's standing orders traded: "sold 0.041 kWh for 0.01 MOCKUSD".
function fillWords(f) {
  const sold = BigInt(f.soldWh) ? `sold ${formatKWh(f.soldWh)} for ${formatCents(f.proceeds, cfg)}` : null;
  const bought = BigInt(f.boughtWh) ? `bought ${formatKWh(f.boughtWh)} for ${formatCents(f.paid, cfg)}` : null;
  return [sold, bought].filter(Boolean).join(", ");
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
    const [production, consumption, latest] = await Promise.all([
      api(`/meters/${m.meter}/production${query({ from })}`),
      api(`/meters/${m.meter}/consumption${query({ from })}`),
      api(`/meters/${m.meter}/history${query({ limit: 1 })}`),
    ]);
    // The latest reading's time tells a household its meter is connected even before a reading
    // counts energy (the first one after installation may only set the registers' starting point).
    return { ...m, production, consumption, lastReadingAt: latest.items.length ? latest.items[0].timestamp : null };
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
    h("td", { class: "num" }, formatUnitPrice(o.pricePerKWh, cfg)),
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
    h("td", { class: "num", dataset: { testid: "trade-price" } }, formatUnitPrice(f.pricePerKWh, cfg)),
    h("td", { class: "num", dataset: { testid: "trade-value" } }, formatCents(f.value, cfg)),
    idCell(f.id, "trade-id"),
    h("td", { dataset: { testid: "trade-settled" } }, f.status));
}

function auctionRow(o, nowS) {
  const start = o.period * INTERVAL_S;
  const state = auctionOrderState(o, nowS, cfg);
  return h("tr", { dataset: { testid: "auction-order-row", period: o.period, status: state.status } },
    idCell(o.orderId, "auction-order-id"),
    h("td", { dataset: { testid: "auction-interval" } }, intervalText(start)),
    h("td", { class: `side-${o.side}` }, o.side === "BUY" ? "bid" : "ask"),
    h("td", { class: "num" }, formatKWh(o.amountWh)),
    h("td", { class: "num" }, formatUnitPrice(o.limitPricePerKWh, cfg)),
    h("td", { class: "num" }, formatKWh(o.filledWh)),
    h("td", { dataset: { testid: "auction-status" } }, state.status === "to claim" ? "to claim on the trading page" : state.text));
}

// My feeder: my first meter's region, and its zone in the latest markets cleared across zones (the
// route keeps only that region's zone in each market, beside the market's own bus price).
async function feederMarkets(meters) {
  if (!meters.length) return null;
  const regionId = meters[0].regionId;
  const answer = await api(`/auction/zone-markets${query({ regionId, limit: FEEDER_MARKETS })}`);
  return { regionId, markets: answer.items };
}

// A market as my feeder's card reads it. Only a market that traded set a price: one where no orders
// met (a night without export) has a price on chain that no trade was made at.
function feederCard(m) {
  const [zone] = m.zones;
  const traded = BigInt(m.volumeWh) > 0n;
  return {
    feederPrice: !zone ? "—" : traded ? formatUnitPrice(zone.clearingPricePerKWh, cfg) : "no trade",
    communityPrice: traded ? formatUnitPrice(m.busPricePerKWh, cfg) : "no trade",
    flow: zone ? flowText(zone.netExportWh) : "—",
    link: !zone ? "no orders from my feeder" : traded ? feederRoleText(zone) : "nothing traded",
  };
}

// The markets, the latest first, with consecutive ones that read the same (a night of no trade) as
// one card: its figures, the intervals it spans and how many.
function feederGroups(markets) {
  const groups = [];
  for (const m of markets) {
    const card = feederCard(m);
    const last = groups[groups.length - 1];
    if (last && JSON.stringify(last.card) === JSON.stringify(card)) {
      last.earliest = m.period;
      last.count += 1;
    } else {
      groups.push({ card, market: m, latest: m.period, earliest: m.period, count: 1 });
    }
  }
  return groups;
}

function feederRow(g) {
  const [zone] = g.market.zones;
  const span = `${formatClock(g.earliest * INTERVAL_S)} – ${formatClock((g.latest + 1) * INTERVAL_S)}`;
  return h("tr", { dataset: { testid: "feeder-row", period: g.latest, intervals: g.count, role: zone ? zone.role || "" : "" } },
    h("td", { title: intervalOf(g.latest) }, h("div", {},
      h("div", {}, span), g.count > 1 ? h("div", { class: "muted", dataset: { testid: "feeder-repeat" } }, `the same for ${g.count} intervals`) : null)),
    h("td", { class: "num", dataset: { testid: "feeder-price" } }, g.card.feederPrice),
    h("td", { class: "num", dataset: { testid: "community-price" } }, g.card.communityPrice),
    h("td", { class: "num", dataset: { testid: "feeder-flow" } }, g.card.flow),
    h("td", { dataset: { testid: "feeder-link" } }, g.card.link));
}

// In plain words first: my feeder's price in the latest market beside the community's, and why they
// differ; a latest market that did not trade says so, with the latest one shown that did.
function showFeeder(feeder) {
  $('[data-testid="feeder-panel"]').hidden = !feeder;
  if (!feeder) return;
  const { regionId, markets } = feeder;
  const summary = $('[data-testid="feeder-summary"]');
  const when = $('[data-testid="feeder-when"]');
  const figure = $('[data-testid="feeder-figure"]');
  $('[data-testid="feeder-detail"]').hidden = markets.length === 0;
  if (!markets.length) {
    when.textContent = "";
    figure.textContent = "one zone";
    summary.textContent = "Your market is one zone: every household of the community trades at the same price.";
    summary.dataset.period = "";
    return;
  }
  const latest = markets[0];
  when.textContent = `The latest market, ${intervalOf(latest.period)}; your meter's feeder is region ${regionId}.`;
  summary.dataset.period = latest.period;
  const lastTraded = markets.find((m) => BigInt(m.volumeWh) > 0n && m.zones.length);
  if (lastTraded === latest) {
    const [zone] = latest.zones;
    figure.textContent = formatUnitPrice(zone.clearingPricePerKWh, cfg);
    summary.textContent = `Your feeder's price: ${formatUnitPrice(zone.clearingPricePerKWh, cfg)}; the community's: `
      + `${formatUnitPrice(latest.busPricePerKWh, cfg)}; ${feederLinkWords(zone)}.`;
  } else if (BigInt(latest.volumeWh) > 0n) {
    figure.textContent = "no orders from your feeder";
    summary.textContent = `Your feeder had no orders in it; the community's price: ${formatUnitPrice(latest.busPricePerKWh, cfg)}.`;
  } else {
    figure.textContent = "no trade";
    const before = lastTraded ? ` The latest that traded, ${intervalOf(lastTraded.period)}: your feeder's price `
      + `${formatUnitPrice(lastTraded.zones[0].clearingPricePerKWh, cfg)}; the community's: ${formatUnitPrice(lastTraded.busPricePerKWh, cfg)}.` : "";
    summary.textContent = `No trade in the latest market: no orders met, so it set no price.${before}`;
  }
  fillRows($('[data-testid="feeder-table"] tbody'), feederGroups(markets), feederRow, "");
}

// Wallet, vault free, free together, locked in orders (with where) and the total, for one token;
// returns the total.
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
  return free + lockedTotal;
}

// The balances' time: nothing while they are live, "last known, from …" for the service worker's copy.
function showBalancesTime(storedAtMs) {
  const asOf = $('[data-testid="balances-as-of"]');
  asOf.textContent = storedAtMs ? `(${lastKnownText(storedAtMs)})` : "";
  asOf.dataset.stale = String(Boolean(storedAtMs));
}

function showBalances(account, vault) {
  const units = { paymentDecimals: vault.paymentDecimals, paymentSymbol: vault.paymentSymbol };
  const money = (amount) => formatCents(amount, units);
  const { bookOrders: book, auctionOrders: auction, standingOrders: standing } = vault.locked;
  const energy = showBalance("energy", account.energyBalanceWh, vault.freeEnergyWh,
    { book: book.energyWh, auction: auction.energyWh, standing: standing.energyWh }, formatKWh);
  const payment = showBalance("payment", account.paymentBalance, vault.freePayment,
    { book: book.payment, auction: auction.payment, standing: standing.payment }, money);
  $('[data-testid="balances-figure"]').textContent = `${formatKWh(energy)} · ${money(payment)}`;
  $('[data-testid="vault-figure"]').textContent = `free in your vault: ${formatKWh(vault.freeEnergyWh)} · ${money(vault.freePayment)}`;
  showUnsold(BigInt(account.energyBalanceWh), BigInt(vault.freeEnergyWh));
}

// Energy no order offers: EnergyToken in the wallet (the markets trade from the vault) and energy
// free in the vault (a standing order sells each reading's export, not what is left of it).
function showUnsold(walletWh, vaultFreeWh) {
  const hint = $('[data-testid="unsold-hint"]');
  hint.hidden = walletWh + vaultFreeWh === 0n;
  hint.dataset.walletWh = String(walletWh);
  hint.dataset.vaultFreeWh = String(vaultFreeWh);
  if (hint.hidden) return;
  const where = [walletWh > 0n ? `${formatKWh(walletWh)} in your wallet` : null, vaultFreeWh > 0n ? `${formatKWh(vaultFreeWh)} free in your vault` : null]
    .filter(Boolean).join(" and ");
  const deposit = walletWh > 0n ? "deposit the wallet's into your vault (Deposit or withdraw), then " : "";
  hint.replaceChildren(`Unsold energy: ${where}, offered nowhere. Your standing orders sell each reading's export only: to sell this, `
    + `${deposit}offer it with an ask on the `, h("a", { href: "/trading" }, "trading"), " page.");
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
  // The chart ends at the index's head once every answer is in: the head only moves on, so no fill or
  // reading fetched above lies after it (ending at `to`, read first, could leave out the interval of a
  // fill indexed in between).
  drawHousehold(meters, today, from, Number((await api("/grid/status")).timestamp));
  const lastReadingAt = Math.max(0, ...meters.map((m) => m.lastReadingAt || 0));
  $('[data-testid="meters-figure"]').textContent = (meters.length === 1 ? "1 meter" : `${meters.length} meters`)
    + (!meters.length ? "" : lastReadingAt ? `, last reading ${formatClock(lastReadingAt)}` : ", no reading yet");
  $('[data-testid="trades-figure"]').textContent = `${today.length} in the last 24 h`;
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
  $('[data-testid="standing-panel"]').hidden = meters.length === 0;
  $('[data-testid="no-meter"]').hidden = meters.length > 0;
  fillMeterChoice(meters);
  fillRows($('[data-testid="standing-table"] tbody'), standing, standingRow, "No meters registered to this account.");
  showStandingLimits(standing);
  const standingFills = standing.flatMap((s) => s.fills).sort((a, b) => b.period - a.period);
  const lastFill = standingFills.find((f) => BigInt(f.soldWh) > 0n || BigInt(f.boughtWh) > 0n);
  $('[data-testid="fills-figure"]').textContent = lastFill ? `${formatClock(lastFill.period * INTERVAL_S)}: ${fillWords(lastFill)}` : "";
  fillRows($('[data-testid="standing-fills-table"] tbody'), standingFills, fillRow,
    fillsPages.tradedOnly ? "No standing order has traded yet." : "No standing order settled yet.");
  // A household with more than one meter pages through each meter's intervals side by side: the
  // count is the longest meter's (with one meter, every interval's).
  fillsPages.show(Math.max(0, ...standing.map((s) => s.total)), Math.max(0, ...standing.map((s) => s.fills.length)));
  fillRows($('[data-testid="orders-table"] tbody'), orders.items, (o) => orderRow(o, view.refreshNow), "No orders yet.");
  $('[data-testid="orders-figure"]').textContent = `${orders.items.filter((o) => o.status === "ACTIVE").length} open`;
  const nowS = chainTimeOf(status);
  fillRows($('[data-testid="auction-orders-table"] tbody'), auctionOrders.items, (o) => auctionRow(o, nowS), "No auction orders.");
  $('[data-testid="auction-figure"]').textContent = `${auctionOrders.items.filter((o) => !o.claimed).length} not claimed`;
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

// The limits the form holds; a side without a price has no cap either.
function readStanding(form) {
  const data = new FormData(form);
  const meter = data.get("meter");
  if (!meter) throw new Error("No meter to set standing orders for.");
  const sellPricePerKWh = readAmount(data, "sellPrice", cfg.paymentDecimals, "Sell price");
  const buyPricePerKWh = readAmount(data, "buyPrice", cfg.paymentDecimals, "Buy price");
  const limits = {
    sellPricePerKWh,
    sellCapWh: sellPricePerKWh ? readAmount(data, "sellCap", ENERGY_DECIMALS, "Sell cap") : 0,
    buyPricePerKWh,
    buyCapWh: buyPricePerKWh ? readAmount(data, "buyCap", ENERGY_DECIMALS, "Buy cap") : 0,
  };
  if (!limits.sellPricePerKWh && !limits.buyPricePerKWh) throw new Error("Give a sell or a buy price (or clear the standing orders).");
  return { meter, limits };
}

// Limits in words: "selling at 0.25 MOCKUSD/kWh or more, buying at 0.215 MOCKUSD/kWh or less (at most 2.000 kWh an interval)".
function limitsText(l) {
  const side = (price, cap, verb, bound) => (BigInt(price)
    ? `${verb} at ${formatUnitPrice(price, cfg)} ${bound}${BigInt(cap) ? ` (at most ${formatKWh(cap)} an interval)` : ""}` : `no ${verb}`);
  return `${side(l.sellPricePerKWh, l.sellCapWh, "selling", "or more")}, ${side(l.buyPricePerKWh, l.buyCapWh, "buying", "or less")}`;
}

// What saving `next` over the limits on the chain would change, side by side, in words.
function standingChanges(current, next) {
  const words = [];
  for (const [side, verb, bound] of [["sell", "selling", "or more"], ["buy", "buying", "or less"]]) {
    const [was, now] = [current, next].map((l) => BigInt(l[`${side}PricePerKWh`]));
    const [wasCap, nowCap] = [current, next].map((l) => BigInt(l[`${side}CapWh`]));
    const cap = (wh) => (wh ? formatKWh(wh) : "all");
    if (was && !now) words.push(`${verb} will be switched off`);
    else if (!was && now) words.push(`${verb} will be switched on at ${formatUnitPrice(now, cfg)} ${bound}, cap ${cap(nowCap)}`);
    else if (now) {
      if (was !== now) words.push(`the ${side} price goes from ${formatUnitPrice(was, cfg)} to ${formatUnitPrice(now, cfg)}`);
      if (wasCap !== nowCap) words.push(`the ${side} cap goes from ${cap(wasCap)} to ${cap(nowCap)}`);
    }
  }
  return words;
}

// The form shows the chosen meter's limits on the chain until the household edits it (a blank form
// would save 0, switching off the side it did not touch); while edited it says what saving changes.
const standingForm = { meter: null, edited: false, limits: new Map() };

function fillStandingForm() {
  const meter = $("#standing-meter").value;
  const l = standingForm.limits.get(meter);
  standingForm.meter = meter;
  standingForm.edited = false;
  if (!l) return;
  const shown = (price, value, decimals) => (BigInt(price) && BigInt(value) ? inputUnits(value, decimals) : "");
  $("#standing-sell-price").value = shown(l.sellPricePerKWh, l.sellPricePerKWh, cfg.paymentDecimals);
  $("#standing-sell-cap").value = shown(l.sellPricePerKWh, l.sellCapWh, ENERGY_DECIMALS);
  $("#standing-buy-price").value = shown(l.buyPricePerKWh, l.buyPricePerKWh, cfg.paymentDecimals);
  $("#standing-buy-cap").value = shown(l.buyPricePerKWh, l.buyCapWh, ENERGY_DECIMALS);
  showStandingChanges();
}

function showStandingChanges() {
  const line = $('[data-testid="standing-changes"]');
  const current = standingForm.limits.get($("#standing-meter").value);
  let text = "";
  let kind = "";
  if (standingForm.edited && current) {
    try {
      const words = standingChanges(current, readStanding($("#standing-form")).limits);
      text = words.length ? `Saving changes: ${words.join("; ")}.` : "Nothing to save: these are the limits on the chain.";
      kind = words.some((w) => w.endsWith("switched off")) ? "warning" : "";
    } catch (err) {
      [text, kind] = [err.message, "warning"];
    }
  }
  line.textContent = text;
  line.dataset.kind = kind;
}

// Each meter's limits as the chain holds them, the auction's price range beside the form, and the
// form refilled unless the household is editing it.
function showStandingLimits(standing) {
  standingForm.limits = new Map(standing.map((s) => [s.meter, s.limits]));
  const [first] = standing;
  $('[data-testid="standing-figure"]').textContent = first ? (first.limits.active ? limitsText(first.limits) : "none set") : "";
  const grid = first && first.limits.priceGrid;
  $('[data-testid="standing-grid"]').textContent = grid ? `The auction's prices run from ${formatUnitPrice(grid.minPricePerKWh, cfg)} to `
    + `${formatUnitPrice(grid.maxPricePerKWh, cfg)}: a sell price above that never sells, a buy price below it never buys.` : "";
  if (!standingForm.edited || standingForm.meter !== $("#standing-meter").value) fillStandingForm();
}

// The limits just saved are the chain's now (the transaction is mined): the form compares the next
// edit with them at once, not with those of the last refresh.
function keepSavedLimits(meter, limits) {
  const active = Boolean(BigInt(limits.sellPricePerKWh) || BigInt(limits.buyPricePerKWh));
  standingForm.limits.set(meter, { ...standingForm.limits.get(meter), ...limits, active });
  standingForm.edited = false;
  fillStandingForm();
}

$("#standing-form").addEventListener("input", (event) => {
  if (event.target.id === "standing-meter") {
    fillStandingForm();
    return;
  }
  standingForm.edited = true;
  showStandingChanges();
});

$("#standing-form").addEventListener("submit", (event) => {
  event.preventDefault();
  runAction($('[data-testid="save-standing"]'), async () => {
    if (!cfg) throw new Error("The service's configuration is not loaded yet.");
    requireWallet();
    const { meter, limits } = readStanding(event.target);
    await setStandingOrder(meter, limits);
    keepSavedLimits(meter, limits);
    view.refreshNow();
    return `Standing orders of meter ${shortAddress(meter)} saved: ${limitsText(limits)}, from its next reading.`;
  });
});

$('[data-testid="clear-standing"]').addEventListener("click", (event) => {
  runAction(event.currentTarget, async () => {
    requireWallet();
    const meter = $("#standing-meter").value;
    if (!meter) throw new Error("No meter to clear standing orders for.");
    await setStandingOrder(meter, { sellPricePerKWh: 0, sellCapWh: 0, buyPricePerKWh: 0, buyCapWh: 0 });
    keepSavedLimits(meter, { sellPricePerKWh: 0, sellCapWh: 0, buyPricePerKWh: 0, buyCapWh: 0 });
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
  const shown = energy ? formatKWh(amount) : formatCents(amount, cfg);
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
