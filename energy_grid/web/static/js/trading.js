// Trading: the order book by price level, signed order placement and cancellation, recent trades;
// firm bids and asks in the quarter-hourly auction and their claims; the auction's clearings by page.
import { $, ENERGY_DECIMALS, api, chainNow, fillRows, formatCents, formatClock, formatKWh, formatPrice, formatTime, formatUnits, h, live,
  lockControls, pager, parseUnits, query, requireWallet, runAction, shortAddress, pageReady, startPage, wallet } from "./common.js";
import { cancelOrder, placeOrder } from "./orders.js";
import { auctionOrderState, claimAuctionOrder, placeAuctionOrder } from "./auction.js";

const PERIOD_SECONDS = 900; // the quarter-hourly auction's delivery periods
const PERIODS_OFFERED = 8; // the delivery intervals the auction form offers after the next open one
const CLEARINGS_PER_PAGE = 12;

const cfg = await startPage();
if (cfg) document.querySelectorAll(".payment-symbol").forEach((el) => { el.textContent = cfg.paymentSymbol; });

function levelRows(tbody, levels, empty) {
  const deepest = Math.max(1, ...levels.map((l) => l.amountWh));
  fillRows(tbody, levels, (l) => h("tr", { class: "depth", style: `--depth:${((100 * l.amountWh) / deepest).toFixed(1)}%`,
    dataset: { testid: "book-level", price: l.pricePerKWh, amountWh: l.amountWh } },
    h("td", { class: "num" }, formatUnits(l.pricePerKWh, cfg.paymentDecimals)),
    h("td", { class: "num" }, formatKWh(l.amountWh)),
    h("td", { class: "num" }, l.orders)), empty);
}

function readForm(form) {
  const data = new FormData(form);
  const side = data.get("side");
  const amountWh = parseUnits(data.get("amountKWh"), ENERGY_DECIMALS);
  if (amountWh === null || amountWh <= 0n) throw new Error("Amount: a positive number of kWh with at most 3 decimals.");
  const pricePerKWh = parseUnits(data.get("pricePerKWh"), cfg.paymentDecimals);
  if (pricePerKWh === null || pricePerKWh <= 0n) throw new Error(`Price: a positive amount of ${cfg.paymentSymbol} with at most ${cfg.paymentDecimals} decimals.`);
  const hours = Number(data.get("expiryHours"));
  if (!Number.isInteger(hours) || hours < 1) throw new Error("Expiry: a whole number of hours, at least 1.");
  return { side, amountWh: Number(amountWh), pricePerKWh: Number(pricePerKWh), hours };
}

function summarize() {
  try {
    const o = readForm($("#order-form"));
    const total = (BigInt(o.amountWh) * BigInt(o.pricePerKWh)) / 1000n;
    $("#order-summary").textContent = `${o.side} ${formatKWh(o.amountWh)} at ${formatPrice(o.pricePerKWh, cfg)}: ${formatUnits(total, cfg.paymentDecimals)} ${cfg.paymentSymbol} in all.`;
  } catch {
    $("#order-summary").textContent = "";
  }
}

// Orders are signed in the wallet: without one connected the forms say so instead of failing on a click.
function lockWithoutWallet() {
  const reason = wallet.account ? null : "Connect your wallet to place orders: each one is signed in it.";
  lockControls($("#order-form"), reason);
  lockControls($("#auction-form"), reason);
}

function readAuctionForm(form) {
  const data = new FormData(form);
  const amountWh = parseUnits(data.get("amountKWh"), ENERGY_DECIMALS);
  if (amountWh === null || amountWh <= 0n) throw new Error("Energy: a positive number of kWh with at most 3 decimals.");
  const limitPricePerKWh = parseUnits(data.get("limitPricePerKWh"), cfg.paymentDecimals);
  if (limitPricePerKWh === null || limitPricePerKWh <= 0n) {
    throw new Error(`Limit: a positive amount of ${cfg.paymentSymbol} with at most ${cfg.paymentDecimals} decimals.`);
  }
  const period = data.get("period") ? Number(data.get("period")) : null;
  return { side: data.get("side"), amountWh: Number(amountWh), limitPricePerKWh: Number(limitPricePerKWh), period };
}

