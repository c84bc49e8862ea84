// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {ZeroAddress} from "../utils/GridErrors.sol";
import {IReentrancyLock} from "../utils/ReentrancyLock.sol";

/// @title IEnergyAssetShares
/// @notice Fractional ownership of EnergyAssetNFT assets: ERC-1155 shares whose token id is
/// the asset's token id. The owner splits an asset (the NFT is locked here, the owner receives the
/// shares); the holder of every share recombines it (burns them, gets the NFT back). Revenue in
/// PaymentToken deposited for a split asset is claimable pro rata by whoever held shares when it was
/// deposited, even after the shares moved on; a claim credits it to the claimant's EnergyVault balance
/// (the vault's payment token is PaymentToken), where the markets spend it and from which it is
/// withdrawn. Revenue is deposited from the depositor's vault balance (this contract is a registered
/// vault market the depositor approves) and held in this contract's vault balance until claimed.
///
/// Revenue accounting (a cumulative revenue-per-share accumulator, "magnified" by MAGNITUDE): each
/// deposit adds (amount × MAGNITUDE + carried remainder) / totalShares to the accumulator and carries
/// the division's remainder into the next deposit. An account has accrued accumulator × balance +
/// correction (magnified units); a share transfer adjusts both sides' corrections so revenue accrued
/// before it stays with the sender. Claims pay the whole units accrued and not yet claimed; the
/// sub-unit fraction stays accrued and becomes claimable as it grows. So, to the unit, in magnified
/// units: deposits × MAGNITUDE = Σ (claimed + claimable) × MAGNITUDE + Σ fractions + carried remainder.
/// Every operation is O(1) in the number of holders.
///
/// Amounts are PaymentToken base units. Bounds: 1..MAX_SHARES shares per split, at most
/// MAX_REVENUE_PER_ASSET deposited per asset over its life, so accumulator × any balance stays below
/// 2^255 (see the constants).
interface IEnergyAssetShares is IERC1155, IReentrancyLock {
    /// @notice The revenue ledger of one asset.
    struct RevenueInfo {
        uint256 totalDeposited; // PaymentToken base units deposited over the asset's life
        uint256 totalClaimed; // of which claimed
        uint256 magnifiedRevenuePerShare; // the accumulator, × MAGNITUDE
        uint256 carriedRemainder; // magnified units not yet divided among shares (< the share count at the last deposit)
    }

    /// @notice `owner` split `tokenId` into `shareCount` shares and became its manager.
    /// @param tokenId The asset, locked here; also the shares' token id.
    /// @param owner The NFT's owner, who received every share.
    /// @param shareCount Shares minted, 1..MAX_SHARES.
    event AssetSplit(uint256 indexed tokenId, address indexed owner, uint256 shareCount);
    /// @notice `holder` burned all `shareCount` shares of `tokenId` and received the NFT.
    /// @param tokenId The asset, no longer split.
    /// @param holder The holder of every share, who received the NFT.
    /// @param shareCount Shares burned: all of them.
    event AssetRecombined(uint256 indexed tokenId, address indexed holder, uint256 shareCount);
    /// @notice The manager or the holder of all shares handed the management of split asset `tokenId`
    /// (its control in EnergyAssetNFT) to `newManager`.
    /// @param tokenId The split asset.
    /// @param previousManager The manager before.
    /// @param newManager The manager from now on.
    event ManagerChanged(uint256 indexed tokenId, address indexed previousManager, address indexed newManager);
    /// @notice `depositor` deposited `amount` of revenue for `tokenId`; the accumulator is now `magnifiedRevenuePerShare`.
    /// @param tokenId The split asset.
    /// @param depositor Who paid it in.
    /// @param amount Revenue deposited, PaymentToken base units.
    /// @param magnifiedRevenuePerShare Revenue per share deposited over the asset's life after this deposit,
    /// PaymentToken base units × MAGNITUDE.
    event RevenueDeposited(
        uint256 indexed tokenId, address indexed depositor, uint256 amount, uint256 magnifiedRevenuePerShare
    );
    /// @notice `account` claimed `amount` of revenue of `tokenId`, credited to its EnergyVault balance.
    /// @param tokenId The asset.
    /// @param account The caller, credited in the vault.
    /// @param amount Whole units paid, PaymentToken base units.
    event RevenueClaimed(uint256 indexed tokenId, address indexed account, uint256 amount);

