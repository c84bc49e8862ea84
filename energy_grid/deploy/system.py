"""Deploys a fresh, wired system: every contract, every role, governance, the local faucet.

Used by `scripts/deploy.py`, the demo, the benchmark and the tests, so all of them run the
same wiring.

Who holds what after `deploy_system` (tests/test_deployment.py checks it from the role events):

- GridTimelock holds DEFAULT_ADMIN_ROLE on every grid contract and administers itself; it acts only
  on what EnergyGovernor's proposals decide, after its delay. The governor proposes and cancels on
  the timelock; anyone may execute a ready operation.
- The guardian holds only pause powers: PAUSER_ROLE on EnergyTrading, SmartMeter, every
  EnergyAuction and EnergyAssetShares, and GridManagement's GUARDIAN_ROLE (emergency shutdown).
  Unpausing and every setter need DEFAULT_ADMIN_ROLE, so they go through governance.
- Contracts hold what they call: SmartMeter mints and retires EnergyToken (METER_ROLE),
  GridManagement pauses its shutdown targets (PAUSER_ROLE), GridOperations declares emergencies
  (EMERGENCY_RESPONDER_ROLE).
- ForecastLedger has no roles and needs none: GridManagement's operators commit their regions'
  forecasts there, and anyone tallies the meters and scores them.
- EnergyVault holds the internal balances the markets trade. The timelock administers it: it registers
  (and closes) its markets, here the auctions, the order book, DemandResponse, DemandPrograms and
  EnergyAssetShares, which move only the balances of accounts that approved them and pay out of
  their own: the demand contracts hold the reward budgets and the shares contract the deposited
  revenue in their vault balances, and pay claims from there. SmartMeter needs no role there: it
  mints vault-delivered energy to the vault and credits it to the meter's owner.
- `operators` register meters and void transactions (OPERATOR_ROLE on SmartMeter and
  EnergyTrading), `gateways` submit meter batches (GATEWAY_ROLE): day-to-day work that cannot wait
  a vote. The timelock grants and revokes them.
- The deployer ends with no role, unless `keep_deployer_admin` (local chains only) leaves it every
  role it had: admin everywhere, operator, gateway, pauser, as development needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_utils import keccak, to_canonical_address, to_checksum_address

from energy_grid.domain.units import INTERVAL_SECONDS, ORACLE_REPORT_SECONDS, ZERO_ADDRESS

# Chain ids of anvil / hardhat and ganache: the only chains where the deployer may stay admin.
LOCAL_CHAIN_IDS = frozenset({31337, 1337})

# On a local chain the deployer (dev account 0) plays every operational role, and dev accounts
# 1-9 get this much MockStablecoin, in whole units.
LOCAL_FAUCET_WHOLE_UNITS = 10_000
DEFAULT_GRID_FEE_BPS = 50  # 0.5 %
# EnergyTrading's smallest order and partial fill: 0.1 kWh, a 400 W load for a quarter hour and the
# resolution of a household meter's display. A crossing order takes at most 32 fills, so the orders
# of this size ahead of it still fill 3.2 kWh of it, and every such order costs its creator a
# whole order's gas and escrow. Governance changes it with setMinOrderAmount.
DEFAULT_MIN_ORDER_AMOUNT_WH = 100
DEFAULT_BASE_PRICE_PER_KWH = 200_000  # 0.20 per kWh in a 6-decimal PaymentToken
# On a local chain the deployer operates this region, so scripts can act at once.
LOCAL_OPERATOR_REGION = 1
# A local chain's zone: the simulated community's site (Greensboro, NC, on local standard time, UTC-5),
# so that `make deploy` and then `make simulate` put the evening peak in the evening.
LOCAL_UTC_OFFSET_MINUTES = -300
LOCAL_OPERATOR_NAME = "Local grid operator"
LOCAL_OPERATOR_CAPACITY_KW = 1_000_000  # 1 GW
# Oracles: a report older than the heartbeat is stale; a price more than this far from the latest
# answer is refused (day-ahead prices move by tens of percent from one hour to the next).
DEFAULT_ORACLE_HEARTBEAT_SECONDS = 3_600
# The weather and grid oracles are reported once an hour (ORACLE_REPORT_SECONDS), so their reports and
# PriceDiscovery's reading of them stay fresh for two report periods: one report late or missed does
# not stop the price band's orders.
DEFAULT_REGIONAL_ORACLE_HEARTBEAT_SECONDS = 2 * ORACLE_REPORT_SECONDS
DEFAULT_MAX_PRICE_DEVIATION_BPS = 5_000
# A value needs fresh reports from more than half of an oracle's reporters; a higher minimum (up to
# MAX_REPORTERS, 15) trades liveness for more agreement. 0 asks only the majority, which is also what
# a single-reporter deployment needs (1 of 1).
DEFAULT_ORACLE_MIN_QUORUM = 0
# CarbonCredits: grams of CO2e one kWh of clean export avoids. A real deployment sets the grid's
# own factor from the methodology its carbon registry accepts (e.g. the UNFCCC CDM "Tool to
# calculate the emission factor for an electricity system"); 400 g/kWh is a placeholder for a
# grid with a fossil-heavy margin.
DEFAULT_AVOIDED_EMISSION_GRAMS_PER_KWH = 400
# EnergyAuction: one market per quarter hour whose gate closes 5 minutes before delivery; limit
# prices on a grid of 256 ticks, 0.050 .. 0.305 per kWh in steps of 0.001 (6-decimal PaymentToken).
# An hourly or daily auction is another deployment (`auction_periods_seconds`).
DEFAULT_AUCTION_PERIODS_SECONDS = (900,)
DEFAULT_AUCTION_GATE_CLOSURE_SECONDS = 300
DEFAULT_AUCTION_PRICE_GRID = (50_000, 1_000, 305_000)  # min, tick size, max; per kWh
GRID = 10**18  # one GovernanceToken, in base units


@dataclass(frozen=True)
class GovernanceSettings:
    """EnergyGovernor's and GridTimelock's settings. Times are seconds (GovernanceToken's clock is
    the block timestamp); amounts are GRID base units. A proposal can change every one later."""

    voting_delay_seconds: int  # from a proposal to the snapshot of voting power and the first vote
    voting_period_seconds: int  # how long voting stays open
    proposal_threshold: int  # voting power needed to propose
    quorum_percent: int  # share of the supply at the snapshot that must vote For or Abstain
    timelock_delay_seconds: int  # least time between queueing and executing
    initial_supply: int  # the whole GRID supply, minted once to the token recipient


# A public network: a day to see a proposal coming and delegate, a week to vote, two days between
# the vote and the change (time to exit for whoever disagrees); 0.1 % of the supply to propose,
# OpenZeppelin's usual 4 % quorum.
PUBLIC_GOVERNANCE = GovernanceSettings(
    voting_delay_seconds=86_400,
    voting_period_seconds=604_800,
    proposal_threshold=10_000 * GRID,
    quorum_percent=4,
    timelock_delay_seconds=172_800,
    initial_supply=10_000_000 * GRID,
)
# A local chain: the same shape on a scale a test or a developer can wait through.
LOCAL_GOVERNANCE = GovernanceSettings(
    voting_delay_seconds=1,
    voting_period_seconds=300,
    proposal_threshold=10_000 * GRID,
    quorum_percent=4,
    timelock_delay_seconds=60,
    initial_supply=10_000_000 * GRID,
)


# The contracts of a System the timelock does not administer: the PaymentToken is a currency the grid
# does not govern (an external stablecoin, or the local faucet), DemandPrograms has no roles of its own
# (DemandResponse's operators and settings rule it), SteppedClearing has no roles (anyone steps), and the
# governance contracts administer themselves. ForecastLedger has no roles either (GridManagement's
# operators commit, anyone scores). Settlement is EnergyTrading listed under its base contract's name.
NOT_GOVERNED = frozenset(
    {
        "PaymentToken",
        "Settlement",
        "DemandPrograms",
        "SteppedClearing",
        "ForecastLedger",
        "GovernanceToken",
        "EnergyGovernor",
        "GridTimelock",
    }
)


@dataclass(frozen=True)
class System:
    energy_token: Any
    payment_token: Any
    energy_vault: Any
    smart_meter: Any
    energy_trading: Any
    grid_management: Any
    grid_operations: Any
    price_oracle: Any
    weather_oracle: Any
    grid_oracle: Any
    price_discovery: Any
    demand_response: Any
    demand_programs: Any
    carbon_credits: Any
    energy_asset_nft: Any
    energy_asset_shares: Any
    energy_auctions: tuple[Any, ...]  # one per period length; the first is "EnergyAuction"
    governance_token: Any
    governor: Any
    timelock: Any
    market_zones: Any  # the reading market's zones and their links
    stepped_clearing: Any  # clears the reading market's largest coupled markets in steps
    forecast_ledger: Any | None  # the regions' committed load forecasts; None without a quarter-hourly auction

    @property
    def energy_auction(self) -> Any:
        return self.energy_auctions[0]

    def contracts(self) -> dict[str, Any]:
        return {
            "EnergyToken": self.energy_token,
            "PaymentToken": self.payment_token,
            "EnergyVault": self.energy_vault,
            "SmartMeter": self.smart_meter,
            "EnergyTrading": self.energy_trading,
            # Settlement is EnergyTrading's base contract: the same address, listed by its own name too.
            "Settlement": self.energy_trading,
            "GridManagement": self.grid_management,
            "GridOperations": self.grid_operations,
            "PriceOracle": self.price_oracle,
            "WeatherOracle": self.weather_oracle,
            "GridOracle": self.grid_oracle,
            "PriceDiscovery": self.price_discovery,
            "DemandResponse": self.demand_response,
            "DemandPrograms": self.demand_programs,
            "CarbonCredits": self.carbon_credits,
            "EnergyAssetNFT": self.energy_asset_nft,
            "EnergyAssetShares": self.energy_asset_shares,
            **{auction_name(i, auction.periodLength()): auction for i, auction in enumerate(self.energy_auctions)},
            "MarketZones": self.market_zones,
            "SteppedClearing": self.stepped_clearing,
            **({"ForecastLedger": self.forecast_ledger} if self.forecast_ledger is not None else {}),
            "GovernanceToken": self.governance_token,
            "EnergyGovernor": self.governor,
            "GridTimelock": self.timelock,
        }

    def oracles(self) -> tuple[Any, Any, Any]:
        return self.price_oracle, self.weather_oracle, self.grid_oracle

    def pausables(self) -> tuple[Any, ...]:
        """The contracts a guardian can pause: the markets, metering and the asset shares."""
        return (self.energy_trading, self.smart_meter, *self.energy_auctions, self.energy_asset_shares)

    def governed(self) -> tuple[Any, ...]:
        """The contracts the timelock administers: those of `contracts()` but NOT_GOVERNED."""
        return tuple(contract for name, contract in self.contracts().items() if name not in NOT_GOVERNED)


def list_project_sources(project: Any) -> None:
    """Makes ape see every Solidity source of the project. Call it before asking ape for a contract.

    ape lists at most 500 files under the contracts folder when it looks for a project's sources,
    and the dependency cache it unpacks there (`contracts/.cache`: the OpenZeppelin package with its
    prebuilt artifacts, over 400 files) fills most of them: past the 500th file of the walk,
    `project.<Name>` fails for whichever of our sources came last (the walk's order differs from
    one checkout to another). Our own sources, listed in full, are what ape should have found.
    """
    folder = Path(project.contracts_folder)
    sources = sorted(p for p in folder.rglob("*.sol") if ".cache" not in p.relative_to(folder).parts)
    project.sources.__dict__["_all_files"] = sources  # the cached listing (a cached_property)


def auction_name(index: int, period_seconds: int) -> str:
    """The manifest's name of an auction: "EnergyAuction" for the first, "EnergyAuction3600s" … after."""
    return "EnergyAuction" if index == 0 else f"EnergyAuction{period_seconds}s"


