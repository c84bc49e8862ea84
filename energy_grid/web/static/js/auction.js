// Firm bids and asks in the quarter-hourly auction, and their claims: the API builds the EIP-712
// order, the wallet signs it, the API relays it (the relayer pays gas; the order and its escrow
// are the signer's on chain). A claim needs no signature: it pays the order's trader whoever asks.
import { api, formatClock, formatDay, requireWallet, signTypedData, wallet } from "./common.js";

// side: "BID" or "ASK"; period: a delivery period, or null for the next one still open; regionId: the
// grid region whose market zone (feeder) the order trades in, or none for the common bus.
export async function placeAuctionOrder({ side, amountWh, limitPricePerKWh, period, regionId }) {
  requireWallet();
  const draft = { trader: wallet.account, side, amountWh, limitPricePerKWh };
  if (period !== null && period !== undefined) draft.period = period;
  if (regionId) draft.regionId = regionId;
  const built = await api("/auction/orders/typed-data", { method: "POST", body: draft });
  let marketApproval = null;
  if (built.marketApproval) {
    // A first auction order: the trader approves the auction in the EnergyVault, relayed before it.
    const approvalSignature = await signTypedData(built.marketApproval.typedData);
    marketApproval = { deadline: built.marketApproval.deadline, signature: approvalSignature };
  }
  const signature = await signTypedData(built.typedData);
  const body = { order: built.order, signature };
  if (marketApproval) body.marketApproval = marketApproval;
  return api("/auction/orders", { method: "POST", body });
}

export function claimAuctionOrder(orderId) {
  return api(`/auction/orders/${orderId}/claim`, { method: "POST" });
}

// When a period's orders may be claimed: its market's clearing time, a delay after the period's end
// that /config reads from the chain (the reading market waits for the interval's meter readings).
export function claimableFrom(period, cfg) {
  return (Number(period) + 1) * cfg.auctionPeriodS + cfg.auctionClaimDelayS;
}

// An auction order's state for its row: `status` ("claimed", "to claim" or "open") and its words, an
// open order with the time it may be claimed from (with the day when that is not today's).
export function auctionOrderState(o, nowS, cfg) {
  if (o.claimed) return { status: "claimed", text: "claimed" };
  const from = claimableFrom(o.period, cfg);
  if (nowS >= from) return { status: "to claim", text: "to claim" };
  const day = formatDay(from) === formatDay(nowS) ? "" : `${formatDay(from)} `;
  return { status: "open", text: `open: claimable from ${day}${formatClock(from)}` };
}
