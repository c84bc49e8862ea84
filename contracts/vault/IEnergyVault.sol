// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IReentrancyLock} from "../utils/ReentrancyLock.sol";

/// @title IEnergyVault
/// @notice Internal balances of the grid's two tokens, EnergyToken (Wh) and the payment token: an
/// account deposits once and the markets (the order book, the interval auctions, reward and revenue
/// pools) then move numbers in the vault instead of tokens, and the account withdraws what it holds at
/// any time. What an account has committed to a market (an open order, a standing order's lock) is held
/// in that market's own balance in the vault until the market pays it out.
/// @dev Units: energy in Wh (EnergyToken base units), payment in the payment token's base units.
/// - Anyone may relay an account's deposit (`depositWithPermitFor`, with the account's EIP-2612 permit)
///   and withdrawal (`withdrawBySig`, with its EIP-712 signature): the tokens move only between the
///   account's wallet, its vault balance and the recipient it signed.
/// - A market is a contract the admin (governance) registered; it moves an account's balance into its
///   own only after the account approved it (`setMarketApproval`, or a signature relayed by anyone with
///   `approveMarketBySig`), and pays out of its own balance to anyone. A closed market takes nothing
///   more but still pays out what it holds, so closing one never traps an order's escrow.
/// - Per token, the balances of all accounts and markets add up to the vault's reserve, and the reserve
///   is what the vault holds of the token (`reserves()`); tokens sent to the vault without a deposit are
///   outside the reserve until a creditor (a registered market, or an account with the creditor role
///   such as the meter registry) books them with `creditArrived`, in the transaction that sent them.
/// - Every change of a balance emits a vault event naming the account whose balance changed and the
///   token (or both of the vault's two tokens, as signed deltas): Deposited, Withdrawn, MarketMoved,
///   MarketBatchSettled, ArrivedCredited and EnergyRetired. Replaying them from the vault's deployment
///   gives every account's and every market's balances, with no other contract's events.
/// - Every entry that changes a balance holds one lock (ReentrancyGuardReentrantCall): a token that
///   calls back from inside a transfer cannot reach any balance until the outer call is done.
/// - Supported tokens are plain ERC-20s: what a transfer moves is what it says. A fee-on-transfer token
///   is refused at deposit (the vault would hold less than it credited); a rebasing token is not
///   supported (a balance that shrinks on its own leaves the reserve unbacked). A payment token with an
///   issuer's freeze list (a stablecoin's blacklist) is supported through `frozenQuery()`: an account
///   it reports frozen is still credited, but cannot withdraw or be debited.
interface IEnergyVault is IReentrancyLock {
    /// @notice `account` holds `availableWh` Wh but `neededWh` were asked for.
    /// @param account The account debited.
    /// @param availableWh Its energy balance in the vault.
    /// @param neededWh The energy asked for.
    error InsufficientEnergy(address account, uint256 availableWh, uint256 neededWh);

    /// @notice `account` holds `available` of the payment token but `needed` were asked for.
    /// @param account The account debited.
    /// @param available Its payment balance in the vault, in base units.
    /// @param needed The payment asked for, in base units.
    error InsufficientPayment(address account, uint256 available, uint256 needed);

    /// @notice `token` is neither the vault's EnergyToken nor its payment token.
    /// @param token The token given.
    error UnsupportedToken(address token);

    /// @notice The vault's reserve of `token` would exceed `maxReserve`, the most one balance can hold.
    /// @param token The token.
    /// @param reserve The reserve it would reach.
    /// @param maxReserve The largest reserve allowed.
    error ReserveTooLarge(address token, uint256 reserve, uint256 maxReserve);

    /// @notice `amount` of `token` is to be credited but only `arrived` reached the vault outside its reserve.
    /// @param token The token.
    /// @param arrived What the vault holds beyond its reserve.
    /// @param amount What was to be credited.
    error NotArrived(address token, uint256 arrived, uint256 amount);

    /// @notice `caller` is not a market registered with the vault.
    /// @param caller The account that called.
    error NotMarket(address caller);

    /// @notice `market` is closed: it pays out what it holds but takes no more.
    /// @param market The market.
    error MarketClosed(address market);

    /// @notice `market` is registered already.
    /// @param market The market.
    error MarketAlreadyRegistered(address market);

    /// @notice Every one of the `maxMarkets` market places has been used.
    /// @param maxMarkets The most markets a vault registers in its life.
    error TooManyMarkets(uint256 maxMarkets);

    /// @notice `account` has not approved `market` to move its balance.
    /// @param account The account.
    /// @param market The market that tried.
    error MarketNotApproved(address account, address market);

    /// @notice A market approval signed to be valid until `deadline`, relayed after it.
    /// @param deadline The signature's deadline, unix seconds.
    error ApprovalExpired(uint256 deadline);

