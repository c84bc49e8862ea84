// Standing limits and the vault's market approval: the API builds the EIP-712 typed data, the
// wallet signs it, the API relays it (the relayer pays gas; the limits are the meter owner's).
import { api, requireWallet, signTypedData, wallet } from "./common.js";

// The reading market may move the account's vault balance: without it the readings place nothing.
async function approveReadingMarket() {
  const built = await api("/vault/market-approval/typed-data", { method: "POST", body: { account: wallet.account } });
  const signature = await signTypedData(built.typedData);
  return api("/vault/market-approval", {
    method: "POST",
    body: { account: built.account, market: built.market, deadline: built.deadline, signature },
  });
}

// limits: { sellPricePerKWh, sellCapWh, buyPricePerKWh, buyCapWh }; all prices 0 clear them.
export async function setStandingOrder(meter, limits) {
  requireWallet();
  const clearing = !limits.sellPricePerKWh && !limits.buyPricePerKWh;
  if (!clearing) {
    const current = await api(`/meters/${meter}/standing-order`);
    if (!current.readingMarketApproved) await approveReadingMarket();
  }
  const built = await api(`/meters/${meter}/standing-order/typed-data`, { method: "POST", body: limits });
  const signature = await signTypedData(built.typedData);
  const { sellPricePerKWh, sellCapWh, buyPricePerKWh, buyCapWh, deadline } = built;
  return api(`/meters/${meter}/standing-order`, {
    method: "POST",
    body: { sellPricePerKWh, sellCapWh, buyPricePerKWh, buyCapWh, deadline, signature },
  });
}