function intervalLabel(period) {
  return `${formatTime(period * PERIOD_SECONDS)} – ${formatClock((period + 1) * PERIOD_SECONDS)}`;
}

// The delivery intervals after the current one, in the deployment's zone; the first choice leaves
// it to the service (the next interval whose gate has not closed).
let offeredFrom = null;
async function offerPeriods() {
  const select = $("#auction-period");
  const chosen = select.value;
  const next = Math.floor((await chainNow()) / PERIOD_SECONDS) + 1;
  if (next === offeredFrom) return; // left as it is while its choices hold: a phone's open picker stays open
  offeredFrom = next;
  const options = [h("option", { value: "" }, "the next one still open")];
  for (let period = next; period < next + PERIODS_OFFERED; period += 1) options.push(h("option", { value: String(period) }, intervalLabel(period)));
  select.replaceChildren(...options);
  select.value = options.some((o) => o.value === chosen) ? chosen : "";
}

// What a claim paid, in the currency to the cent.
function claimWords(paid) {
  const cents = (amount) => formatCents(amount, cfg);
  const traded = paid.isBid ? `${formatKWh(paid.filledWh)} bought for ${cents(paid.payment)}`
    : `${formatKWh(paid.filledWh)} sold for ${cents(paid.payment)} (grid fee ${cents(paid.fee)})`;
  return `${traded}; ${formatKWh(paid.creditedEnergyWh)} and ${cents(paid.creditedPayment)} credited to your vault balance`;
}

// The claims made from this page and what they paid: the row says it at once, before the index has the claim.
const claimedHere = new Map();

async function myAuctionOrders() {
  const tbody = $('[data-testid="my-auction-orders-table"] tbody');
  if (!wallet.account) {
    fillRows(tbody, [], null, "Connect your wallet to see your auction orders.");
    return;
  }
  const [orders, nowS] = await Promise.all([api(`/auction/orders${query({ trader: wallet.account, limit: 20 })}`), chainNow()]);
  fillRows(tbody, orders.items, (o) => {
    const paid = claimedHere.get(o.orderId);
    const state = paid ? { status: "claimed", text: `claimed: ${claimWords(paid)}` } : auctionOrderState(o, nowS, cfg);
    const status = state.status;
    const claim = status !== "to claim" ? "" : h("button", { type: "button", class: "small", dataset: { testid: "claim-auction-order" },
      "aria-label": `Claim auction order for ${intervalLabel(o.period)}`,
      onclick: (e) => runAction(e.currentTarget, async () => {
        const answer = await claimAuctionOrder(o.orderId);
        claimedHere.set(o.orderId, answer);
        view.refreshNow();
        return `Claimed: ${claimWords(answer)}.`;
      }, "Claiming: the market is cleared first if nobody has yet, then your order is paid out…") }, "Claim");
    return h("tr", { dataset: { testid: "my-auction-order", orderId: o.orderId, status } },
      h("td", {}, intervalLabel(o.period)),
      h("td", { class: `side-${o.side}` }, o.side === "BUY" ? "bid" : "ask"),
      h("td", { class: "num" }, formatKWh(o.amountWh)),
      h("td", { class: "num" }, formatPrice(o.limitPricePerKWh, cfg)),
      h("td", { class: "num" }, o.filledWh === null ? "–" : formatKWh(o.filledWh)),
      h("td", { dataset: { testid: "my-auction-status" } }, state.text),
      h("td", {}, claim));
  }, "No auction orders yet.");
}

// The clearings a page at a time, by default only the intervals that traded.
const clearingsPages = pager("clearings", CLEARINGS_PER_PAGE, () => view.refreshNow());

