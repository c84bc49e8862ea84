// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IEnergyAssetNFT} from "./IEnergyAssetNFT.sol";
import {IEnergyAssetShares} from "./IEnergyAssetShares.sol";
import {IEnergyVault} from "../vault/IEnergyVault.sol";
import {ZeroAddress} from "../utils/GridErrors.sol";
import {ReentrancyLock} from "../utils/ReentrancyLock.sol";

/// @title EnergyAssetShares
/// @notice Fractional ownership of EnergyAssetNFT assets as ERC-1155 shares (token id = asset id) with
/// pro-rata revenue claims that follow the shareholding at deposit time, paid into the claimants'
/// EnergyVault balances. See IEnergyAssetShares.
/// @dev A registered EnergyVault market: a deposit moves the revenue from the depositor's vault
/// balance into this contract's (`IEnergyVault.take`; the depositor approved this market, and a
/// shortfall is pulled from its wallet when it allowed the vault the token), and a claim pays it
/// on with one `IEnergyVault.give`: revenue moves as vault balances, never as a token transfer per
/// claim, and this contract's vault balance is always deposited − claimed.
// slither-disable-next-line missing-inheritance: pause() and paused() match IPausableTarget; inheriting it would force overrides of both
contract EnergyAssetShares is ERC1155, AccessControl, Pausable, ReentrancyLock, IEnergyAssetShares {
    using SafeCast for uint256;

    /// @notice Pauses split and deposits (emergency shutdown: the guardian, GridManagement); only the admin resumes.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    /// @notice Scale of the revenue-per-share accumulator. Its precision only decides how soon sub-unit
    /// dust reaches accounts: nothing is lost at any scale, since the division's remainder is carried.
    uint256 public constant MAGNITUDE = 2 ** 64;
    /// @notice Most shares per split: 10^18, an 18-decimal "1.0" (< 2^60).
    uint256 public constant MAX_SHARES = 1e18;
    /// @notice Most revenue deposited per asset over its life: the most one vault balance holds
    /// (EnergyVault.MAX_RESERVE, 2^112 − 1 base units: 5.2 × 10^15 whole units of an 18-decimal
    /// token), so no claim can exceed what the vault can credit. With MAGNITUDE 2^64 the accumulator
    /// stays below 2^177 even with a single share, and accumulator × MAX_SHARES below 2^237: every
    /// product fits int256.
    uint256 public constant MAX_REVENUE_PER_ASSET = type(uint112).max;

    struct SplitState {
        address manager; // controller of the split asset; 0 = not split
        uint64 totalShares; // ≤ MAX_SHARES < 2^64
    }

    struct Ledger {
        uint128 totalDeposited; // ≤ MAX_REVENUE_PER_ASSET
        uint64 carriedRemainder; // magnified units left over by the last division, < its divisor ≤ MAX_SHARES
    }

    IEnergyAssetNFT private immutable _assetNft;
    IEnergyVault private immutable _vault;
    IERC20 private immutable _paymentToken;
    mapping(uint256 tokenId => SplitState) private _splits;
    mapping(uint256 tokenId => uint256) private _magnifiedRevenuePerShare;
    mapping(uint256 tokenId => Ledger) private _ledgers;
    mapping(uint256 tokenId => uint256) private _totalClaimed;
    mapping(uint256 tokenId => mapping(address account => int256)) private _corrections;
    mapping(uint256 tokenId => mapping(address account => uint256)) private _claimed;

    constructor(address admin, IEnergyAssetNFT assetNft_, IEnergyVault vault_) ERC1155("") {
        if (admin == address(0) || address(assetNft_) == address(0) || address(vault_) == address(0)) {
            revert ZeroAddress();
        }
        _assetNft = assetNft_;
        _vault = vault_;
        _paymentToken = IERC20(vault_.paymentToken());
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ----------------------------------------------------------------------------- split and recombine

    /// @inheritdoc IEnergyAssetShares
    function split(uint256 tokenId, uint256 shareCount) external nonReentrant whenNotPaused {
        IEnergyAssetNFT nft = _assetNft;
        address linked = nft.sharesContract();
        if (linked != address(this)) revert SharesContractNotLinked(linked);
        address owner = nft.ownerOf(tokenId);
        if (owner != msg.sender) revert NotAssetOwner(tokenId, msg.sender);
        if (shareCount == 0 || shareCount > MAX_SHARES) revert InvalidShareCount(shareCount, MAX_SHARES);
        if (nft.getApproved(tokenId) != address(this) && !nft.isApprovedForAll(owner, address(this))) {
            revert SplitNotApproved(tokenId, owner);
        }
        // Recorded before the NFT moves: the NFT admits only assets with a manager here.
        _splits[tokenId] = SplitState(msg.sender, uint64(shareCount));
        nft.transferFrom(msg.sender, address(this), tokenId);
        _mint(msg.sender, tokenId, shareCount, "");
        emit AssetSplit(tokenId, msg.sender, shareCount);
    }

    /// @inheritdoc IEnergyAssetShares
    function recombine(uint256 tokenId) external nonReentrant {
        uint256 shares = _splits[tokenId].totalShares;
        if (shares == 0) revert AssetNotSplit(tokenId);
        uint256 balance = balanceOf(msg.sender, tokenId);
        if (balance != shares) revert NotAllShares(tokenId, msg.sender, balance, shares);
        _burn(msg.sender, tokenId, shares);
        // The manager is forgotten only after the NFT left: the NFT compares the controller before and
        // after the transfer to decide whether maintainer authorizations lapse. Plain transferFrom: the
        // caller asked for the NFT, no receiver callback is needed.
        _assetNft.transferFrom(address(this), msg.sender, tokenId);
        delete _splits[tokenId];
        emit AssetRecombined(tokenId, msg.sender, shares);
    }

    /// @inheritdoc IEnergyAssetShares
    function setManager(uint256 tokenId, address newManager) external {
        SplitState storage s = _splits[tokenId];
        uint256 shares = s.totalShares;
        if (shares == 0) revert AssetNotSplit(tokenId);
        address previous = s.manager;
        if (msg.sender != previous && balanceOf(msg.sender, tokenId) != shares) revert NotManager(tokenId, msg.sender);
        if (newManager == address(0)) revert ZeroAddress();
        s.manager = newManager;
        emit ManagerChanged(tokenId, previous, newManager);
    }

    // ----------------------------------------------------------------------------- revenue

    /// @inheritdoc IEnergyAssetShares
    function depositRevenue(uint256 tokenId, uint256 amount) external nonReentrant whenNotPaused {
        if (amount == 0) revert ZeroRevenue();
        uint256 shares = _splits[tokenId].totalShares;
        // Paying an unsplit asset's owner needs no contract; refusing keeps every deposit in the ledger.
        if (shares == 0) revert AssetNotSplit(tokenId);
        Ledger memory ledger = _ledgers[tokenId];
        uint256 remaining = MAX_REVENUE_PER_ASSET - ledger.totalDeposited;
        if (amount > remaining) revert RevenueLimitExceeded(tokenId, amount, remaining);
        // Cannot overflow: amount < 2^112, so magnified < 2^176 + 2^64.
        uint256 magnified = amount * MAGNITUDE + ledger.carriedRemainder;
        uint256 perShare = _magnifiedRevenuePerShare[tokenId] + magnified / shares;
        _magnifiedRevenuePerShare[tokenId] = perShare;
        _ledgers[tokenId] = Ledger(uint128(ledger.totalDeposited + amount), uint64(magnified % shares));
        emit RevenueDeposited(tokenId, msg.sender, amount, perShare);
        _vault.take(msg.sender, 0, amount);
    }

    /// @inheritdoc IEnergyAssetShares
    function claimRevenue(uint256 tokenId) external nonReentrant returns (uint256 amount) {
        uint256 claimed = _claimed[tokenId][msg.sender];
        amount = _accrued(tokenId, msg.sender) / MAGNITUDE - claimed;
        if (amount == 0) revert NothingToClaim(tokenId, msg.sender);
        _claimed[tokenId][msg.sender] = claimed + amount;
        _totalClaimed[tokenId] += amount;
        emit RevenueClaimed(tokenId, msg.sender, amount);
        _vault.give(msg.sender, 0, amount);
    }

    /// @dev Moves accrued revenue with the shares: a sender's correction rises and a receiver's falls by
    /// accumulator × value, so accumulator × balance + correction is unchanged for both. One addition per
    /// side, whatever the number of holders.
    function _update(address from, address to, uint256[] memory ids, uint256[] memory values) internal override {
        super._update(from, to, ids, values);
        for (uint256 i; i < ids.length; ++i) {
            uint256 tokenId = ids[i];
            int256 delta = (_magnifiedRevenuePerShare[tokenId] * values[i]).toInt256();
            if (from != address(0)) _corrections[tokenId][from] += delta;
            if (to != address(0)) _corrections[tokenId][to] -= delta;
        }
    }

    /// @dev Magnified revenue `account` accrued over all time; never negative: corrections only
    /// remove what accrued before the shares arrived.
    function _accrued(uint256 tokenId, address account) private view returns (uint256) {
        int256 held = (_magnifiedRevenuePerShare[tokenId] * balanceOf(account, tokenId)).toInt256();
        return uint256(held + _corrections[tokenId][account]);
    }

    // ----------------------------------------------------------------------------- emergency

    /// @inheritdoc IEnergyAssetShares
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @inheritdoc IEnergyAssetShares
    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _unpause();
    }

    // ----------------------------------------------------------------------------- views

    /// @inheritdoc IEnergyAssetShares
    function claimableRevenue(uint256 tokenId, address account) external view returns (uint256 amount) {
        return _accrued(tokenId, account) / MAGNITUDE - _claimed[tokenId][account];
    }

    /// @inheritdoc IEnergyAssetShares
    function getRevenueAccount(uint256 tokenId, address account)
        external
        view
        returns (uint256 claimed, uint256 claimable, uint256 fractionMagnified)
    {
        uint256 accrued = _accrued(tokenId, account);
        claimed = _claimed[tokenId][account];
        claimable = accrued / MAGNITUDE - claimed;
        fractionMagnified = accrued % MAGNITUDE;
    }

    /// @inheritdoc IEnergyAssetShares
    function getRevenue(uint256 tokenId) external view returns (RevenueInfo memory) {
        Ledger memory ledger = _ledgers[tokenId];
        return RevenueInfo(
            ledger.totalDeposited, _totalClaimed[tokenId], _magnifiedRevenuePerShare[tokenId], ledger.carriedRemainder
        );
    }

    /// @inheritdoc IEnergyAssetShares
    function managerOf(uint256 tokenId) external view returns (address) {
        return _splits[tokenId].manager;
    }

    /// @inheritdoc IEnergyAssetShares
    function totalShares(uint256 tokenId) external view returns (uint256) {
        return _splits[tokenId].totalShares;
    }

    /// @inheritdoc IEnergyAssetShares
    function assetNft() external view returns (address) {
        return address(_assetNft);
    }

    /// @inheritdoc IEnergyAssetShares
    function paymentToken() external view returns (address) {
        return address(_paymentToken);
    }

    /// @inheritdoc IEnergyAssetShares
    function vault() external view returns (address) {
        return address(_vault);
    }

    /// @notice The shares' metadata is the asset's own (EnergyAssetNFT.tokenURI): a share is a fraction
    /// of that asset.
    function uri(uint256 tokenId) public view override returns (string memory) {
        return _assetNft.tokenURI(tokenId);
    }

    function supportsInterface(bytes4 interfaceId)
        public
        view
        override(ERC1155, AccessControl, IERC165)
        returns (bool)
    {
        return super.supportsInterface(interfaceId);
    }
}
