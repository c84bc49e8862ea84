// Signed orders and cancellations: the API builds the EIP-712 typed data, the wallet signs it,
// the API relays it (the relayer pays gas; the order is the signer's on chain).
import { api, requireWallet, signTypedData, wallet } from "./common.js";

export async function placeOrder({ side, amountWh, pricePerKWh, expiry }) {
  requireWallet();
  const built = await api("/orders/typed-data", {
    method: "POST",
    body: { trader: wallet.account, side, amountWh, pricePerKWh, expiry, counterparty: null },
  });
  let marketApproval = null;
  if (built.marketApproval) {
    // A first order: the trader approves the book in the EnergyVault, relayed before the order.
    const approvalSignature = await signTypedData(built.marketApproval.typedData);
    marketApproval = { deadline: built.marketApproval.deadline, signature: approvalSignature };
  }
  let permit = null;
  if (built.permit) {
    // The vault balance falls short and the vault's allowance cannot make it up: an EIP-2612 permit
    // of the vault in the same relay, so the vault pulls the rest from the wallet.
    const permitSignature = await signTypedData(built.permit.typedData);
    permit = { value: built.permit.value, deadline: built.permit.deadline, signature: permitSignature };
  }
  const signature = await signTypedData(built.typedData);
  return api("/orders", { method: "POST", body: { order: built.order, signature, permit, marketApproval } });
}

export async function cancelOrder(orderId) {
  requireWallet();
  const built = await api(`/orders/${orderId}/cancel/typed-data`, { method: "POST", body: {} });
  const signature = await signTypedData(built.typedData);
  return api(`/orders/${orderId}/cancel`, { method: "POST", body: { nonce: built.nonce, deadline: built.deadline, signature } });
}
