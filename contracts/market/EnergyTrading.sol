// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Settlement} from "./Settlement.sol";
import {OrderStore} from "./trading/OrderStore.sol";
import {OrderViews} from "./trading/OrderViews.sol";
import {SignedOrders} from "./trading/SignedOrders.sol";
import {IEnergyVault} from "../vault/IEnergyVault.sol";

/// @title EnergyTrading
/// @notice This contract is a continuous peer-to-peer energy order book that trades on EnergyVault
/// balances. An order escrows its value when it is created: a SELL locks its EnergyToken (Wh), and a BUY
/// locks ceil(amount * price / 1000) PaymentToken, each moved from the trader's vault balance into the
/// market's. A new undirected order trades at once with the resting undirected orders it crosses, best
/// price first and in arrival order within a price, and each fill is at the resting order's price. A
/// crossing buyer keeps its price improvement, which comes back to it at settlement. Only what is left
/// of an order rests, so no two live undirected orders of different traders ever rest crossed, and
/// nobody can race to pick a crossing order's counterparty.
/// An order that reaches MAX_FILLS_PER_ORDER fills, or passes MAX_DEAD_ENTRIES_PER_CALL dead queue
/// entries, stops there. Its fills stand and its rest is cancelled at once, so that escrow is never
/// taken. This way no crowd of tiny orders, live or dead, can make a crossing order revert, and the
/// trader simply sends the rest again. An order that would cross a resting order of its own trader
/// reverts with SelfTrade, and the trader has to cancel the resting order first, so there are no wash
/// trades.
/// Directed orders are bilateral offers kept outside the index. They trade only with their named
/// counterparty, through fillOrder or matchOrders. Anyone may still match a crossing BUY and SELL, at
/// the earlier order's price and with partial fills tracked, or take an order directly with fillOrder by
/// bringing the other side. Every trade is recorded as a transaction that Settlement pays out.
/// An optional price band (setPriceBand), which is off by default, rejects new orders priced outside a
/// reference price from PriceDiscovery plus or minus a share of it. Trades still execute at the orders'
/// prices.
/// A trader may also sign an order or a cancellation (EIP-712) for any relayer to submit through
/// createOrderBySig or cancelOrderBySig. The order and its escrow belong to the signer, and an ERC-2612
/// permit for the vault passed along with it lets the vault pull a shortfall from the signer's wallet.
/// A trader approves this market once in the vault, before the trader's first relayed order, either with
/// setMarketApproval or with approveMarketBySig, which anyone may relay. When the trader's vault balance
/// falls short of an escrow, the difference is pulled from the wallet, provided the trader allowed the
/// vault to spend the token. Refunds, payouts and fees are vault credits. The tokens must be plain
/// ERC-20s, with no fee on transfer and no rebasing.
/// @dev This contract puts the order book together from its concerns, each of which lives in
/// market/trading/. OrderStore, built on TraderIndexes, keeps the order and trader records and the
/// rules they share. MarketSettings keeps the admin's bounds on new orders, and PriceLevelBook keeps
/// the price levels of resting orders. OrderMatching decides how orders trade, OrderEntry how they
/// enter and leave the book, SignedOrders accepts relayed signed messages, and OrderViews shows the
/// orders. All of them build on the transaction ledger in Settlement. Every loop is bounded by a
/// constant.
contract EnergyTrading is SignedOrders, OrderViews {
    /// @param minOrderAmountWh_ The smallest amount an order or a partial fill may have, within the bounds
    /// that setMinOrderAmount enforces.
    constructor(
        address admin,
        IEnergyVault vault_,
        address feeRecipient_,
        uint256 gridFeeBps_,
        uint256 minOrderAmountWh_
    ) Settlement(admin, vault_, feeRecipient_, gridFeeBps_) OrderStore(minOrderAmountWh_) {}
}