    /// @notice The signature is not `account`'s approval of the market at its current nonce.
    /// @param account The account named as signer.
    error InvalidApprovalSignature(address account);

    /// @notice A withdrawal signed to be valid until `deadline` was relayed after it: the deadline has passed.
    /// @param deadline The signature's deadline, unix seconds.
    error WithdrawalExpired(uint256 deadline);

    /// @notice The signature is not `account`'s withdrawal of this token, amount and recipient at its current
    /// nonce (signed by another key, for other values, or used already).
    /// @param account The account named as signer.
    error InvalidWithdrawalSignature(address account);

    /// @notice A relayed deposit whose permit was neither applied in the call nor the one `account` signed
    /// for this deposit and someone else applied first: a relayer moves an account's tokens only on its
    /// permit of that very deposit, never on an allowance the account gave the vault for something else.
    /// @param account The account the deposit was for.
    error PermitNotApplied(address account);

    /// @notice The payment token reports `account` frozen (its issuer's freeze list): it is still credited,
    /// but nothing leaves its balance, by withdrawal or by a market, until the issuer unfreezes it.
    /// @param account The frozen account.
    error AccountFrozen(address account);

    /// @notice The payment token did not answer the vault's freeze query (`frozenQuery()`) for `account`.
    /// @param token The payment token.
    /// @param account The account asked about.
    error FrozenQueryFailed(address token, address account);

    /// @notice `amount` of `token` was to arrive but the vault's holding grew by `received` only: a token
    /// that keeps a fee on transfers, which the vault does not support.
    /// @param token The token.
    /// @param received What the vault's holding grew by beyond its reserve.
    /// @param amount What the deposit credited.
    error TransferShort(address token, uint256 received, uint256 amount);

    /// @notice The permit that authorized a deposit for `account` (its token nonce `nonce`) has paid for one
    /// deposit already: a permit authorizes one deposit of its value.
    /// @param account The account.
    /// @param nonce The permit's nonce at the token.
    error PermitAlreadyUsed(address account, uint256 nonce);

    /// @notice `invalidateNonces` must raise the nonce, by at most MAX_NONCE_SKIP: `newNonce` does not.
    /// @param account The account.
    /// @param newNonce The nonce asked for.
    /// @param currentNonce The account's nonce now.
    error NonceNotRaised(address account, uint256 newNonce, uint256 currentNonce);

    /// @notice `caller` may not book arrived tokens: it is neither a registered market nor a creditor.
    /// @param caller The account that called.
    error NotCreditor(address caller);

    /// @notice A batch whose account and amount lists differ in length.
    /// @param accounts Entries in the account list.
    /// @param amounts Entries in an amount list.
    error BatchLengthMismatch(uint256 accounts, uint256 amounts);

    /// @notice `account` deposited `amount` of `token`.
    /// @param account The account credited.
    /// @param token The token.
    /// @param amount The amount, in the token's base units.
    event Deposited(address indexed account, address indexed token, uint256 amount);

    /// @notice `account` withdrew `amount` of `token` to `to`.
    /// @param account The account debited.
    /// @param token The token.
    /// @param amount The amount, in the token's base units.
    /// @param to The address the tokens were sent to.
    event Withdrawn(address indexed account, address indexed token, uint256 amount, address to);

    /// @notice Tokens that had reached the vault were credited to `accounts` by `creditor`.
    /// @param creditor The market or creditor that booked them.
    /// @param token The token.
    /// @param accounts The accounts credited (repeats allowed).
    /// @param amounts What each was credited, in the token's base units.
    event ArrivedCredited(address indexed creditor, address token, address[] accounts, uint256[] amounts);

    /// @notice `market` moved `account`'s balances (`take` or `give`); the market's own balances moved by the
    /// opposite amounts.
    /// @param market The market.
    /// @param account The account.
    /// @param energyDeltaWh What the account's energy balance changed by, in Wh (negative: taken).
    /// @param paymentDelta What the account's payment balance changed by, in base units (negative: taken).
    event MarketMoved(address indexed market, address indexed account, int256 energyDeltaWh, int256 paymentDelta);

    /// @notice `market` settled a batch: each account's balances changed by its deltas, and the market's own
    /// by the opposite of their sums.
    /// @param market The market.
    /// @param accounts The accounts (repeats allowed).
    /// @param energyDeltasWh What each account's energy balance changed by, in Wh.
    /// @param paymentDeltas What each account's payment balance changed by, in base units.
    event MarketBatchSettled(
        address indexed market, address[] accounts, int256[] energyDeltasWh, int256[] paymentDeltas
    );