def is_local_chain(chain_id: int) -> bool:
    return chain_id in LOCAL_CHAIN_IDS


def resolve_keep_deployer_admin(local: bool, requested: bool | None) -> bool:
    """Whether the deployer keeps its roles: by default on a local chain only; asking for it
    anywhere else is refused (on a real network only the timelock may administer the grid)."""
    if requested is None:
        return local
    if requested and not local:
        raise ValueError("keep_deployer_admin is for local chains only: on this network only the timelock is admin.")
    return requested


RLP_SHORT_STRING = 0x80  # RLP's prefix of a string of 0..55 bytes (+ its length)


def create_address(sender: str, nonce: int) -> str:
    """The address a CREATE from `sender` at `nonce` deploys to: keccak(rlp([sender, nonce]))[12:]."""
    nonce_bytes = nonce.to_bytes((nonce.bit_length() + 7) // 8, "big")
    if nonce == 0:
        encoded_nonce = bytes([RLP_SHORT_STRING])
    elif nonce < RLP_SHORT_STRING:  # a single byte below 0x80 is its own encoding
        encoded_nonce = nonce_bytes
    else:
        encoded_nonce = bytes([RLP_SHORT_STRING + len(nonce_bytes)]) + nonce_bytes
    payload = b"\x94" + to_canonical_address(sender) + encoded_nonce
    return to_checksum_address(keccak(bytes([0xC0 + len(payload)]) + payload)[12:])


def deploy_governance(project: Any, deployer: Any, settings: GovernanceSettings, token_recipient: Any) -> tuple[Any, Any, Any]:
    """GovernanceToken, GridTimelock, EnergyGovernor. The timelock is born with the governor as its
    only proposer and canceller, execution open to anyone and no admin but itself: the governor's
    address is computed before it exists, so no account ever holds a role on the timelock."""
    tx = {"sender": deployer}
    token = project.GovernanceToken.deploy(token_recipient, settings.initial_supply, **tx)
    governor_address = create_address(deployer.address, deployer.nonce + 1)
    # Open execution: what runs was voted and waited out already; anyone executing it cannot change
    # it, and no executor key can then stall a decided change.
    timelock = project.GridTimelock.deploy(settings.timelock_delay_seconds, [governor_address], [ZERO_ADDRESS], ZERO_ADDRESS, **tx)
    governor = project.EnergyGovernor.deploy(
        token,
        timelock,
        settings.voting_delay_seconds,
        settings.voting_period_seconds,
        settings.proposal_threshold,
        settings.quorum_percent,
        **tx,
    )
    if governor.address != governor_address:  # another transaction from the deployer came in between
        raise RuntimeError(f"EnergyGovernor deployed at {governor.address}, the timelock expects {governor_address}")
    return token, timelock, governor


def role_names(contract: Any) -> dict[bytes, str]:
    """The roles a contract declares (its `*_ROLE()` getters), by value."""
    names = [item.name for item in contract.contract_type.abi if item.type == "function" and item.name.endswith("_ROLE")]
    return {bytes(getattr(contract, name)()): name for name in names}


def renounce_all_roles(contract: Any, account: Any) -> None:
    """Every role `account` holds on `contract`, admin last."""
    roles = sorted(role_names(contract).items(), key=lambda item: item[1] == "DEFAULT_ADMIN_ROLE")
    for role, _ in roles:
        if contract.hasRole(role, account):
            contract.renounceRole(role, account, sender=account)


def frozen_query_selector(signature: str | None) -> bytes:
    """The 4-byte selector of a payment token's freeze query ("isBlacklisted(address)"), or zero bytes
    for a token without one (what EnergyVault's constructor takes)."""
    if not signature:
        return bytes(4)
    if not re.fullmatch(r"[A-Za-z_]\w*\(address\)", signature):
        raise ValueError(f"A freeze query is a view of one address, like 'isBlacklisted(address)': not {signature!r}.")
    return keccak(text=signature)[:4]


@dataclass(frozen=True)
class DeploymentSettings:
    """What a deployment may choose; every default is the local development system's.

    `keep_deployer_admin` (None: True on a local chain, False elsewhere; True is refused off a
    local chain) leaves the deployer every role it held while wiring: admin of every contract,
    operator, gateway, pauser. Without it the deployer ends with no role at all, and `guardian`
    must be given. `guardian` (default: the deployer, when it keeps its roles) may pause at once.
    `governance` defaults to LOCAL_GOVERNANCE on a local chain, PUBLIC_GOVERNANCE elsewhere; the
    GRID supply goes to `governance_token_recipient` (default: the deployer) and votes once
    delegated. Fees go to `fee_recipient`, by default the deployer when it keeps its roles and
    the timelock otherwise (a treasury that only proposals spend).

    Without `payment_token` a MockStablecoin is deployed (local chains only; it stays the
    deployer's faucet, a stand-in for an external currency the grid does not govern). A payment
    token whose issuer can freeze accounts names its query in `payment_frozen_query`, a view taking
    an address and answering a bool (USDC: "isBlacklisted(address)"): the vault then refuses to
    withdraw or debit what a frozen account holds. The oracles
    start without reporters (the admin adds them), each asking `oracle_min_quorum` fresh reports or
    more than half of its reporters, whichever is more, before it writes a value.
    """

    payment_token: Any | None = None
    payment_frozen_query: str | None = None
    fee_recipient: Any | None = None
    grid_fee_bps: int = DEFAULT_GRID_FEE_BPS
    min_order_amount_wh: int = DEFAULT_MIN_ORDER_AMOUNT_WH
    base_price_per_kwh: int = DEFAULT_BASE_PRICE_PER_KWH
    guardian: Any | None = None
    oracle_heartbeat_seconds: int = DEFAULT_ORACLE_HEARTBEAT_SECONDS
    regional_oracle_heartbeat_seconds: int = DEFAULT_REGIONAL_ORACLE_HEARTBEAT_SECONDS
    max_price_deviation_bps: int = DEFAULT_MAX_PRICE_DEVIATION_BPS
    oracle_min_quorum: int = DEFAULT_ORACLE_MIN_QUORUM
    utc_offset_minutes: int = 0
    avoided_emission_grams_per_kwh: int = DEFAULT_AVOIDED_EMISSION_GRAMS_PER_KWH
    auction_periods_seconds: tuple[int, ...] = DEFAULT_AUCTION_PERIODS_SECONDS
    auction_gate_closure_seconds: int = DEFAULT_AUCTION_GATE_CLOSURE_SECONDS
    auction_price_grid: tuple[int, int, int] = DEFAULT_AUCTION_PRICE_GRID
    # The grid regions (feeders) the reading market couples as zones, in zone order; none: one zone.
    zone_regions: tuple[int, ...] = ()
    operators: tuple[Any, ...] = ()
    gateways: tuple[Any, ...] = ()
    governance: GovernanceSettings | None = None
    governance_token_recipient: Any | None = None
    keep_deployer_admin: bool | None = None


class _Deployment:
    """One deployment's steps, in order; each deploys and wires one part of the system."""

    def __init__(self, project: Any, deployer: Any, settings: DeploymentSettings) -> None:
        local = is_local_chain(deployer.provider.chain_id)
        self.keep = resolve_keep_deployer_admin(local, settings.keep_deployer_admin)
        if settings.guardian is None and not self.keep:
            raise ValueError("Pass a guardian: the deployer keeps no role, so it cannot be the guardian by default.")
        self.project = project
        self.deployer = deployer
        self.settings = settings
        self.guardian = settings.guardian if settings.guardian is not None else deployer
        self.governance = settings.governance or (LOCAL_GOVERNANCE if local else PUBLIC_GOVERNANCE)
        self.tx = {"sender": deployer}
        # The deployer plays the operational roles only while it keeps its roles (development).
        self.dev = (deployer,) if self.keep else ()
        self.fee_recipient: Any = settings.fee_recipient  # settled once the timelock exists

    def governance_contracts(self) -> tuple[Any, Any, Any]:
        token, timelock, governor = deploy_governance(
            self.project, self.deployer, self.governance, self.settings.governance_token_recipient or self.deployer
        )
        self.fee_recipient = self.settings.fee_recipient or (self.deployer if self.keep else timelock)
        return token, timelock, governor

    def metering(self) -> tuple[Any, Any, Any, Any]:
        """EnergyToken, the PaymentToken (a MockStablecoin unless one is given), the EnergyVault of
        both, and SmartMeter, which mints and retires EnergyToken; operators register meters, gateways
        submit their batches."""
        project, tx, s = self.project, self.tx, self.settings
        energy_token = project.EnergyToken.deploy(self.deployer, **tx)
        payment_token = s.payment_token if s.payment_token is not None else project.MockStablecoin.deploy(self.deployer, **tx)
        vault = project.EnergyVault.deploy(
            self.deployer, energy_token, payment_token, frozen_query_selector(s.payment_frozen_query), **tx
        )
        smart_meter = deploy_smart_meter(project, self.deployer, energy_token, **tx)
        energy_token.grantRole(energy_token.METER_ROLE(), smart_meter, **tx)
        # The meter registry mints metered export into the vault and books it to the owners.
        vault.grantRole(vault.CREDITOR_ROLE(), smart_meter, **tx)
        for account in (*self.dev, *s.operators):
            smart_meter.grantRole(smart_meter.OPERATOR_ROLE(), account, **tx)
        for account in (*self.dev, *s.gateways):
            smart_meter.grantRole(smart_meter.GATEWAY_ROLE(), account, **tx)
        return energy_token, payment_token, vault, smart_meter

    def markets(self, vault: Any, smart_meter: Any) -> tuple[Any, tuple[Any, ...]]:
        """The order book and one interval auction per period length, with the same tokens, fee
        recipient and fee rate. Every market trades vault balances (each is a registered market of the
        vault: the auctions first, then the book); the first auction is the reading market, where the
        meters' standing orders trade."""
        project, tx, s = self.project, self.tx, self.settings
        # The constructor grants the deployer DEFAULT_ADMIN, OPERATOR and PAUSER roles.
        energy_trading = project.EnergyTrading.deploy(self.deployer, vault, self.fee_recipient, s.grid_fee_bps, s.min_order_amount_wh, **tx)
        for account in s.operators:
            energy_trading.grantRole(energy_trading.OPERATOR_ROLE(), account, **tx)
        auctions = tuple(
            deploy_energy_auction(
                project,
                self.deployer,
                vault,
                smart_meter if index == 0 else ZERO_ADDRESS,
                self.fee_recipient,
                s.grid_fee_bps,
                period_seconds,
                s.auction_gate_closure_seconds,
                *s.auction_price_grid,
                **tx,
            )
            for index, period_seconds in enumerate(s.auction_periods_seconds)
        )
        for market in (*auctions, energy_trading):
            vault.registerMarket(market, **tx)
        smart_meter.setVault(vault, auctions[0], **tx)
        return energy_trading, auctions

    def grid(self, payment_token: Any, shutdown_targets: list[Any]) -> tuple[Any, Any]:
        """GridManagement, whose emergency shutdown pauses the markets (book, settlement, auctions'
        submissions and clearing; auction claims stay open) and metering, and GridOperations, whose
        CRITICAL stability report declares an emergency there."""
        project, tx = self.project, self.tx
        grid = project.GridManagement.deploy(self.deployer, payment_token, self.fee_recipient, self.settings.base_price_per_kwh, **tx)
        grid.grantRole(grid.GUARDIAN_ROLE(), self.guardian, **tx)
        for target in shutdown_targets:
            target.grantRole(target.PAUSER_ROLE(), grid, **tx)
        grid.setShutdownTargets(shutdown_targets, **tx)
        operations = project.GridOperations.deploy(self.deployer, grid, **tx)
        grid.grantRole(grid.EMERGENCY_RESPONDER_ROLE(), operations, **tx)
        return grid, operations

    def zones(self, auction: Any, grid: Any, operations: Any) -> tuple[Any, Any]:
        """The reading market's zones: each region of `zone_regions` a zone, its link rated by the
        capacity of its latest load report in GridOperations (no limit until one comes); and the
        SteppedClearing that clears its markets too large for one transaction."""
        tx = self.tx
        zones = self.project.MarketZones.deploy(self.deployer, auction, grid, operations, **tx)
        for region in self.settings.zone_regions:
            zones.addZone(region, **tx)
        auction.setMarketZones(zones, **tx)
        stepped = self.project.SteppedClearing.deploy(zones, **tx)
        zones.setSteppedClearing(stepped, **tx)
        return zones, stepped

    def forecasts(self, grid: Any, smart_meter: Any, auctions: tuple[Any, ...]) -> Any | None:
        """ForecastLedger: GridManagement's operators commit their regions' forecasts before the gate of
        the quarter-hourly auction, whose gate closure it takes at deployment, and anyone scores them
        against SmartMeter's meters. It has no roles. A deployment without a quarter-hourly auction has
        no gate per interval, so no ledger."""
        quarter_hourly = next((a for a in auctions if a.periodLength() == INTERVAL_SECONDS), None)
        if quarter_hourly is None:
            return None
        return self.project.ForecastLedger.deploy(grid, smart_meter, quarter_hourly, **self.tx)

    def oracles(self, payment_token: Any) -> tuple[Any, Any, Any, Any]:
        """The price, weather and grid oracles and PriceDiscovery over them. PriceOracle answers in
        PaymentToken base units per kWh, so it has the PaymentToken's decimals."""
        project, tx, s = self.project, self.tx, self.settings
        heartbeat = s.oracle_heartbeat_seconds
        description = f"EnergyToken kWh / {payment_token.symbol()}"
        price_oracle = project.PriceOracle.deploy(
            self.deployer,
            heartbeat,
            payment_token.decimals(),
            description,
            s.max_price_deviation_bps,
            s.oracle_min_quorum,
            **tx,
        )
        regional = s.regional_oracle_heartbeat_seconds
        weather_oracle = project.WeatherOracle.deploy(self.deployer, regional, s.oracle_min_quorum, **tx)
        grid_oracle = project.GridOracle.deploy(self.deployer, regional, s.oracle_min_quorum, **tx)
        max_ages = [heartbeat, regional, regional]  # price, weather, grid data
        price_discovery = project.PriceDiscovery.deploy(
            self.deployer, price_oracle, weather_oracle, grid_oracle, s.utc_offset_minutes, *max_ages, **tx
        )
        return price_oracle, weather_oracle, grid_oracle, price_discovery

    def programs_and_assets(self, smart_meter: Any, vault: Any, grid: Any) -> tuple[Any, Any, Any, Any, Any]:
        """Demand response and its programs, carbon credits and energy assets: they read the meters
        and GridManagement's operators and need no role on either. Rewards and asset revenue are paid
        in the vault's payment token: DemandResponse, DemandPrograms and EnergyAssetShares are
        registered vault markets that hold budgets and revenue in their own vault balances and pay
        claims from there, so the vault comes first."""
        project, tx = self.project, self.tx
        demand_response = project.DemandResponse.deploy(self.deployer, smart_meter, vault, grid, **tx)
        # Programs share DemandResponse's registered operators and consumers and its settings.
        demand_programs = project.DemandPrograms.deploy(demand_response, **tx)
        # Programs write DemandResponse's once-only record of rewarded intervals: a meter's reduction
        # earns one reward across events and programs.
        demand_response.grantRole(demand_response.REDUCTION_RECORDER_ROLE(), demand_programs, **tx)
        carbon_credits = project.CarbonCredits.deploy(self.deployer, smart_meter, grid, self.settings.avoided_emission_grams_per_kwh, **tx)
        asset_nft = project.EnergyAssetNFT.deploy(self.deployer, smart_meter, grid, **tx)
        asset_shares = project.EnergyAssetShares.deploy(self.deployer, asset_nft, vault, **tx)
        asset_nft.setSharesContract(asset_shares, **tx)  # once: split locks assets in this contract
        for market in (demand_response, demand_programs, asset_shares):
            vault.registerMarket(market, **tx)
        return demand_response, demand_programs, carbon_credits, asset_nft, asset_shares

    def pause_powers(self, pausables: tuple[Any, ...]) -> None:
        """The guardian pauses at once, everywhere a contract can be paused; it cannot unpause."""
        for pausable in pausables:
            pausable.grantRole(pausable.PAUSER_ROLE(), self.guardian, **self.tx)

    def hand_over(self, governed: tuple[Any, ...], timelock: Any) -> None:
        """The timelock becomes admin of every governed contract; the deployer then renounces
        every role unless it keeps them."""
        for contract in governed:
            contract.grantRole(contract.DEFAULT_ADMIN_ROLE(), timelock, **self.tx)
        if not self.keep:
            for contract in governed:
                renounce_all_roles(contract, self.deployer)


def deploy_system(project: Any, deployer: Any, settings: DeploymentSettings | None = None) -> System:
    """Deploys and wires the system with `settings` (DeploymentSettings' defaults when None); the
    timelock becomes admin of everything (see the module's docstring for every role).
    EnergyTrading's price band around PriceDiscovery's reference price starts off (`setPriceBand`).
    """
    steps = _Deployment(project, deployer, settings or DeploymentSettings())
    governance_token, timelock, governor = steps.governance_contracts()
    energy_token, payment_token, vault, smart_meter = steps.metering()
    energy_trading, auctions = steps.markets(vault, smart_meter)
    grid, operations = steps.grid(payment_token, [energy_trading, smart_meter, *auctions])
    market_zones, stepped_clearing = steps.zones(auctions[0], grid, operations)
    forecast_ledger = steps.forecasts(grid, smart_meter, auctions)
    price_oracle, weather_oracle, grid_oracle, price_discovery = steps.oracles(payment_token)
    demand_response, demand_programs, carbon_credits, asset_nft, asset_shares = steps.programs_and_assets(smart_meter, vault, grid)
    system = System(
        energy_token,
        payment_token,
        vault,
        smart_meter,
        energy_trading,
        grid,
        operations,
        price_oracle,
        weather_oracle,
        grid_oracle,
        price_discovery,
        demand_response,
        demand_programs,
        carbon_credits,
        asset_nft,
        asset_shares,
        auctions,
        governance_token,
        governor,
        timelock,
        market_zones,
        stepped_clearing,
        forecast_ledger,
    )
    steps.pause_powers(system.pausables())
    steps.hand_over(system.governed(), timelock)
    return system


def setup_local_roles(system: System, deployer: Any) -> None:
    """Local chains only, on a deployment where the deployer kept its roles: the deployer becomes a
    verified grid operator of LOCAL_OPERATOR_REGION, a demand-response grid operator and a reporter
    of every oracle, and votes with the GRID it holds, so scripts can act at once."""
    if system.governance_token.balanceOf(deployer) > 0:
        # ape's ContractInstance shadows a method named `delegate`.
        system.governance_token.invoke_transaction("delegate", deployer, sender=deployer)
    grid = system.grid_management
    grid.registerOperator(LOCAL_OPERATOR_NAME, LOCAL_OPERATOR_REGION, LOCAL_OPERATOR_CAPACITY_KW, sender=deployer)
    grid.verifyOperator(deployer, sender=deployer)
    system.demand_response.registerGridOperator(deployer, sender=deployer)
    for oracle in system.oracles():
        oracle.addReporter(deployer, sender=deployer)


def fund_local_accounts(system: System, operator: Any, accounts: list[Any]) -> None:
    """Tops up each account from the MockStablecoin faucet."""
    for account in accounts:
        system.payment_token.addConsumerBalance(account, LOCAL_FAUCET_WHOLE_UNITS, sender=operator)


def with_extension(main: Any, extension: Any) -> Any:
    """A contract type (`main`) with its extension's (`extension`) functions, errors and events added: the one
    interface callers see at the address of a contract that serves its extension's functions by delegatecall
    (EnergyAuction, SmartMeter), which the manifest lists under the contract's name."""
    held = {_abi_key(item) for item in main.abi}
    served = [item for item in extension.abi if item.type in ("function", "error", "event") and _abi_key(item) not in held]
    userdoc = {**(extension.userdoc or {}), **(main.userdoc or {})}
    for key in ("methods", "errors", "events"):
        userdoc[key] = {**(extension.userdoc or {}).get(key, {}), **(main.userdoc or {}).get(key, {})}
    return main.model_copy(update={"abi": [*main.abi, *served], "userdoc": userdoc})


# The contracts that serve their rarely called functions from an extension, by delegatecall, and the
# extension of each.
EXTENSIONS = {"EnergyAuction": "EnergyAuctionExtension", "SmartMeter": "SmartMeterExtension"}


def extension_addresses(contracts: dict[str, Any]) -> dict[str, str]:
    """The deployed extensions of `contracts` (a System's, by name), each under its contract's name with
    "Extension" added: deployed code of their own, at the address their contract names."""
    found = {}
    for name, contract in contracts.items():
        if name.startswith("EnergyAuction"):
            found[f"{name}Extension"] = str(contract.extensionSettings()[0])
        elif name == "SmartMeter":
            found[f"{name}Extension"] = str(contract.extension())
    return found


def interface_type(project: Any, name: str) -> Any:
    """The contract type callers see at the address of a deployed `name`: its own, with its extension's
    functions added if it has one (the ABI the manifest lists under `name`)."""
    own = getattr(project, name).contract_type
    return with_extension(own, getattr(project, EXTENSIONS[name]).contract_type) if name in EXTENSIONS else own


def deploy_smart_meter(project: Any, admin: Any, energy_token: Any, **tx: Any) -> Any:
    """A SmartMeter and its extension (deployed first), as one contract: the SmartMeter's address with
    the interface interface_type gives. `tx` carries the sender."""
    extension = project.SmartMeterExtension.deploy(**tx)
    meter = project.SmartMeter.deploy(admin, energy_token, extension, **tx)
    return type(project.SmartMeter)(interface_type(project, "SmartMeter")).at(meter.address)


def deploy_energy_auction(
    project: Any,
    admin: Any,
    vault: Any,
    meter_registry: Any,
    fee_recipient: Any,
    grid_fee_bps: int,
    period_seconds: int,
    gate_closure_seconds: int,
    min_price_per_kwh: int,
    tick_size_per_kwh: int,
    max_price_per_kwh: int,
    **tx: Any,
) -> Any:
    """An EnergyAuction and its extension (deployed first, with the same settings, which the auction checks),
    as one contract: the auction's address with the interface interface_type gives. `tx` carries the sender."""
    extension = project.EnergyAuctionExtension.deploy(
        vault, meter_registry, fee_recipient, grid_fee_bps, period_seconds, gate_closure_seconds, **tx
    )
    auction = project.EnergyAuction.deploy(
        admin, vault, meter_registry, fee_recipient, grid_fee_bps, period_seconds, gate_closure_seconds,
        min_price_per_kwh, tick_size_per_kwh, max_price_per_kwh, extension, **tx,
    )  # fmt: skip
    # project.EnergyAuction is ape's ContractContainer: one of the combined type answers at the same address.
    return type(project.EnergyAuction)(interface_type(project, "EnergyAuction")).at(auction.address)


def _abi_key(item: Any) -> tuple[str, str, tuple[str, ...]]:
    """What tells two ABI items apart: their kind, name and input types."""
    return item.type, getattr(item, "name", ""), tuple(str(i.type) for i in getattr(item, "inputs", []))

