// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IEnergyVault} from "./IEnergyVault.sol";
import {VaultSignatures} from "./VaultSignatures.sol";
import {VaultAccount, VaultAccountLibrary} from "../types/VaultAccount.sol";
import {CalldataArrays} from "../utils/CalldataArrays.sol";
import {CalldataLog} from "../utils/CalldataLog.sol";
import {ReentrancyLock} from "../utils/ReentrancyLock.sol";
import {ZeroAddress, ZeroAmount} from "../utils/GridErrors.sol";

/// @title EnergyVault
/// @notice This contract keeps the internal balances of EnergyToken and of the payment token for every
/// account and market of a deployment. Trading, settling and paying rewards change numbers here instead
/// of moving tokens.
/// @dev Each account is one VaultAccount word, in which its two balances and its market approvals share
/// one slot. A market's registration shares the slot of the market's own balances. A market's move from
/// or to an account therefore reads and writes one slot of the account and one of the market. Approvals
/// are bits: each registered market has a place (0..MAX_MARKETS-1) that is never given to another
/// market, so an approval can never pass to a contract the account did not approve.
/// Every function that writes a balance is covered by the one lock. `take` reads both words and may then
/// call the token to pull from the wallet before it writes them back. Without the lock, a token that
/// calls back from inside that transfer could settle, credit or lock a balance that the write-back
/// would then undo. The functions that call out (take, deposits and withdrawals) hold the lock, and the
/// functions that call nothing before their last write (give, settleBatch, creditArrived, retireEnergy
/// and approvals) only check that it is free.
/// Signed approvals, signed withdrawals and permits are checked in VaultSignatures.
contract EnergyVault is AccessControl, ReentrancyLock, VaultSignatures {
    using SafeERC20 for IERC20;
    using VaultAccountLibrary for mapping(address => VaultAccount);

    /// @notice The largest number of markets a vault may register in its life, since each takes one approval bit.
    uint256 public constant MAX_MARKETS = VaultAccountLibrary.MAX_PLACES;
    /// @notice The largest reserve of either token, which ensures that no balance can exceed its 112 bits.
    uint256 public constant MAX_RESERVE = VaultAccountLibrary.MAX_BALANCE;
    /// @notice The role that, besides the registered markets, may book tokens that reached the vault
    /// (creditArrived). It is held by the meter registry, which mints metered export into the vault.
    bytes32 public constant CREDITOR_ROLE = keccak256("CREDITOR_ROLE");

    IERC20 private immutable _energyToken;
    IERC20 private immutable _paymentToken;
    /// @dev The payment token's freeze query, or zero if there is none. It is set together with the token
    /// at deployment, so that no call has to read it from storage.
    bytes4 private immutable _frozenQuery;

    // Both reserves share one slot, so that a batch that credits or retires reads and writes it only once.
    uint128 private _energyReserveWh;
    uint128 private _paymentReserve;
    uint8 private _marketCount;

    mapping(address account => VaultAccount) private _accounts;

    /// @param frozenQuery_ The selector of the payment token's view that answers whether its issuer froze
    /// an account, for example `isBlacklisted(address)`, or zero for a token without a freeze list. The
    /// query is asked once here, so that a selector the token does not answer fails the deployment.
    constructor(address admin, IERC20 energyToken_, IERC20 paymentToken_, bytes4 frozenQuery_) {
        if (admin == address(0) || address(energyToken_) == address(0) || address(paymentToken_) == address(0)) {
            revert ZeroAddress();
        }
        _energyToken = energyToken_;
        _paymentToken = paymentToken_;
        _frozenQuery = frozenQuery_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _isFrozen(admin);
    }

    // ----------------------------------------------------------------------------- market moves
    // These functions are the hot path, because every order, fill, auction claim, standing-order
    // settlement and metered reading ends in one of them. A market moves an approved account's balances
    // into its own (take), pays out of its own (give and settleBatch), and books tokens that it or the
    // meter registry sent in (creditArrived). Each move reads and writes the two words it changes only
    // once. It checks the amounts against the balance or the reserve before it writes, so that no balance
    // can carry over into its neighbour in the word.

    /// @inheritdoc IEnergyVault
    function take(address account, uint256 energyWh, uint256 payment) external nonReentrant {
        VaultAccount market = _accounts[msg.sender];
        (uint256 bit, bool closed) = _marketBit(msg.sender, market);
        if (closed) revert MarketClosed(msg.sender);
        VaultAccount from = _accounts[account];
        if (!from.approves(bit)) revert MarketNotApproved(account, msg.sender);
        if (_isFrozen(account)) revert AccountFrozen(account);
        // A shortfall is first pulled from the wallet and credited. The reserve bound that the pull checks
        // keeps each balance within its 112 bits.
        uint256 heldWh = from.energyWh();
        if (energyWh > heldWh) {
            _pull(_energyToken, true, account, energyWh - heldWh);
            from = from.credit(energyWh - heldWh, 0);
        }
        uint256 held = from.payment();
        if (payment > held) {
            _pull(_paymentToken, false, account, payment - held);
            from = from.credit(0, payment - held);
        }
        _accounts[account] = from.debit(energyWh, payment);
        // This stays within the reserve bound, because every balance is part of the reserve.
        _accounts[msg.sender] = market.credit(energyWh, payment);
        // Each amount fits in its 112 bits, as checked above against the balance or the reserve, so the casts are safe.
        emit MarketMoved(msg.sender, account, -int256(energyWh), -int256(payment));
    }

    /// @inheritdoc IEnergyVault
    function give(address account, uint256 energyWh, uint256 payment) external whenUnlocked {
        VaultAccount market = _accounts[msg.sender];
        // Any registered market may pay out, even a closed one, because closing stops a market's intake but
        // never its payouts.
        _marketBit(msg.sender, market);
        uint256 heldWh = market.energyWh();
        if (energyWh > heldWh) revert InsufficientEnergy(msg.sender, heldWh, energyWh);
        uint256 held = market.payment();
        if (payment > held) revert InsufficientPayment(msg.sender, held, payment);
        _accounts[msg.sender] = market.debit(energyWh, payment);
        // The account is read after the market's write, so that a market giving to itself nets out.
        _accounts[account] = _accounts[account].credit(energyWh, payment);
        emit MarketMoved(msg.sender, account, int256(energyWh), int256(payment));
    }

    /// @inheritdoc IEnergyVault
    function settleBatch(address[] calldata accounts, int256[] calldata energyDeltasWh, int256[] calldata paymentDeltas)
        external
        whenUnlocked
    {
        uint256 count = accounts.length;
        if (energyDeltasWh.length != count) revert BatchLengthMismatch(count, energyDeltasWh.length);
        if (paymentDeltas.length != count) revert BatchLengthMismatch(count, paymentDeltas.length);
        (uint256 bit, bool closed) = _marketBit(msg.sender, _accounts[msg.sender]);
        // The market's side of the batch is netted first. Taking is checked for each account, while paying
        // out is checked against the market's balance at the end. That balance is read only then, so that
        // an entry naming the market itself, which the loop writes to that balance, nets out instead of
        // being overwritten.
        int256 marketEnergyWh = 0;
        int256 marketPayment = 0;
        for (uint256 i; i < count; ++i) {
            // The three arrays have `count` entries each, as checked above.
            address account = CalldataArrays.at(accounts, i);
            int256 energyDeltaWh = CalldataArrays.at(energyDeltasWh, i);
            int256 paymentDelta = CalldataArrays.at(paymentDeltas, i);
            (VaultAccount balance, uint256 slot) = _accounts.load(account);
            if (energyDeltaWh < 0 || paymentDelta < 0) {
                if (closed) revert MarketClosed(msg.sender);
                if (!balance.approves(bit)) revert MarketNotApproved(account, msg.sender);
                if (_frozenQuery != bytes4(0) && _isFrozen(account)) revert AccountFrozen(account);
            }
            VaultAccountLibrary.store(
                slot,
                balance.withBalances(
                    _applyDelta(account, true, balance.energyWh(), energyDeltaWh),
                    _applyDelta(account, false, balance.payment(), paymentDelta)
                )
            );
            marketEnergyWh -= energyDeltaWh;
            marketPayment -= paymentDelta;
        }
        VaultAccount market = _accounts[msg.sender];
        uint256 heldWh = market.energyWh();
        uint256 held = market.payment();
        // A net payout, which is a negative net, is what the batch asks of the market's balance.
        if (-marketEnergyWh > int256(heldWh)) revert InsufficientEnergy(msg.sender, heldWh, uint256(-marketEnergyWh));
        if (-marketPayment > int256(held)) revert InsufficientPayment(msg.sender, held, uint256(-marketPayment));
        _accounts[msg.sender] =
            market.withBalances(uint256(int256(heldWh) + marketEnergyWh), uint256(int256(held) + marketPayment));
        // This emits MarketBatchSettled(msg.sender, accounts, energyDeltasWh, paymentDeltas), whose data
        // is exactly this call's arguments.
        CalldataLog.logArguments(MarketBatchSettled.selector, bytes32(uint256(uint160(msg.sender))));
    }

    /// @inheritdoc IEnergyVault
    function creditArrived(address token, address[] calldata accounts, uint256[] calldata amounts)
        external
        whenUnlocked
    {
        // Tokens sent to the vault by a plain transfer would go to whoever booked them first, so only the
        // contracts that send tokens and book them in the same transaction may book.
        if (!_accounts[msg.sender].isMarket() && !hasRole(CREDITOR_ROLE, msg.sender)) {
            revert NotCreditor(msg.sender);
        }
        uint256 count = accounts.length;
        if (count != amounts.length) revert BatchLengthMismatch(count, amounts.length);
        bool isEnergy = _isEnergy(token);
        uint256 total = 0;
        for (uint256 i; i < count; ++i) {
            uint256 amount = CalldataArrays.at(amounts, i);
            total += amount;
            // Each credit is at most the total, which is checked against the reserve bound below. So once
            // the batch succeeds, no balance can pass 112 bits and spill into its neighbour.
            _accounts.creditTokenIn(CalldataArrays.at(accounts, i), isEnergy, amount);
        }
        uint256 reserve = isEnergy ? _energyReserveWh : _paymentReserve;
        uint256 arrived = IERC20(token).balanceOf(address(this)) - reserve;
        if (total > arrived) revert NotArrived(token, arrived, total);
        _raiseReserve(token, isEnergy, reserve + total);
        // This emits ArrivedCredited(msg.sender, token, accounts, amounts), whose data is exactly this
        // call's arguments.
        CalldataLog.logArguments(ArrivedCredited.selector, bytes32(uint256(uint160(msg.sender))));
    }

    /// @inheritdoc IEnergyVault
    function retireEnergy(uint256 amountWh) external whenUnlocked {
        VaultAccount market = _accounts[msg.sender];
        _marketBit(msg.sender, market);
        if (amountWh == 0) return;
        uint256 heldWh = market.energyWh();
        if (amountWh > heldWh) revert InsufficientEnergy(msg.sender, heldWh, amountWh);
        _accounts[msg.sender] = market.debit(amountWh, 0);
        // This cannot underflow, because the market's balance that held the energy is part of the reserve.
        unchecked {
            _energyReserveWh -= uint128(amountWh);
        }
        emit EnergyRetired(msg.sender, amountWh);
        ERC20Burnable(address(_energyToken)).burn(amountWh);
    }

    // ----------------------------------------------------------------------------- deposits and withdrawals
    // These are an account's own ways in and out, used once per funding rather than once per trade. A
    // deposit raises the reserve before the transfer and then checks that the whole amount arrived. A
    // withdrawal lowers the balance and the reserve before the transfer out. Both hold the lock, because
    // both call the token.

    /// @inheritdoc IEnergyVault
    function deposit(address token, uint256 amount) external nonReentrant {
        _deposit(msg.sender, token, amount);
    }

    /// @inheritdoc IEnergyVault
    function depositWithPermit(address token, uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        nonReentrant
    {
        _permitAndDeposit(msg.sender, token, amount, deadline, v, r, s);
    }

    /// @inheritdoc IEnergyVault
    function depositWithPermitFor(
        address account,
        address token,
        uint256 amount,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant {
        _permitAndDeposit(account, token, amount, deadline, v, r, s);
    }

    /// @inheritdoc IEnergyVault
    function withdraw(address token, uint256 amount, address to) external nonReentrant {
        _withdraw(msg.sender, token, amount, to);
    }

    /// @inheritdoc IEnergyVault
    function withdrawBySig(
        address account,
        address token,
        uint256 amount,
        address to,
        uint256 deadline,
        bytes calldata signature
    ) external nonReentrant {
        _checkWithdrawalSignature(account, token, amount, to, deadline, signature);
        _withdraw(account, token, amount, to);
    }

    // ----------------------------------------------------------------------------- market approvals
    // An account lets a market move its balances by setting the market's bit in its own word. Approving
    // or revoking directly spends a nonce too, so that a signed approval the account gave earlier cannot
    // be relayed afterwards to undo a revocation.

    /// @inheritdoc IEnergyVault
    function setMarketApproval(address market, bool approved) external whenUnlocked {
        uint256 nonce = _useNonce(msg.sender);
        emit NoncesInvalidated(msg.sender, nonce, nonce + 1);
        _setApproval(msg.sender, market, approved);
    }

    /// @inheritdoc IEnergyVault
    function approveMarketBySig(address account, address market, uint256 deadline, bytes calldata signature)
        external
        whenUnlocked
    {
        _checkApprovalSignature(account, market, deadline, signature);
        _setApproval(account, market, true);
    }

    // ----------------------------------------------------------------------------- admin
    // Registration gives a market the next free place for life. Closing a market stops its intake, that
    // is take and the debits of settleBatch, while it still pays out what it holds.

    /// @inheritdoc IEnergyVault
    function registerMarket(address market) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (market == address(0)) revert ZeroAddress();
        VaultAccount word = _accounts[market];
        if (word.isMarket()) revert MarketAlreadyRegistered(market);
        uint256 place = _marketCount;
        if (place == MAX_MARKETS) revert TooManyMarkets(MAX_MARKETS);
        _marketCount = uint8(place + 1);
        _accounts[market] = word.withPlace(place);
        emit MarketRegistered(market, place);
    }

    /// @inheritdoc IEnergyVault
    function closeMarket(address market) external onlyRole(DEFAULT_ADMIN_ROLE) {
        VaultAccount word = _accounts[market];
        if (!word.isMarket()) revert NotMarket(market);
        if (word.isClosed()) revert MarketClosed(market);
        _accounts[market] = word.withClosed();
        emit MarketClosedForIntake(market);
    }

    // ----------------------------------------------------------------------------- views

    /// @inheritdoc IEnergyVault
    function balanceOf(address token, address account) external view returns (uint256) {
        VaultAccount word = _accounts[account];
        return _isEnergy(token) ? word.energyWh() : word.payment();
    }

    /// @inheritdoc IEnergyVault
    function balancesOf(address account) external view returns (uint256 energyWh, uint256 payment) {
        VaultAccount word = _accounts[account];
        return (word.energyWh(), word.payment());
    }

    /// @inheritdoc IEnergyVault
    function paymentsFor(address market, address[] calldata accounts)
        external
        view
        returns (uint256[] memory payments, bool[] memory approved)
    {
        uint256 bit = _accounts[market].openApprovalBit();
        uint256 count = accounts.length;
        payments = new uint256[](count);
        approved = new bool[](count);
        bool freezes = _frozenQuery != bytes4(0);
        for (uint256 i; i < count; ++i) {
            address account = CalldataArrays.at(accounts, i);
            VaultAccount word = _accounts[account];
            payments[i] = word.payment();
            // A frozen account may not be debited, so a market's batch skips it instead of failing on it.
            approved[i] = word.approves(bit) && !(freezes && _isFrozen(account));
        }
    }

    /// @inheritdoc IEnergyVault
    function isMarketApproved(address account, address market) external view returns (bool) {
        return _accounts[account].approves(_accounts[market].openApprovalBit());
    }

    /// @inheritdoc IEnergyVault
    function marketInfo(address market) external view returns (bool registered, uint256 index, bool closed) {
        VaultAccount word = _accounts[market];
        registered = word.isMarket();
        index = registered ? word.place() : 0;
        closed = word.isClosed();
    }

    /// @inheritdoc IEnergyVault
    function reserves() external view returns (uint256 energyWh, uint256 payment) {
        return (_energyReserveWh, _paymentReserve);
    }

    /// @inheritdoc IEnergyVault
    function frozenQuery() external view returns (bytes4) {
        return _frozenQuery;
    }

    /// @inheritdoc IEnergyVault
    function isFrozen(address account) external view returns (bool) {
        return _isFrozen(account);
    }

    /// @inheritdoc IEnergyVault
    function energyToken() external view returns (address) {
        return address(_energyToken);
    }

    /// @inheritdoc IEnergyVault
    function paymentToken() external view returns (address) {
        return address(_paymentToken);
    }

    // ----------------------------------------------------------------------------- internals: moves
    // These internal functions serve the market moves: the checks on the market's own word, the signed
    // deltas of a batch, the wallet pull of a shortfall, and the reserve bound that keeps every balance
    // within its bits.

    /// @dev Returns the approval bit of a registered market, read from its word, and whether it is closed.
    function _marketBit(address market, VaultAccount word) private pure returns (uint256 bit, bool closed) {
        bit = word.approvalBit();
        // Only a registered market's word has a bit, whether the market is open or closed.
        if (bit == 0) revert NotMarket(market);
        closed = word.isClosed();
    }

    /// @dev Returns a balance after a signed move. A result below zero is a shortfall of the account and reverts.
    function _applyDelta(address account, bool isEnergy, uint256 held, int256 delta) private view returns (uint256) {
        if (delta >= 0) {
            uint256 balance = held + uint256(delta);
            // Only a batch that pays out more than the reserve could pass the bound, and it is refused before any cast.
            if (balance > MAX_RESERVE) revert ReserveTooLarge(isEnergy ? address(_energyToken) : address(_paymentToken), balance, MAX_RESERVE);
            return balance;
        }
        uint256 needed = uint256(-delta);
        if (needed > held) {
            if (isEnergy) revert InsufficientEnergy(account, held, needed);
            revert InsufficientPayment(account, held, needed);
        }
        unchecked {
            return held - needed;
        }
    }

    /// @dev Pulls `amount` of a shortfall from the account's wallet into the reserve. The caller credits it.
    function _pull(IERC20 token, bool isEnergy, address account, uint256 amount) private {
        _raiseReserve(address(token), isEnergy, (isEnergy ? _energyReserveWh : _paymentReserve) + amount);
        emit Deposited(account, address(token), amount);
        _transferIn(token, account, amount);
    }

    /// @dev Moves `amount` from `account`'s wallet into the vault, whose reserve already counts it, and
    /// checks that all of it arrived, because a token that keeps a fee would leave the reserve unbacked.
    function _transferIn(IERC20 token, address account, uint256 amount) private {
        token.safeTransferFrom(account, address(this), amount);
        uint256 reserve = token == _energyToken ? _energyReserveWh : _paymentReserve;
        uint256 held = token.balanceOf(address(this));
        if (held < reserve) revert TransferShort(address(token), amount - (reserve - held), amount);
    }

    function _raiseReserve(address token, bool isEnergy, uint256 reserve) private {
        if (reserve > MAX_RESERVE) revert ReserveTooLarge(token, reserve, MAX_RESERVE);
        if (isEnergy) _energyReserveWh = uint128(reserve);
        else _paymentReserve = uint128(reserve);
    }

    /// @dev Returns whether the payment token's freeze query reports `account` as frozen, and false when
    /// there is no query.
    function _isFrozen(address account) private view returns (bool) {
        bytes4 query = _frozenQuery;
        if (query == bytes4(0)) return false;
        // slither-disable-next-line calls-loop,low-level-calls: this is a view of the immutable payment token, asked once per account of a market's bounded batch, and a failed query must say so instead of reverting without a reason
        (bool ok, bytes memory answer) = address(_paymentToken).staticcall(abi.encodeWithSelector(query, account));
        if (!ok || answer.length != 32) revert FrozenQueryFailed(address(_paymentToken), account);
        return abi.decode(answer, (bool));
    }

    function _isEnergy(address token) private view returns (bool) {
        if (token == address(_energyToken)) return true;
        if (token != address(_paymentToken)) revert UnsupportedToken(token);
        return false;
    }

    // ----------------------------------------------------------------------------- internals: accounts

    // slither-disable-next-line reentrancy-benign: the permit call goes to one of the vault's two tokens, which is checked first and set at deployment, and both callers are nonReentrant
    function _permitAndDeposit(
        address account,
        address token,
        uint256 amount,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) private {
        _isEnergy(token);
        IERC20Permit permitToken = IERC20Permit(token);
        bool isThisPermit = true;
        try permitToken.permit(account, address(this), amount, deadline, v, r, s) {}
        catch {
            // A permit front-run by someone who saw it in the mempool has already set the allowance, so the
            // deposit goes on. This follows OpenZeppelin's advice for permit consumers, and the transfer
            // fails if the allowance is not there. A relayer may go on only with the account's own permit
            // for this deposit, because any other allowance the account gave the vault, for example for a
            // market's pull, is not the relayer's to use.
            isThisPermit = _wasLastPermit(account, permitToken, amount, deadline, v, r, s);
            if (!isThisPermit && account != msg.sender) revert PermitNotApplied(account);
        }
        // The permit pays for this deposit and no other. Without the mark, a relayer could send the same
        // permit again and again, each time moving the amount out of whatever allowance the account has left.
        if (isThisPermit) _spendPermit(account, permitToken);
        _deposit(account, token, amount);
    }

    /// @dev Pulls only from `account`, either on its own call or through its permit (or allowance) for the vault.
    function _deposit(address account, address token, uint256 amount) private {
        if (amount == 0) revert ZeroAmount();
        bool isEnergy = _isEnergy(token);
        _raiseReserve(token, isEnergy, (isEnergy ? _energyReserveWh : _paymentReserve) + amount);
        // The reserve bound was just checked, so the amount cannot pass its 112 bits.
        _accounts.creditTokenIn(account, isEnergy, amount);
        emit Deposited(account, token, amount);
        _transferIn(IERC20(token), account, amount);
    }

    function _withdraw(address account, address token, uint256 amount, address to) private {
        if (amount == 0) revert ZeroAmount();
        if (to == address(0)) revert ZeroAddress();
        // The token would let a transfer from the vault to `to` through, so the vault has to enforce the freeze itself.
        if (_isFrozen(account)) revert AccountFrozen(account);
        bool isEnergy = _isEnergy(token);
        VaultAccount word = _accounts[account];
        // Each reserve is at least every balance of its token, so lowering it by a balance's part cannot
        // underflow.
        if (isEnergy) {
            uint256 heldWh = word.energyWh();
            if (amount > heldWh) revert InsufficientEnergy(account, heldWh, amount);
            _accounts[account] = word.debit(amount, 0);
            unchecked {
                _energyReserveWh -= uint128(amount);
            }
        } else {
            uint256 held = word.payment();
            if (amount > held) revert InsufficientPayment(account, held, amount);
            _accounts[account] = word.debit(0, amount);
            unchecked {
                _paymentReserve -= uint128(amount);
            }
        }
        emit Withdrawn(account, token, amount, to);
        IERC20(token).safeTransfer(to, amount);
    }

    function _setApproval(address account, address market, bool approved) private {
        (uint256 bit,) = _marketBit(market, _accounts[market]);
        _accounts[account] = _accounts[account].withApproval(bit, approved);
        emit MarketApprovalSet(account, market, approved);
    }
}
