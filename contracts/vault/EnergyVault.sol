// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IEnergyVault} from "./IEnergyVault.sol";
import {CalldataLog} from "../utils/CalldataLog.sol";
import {ReentrancyLock} from "../utils/ReentrancyLock.sol";
import {ZeroAddress, ZeroAmount} from "../utils/GridErrors.sol";

/// @title EnergyVault
/// @notice Internal balances of EnergyToken and the payment token for every account and market of a
/// deployment: trading, settling and paying rewards move numbers here instead of tokens.
/// @dev An account's two balances and its market approvals share one slot, and a market's registration
/// shares the slot of the market's own balance, so a market's move from or to an account reads and
/// writes one slot of the account and one of the market. Approvals are bits: each registered market has
/// a place (0..MAX_MARKETS-1) that is never given to another market, so an approval can never pass to a
/// contract the account did not approve.
/// Every function that writes a balance is under the one lock. `take` reads both words, then may call
/// the token (the wallet pull) before writing them back: without the lock, a token that calls back
/// from inside that transfer could settle, credit or lock a balance that the write-back then undoes.
/// The functions that call out (take, deposits, withdrawals) hold the lock; those that call nothing
/// before their last write (give, settleBatch, creditArrived, retireEnergy, approvals) only check it.
contract EnergyVault is AccessControl, ReentrancyLock, EIP712, IEnergyVault {
    using SafeERC20 for IERC20;

    /// @notice Most markets a vault registers in its life (one approval bit each).
    uint256 public constant MAX_MARKETS = 24;
    /// @notice Largest reserve of either token, so that no balance can exceed its 112 bits.
    uint256 public constant MAX_RESERVE = type(uint112).max;
    /// @notice EIP-712 type of a signed market approval.
    bytes32 public constant MARKET_APPROVAL_TYPEHASH =
        keccak256("MarketApproval(address account,address market,uint256 nonce,uint256 deadline)");
    /// @notice Books tokens that reached the vault (creditArrived) besides the registered markets: the meter
    /// registry, which mints metered export into the vault.
    bytes32 public constant CREDITOR_ROLE = keccak256("CREDITOR_ROLE");
    /// @notice Most nonces one invalidateNonces call skips: far more signed messages than an account signs,
    /// and low enough that a nonce never nears the top of its range.
    uint256 public constant MAX_NONCE_SKIP = type(uint32).max;
    /// @notice EIP-712 type of a signed withdrawal.
    bytes32 public constant WITHDRAWAL_TYPEHASH = keccak256(
        "Withdrawal(address account,address token,uint256 amount,address to,uint256 nonce,uint256 deadline)"
    );

    /// @dev EIP-2612's permit type, to recognise an account's permit that someone applied before its relayed deposit.
    bytes32 private constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    // One slot per account (and per market), read and written as one word: the energy balance in the
    // low 112 bits, the payment balance in the next 112 (payment token base units), the approval bits in
    // the next 24 (bit i: the market at place i may move this balance), and in the top 8 bits a market's
    // registration: its place + 1 (0 = not a market), with CLOSED set once closed.
    uint256 private constant AMOUNT_MASK = type(uint112).max;
    uint256 private constant PAYMENT_SHIFT = 112;
    uint256 private constant APPROVALS_SHIFT = 224;
    uint256 private constant REGISTRATION_SHIFT = 248;
    uint256 private constant CLOSED = 0x80;

    IERC20 private immutable _energyToken;
    IERC20 private immutable _paymentToken;
    /// @dev The payment token's freeze query, set with the token at deployment (zero: none), so that no
    /// call reads it from storage.
    bytes4 private immutable _frozenQuery;

    // Both reserves in one slot: a batch that credits or retires reads and writes it once.
    uint128 private _energyReserveWh;
    uint128 private _paymentReserve;
    uint8 private _marketCount;

    mapping(address account => uint256 word) private _balances;
    /// @dev The next nonce of each account's signed approvals and withdrawals.
    mapping(address account => uint256) private _nonces;
    /// @dev Per account and token, the token's permit nonce after the last permit that paid for a deposit:
    /// a permit whose nonce lies below it has been used.
    mapping(address account => mapping(address token => uint256)) private _permitsSpent;

    /// @param frozenQuery_ The payment token's view that answers whether its issuer froze an account (for
    /// example `isBlacklisted(address)`'s selector), or zero for a token without a freeze list. It is asked
    /// once here, so a selector the token does not answer fails the deployment.
    constructor(address admin, IERC20 energyToken_, IERC20 paymentToken_, bytes4 frozenQuery_)
        EIP712("EnergyVault", "1")
    {
        if (admin == address(0) || address(energyToken_) == address(0) || address(paymentToken_) == address(0)) {
            revert ZeroAddress();
        }
        _energyToken = energyToken_;
        _paymentToken = paymentToken_;
        _frozenQuery = frozenQuery_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _isFrozen(admin);
    }

    // ----------------------------------------------------------------------------- accounts

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
        if (block.timestamp > deadline) revert WithdrawalExpired(deadline);
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(WITHDRAWAL_TYPEHASH, account, token, amount, to, _useNonce(account), deadline))
        );
        if (!SignatureChecker.isValidSignatureNow(account, digest, signature)) {
            revert InvalidWithdrawalSignature(account);
        }
        _withdraw(account, token, amount, to);
    }

    /// @inheritdoc IEnergyVault
    function setMarketApproval(address market, bool approved) external whenUnlocked {
        uint256 nonce = _useNonce(msg.sender);
        emit NoncesInvalidated(msg.sender, nonce, nonce + 1);
        _setApproval(msg.sender, market, approved);
    }

    /// @inheritdoc IEnergyVault
    function invalidateNonces(uint256 newNonce) external {
        uint256 currentNonce = _nonces[msg.sender];
        if (newNonce <= currentNonce || newNonce - currentNonce > MAX_NONCE_SKIP) {
            revert NonceNotRaised(msg.sender, newNonce, currentNonce);
        }
        _nonces[msg.sender] = newNonce;
        emit NoncesInvalidated(msg.sender, currentNonce, newNonce);
    }

    /// @inheritdoc IEnergyVault
    function approveMarketBySig(address account, address market, uint256 deadline, bytes calldata signature)
        external
        whenUnlocked
    {
        if (block.timestamp > deadline) revert ApprovalExpired(deadline);
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(MARKET_APPROVAL_TYPEHASH, account, market, _useNonce(account), deadline))
        );
        if (!SignatureChecker.isValidSignatureNow(account, digest, signature)) revert InvalidApprovalSignature(account);
        _setApproval(account, market, true);
    }

    /// @inheritdoc IEnergyVault
    function creditArrived(address token, address[] calldata accounts, uint256[] calldata amounts)
        external
        whenUnlocked
    {
        // Tokens sent to the vault by a plain transfer would go to whoever booked them first: only the
        // contracts that send tokens and book them in one transaction may book.
        if (_balances[msg.sender] >> REGISTRATION_SHIFT == 0 && !hasRole(CREDITOR_ROLE, msg.sender)) {
            revert NotCreditor(msg.sender);
        }
        uint256 count = accounts.length;
        if (count != amounts.length) revert BatchLengthMismatch(count, amounts.length);
        bool isEnergy = _isEnergy(token);
        uint256 total = 0;
        for (uint256 i; i < count; ++i) {
            uint256 amount = amounts[i];
            total += amount;
            // Each credit is at most the total, which is checked against the reserve bound below, so
            // no balance can pass 112 bits (into its neighbour) once the batch succeeds.
            unchecked {
                _balances[accounts[i]] += isEnergy ? amount : amount << PAYMENT_SHIFT;
            }
        }
        uint256 reserve = isEnergy ? _energyReserveWh : _paymentReserve;
        uint256 arrived = IERC20(token).balanceOf(address(this)) - reserve;
        if (total > arrived) revert NotArrived(token, arrived, total);
        _raiseReserve(token, isEnergy, reserve + total);
        // emit ArrivedCredited(msg.sender, token, accounts, amounts): its data is this call's arguments.
        CalldataLog.logArguments(ArrivedCredited.selector, bytes32(uint256(uint160(msg.sender))));
    }

    // ----------------------------------------------------------------------------- markets

    /// @inheritdoc IEnergyVault
    function take(address account, uint256 energyWh, uint256 payment) external nonReentrant {
        uint256 market = _balances[msg.sender];
        (uint256 bit, bool closed) = _marketBit(msg.sender, market);
        if (closed) revert MarketClosed(msg.sender);
        uint256 from = _balances[account];
        if ((from >> APPROVALS_SHIFT) & bit == 0) revert MarketNotApproved(account, msg.sender);
        if (_isFrozen(account)) revert AccountFrozen(account);
        // A shortfall pulled from the wallet is credited first; the reserve bound keeps each amount
        // within its 112 bits.
        uint256 heldWh = from & AMOUNT_MASK;
        if (energyWh > heldWh) {
            _pull(_energyToken, true, account, energyWh - heldWh);
            from += energyWh - heldWh;
        }
        uint256 held = (from >> PAYMENT_SHIFT) & AMOUNT_MASK;
        if (payment > held) {
            _pull(_paymentToken, false, account, payment - held);
            from += (payment - held) << PAYMENT_SHIFT;
        }
        unchecked {
            uint256 moved = energyWh + (payment << PAYMENT_SHIFT);
            _balances[account] = from - moved;
            // Within the reserve bound: every balance is part of the reserve.
            _balances[msg.sender] = market + moved;
        }
        // Each amount is within its 112 bits (checked above against the balance or the reserve).
        emit MarketMoved(msg.sender, account, -int256(energyWh), -int256(payment));
    }

    /// @inheritdoc IEnergyVault
    function give(address account, uint256 energyWh, uint256 payment) external whenUnlocked {
        uint256 market = _balances[msg.sender];
        _marketBit(msg.sender, market);
        uint256 heldWh = market & AMOUNT_MASK;
        if (energyWh > heldWh) revert InsufficientEnergy(msg.sender, heldWh, energyWh);
        uint256 held = (market >> PAYMENT_SHIFT) & AMOUNT_MASK;
        if (payment > held) revert InsufficientPayment(msg.sender, held, payment);
        unchecked {
            uint256 moved = energyWh + (payment << PAYMENT_SHIFT);
            _balances[msg.sender] = market - moved;
            // Read after the market's write: a market giving to itself nets out.
            _balances[account] += moved;
        }
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
        (uint256 bit, bool closed) = _marketBit(msg.sender, _balances[msg.sender]);
        bool freezes = _frozenQuery != bytes4(0);
        // The market's side of the batch, netted first: taking is checked per account, paying out
        // against the market's balance at the end, read then so that an entry naming the market
        // itself (written to that balance in the loop) nets out instead of being overwritten.
        int256 marketEnergyWh = 0;
        int256 marketPayment = 0;
        for (uint256 i; i < count; ++i) {
            address account = accounts[i];
            int256 energyDeltaWh = energyDeltasWh[i];
            int256 paymentDelta = paymentDeltas[i];
            uint256 balance = _balances[account];
            if (energyDeltaWh < 0 || paymentDelta < 0) {
                if (closed) revert MarketClosed(msg.sender);
                if ((balance >> APPROVALS_SHIFT) & bit == 0) revert MarketNotApproved(account, msg.sender);
                if (freezes && _isFrozen(account)) revert AccountFrozen(account);
            }
            _balances[account] = _withAmounts(
                balance,
                _applyDelta(account, true, balance & AMOUNT_MASK, energyDeltaWh),
                _applyDelta(account, false, (balance >> PAYMENT_SHIFT) & AMOUNT_MASK, paymentDelta)
            );
            marketEnergyWh -= energyDeltaWh;
            marketPayment -= paymentDelta;
        }
        uint256 market = _balances[msg.sender];
        uint256 heldWh = market & AMOUNT_MASK;
        uint256 held = (market >> PAYMENT_SHIFT) & AMOUNT_MASK;
        // A net payout (a negative net) is what the batch asks of the market's balance.
        if (-marketEnergyWh > int256(heldWh)) revert InsufficientEnergy(msg.sender, heldWh, uint256(-marketEnergyWh));
        if (-marketPayment > int256(held)) revert InsufficientPayment(msg.sender, held, uint256(-marketPayment));
        _balances[msg.sender] = _withAmounts(
            market, uint256(int256(heldWh) + marketEnergyWh), uint256(int256(held) + marketPayment)
        );
        // emit MarketBatchSettled(msg.sender, accounts, energyDeltasWh, paymentDeltas): its data is this
        // call's arguments.
        CalldataLog.logArguments(MarketBatchSettled.selector, bytes32(uint256(uint160(msg.sender))));
    }

    /// @inheritdoc IEnergyVault
    function retireEnergy(uint256 amountWh) external whenUnlocked {
        uint256 market = _balances[msg.sender];
        _marketBit(msg.sender, market);
        if (amountWh == 0) return;
        uint256 heldWh = market & AMOUNT_MASK;
        if (amountWh > heldWh) revert InsufficientEnergy(msg.sender, heldWh, amountWh);
        unchecked {
            _balances[msg.sender] = market - amountWh;
            _energyReserveWh -= uint128(amountWh);
        }
        emit EnergyRetired(msg.sender, amountWh);
        ERC20Burnable(address(_energyToken)).burn(amountWh);
    }

    // ----------------------------------------------------------------------------- admin

    /// @inheritdoc IEnergyVault
    function registerMarket(address market) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (market == address(0)) revert ZeroAddress();
        uint256 word = _balances[market];
        if (word >> REGISTRATION_SHIFT != 0) revert MarketAlreadyRegistered(market);
        uint256 place = _marketCount;
        if (place == MAX_MARKETS) revert TooManyMarkets(MAX_MARKETS);
        _marketCount = uint8(place + 1);
        _balances[market] = word | ((place + 1) << REGISTRATION_SHIFT);
        emit MarketRegistered(market, place);
    }

    /// @inheritdoc IEnergyVault
    function closeMarket(address market) external onlyRole(DEFAULT_ADMIN_ROLE) {
        uint256 word = _balances[market];
        uint256 registration = word >> REGISTRATION_SHIFT;
        if (registration == 0) revert NotMarket(market);
        if (registration & CLOSED != 0) revert MarketClosed(market);
        _balances[market] = word | (CLOSED << REGISTRATION_SHIFT);
        emit MarketClosedForIntake(market);
    }

    // ----------------------------------------------------------------------------- views

    /// @inheritdoc IEnergyVault
    function balanceOf(address token, address account) external view returns (uint256) {
        uint256 word = _balances[account];
        return _isEnergy(token) ? word & AMOUNT_MASK : (word >> PAYMENT_SHIFT) & AMOUNT_MASK;
    }

    /// @inheritdoc IEnergyVault
    function balancesOf(address account) external view returns (uint256 energyWh, uint256 payment) {
        uint256 word = _balances[account];
        return (word & AMOUNT_MASK, (word >> PAYMENT_SHIFT) & AMOUNT_MASK);
    }

    /// @inheritdoc IEnergyVault
    function paymentsFor(address market, address[] calldata accounts)
        external
        view
        returns (uint256[] memory payments, bool[] memory approved)
    {
        uint256 bit = _openBitOrZero(_balances[market] >> REGISTRATION_SHIFT);
        uint256 count = accounts.length;
        payments = new uint256[](count);
        approved = new bool[](count);
        bool freezes = _frozenQuery != bytes4(0);
        for (uint256 i; i < count; ++i) {
            address account = accounts[i];
            uint256 word = _balances[account];
            payments[i] = (word >> PAYMENT_SHIFT) & AMOUNT_MASK;
            // A frozen account may not be debited: a market's batch skips it instead of failing on it.
            approved[i] = (word >> APPROVALS_SHIFT) & bit != 0 && !(freezes && _isFrozen(account));
        }
    }

    /// @inheritdoc IEnergyVault
    function isMarketApproved(address account, address market) external view returns (bool) {
        return (_balances[account] >> APPROVALS_SHIFT) & _openBitOrZero(_balances[market] >> REGISTRATION_SHIFT) != 0;
    }

    /// @inheritdoc IEnergyVault
    function marketInfo(address market) external view returns (bool registered, uint256 index, bool closed) {
        uint256 registration = _balances[market] >> REGISTRATION_SHIFT;
        registered = registration != 0;
        index = registered ? (registration & ~CLOSED) - 1 : 0;
        closed = registration & CLOSED != 0;
    }

    /// @inheritdoc IEnergyVault
    function reserves() external view returns (uint256 energyWh, uint256 payment) {
        return (_energyReserveWh, _paymentReserve);
    }

    /// @inheritdoc IEnergyVault
    function nonces(address account) external view returns (uint256) {
        return _nonces[account];
    }

    /// @inheritdoc IEnergyVault
    function frozenQuery() external view returns (bytes4) {
        return _frozenQuery;
    }

    /// @inheritdoc IEnergyVault
    function isFrozen(address account) external view returns (bool) {
        return _isFrozen(account);
    }

    /// @notice The EIP-712 domain separator of signed market approvals and withdrawals.
    /// @return The separator.
    // slither-disable-next-line naming-convention: the name EIP-2612 made the convention
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @inheritdoc IEnergyVault
    function energyToken() external view returns (address) {
        return address(_energyToken);
    }

    /// @inheritdoc IEnergyVault
    function paymentToken() external view returns (address) {
        return address(_paymentToken);
    }

    // ----------------------------------------------------------------------------- internals

    // slither-disable-next-line reentrancy-benign: the permit call goes to one of the vault's two tokens (checked first, set at deploy) and both callers are nonReentrant
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
            // A permit front-run by someone who saw it in the mempool has already set the allowance: go on
            // (OpenZeppelin's advice for permit consumers; the transfer fails if it is not there). For a
            // relayer only on the account's own permit of this deposit: any other allowance the account gave
            // the vault (for a market's pull) is not the relayer's to use.
            isThisPermit = _wasLastPermit(account, permitToken, amount, deadline, v, r, s);
            if (!isThisPermit && account != msg.sender) revert PermitNotApplied(account);
        }
        // The permit pays for this deposit and no other: without the mark, a relayer could send the same
        // permit again and again, each time moving the amount on whatever allowance the account has left.
        if (isThisPermit) _spendPermit(account, permitToken);
        _deposit(account, token, amount);
    }

    /// @dev Marks the token's last permit of `account` (the one just applied, or recognised) as paid for.
    function _spendPermit(address account, IERC20Permit token) private {
        uint256 nonce = token.nonces(account);
        mapping(address token => uint256) storage spent = _permitsSpent[account];
        if (spent[address(token)] >= nonce) revert PermitAlreadyUsed(account, nonce - 1);
        spent[address(token)] = nonce;
    }

    /// @dev Whether (v, r, s) is `account`'s permit of the vault for `amount` and `deadline` at the token's
    /// last used nonce, with the deadline not passed: the permit was applied, just not by this call.
    function _wasLastPermit(
        address account,
        IERC20Permit token,
        uint256 amount,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) private view returns (bool) {
        if (block.timestamp > deadline) return false;
        // A token without EIP-2612 answers neither call: then no permit was ever applied.
        try token.nonces(account) returns (uint256 nonce) {
            if (nonce == 0) return false;
            bytes32 structHash =
                keccak256(abi.encode(PERMIT_TYPEHASH, account, address(this), amount, nonce - 1, deadline));
            try token.DOMAIN_SEPARATOR() returns (bytes32 domainSeparator) {
                bytes32 digest = MessageHashUtils.toTypedDataHash(domainSeparator, structHash);
                return SignatureChecker.isValidSignatureNow(account, digest, abi.encodePacked(r, s, v));
            } catch {
                return false;
            }
        } catch {
            return false;
        }
    }

    /// @dev Pulls only from `account`: its own call, or its permit (or allowance) of the vault.
    function _deposit(address account, address token, uint256 amount) private {
        if (amount == 0) revert ZeroAmount();
        bool isEnergy = _isEnergy(token);
        _raiseReserve(token, isEnergy, (isEnergy ? _energyReserveWh : _paymentReserve) + amount);
        // Within the reserve bound just checked: the amount cannot pass its 112 bits.
        unchecked {
            _balances[account] += isEnergy ? amount : amount << PAYMENT_SHIFT;
        }
        emit Deposited(account, token, amount);
        _transferIn(IERC20(token), account, amount);
    }

    function _withdraw(address account, address token, uint256 amount, address to) private {
        if (amount == 0) revert ZeroAmount();
        if (to == address(0)) revert ZeroAddress();
        // The token would let vault -> `to` through: the freeze is the vault's to keep.
        if (_isFrozen(account)) revert AccountFrozen(account);
        bool isEnergy = _isEnergy(token);
        uint256 word = _balances[account];
        if (isEnergy) {
            uint256 heldWh = word & AMOUNT_MASK;
            if (amount > heldWh) revert InsufficientEnergy(account, heldWh, amount);
            unchecked {
                _balances[account] = word - amount;
                _energyReserveWh -= uint128(amount);
            }
        } else {
            uint256 held = (word >> PAYMENT_SHIFT) & AMOUNT_MASK;
            if (amount > held) revert InsufficientPayment(account, held, amount);
            unchecked {
                _balances[account] = word - (amount << PAYMENT_SHIFT);
                _paymentReserve -= uint128(amount);
            }
        }
        emit Withdrawn(account, token, amount, to);
        IERC20(token).safeTransfer(to, amount);
    }

    /// @dev Pulls `amount` of a shortfall from the account's wallet into the reserve (the caller credits it).
    function _pull(IERC20 token, bool isEnergy, address account, uint256 amount) private {
        _raiseReserve(address(token), isEnergy, (isEnergy ? _energyReserveWh : _paymentReserve) + amount);
        emit Deposited(account, address(token), amount);
        _transferIn(token, account, amount);
    }

    /// @dev Moves `amount` from `account`'s wallet into the vault, whose reserve already counts it, and
    /// checks that all of it arrived: a token keeping a fee would leave the reserve unbacked.
    function _transferIn(IERC20 token, address account, uint256 amount) private {
        token.safeTransferFrom(account, address(this), amount);
        uint256 reserve = token == _energyToken ? _energyReserveWh : _paymentReserve;
        uint256 held = token.balanceOf(address(this));
        if (held < reserve) revert TransferShort(address(token), amount - (reserve - held), amount);
    }

    /// @dev Spends `account`'s nonce for signed approvals and withdrawals; returns the one spent.
    function _useNonce(address account) private returns (uint256 nonce) {
        nonce = _nonces[account];
        // Below the top of its range: invalidateNonces raises it by at most MAX_NONCE_SKIP at a time.
        unchecked {
            _nonces[account] = nonce + 1;
        }
    }

    /// @dev Whether the payment token's freeze query reports `account` frozen; false without a query.
    function _isFrozen(address account) private view returns (bool) {
        bytes4 query = _frozenQuery;
        if (query == bytes4(0)) return false;
        // slither-disable-next-line calls-loop,low-level-calls: a view of the immutable payment token, asked per account of a market's bounded batch; a failed query must say so, not revert without a reason
        (bool ok, bytes memory answer) = address(_paymentToken).staticcall(abi.encodeWithSelector(query, account));
        if (!ok || answer.length != 32) revert FrozenQueryFailed(address(_paymentToken), account);
        return abi.decode(answer, (bool));
    }

    function _raiseReserve(address token, bool isEnergy, uint256 reserve) private {
        if (reserve > MAX_RESERVE) revert ReserveTooLarge(token, reserve, MAX_RESERVE);
        if (isEnergy) _energyReserveWh = uint128(reserve);
        else _paymentReserve = uint128(reserve);
    }

    function _setApproval(address account, address market, bool approved) private {
        (uint256 bit,) = _marketBit(market, _balances[market]);
        uint256 word = _balances[account];
        _balances[account] = approved ? word | (bit << APPROVALS_SHIFT) : word & ~(bit << APPROVALS_SHIFT);
        emit MarketApprovalSet(account, market, approved);
    }

    /// @dev A balance after a signed move: below zero is a shortfall of the account.
    function _applyDelta(address account, bool isEnergy, uint256 held, int256 delta) private view returns (uint256) {
        if (delta >= 0) {
            uint256 balance = held + uint256(delta);
            // Only a batch that pays out more than the reserve could pass it; it is refused before any cast.
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

    /// @dev The approval bit of a registered market, from its balance slot, and whether it is closed.
    function _marketBit(address market, uint256 word) private pure returns (uint256 bit, bool closed) {
        uint256 registration = word >> REGISTRATION_SHIFT;
        if (registration == 0) revert NotMarket(market);
        return (1 << ((registration & ~CLOSED) - 1), registration & CLOSED != 0);
    }

    /// @dev `word` with its energy and payment balances replaced (each within 112 bits).
    function _withAmounts(uint256 word, uint256 energyWh, uint256 payment) private pure returns (uint256) {
        return (word >> APPROVALS_SHIFT << APPROVALS_SHIFT) | energyWh | (payment << PAYMENT_SHIFT);
    }

    /// @dev The approval bit of an open market; 0 for anything else.
    function _openBitOrZero(uint256 registration) private pure returns (uint256) {
        if (registration == 0 || registration & CLOSED != 0) return 0;
        return 1 << (registration - 1);
    }

    function _isEnergy(address token) private view returns (bool) {
        if (token == address(_energyToken)) return true;
        if (token != address(_paymentToken)) revert UnsupportedToken(token);
        return false;
    }
}
