// Prosumer dashboard: my meters' production and consumption over the last 24 hours of chain time
// (a day that has only just begun on the chain would show a night's worth), my balances (wallet and
// vault, with deposits and withdrawals), my meters' standing limits and their fills, orders and trades.
import { $, ENERGY_DECIMALS, api, connectWallet, fillRows, formatClock, formatKWh, formatMoney, formatPrice, formatTime, h, live,
  parseUnits, query, requireWallet, runAction, shortAddress, showMessage, startPage, wallet } from "./common.js";
import { cancelOrder } from "./orders.js";
import { depositToVault, setStandingOrder, withdrawFromVault } from "./standing.js";

const cfg = await startPage();
$("#connect-hint-button").addEventListener("click", connectWallet);
if (cfg) document.querySelectorAll(".payment-symbol").forEach((el) => { el.textContent = cfg.paymentSymbol; });

const DAY_S = 86400;
const INTERVAL_S = 900; // a standing order's market: one metering interval
const FILLS_PER_METER = 20;

// Each meter's standing limits (live) and its latest settled intervals (indexed).
async function standingOf(meters) {
  return Promise.all(meters.map(async (m) => {
    const [limits, fills] = await Promise.all([
      api(`/meters/${m.meter}/standing-order`),
      api(`/meters/${m.meter}/standing-fills${query({ limit: FILLS_PER_METER })}`),
    ]);
    return { meter: m.meter, limits, fills: fills.items };
  }));
}

function standingRow(s) {
  const l = s.limits;
  return h("tr", { dataset: { testid: "standing-row", meter: s.meter, active: String(l.active) } },
    h("td", { title: s.meter }, shortAddress(s.meter)),
    h("td", { class: "num", dataset: { testid: "standing-sell" } }, l.sellPricePerKWh ? formatPrice(l.sellPricePerKWh, cfg) : "no selling"),
    h("td", { class: "num" }, l.sellPricePerKWh ? (l.sellCapWh ? formatKWh(l.sellCapWh) : "all") : "—"),
    h("td", { class: "num", dataset: { testid: "standing-buy" } }, l.buyPricePerKWh ? formatPrice(l.buyPricePerKWh, cfg) : "no buying"),
    h("td", { class: "num" }, l.buyPricePerKWh ? (l.buyCapWh ? formatKWh(l.buyCapWh) : "all") : "—"),
    h("td", { dataset: { testid: "standing-status" } }, !l.active ? "none"
      : l.readingMarketApproved ? "active" : "market not approved: save again to approve"));
}

function fillRow(f) {
  const start = f.period * INTERVAL_S;
  return h("tr", { dataset: { testid: "standing-fill", meter: f.meter, period: f.period } },
    h("td", { dataset: { testid: "fill-interval" } }, `${formatTime(start)} – ${formatClock(start + INTERVAL_S)}`),
    h("td", { title: f.meter }, shortAddress(f.meter)),
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

async function meterRows(me) {
  const [listing, status] = await Promise.all([api(`/meters${query({ owner: me, limit: 100 })}`), api("/grid/status")]);
  const since = { from: Math.max(0, Number(status.timestamp) - DAY_S) };
  return Promise.all(listing.items.map(async (m) => {
    const [production, consumption] = await Promise.all([
      api(`/meters/${m.meter}/production${query(since)}`),
      api(`/meters/${m.meter}/consumption${query(since)}`),
    ]);
    return { ...m, productionWh: production.productionWh, consumptionWh: consumption.consumptionWh };
  }));
}

function orderRow(o, refresh) {
  // Only the trader's own wallet can sign the cancellation.
  const cancellable = o.status === "ACTIVE" && wallet.account && wallet.account.toLowerCase() === o.trader.toLowerCase();
  return h("tr", { dataset: { testid: "order-row", orderId: o.orderId, status: o.status } },
    h("td", { class: "num" }, `#${o.orderId}`),
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
          showMessage(`Order #${o.orderId} cancelled.`);
          refresh();
        }) }, "Cancel")
      : ""));
}

function tradeRow(t, me) {
  const selling = t.seller && t.seller.toLowerCase() === me.toLowerCase();
  return h("tr", { dataset: { testid: "trade-row", transactionId: t.transactionId, settled: String(Boolean(t.settled)) } },
    h("td", { class: "num" }, `#${t.transactionId}`),
    h("td", { class: selling ? "side-SELL" : "side-BUY" }, selling ? "SELL" : "BUY"),
    h("td", { class: "num", dataset: { testid: "trade-amount" } }, formatKWh(t.amountWh)),
    h("td", { class: "num" }, formatPrice(t.pricePerKWh, cfg)),
    h("td", { class: "num" }, formatMoney(t.payment, cfg)),
    h("td", { class: "num" }, formatMoney(t.fee, cfg)),
    h("td", { title: selling ? t.buyer : t.seller }, shortAddress(selling ? t.buyer : t.seller)),
    h("td", { dataset: { testid: "trade-settled" } }, t.settled ? "settled" : "pending"),
    h("td", {}, formatTime(t.timestamp)));
}