    /// @notice The asset NFT has not linked this contract (EnergyAssetNFT.setSharesContract).
    /// @param linkedSharesContract The shares contract the NFT links (zero when none).
    error SharesContractNotLinked(address linkedSharesContract);
    /// @notice `caller` does not own the NFT `tokenId`.
    /// @param tokenId The asset.
    /// @param caller The account that tried to split it.
    error NotAssetOwner(uint256 tokenId, address caller);
    /// @notice The owner has not approved this contract to take NFT `tokenId`.
    /// @param tokenId The asset.
    /// @param owner Its owner, the caller.
    error SplitNotApproved(uint256 tokenId, address owner);
    /// @notice A share count of zero or above MAX_SHARES.
    /// @param shareCount The count given.
    /// @param maxShares MAX_SHARES.
    error InvalidShareCount(uint256 shareCount, uint256 maxShares);
    /// @notice Asset `tokenId` is not split.
    /// @param tokenId The asset.
    error AssetNotSplit(uint256 tokenId);
    /// @notice `caller` holds `balance` of the `totalShares` shares of `tokenId`, not all.
    /// @param tokenId The split asset.
    /// @param caller The account that tried to recombine it.
    /// @param balance The caller's shares.
    /// @param totalShares The asset's shares in existence.
    error NotAllShares(uint256 tokenId, address caller, uint256 balance, uint256 totalShares);
    /// @notice `caller` is neither the manager of `tokenId` nor the holder of all its shares.
    /// @param tokenId The split asset.
    /// @param caller The account that tried to change its manager.
    error NotManager(uint256 tokenId, address caller);
    /// @notice A revenue deposit of zero.
    error ZeroRevenue();
    /// @notice The deposit would take the asset's lifetime revenue past MAX_REVENUE_PER_ASSET.
    /// @param tokenId The split asset.
    /// @param amount The deposit asked, PaymentToken base units.
    /// @param remaining What the asset may still receive, PaymentToken base units.
    error RevenueLimitExceeded(uint256 tokenId, uint256 amount, uint256 remaining);
    /// @notice `account` has no whole unit of revenue of `tokenId` to claim.
    /// @param tokenId The asset.
    /// @param account The caller.
    error NothingToClaim(uint256 tokenId, address account);

    /// @notice Locks the caller's NFT `tokenId` here (approve this contract first) and mints the caller
    /// `shareCount` (1..MAX_SHARES) shares; the caller becomes the asset's manager.
    function split(uint256 tokenId, uint256 shareCount) external;

    /// @notice The holder of every share of `tokenId` burns them and receives the NFT. Revenue accrued
    /// to earlier holders stays claimable.
    function recombine(uint256 tokenId) external;

    /// @notice Hands the management of split asset `tokenId` to `newManager`. The manager or the
    /// holder of all shares.
    function setManager(uint256 tokenId, address newManager) external;

    /// @notice Moves `amount` PaymentToken from the caller's EnergyVault balance into this contract's
    /// as revenue of split asset `tokenId`, for its current shareholders pro rata. Anyone who approved
    /// this contract as a vault market (`IEnergyVault.setMarketApproval`); a shortfall of the vault
    /// balance is pulled from the caller's wallet if it allowed the vault the token.
    function depositRevenue(uint256 tokenId, uint256 amount) external;

    /// @notice Pays the whole units of `tokenId` revenue the caller accrued and has not claimed from
    /// this contract's EnergyVault balance into the caller's (`IEnergyVault.give`: no token moves).
    function claimRevenue(uint256 tokenId) external returns (uint256 amount);

    /// @notice Stops split and revenue deposits (emergency shutdown); recombination, transfers and
    /// claims go on. PAUSER_ROLE only.
    function pause() external;

    /// @notice Resumes split and deposits. DEFAULT_ADMIN_ROLE only.
    function unpause() external;

    /// @notice Whole units `account` may claim of `tokenId` now.
    function claimableRevenue(uint256 tokenId, address account) external view returns (uint256 amount);

    /// @notice `account`'s ledger for `tokenId`: claimed, claimable now, and the accrued sub-unit fraction
    /// (magnified, < MAGNITUDE) that is neither yet.
    function getRevenueAccount(uint256 tokenId, address account)
        external
        view
        returns (uint256 claimed, uint256 claimable, uint256 fractionMagnified);

    function getRevenue(uint256 tokenId) external view returns (RevenueInfo memory);

    /// @notice The manager of split asset `tokenId`, or the zero address when it is not split.
    function managerOf(uint256 tokenId) external view returns (address);

    /// @notice Shares of `tokenId` in existence (0 when it is not split).
    function totalShares(uint256 tokenId) external view returns (uint256);

    function assetNft() external view returns (address);

    /// @notice The token revenue is deposited and paid in: the vault's payment token.
    function paymentToken() external view returns (address);

    /// @notice The EnergyVault claims are credited in.
    function vault() external view returns (address);
}