    /// @notice `account` voided its signed approvals and withdrawals with nonces below `newNonce`.
    /// @param account The account.
    /// @param previousNonce Its nonce before.
    /// @param newNonce Its nonce now.
    event NoncesInvalidated(address indexed account, uint256 previousNonce, uint256 newNonce);

    /// @notice `account` approved `market` to move its balance, or withdrew the approval.
    /// @param account The account.
    /// @param market The market.
    /// @param approved Whether the market may now move the account's balance.
    event MarketApprovalSet(address indexed account, address indexed market, bool approved);

    /// @notice `market` was registered at place `index`.
    /// @param market The market contract.
    /// @param index Its place, 0 to MAX_MARKETS - 1, never reused.
    event MarketRegistered(address indexed market, uint256 index);

    /// @notice `market` was closed: it takes nothing more.
    /// @param market The market contract.
    event MarketClosedForIntake(address indexed market);

    /// @notice A market burned `amountWh` of the energy it held: energy bought against metered consumption.
    /// @param market The market.
    /// @param amountWh The energy retired, in Wh.
    event EnergyRetired(address indexed market, uint256 amountWh);

    /// @notice Moves `amount` of `token` from the caller's wallet into its vault balance (ERC-20 allowance needed).
    /// @param token EnergyToken or the payment token.
    /// @param amount The amount, in the token's base units.
    function deposit(address token, uint256 amount) external;