function auctionRow(o) {
  return h("tr", { dataset: { testid: "auction-order-row" } },
    h("td", { class: "num" }, `#${o.orderId}`),
    h("td", { class: "num" }, o.period),
    h("td", { class: `side-${o.side}` }, o.side),
    h("td", { class: "num" }, formatKWh(o.amountWh)),
    h("td", { class: "num" }, formatPrice(o.limitPricePerKWh, cfg)),
    h("td", { class: "num" }, formatKWh(o.filledWh)),
    h("td", {}, o.claimed ? "yes" : "no"));
}

const view = live(async () => {
  const me = new URLSearchParams(window.location.search).get("account") || wallet.account;
  $("#connect-hint").hidden = Boolean(me);
  $("#dashboard").hidden = !me;
  if (!me || !cfg) {
    $("#account-label").textContent = "No wallet connected.";
    return;
  }
  $("#account-label").textContent = `Account ${me}`;
  const [account, vault, meters, orders, trades, auctionOrders] = await Promise.all([
    api(`/accounts/${me}`),
    api(`/vault/${me}`),
    meterRows(me),
    api(`/orders${query({ trader: me, limit: 50 })}`),
    api(`/trades${query({ trader: me, limit: 50 })}`),
    api(`/auction/orders${query({ trader: me, limit: 50 })}`),
  ]);
  // What the account holds outside its open orders: its wallet and its EnergyVault balance, where the
  // book and the auctions take escrow from and credit refunds and payouts to.
  $('[data-testid="energy-balance"]').textContent = formatKWh(account.energyBalanceWh + account.vaultEnergyWh);
  $('[data-testid="payment-balance"]').textContent = formatUnitsOf(account);
  $('[data-testid="produced-today"]').textContent = formatKWh(meters.reduce((s, m) => s + m.productionWh, 0));
  $('[data-testid="consumed-today"]').textContent = formatKWh(meters.reduce((s, m) => s + m.consumptionWh, 0));
  fillRows($('[data-testid="meters-table"] tbody'), meters, (m) => h("tr", { dataset: { testid: "meter-row" } },
    h("td", { title: m.meter }, shortAddress(m.meter)),
    h("td", { class: "num" }, m.regionId),
    h("td", {}, m.active ? "yes" : "no"),
    h("td", { class: "num" }, formatKWh(m.productionWh)),
    h("td", { class: "num" }, formatKWh(m.consumptionWh)),
    h("td", {}, formatTime(m.registeredAt))), "No meters registered to this account.");
  const vaultUnits = { paymentDecimals: vault.paymentDecimals, paymentSymbol: vault.paymentSymbol };
  $('[data-testid="vault-free-energy"]').textContent = formatKWh(vault.freeEnergyWh);
  $('[data-testid="vault-free-payment"]').textContent = formatMoney(vault.freePayment, vaultUnits);
  $('[data-testid="vault-locked-energy"]').textContent = formatKWh(vault.lockedEnergyWh);
  $('[data-testid="vault-locked-payment"]').textContent = formatMoney(vault.lockedPayment, vaultUnits);
  const standing = await standingOf(meters);
  fillMeterChoice(meters);
  fillRows($('[data-testid="standing-table"] tbody'), standing, standingRow, "No meters registered to this account.");
  const fills = standing.flatMap((s) => s.fills).sort((a, b) => b.period - a.period);
  fillRows($('[data-testid="standing-fills-table"] tbody'), fills, fillRow, "No standing order settled yet.");
  fillRows($('[data-testid="orders-table"] tbody'), orders.items, (o) => orderRow(o, view.refreshNow), "No orders yet.");
  fillRows($('[data-testid="trades-table"] tbody'), trades.items, (t) => tradeRow(t, me), "No trades yet.");
  fillRows($('[data-testid="auction-orders-table"] tbody'), auctionOrders.items, auctionRow, "No auction orders.");
});

function formatUnitsOf(account) {
  const held = account.paymentBalance + account.vaultPayment;
  return formatMoney(held, { paymentDecimals: account.paymentDecimals, paymentSymbol: account.paymentSymbol });
}

// A blank field is 0: no selling or buying at a blank price, no cap at a blank cap.
function readAmount(data, name, decimals, label) {
  const text = String(data.get(name) || "").trim();
  if (!text) return 0;
  const value = parseUnits(text, decimals);
  if (value === null) throw new Error(`${label}: a number with at most ${decimals} decimals.`);
  return Number(value);
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
    showMessage(`Standing orders of meter ${shortAddress(meter)} saved: they apply from its next reading.`);
    view.refreshNow();
  });
});

$('[data-testid="clear-standing"]').addEventListener("click", (event) => {
  runAction(event.currentTarget, async () => {
    requireWallet();
    const meter = $("#standing-meter").value;
    if (!meter) throw new Error("No meter to clear standing orders for.");
    await setStandingOrder(meter, { sellPricePerKWh: 0, sellCapWh: 0, buyPricePerKWh: 0, buyCapWh: 0 });
    showMessage(`Standing orders of meter ${shortAddress(meter)} cleared: its readings place nothing from now on.`);
    view.refreshNow();
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
    showMessage(`Deposited ${shown} into your vault balance.`);
    view.refreshNow();
  });
});

$('[data-testid="vault-withdraw"]').addEventListener("click", (event) => {
  runAction(event.currentTarget, async () => {
    const { token, amount, shown } = readVaultMove();
    await withdrawFromVault(token, amount);
    showMessage(`Withdrew ${shown} from your vault balance to your wallet.`);
    view.refreshNow();
  });
});