const view = live(async () => {
  lockWithoutWallet();
  const [book, trades, clearings] = await Promise.all([
    api("/orderbook"), api(`/trades${query({ limit: 20 })}`), api(`/auction/clearings${clearingsPages.query()}`),
  ]);
  if (!cfg) return;
  levelRows($('[data-testid="bids-table"] tbody'), book.bids, "No bids.");
  levelRows($('[data-testid="asks-table"] tbody'), book.asks, "No asks.");
  fillRows($('[data-testid="recent-trades-table"] tbody'), trades.items, (t) => h("tr", { dataset: { testid: "recent-trade", transactionId: t.transactionId } },
    h("td", { class: "num" }, `#${t.transactionId}`),
    h("td", { class: "num" }, formatKWh(t.amountWh)),
    h("td", { class: "num" }, formatPrice(t.pricePerKWh, cfg)),
    h("td", { title: t.buyer }, shortAddress(t.buyer)),
    h("td", { title: t.seller }, shortAddress(t.seller)),
    h("td", {}, t.settled ? "settled" : "pending"),
    h("td", {}, formatTime(t.timestamp))), "No trades yet.");
  fillRows($('[data-testid="clearings-table"] tbody'), clearings.items, (c) => h("tr", { dataset: { testid: "clearing", period: c.period } },
    // The delivery interval, from the period's start (the quarter-hourly auction: 900 s periods).
    h("td", { dataset: { testid: "clearing-interval" } }, intervalLabel(c.period)),
    h("td", {}, formatTime(c.timestamp)),
    // A market that cleared nothing has a price on chain but no trade at it.
    h("td", { class: "num" }, BigInt(c.volumeWh) === 0n ? "no trade" : formatPrice(c.clearingPricePerKWh, cfg)),
    h("td", { class: "num" }, formatKWh(c.volumeWh))), clearingsPages.tradedOnly ? "No auction has traded yet." : "No auction cleared yet.");
  clearingsPages.show(clearings.total, clearings.items.length);
  await Promise.all([myAuctionOrders(), offerPeriods()]);
  const mine = wallet.account ? (await api(`/orders${query({ trader: wallet.account, status: "ACTIVE", limit: 50 })}`)).items : [];
  fillRows($('[data-testid="my-orders-table"] tbody'), mine, (o) => h("tr", { dataset: { testid: "my-order", orderId: o.orderId } },
    h("td", { class: "num" }, `#${o.orderId}`),
    h("td", { class: `side-${o.side}` }, o.side),
    h("td", { class: "num" }, formatKWh(o.remainingWh)),
    h("td", { class: "num" }, formatPrice(o.pricePerKWh, cfg)),
    h("td", {}, formatTime(o.expiry), o.expired ? " (expired)" : ""),
    h("td", {}, h("button", { type: "button", class: "small danger", dataset: { testid: "cancel-order" }, "aria-label": `Cancel order ${o.orderId}`,
      onclick: (e) => runAction(e.currentTarget, async () => {
        await cancelOrder(o.orderId);
        view.refreshNow();
        return `Order #${o.orderId} cancelled.`;
      }) }, "Cancel"))), wallet.account ? "No open orders." : "Connect your wallet to see your orders.");
});

lockWithoutWallet();
$("#order-form").addEventListener("input", summarize);
$("#order-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const button = $('[data-testid="place-order"]');
  runAction(button, async () => {
    if (!cfg) throw new Error("The service's configuration is not loaded yet.");
    requireWallet();
    const o = readForm(event.target);
    const expiry = (await chainNow()) + o.hours * 3600;
    const placed = await placeOrder({ side: o.side, amountWh: o.amountWh, pricePerKWh: o.pricePerKWh, expiry });
    const notPlaced = placed.cancelledWh
      ? ` ${formatKWh(placed.cancelledWh)} of it was not placed (the book's crossing bound): place it again.`
      : "";
    view.refreshNow();
    return `Order #${placed.orderId} placed (${o.side} ${formatKWh(o.amountWh)} at ${formatPrice(o.pricePerKWh, cfg)}).${notPlaced}`;
  });
});

$("#auction-form").addEventListener("submit", (event) => {
  event.preventDefault();
  runAction($('[data-testid="place-auction-order"]'), async () => {
    if (!cfg) throw new Error("The service's configuration is not loaded yet.");
    requireWallet();
    const o = readAuctionForm(event.target);
    const placed = await placeAuctionOrder(o);
    view.refreshNow();
    const escrow = placed.isBid ? formatCents(placed.escrow, cfg) : formatKWh(placed.escrow);
    return `${placed.isBid ? "Bid" : "Ask"} placed for ${intervalLabel(placed.period)}: ${formatKWh(placed.amountWh)} at up to `
      + `${formatPrice(placed.limitPricePerKWh, cfg)}; ${escrow} held in escrow until you claim.`;
  });
});

pageReady();
