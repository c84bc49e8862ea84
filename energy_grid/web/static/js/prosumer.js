// Prosumer dashboard: my meters' production and consumption over the last 24 hours of chain time
// (a day that has only just begun on the chain would show a night's worth), my balances, orders and trades.
import { $, api, connectWallet, fillRows, formatKWh, formatMoney, formatPrice, formatTime, h, live, query, runAction,
  shortAddress, showMessage, startPage, wallet } from "./common.js";
import { cancelOrder } from "./orders.js";

const cfg = await startPage();
$("#connect-hint-button").addEventListener("click", connectWallet);

const DAY_S = 86400;

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
  const [account, meters, orders, trades, auctionOrders] = await Promise.all([
    api(`/accounts/${me}`),
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
  fillRows($('[data-testid="orders-table"] tbody'), orders.items, (o) => orderRow(o, view.refreshNow), "No orders yet.");
  fillRows($('[data-testid="trades-table"] tbody'), trades.items, (t) => tradeRow(t, me), "No trades yet.");
  fillRows($('[data-testid="auction-orders-table"] tbody'), auctionOrders.items, auctionRow, "No auction orders.");
});

function formatUnitsOf(account) {
  const held = account.paymentBalance + account.vaultPayment;
  return formatMoney(held, { paymentDecimals: account.paymentDecimals, paymentSymbol: account.paymentSymbol });
}