    /// @notice `deposit` after an EIP-2612 permit of the vault for `amount`: one transaction, no separate approval.
    /// @param token EnergyToken or the payment token (it must support EIP-2612).
    /// @param amount The amount, in the token's base units.
    /// @param deadline The permit's deadline, unix seconds.
    /// @param v The permit signature's v.
    /// @param r The permit signature's r.
    /// @param s The permit signature's s.
    function depositWithPermit(address token, uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external;

    /// @notice `deposit` for `account`, sent by anyone (a relayer): the token's EIP-2612 permit that `account`
    /// signed for the vault and `amount` is applied, then `amount` moves from its wallet into its vault balance.
    /// A permit already used (front-run) still lets the deposit through, as long as it was this deposit's permit
    /// (the token's last permit nonce of `account`, for the vault, `amount` and `deadline`, not expired).
    /// @param account The account whose tokens move and whose balance is credited (the permit's owner).
    /// @param token EnergyToken or the payment token (it must support EIP-2612).
    /// @param amount The amount, in the token's base units (the permit's value).
    /// @param deadline The permit's deadline, unix seconds.
    /// @param v The permit signature's v.
    /// @param r The permit signature's r.
    /// @param s The permit signature's s.
    function depositWithPermitFor(
        address account,
        address token,
        uint256 amount,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external;

    /// @notice Sends `amount` of `token` from the caller's vault balance to `to`.
    /// @param token EnergyToken or the payment token.
    /// @param amount The amount, in the token's base units.
    /// @param to The address to send the tokens to.
    function withdraw(address token, uint256 amount, address to) external;

    /// @notice `withdraw` for `account`, sent by anyone (a relayer), with the account's EIP-712 signature of
    /// Withdrawal(account, token, amount, to, nonce, deadline); the nonce is the one market approvals use.
    /// @param account The account debited (an EOA, or a contract wallet answering ERC-1271).
    /// @param token EnergyToken or the payment token.
    /// @param amount The amount, in the token's base units.
    /// @param to The address to send the tokens to.
    /// @param deadline The signature's deadline, unix seconds.
    /// @param signature The signature.
    function withdrawBySig(
        address account,
        address token,
        uint256 amount,
        address to,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice Allows `market` to move the caller's balance (or withdraws that permission). A direct change
    /// spends the caller's nonce, so a signed approval or withdrawal not yet relayed cannot undo it.
    /// @param market A registered market.
    /// @param approved Whether it may.
    function setMarketApproval(address market, bool approved) external;

    /// @notice Voids the caller's signed approvals and withdrawals not yet relayed: its nonce becomes
    /// `newNonce` (higher than now, by at most MAX_NONCE_SKIP).
    /// @param newNonce The nonce its next signed message must carry.
    function invalidateNonces(uint256 newNonce) external;

    /// @notice Approves `market` for `account` with the account's EIP-712 signature of
    /// MarketApproval(account, market, nonce, deadline); anyone may relay it (a market does, with the
    /// account's first order).
    /// @param account The approving account (an EOA, or a contract wallet answering ERC-1271).
    /// @param market A registered market.
    /// @param deadline The signature's deadline, unix seconds.
    /// @param signature The signature.
    function approveMarketBySig(address account, address market, uint256 deadline, bytes calldata signature)
        external;

    /// @notice Credits tokens that reached the vault outside its reserve (a mint or a transfer to the
    /// vault in the same transaction) to `accounts`. Only a registered market or an account with the
    /// creditor role books them: tokens anyone else sends to the vault stay outside the reserve.
    /// @param token EnergyToken or the payment token.
    /// @param accounts The accounts to credit (repeats allowed).
    /// @param amounts What each is credited, in the token's base units.
    function creditArrived(address token, address[] calldata accounts, uint256[] calldata amounts) external;

    /// @notice A market moves `energyWh` and `payment` from `account` into its own balance. A shortfall
    /// is pulled from the account's wallet if it allowed the vault enough of the token.
    /// @param account An account that approved the calling market.
    /// @param energyWh Energy to take, in Wh.
    /// @param payment Payment to take, in base units.
    function take(address account, uint256 energyWh, uint256 payment) external;

    /// @notice A market pays `energyWh` and `payment` out of its own balance to `account`.
    /// @param account The account credited.
    /// @param energyWh Energy to give, in Wh.
    /// @param payment Payment to give, in base units.
    function give(address account, uint256 energyWh, uint256 payment) external;

    /// @notice A market's net moves with many accounts at once: a positive entry pays the account out
    /// of the market's balance, a negative one takes from the account (which must have approved the
    /// market; nothing is pulled from wallets here).
    /// @param accounts The accounts (repeats allowed).
    /// @param energyDeltasWh Energy to each account (+) or from it (-), in Wh.
    /// @param paymentDeltas Payment to each account (+) or from it (-), in base units.
    function settleBatch(address[] calldata accounts, int256[] calldata energyDeltasWh, int256[] calldata paymentDeltas)
        external;

    /// @notice A market burns `amountWh` of the energy it holds (energy bought against metered
    /// consumption, so used up).
    /// @param amountWh The energy to retire, in Wh.
    function retireEnergy(uint256 amountWh) external;

    /// @notice Registers `market` (admin): it may then move the balances of accounts that approve it.
    /// @param market The market contract.
    function registerMarket(address market) external;

    /// @notice Closes `market` (admin): it takes nothing more, and still pays out what it holds.
    /// @param market A registered market.
    function closeMarket(address market) external;

    /// @notice What `account` holds of `token` in the vault.
    /// @param token EnergyToken or the payment token.
    /// @param account The account (or market).
    /// @return The balance, in the token's base units.
    function balanceOf(address token, address account) external view returns (uint256);

    /// @notice Both balances of `account`.
    /// @param account The account (or market).
    /// @return energyWh Its energy, in Wh.
    /// @return payment Its payment balance, in base units.
    function balancesOf(address account) external view returns (uint256 energyWh, uint256 payment);

    /// @notice The payment balances of `accounts` and whether each approved `market` (one call for a
    /// market's batch).
    /// @param market The market asking.
    /// @param accounts The accounts.
    /// @return payments Each account's payment balance, in base units.
    /// @return approved Whether each approved the market (and the market is registered and open, and the
    /// account is not frozen).
    function paymentsFor(address market, address[] calldata accounts)
        external
        view
        returns (uint256[] memory payments, bool[] memory approved);

    /// @notice Whether `account` allows `market` to move its balance (and the market is registered and open).
    /// @param account The account.
    /// @param market The market.
    /// @return Whether the market may take from the account now.
    function isMarketApproved(address account, address market) external view returns (bool);

    /// @notice A market's registration.
    /// @param market The contract asked about.
    /// @return registered Whether it was ever registered.
    /// @return index Its place (meaningful only when registered).
    /// @return closed Whether it was closed.
    function marketInfo(address market) external view returns (bool registered, uint256 index, bool closed);

    /// @notice What the vault's balances add up to, per token.
    /// @return energyWh The energy reserve, in Wh.
    /// @return payment The payment reserve, in base units.
    function reserves() external view returns (uint256 energyWh, uint256 payment);

    /// @notice The account's next nonce for signed vault messages (market approvals and withdrawals share it).
    /// @param account The account.
    /// @return The nonce its next signed approval or withdrawal must carry.
    function nonces(address account) external view returns (uint256);

    /// @notice The selector the vault calls on the payment token, with an account, to learn whether the
    /// token's issuer froze it (for example `isBlacklisted(address)`); zero for a token without a freeze list.
    /// @return The selector.
    function frozenQuery() external view returns (bytes4);

    /// @notice Whether the payment token reports `account` frozen (always false without a freeze query).
    /// @param account The account.
    /// @return Whether nothing may leave its balance now.
    function isFrozen(address account) external view returns (bool);

    /// @notice The EnergyToken address.
    /// @return The token.
    function energyToken() external view returns (address);

    /// @notice The payment token address.
    /// @return The token.
    function paymentToken() external view returns (address);
}
