// Standing limits, the vault's market approval, deposits and withdrawals: the API builds the typed
// data (EIP-712; a deposit is the token's EIP-2612 permit of the vault), the wallet signs it, the API
// relays it (the relayer pays gas; the limits and the balances are the account's own).
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

// limits: { sellPricePerKWh, sellCapWh, buyPricePerKWh, buyCapWh }; all prices 0 clear them. The API
// checks the limits as it builds them (a price off the auction's grid is refused in words), before the
// wallet is asked to sign anything, the market's approval included.
export async function setStandingOrder(meter, limits) {
  requireWallet();
  const built = await api(`/meters/${meter}/standing-order/typed-data`, { method: "POST", body: limits });
  const clearing = !limits.sellPricePerKWh && !limits.buyPricePerKWh;
  if (!clearing) {
    const current = await api(`/meters/${meter}/standing-order`);
    if (!current.readingMarketApproved) await approveReadingMarket();
  }
  const signature = await signTypedData(built.typedData);
  const { sellPricePerKWh, sellCapWh, buyPricePerKWh, buyCapWh, deadline } = built;
  return api(`/meters/${meter}/standing-order`, {
    method: "POST",
    body: { sellPricePerKWh, sellCapWh, buyPricePerKWh, buyCapWh, deadline, signature },
  });
}

// token: "energy" or "payment"; amount in the token's base units (Wh for energy).
export async function depositToVault(token, amount) {
  requireWallet();
  const built = await api("/vault/deposit/typed-data", { method: "POST", body: { account: wallet.account, token, amount } });
  const signature = await signTypedData(built.typedData);
  return api("/vault/deposit", {
    method: "POST",
    body: { account: built.account, token: built.token, amount: built.amount, deadline: built.deadline, signature },
  });
}

// Back to the account's own wallet.
export async function withdrawFromVault(token, amount) {
  requireWallet();
  const built = await api("/vault/withdrawal/typed-data", { method: "POST", body: { account: wallet.account, token, amount } });
  const signature = await signTypedData(built.typedData);
  return api("/vault/withdrawal", {
    method: "POST",
    body: { account: built.account, token: built.token, amount: built.amount, to: built.to, deadline: built.deadline, signature },
  });
}
