// Signed orders and cancellations: the API builds the EIP-712 typed data, the wallet signs it,
// the API relays it (the relayer pays gas; the order is the signer's on chain).
import { api, requireWallet, signTypedData, wallet } from "./common.js";

export async function placeOrder({ side, amountWh, pricePerKWh, expiry }) {
  requireWallet();
  const built = await api("/orders/typed-data", {
    method: "POST",
    body: { trader: wallet.account, side, amountWh, pricePerKWh, expiry, counterparty: null },
  });
  let permit = null;
  if (built.permit) {
    // The escrow token's allowance to the market is short: an EIP-2612 permit in the same relay.
    const permitSignature = await signTypedData(built.permit.typedData);
    permit = { value: built.permit.value, deadline: built.permit.deadline, signature: permitSignature };
  }
  const signature = await signTypedData(built.typedData);
  return api("/orders", { method: "POST", body: { order: built.order, signature, permit } });
}

export async function cancelOrder(orderId) {
  requireWallet();
  const built = await api(`/orders/${orderId}/cancel/typed-data`, { method: "POST", body: {} });
  const signature = await signTypedData(built.typedData);
  return api(`/orders/${orderId}/cancel`, { method: "POST", body: { nonce: built.nonce, deadline: built.deadline, signature } });
}
