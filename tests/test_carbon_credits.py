"""CarbonCredits: avoided-emission credits (1 unit = 1 g CO2e, 6 decimals) issued only for the
export SmartMeter counted on meters a regional GridManagement operator registered as clean
producers; transfer; retirement with a beneficiary, listed per beneficiary.

SmartMeter and GridManagement are deployed for real (conftest `carbon_credits`); meters export by
the admin's gateway readings. A MockMeterRegistry stands in for SmartMeter only where a real one
cannot go: counted production near 2^56 Wh and above 2^64 Wh. Every custom error is asserted with
all of its arguments and every event with all of its fields (helpers.reverts / helpers.log).
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import CARBON_GRAMS_CO2E_PER_KWH
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak, to_checksum_address
from hexbytes import HexBytes

from energy_grid.domain.units import FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE

from support.helpers import (
    DEFAULT_ADMIN_ROLE,
    ZERO_ADDRESS,
    address,
    assert_logs,
    deploy_reverts,
    log,
    reverts,
    sign_permit,
    unexercised_abi_items,
)

REGION = 1  # conftest GRID_OPS_REGION: grid_operator's
OTHER_REGION = 2  # conftest GRID_OPS_OTHER_REGION: other_region_operator's
FACTOR = CARBON_GRAMS_CO2E_PER_KWH  # 400 g/kWh
NAME = "Energy Grid Avoided-Emission Credit"
MAX_FACTOR = 2_000
MAX_REASON_BYTES = 256
MAX_RETIREMENT_GRAMS = 2**64 - 1
MAX_PAGE_LIMIT = 100
MAX_REGISTER_WH = 2**48 - 1  # SmartMeter's

SOLAR, WIND, HYDRO, NUCLEAR, GEOTHERMAL, BIOMASS, NATURAL_GAS = range(7)
CLEAN = (SOLAR, WIND, HYDRO, GEOTHERMAL)
NOT_CLEAN = (NUCLEAR, BIOMASS, NATURAL_GAS)

METER = to_checksum_address("0x" + "c0" * 19 + "01")
METER_2 = to_checksum_address("0x" + "c0" * 19 + "02")
UNKNOWN_METER = to_checksum_address("0x" + "c0" * 19 + "ff")


# ----------------------------------------------------------------------------- helpers


class Meter:
    """A SmartMeter meter whose export register the gateway (the admin) raises, a minute apart."""

    def __init__(self, smart_meter: Any, admin: Any, chain: Any, meter: str, owner: Any, region: int, installed_wh: int = 0) -> None:
        self.smart_meter, self.admin, self.chain, self.address = smart_meter, admin, chain, meter
        self.production_wh = installed_wh
        smart_meter.registerMeter(meter, owner, region, 0, installed_wh, sender=admin)

    def export(self, amount_wh: int) -> Any:
        self.production_wh += amount_wh
        ts = self.chain.pending_timestamp + 60
        self.chain.pending_timestamp = ts
        reading = (ts, 0, self.production_wh, FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE)
        return self.smart_meter.submitReadings([self.address], [reading], sender=self.admin)


def fields(struct: Any) -> dict[str, Any]:
    return dict(struct.items())


RETIREMENT_FIELDS = ("retirementId", "retiree", "beneficiary", "amountGrams", "retiredAt", "reason")


def listed_fields(item: Any) -> dict[str, Any]:
    """A Retirement inside a returned array, which ape decodes as a plain tuple."""
    return dict(zip(RETIREMENT_FIELDS, item, strict=True))


def producer(cc: Any, meter: Any) -> dict[str, Any]:
    return fields(cc.getCleanEnergyProducer(meter))


def transfer(cc, sender, receiver, value):
    return log(cc.Transfer, **{"from": address(sender), "to": address(receiver), "value": value})


def issued(cc, meter, owner, amount_wh, grams, factor=FACTOR):
    return log(
        cc.CarbonCreditsIssued,
        meter=address(meter),
        owner=address(owner),
        amountWh=amount_wh,
        grams=grams,
        gramsCo2ePerKWh=factor,
    )


def retired(cc, retirement_id, retiree, beneficiary, amount, reason):
    return log(
        cc.CarbonCreditsRetired,
        retirementId=retirement_id,
        retiree=address(retiree),
        beneficiary=address(beneficiary),
        amountGrams=amount,
        reason=reason,
    )


def retirement(retirement_id: int, retiree: Any, beneficiary: Any, amount: int, retired_at: int, reason: str) -> dict[str, Any]:
    return {
        "retirementId": retirement_id,
        "retiree": address(retiree),
        "beneficiary": address(beneficiary),
        "amountGrams": amount,
        "retiredAt": retired_at,
        "reason": reason,
    }


def new_operator(accounts: Any, gm: Any, region: int) -> Any:
    account = accounts.generate_test_account()
    account.balance = 10**18
    gm.registerOperator("Fresh Grid Co", region, 100, sender=account)
    return account


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(carbon_credits, mock_registry, mock_credits, admin, owner, other, stranger, grid_operator, other_region_operator):
    """Deploy and name the accounts before any test's own state (ape isolation)."""


@pytest.fixture
def cc(carbon_credits):
    return carbon_credits


@pytest.fixture
def op(grid_operator):
    return grid_operator


@pytest.fixture
def solar(smart_meter, admin, chain, owner):
    """METER, owned by `owner` in REGION, known to SmartMeter, not (yet) a clean producer."""
    return Meter(smart_meter, admin, chain, METER, owner, REGION)


@pytest.fixture
def registered(cc, solar, op):
    """`solar` registered as a SOLAR clean producer."""
    cc.registerCleanEnergyProducer(solar.address, SOLAR, sender=op)
    return solar


@pytest.fixture
def holder(cc, registered, owner):
    """`owner` holds 10,000 g: 25,000 Wh exported at 400 g/kWh."""
    registered.export(25_000)
    cc.issueCarbonCredits(registered.address, sender=owner)
    assert cc.balanceOf(owner) == 10_000
    return owner


@pytest.fixture(scope="module")
def mock_registry(project, admin):
    return project.MockMeterRegistry.deploy(sender=admin)


@pytest.fixture(scope="module")
def mock_credits(project, admin, mock_registry, grid_management, grid_operations):
    """CarbonCredits over the mock registry, at the largest factor."""
    return project.CarbonCredits.deploy(admin, mock_registry, grid_management, MAX_FACTOR, sender=admin)


# ----------------------------------------------------------------------------- wiring, surface, completeness


def test_metadata_and_wiring(cc, smart_meter, grid_management, admin, chain):
    assert cc.name() == NAME
    assert cc.symbol() == "tCO2e"
    assert cc.decimals() == 6  # 1.000000 = one tonne = 1,000,000 g
    assert cc.totalSupply() == 0
    assert cc.MAX_GRAMS_CO2E_PER_KWH() == MAX_FACTOR
    assert cc.MAX_REASON_BYTES() == MAX_REASON_BYTES
    assert cc.MAX_RETIREMENT_GRAMS() == MAX_RETIREMENT_GRAMS
    assert cc.MAX_PAGE_LIMIT() == MAX_PAGE_LIMIT
    assert cc.avoidedEmissionFactor() == FACTOR
    assert cc.smartMeter() == smart_meter.address
    assert cc.gridManagement() == grid_management.address
    assert cc.DEFAULT_ADMIN_ROLE() == DEFAULT_ADMIN_ROLE
    assert cc.hasRole(DEFAULT_ADMIN_ROLE, admin)
    assert cc.getRoleAdmin(DEFAULT_ADMIN_ROLE) == DEFAULT_ADMIN_ROLE
    assert cc.supportsInterface("0x7965db0b")  # IAccessControl
    assert cc.supportsInterface("0x01ffc9a7")  # IERC165
    assert not cc.supportsInterface("0xffffffff")
    assert cc.retirementCount() == 0
    assert cc.totalRetired() == 0
    # It reads SmartMeter and GridManagement and needs no role on them.
    assert not smart_meter.hasRole(DEFAULT_ADMIN_ROLE, cc)
    assert not grid_management.hasRole(DEFAULT_ADMIN_ROLE, cc)
    assert 0 < len(chain.provider.get_code(cc.address)) < 24_576


def test_eip712_domain(cc, chain):
    domain = cc.eip712Domain()
    assert domain.fields == HexBytes("0x0f")
    assert (domain.name, domain.version, domain.chainId, domain.verifyingContract) == (NAME, "1", chain.chain_id, cc.address)
    expected = keccak(
        keccak(text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
        + keccak(text=NAME)
        + keccak(text="1")
        + chain.chain_id.to_bytes(32, "big")
        + HexBytes(cc.address).rjust(32, b"\x00")
    )
    assert cc.DOMAIN_SEPARATOR() == expected


def test_every_function_error_and_event_is_exercised(cc):
    """Guards this file's completeness: each ABI item of CarbonCredits is used here as `.<name>`."""
    exempt = {
        "RoleAdminChanged",  # nothing calls OpenZeppelin's internal _setRoleAdmin
        "EIP712DomainChanged",  # the EIP-712 domain is immutable
        "ECDSAInvalidSignatureLength",  # permit takes v, r, s: a signature has no length to get wrong
        "ERC20InvalidApprover",  # the approver is msg.sender or a recovered, non-zero signer
        "ERC20InvalidSender",  # transfers and burns are from msg.sender or an allowance holder, never address 0
        "InvalidAccountNonce",  # ERC20Permit uses unchecked nonces
        "InvalidShortString",  # ShortStrings only decodes what it encoded
        "StringTooLong",  # the 35-byte name goes to ShortStrings' storage fallback, which never raises
    }
    items = [item for item in cc.contract_type.abi if item.type in ("function", "error", "event")]
    assert len(items) > 70
    assert unexercised_abi_items("CarbonCredits", ["test_carbon_credits.py"], ("function", "error", "event"), exempt) == []


@pytest.mark.parametrize("which", ["admin", "smartMeter", "gridManagement"])
def test_constructor_rejects_zero_addresses(project, admin, smart_meter, grid_management, which):
    args = {"admin": admin, "smartMeter": smart_meter, "gridManagement": grid_management}
    args[which] = ZERO_ADDRESS
    with deploy_reverts(project.CarbonCredits.ZeroAddress):
        project.CarbonCredits.deploy(*args.values(), FACTOR, sender=admin)


@pytest.mark.parametrize("factor", [0, MAX_FACTOR + 1, 2**256 - 1])
def test_constructor_rejects_factor_out_of_range(project, admin, smart_meter, grid_management, factor):
    with deploy_reverts(project.CarbonCredits.EmissionFactorOutOfRange, factor, MAX_FACTOR):
        project.CarbonCredits.deploy(admin, smart_meter, grid_management, factor, sender=admin)


def test_constructor_accepts_factor_bounds(project, admin, smart_meter, grid_management):
    for factor in (1, MAX_FACTOR):
        assert project.CarbonCredits.deploy(admin, smart_meter, grid_management, factor, sender=admin).avoidedEmissionFactor() == factor


def test_is_clean_energy_type(cc):
    assert [cc.isCleanEnergyType(t) for t in range(7)] == [True, True, True, False, True, False, False]
    assert not cc.isCleanEnergyType(7)
    assert not cc.isCleanEnergyType(255)


# ----------------------------------------------------------------------------- access control


def test_role_management(cc, admin, stranger, other):
    with reverts(cc.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=DEFAULT_ADMIN_ROLE):
        cc.grantRole(DEFAULT_ADMIN_ROLE, stranger, sender=stranger)
    with reverts(cc.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=DEFAULT_ADMIN_ROLE):
        cc.revokeRole(DEFAULT_ADMIN_ROLE, admin, sender=stranger)
    with reverts(cc.AccessControlBadConfirmation):
        cc.renounceRole(DEFAULT_ADMIN_ROLE, other, sender=admin)

    tx = cc.grantRole(DEFAULT_ADMIN_ROLE, other, sender=admin)
    assert_logs(tx, log(cc.RoleGranted, role=DEFAULT_ADMIN_ROLE, account=other.address, sender=admin.address))
    cc.setAvoidedEmissionFactor(500, sender=other)
    tx = cc.revokeRole(DEFAULT_ADMIN_ROLE, other, sender=admin)
    assert_logs(tx, log(cc.RoleRevoked, role=DEFAULT_ADMIN_ROLE, account=other.address, sender=admin.address))
    tx = cc.renounceRole(DEFAULT_ADMIN_ROLE, admin, sender=admin)
    assert_logs(tx, log(cc.RoleRevoked, role=DEFAULT_ADMIN_ROLE, account=admin.address, sender=admin.address))
    assert not cc.hasRole(DEFAULT_ADMIN_ROLE, admin)


# ----------------------------------------------------------------------------- avoided-emission factor


def test_set_avoided_emission_factor(cc, admin):
    tx = cc.setAvoidedEmissionFactor(MAX_FACTOR, sender=admin)
    assert_logs(tx, log(cc.AvoidedEmissionFactorUpdated, previousGramsCo2ePerKWh=FACTOR, newGramsCo2ePerKWh=MAX_FACTOR))
    assert cc.avoidedEmissionFactor() == MAX_FACTOR
    tx = cc.setAvoidedEmissionFactor(1, sender=admin)
    assert_logs(tx, log(cc.AvoidedEmissionFactorUpdated, previousGramsCo2ePerKWh=MAX_FACTOR, newGramsCo2ePerKWh=1))
    assert cc.avoidedEmissionFactor() == 1


@pytest.mark.parametrize("factor", [0, MAX_FACTOR + 1])
def test_set_avoided_emission_factor_out_of_range(cc, admin, factor):
    with reverts(cc.EmissionFactorOutOfRange, gramsCo2ePerKWh=factor, maxGramsCo2ePerKWh=MAX_FACTOR):
        cc.setAvoidedEmissionFactor(factor, sender=admin)
    assert cc.avoidedEmissionFactor() == FACTOR


@pytest.mark.parametrize("caller_name", ["stranger", "grid_operator"])
def test_set_avoided_emission_factor_admin_only(cc, request, caller_name):
    caller = request.getfixturevalue(caller_name)
    with reverts(cc.AccessControlUnauthorizedAccount, account=caller.address, neededRole=DEFAULT_ADMIN_ROLE):
        cc.setAvoidedEmissionFactor(500, sender=caller)
    assert cc.avoidedEmissionFactor() == FACTOR


# ----------------------------------------------------------------------------- registration


@pytest.mark.parametrize("energy_type", CLEAN)
def test_register_clean_energy_producer(cc, solar, op, chain, energy_type):
    assert not cc.isCleanEnergyProducer(solar.address)
    assert producer(cc, solar.address) == {
        "registered": False,
        "energyType": 0,
        "registeredAt": 0,
        "registeredFromWh": 0,
        "issuedThroughWh": 0,
        "remainderMilligrams": 0,
        "totalIssuedGrams": 0,
    }
    tx = cc.registerCleanEnergyProducer(solar.address, energy_type, sender=op)
    assert_logs(
        tx,
        log(cc.CleanEnergyProducerRegistered, meter=solar.address, operator=op.address, energyType=energy_type, registeredFromWh=0),
    )
    assert cc.isCleanEnergyProducer(solar.address)
    assert producer(cc, solar.address) == {
        "registered": True,
        "energyType": energy_type,
        "registeredAt": tx.timestamp,
        "registeredFromWh": 0,
        "issuedThroughWh": 0,
        "remainderMilligrams": 0,
        "totalIssuedGrams": 0,
    }
    assert cc.pendingWh(solar.address) == 0


def test_energy_before_registration_is_not_credited(cc, smart_meter, admin, chain, owner, op, stranger):
    # Installed with 7,000 Wh on its export register, then exports 5,000 Wh before registration.
    meter = Meter(smart_meter, admin, chain, METER, owner, REGION, installed_wh=7_000)
    meter.export(5_000)
    assert smart_meter.getMeteredEnergy(meter.address)[1] == 5_000  # SmartMeter counted it (and minted EnergyToken)
    tx = cc.registerCleanEnergyProducer(meter.address, WIND, sender=op)
    assert_logs(
        tx,
        log(cc.CleanEnergyProducerRegistered, meter=meter.address, operator=op.address, energyType=WIND, registeredFromWh=5_000),
    )
    info = producer(cc, meter.address)
    assert (info["registeredFromWh"], info["issuedThroughWh"]) == (5_000, 5_000)
    assert cc.pendingWh(meter.address) == 0
    with reverts(cc.NothingToIssue, meter=meter.address):
        cc.issueCarbonCredits(meter.address, sender=stranger)

    meter.export(1_000)
    assert cc.pendingWh(meter.address) == 1_000
    tx = cc.issueCarbonCredits(meter.address, sender=stranger)
    assert_logs(tx, transfer(cc, ZERO_ADDRESS, owner, 400), issued(cc, meter.address, owner, 1_000, 400))
    assert cc.balanceOf(owner) == 400  # for the 1,000 Wh after registration only


def test_register_rejects_callers_who_are_not_authorized_operators(cc, solar, grid_management, accounts, admin, stranger, owner):
    unverified = new_operator(accounts, grid_management, REGION)
    suspended = new_operator(accounts, grid_management, REGION)
    grid_management.verifyOperator(suspended, sender=admin)
    grid_management.setOperatorAuthorization(suspended, False, sender=admin)
    for caller in (stranger, owner, admin, unverified, suspended):
        with reverts(cc.OperatorNotAuthorized, account=caller.address):
            cc.registerCleanEnergyProducer(solar.address, SOLAR, sender=caller)
    assert not cc.isCleanEnergyProducer(solar.address)


def test_register_rejects_operator_of_another_region(cc, solar, other_region_operator):
    with reverts(cc.OperatorNotInRegion, operator=other_region_operator.address, operatorRegionId=OTHER_REGION, meterRegionId=REGION):
        cc.registerCleanEnergyProducer(solar.address, SOLAR, sender=other_region_operator)
    assert not cc.isCleanEnergyProducer(solar.address)


def test_register_by_the_meters_own_region_operator(cc, smart_meter, admin, chain, other, other_region_operator, op):
    meter = Meter(smart_meter, admin, chain, METER_2, other, OTHER_REGION)
    with reverts(cc.OperatorNotInRegion, operator=op.address, operatorRegionId=REGION, meterRegionId=OTHER_REGION):
        cc.registerCleanEnergyProducer(meter.address, HYDRO, sender=op)
    cc.registerCleanEnergyProducer(meter.address, HYDRO, sender=other_region_operator)
    assert cc.isCleanEnergyProducer(meter.address)


@pytest.mark.parametrize("energy_type", NOT_CLEAN)
def test_register_rejects_energy_that_is_not_clean(cc, solar, op, energy_type):
    with reverts(cc.EnergyTypeNotClean, energyType=energy_type):
        cc.registerCleanEnergyProducer(solar.address, energy_type, sender=op)
    assert not cc.isCleanEnergyProducer(solar.address)


@pytest.mark.parametrize("energy_type", [7, 255])
def test_register_rejects_unknown_energy_type(cc, solar, op, energy_type):
    with reverts(cc.InvalidEnergyType, energyType=energy_type):
        cc.registerCleanEnergyProducer(solar.address, energy_type, sender=op)


def test_register_rejects_unknown_meter(cc, op, smart_meter):
    # SmartMeter's own error, passed through.
    with reverts(smart_meter.MeterUnknown, meter=UNKNOWN_METER):
        cc.registerCleanEnergyProducer(UNKNOWN_METER, SOLAR, sender=op)


def test_register_rejects_deactivated_meter(cc, solar, smart_meter, admin, op):
    smart_meter.deactivateMeter(solar.address, sender=admin)
    with reverts(cc.MeterInactive, meter=solar.address):
        cc.registerCleanEnergyProducer(solar.address, SOLAR, sender=op)
    assert not cc.isCleanEnergyProducer(solar.address)


def test_register_twice(cc, registered, op):
    with reverts(cc.AlreadyCleanEnergyProducer, meter=registered.address):
        cc.registerCleanEnergyProducer(registered.address, WIND, sender=op)
    assert producer(cc, registered.address)["energyType"] == SOLAR


# ----------------------------------------------------------------------------- issuing


def test_issue_by_anyone_mints_to_the_meters_owner(cc, registered, owner, stranger):
    registered.export(2_500)
    assert cc.pendingWh(registered.address) == 2_500
    tx = cc.issueCarbonCredits(registered.address, sender=stranger)
    assert tx.return_value == 1_000  # 2,500 Wh × 400 g/kWh
    assert_logs(tx, transfer(cc, ZERO_ADDRESS, owner, 1_000), issued(cc, registered.address, owner, 2_500, 1_000))
    assert cc.balanceOf(owner) == 1_000
    assert cc.getCarbonCreditsBalance(owner) == 1_000
    assert cc.balanceOf(stranger) == 0
    assert cc.totalSupply() == 1_000
    assert cc.pendingWh(registered.address) == 0
    info = producer(cc, registered.address)
    assert (info["issuedThroughWh"], info["remainderMilligrams"], info["totalIssuedGrams"]) == (2_500, 0, 1_000)


def test_double_issue_for_the_same_wh_reverts_and_mints_nothing(cc, registered, owner, stranger, other):
    registered.export(2_500)
    cc.issueCarbonCredits(registered.address, sender=stranger)
    for caller in (stranger, owner, other):
        with reverts(cc.NothingToIssue, meter=registered.address):
            cc.issueCarbonCredits(registered.address, sender=caller)
    assert cc.totalSupply() == cc.balanceOf(owner) == 1_000
    assert producer(cc, registered.address)["totalIssuedGrams"] == 1_000


def test_issue_before_any_export(cc, registered, stranger):
    with reverts(cc.NothingToIssue, meter=registered.address):
        cc.issueCarbonCredits(registered.address, sender=stranger)
    assert cc.totalSupply() == 0


def test_issue_after_more_export_credits_only_the_new_wh(cc, registered, owner):
    registered.export(2_500)
    cc.issueCarbonCredits(registered.address, sender=owner)
    registered.export(1_000)
    registered.export(1_500)  # two readings, one issue
    tx = cc.issueCarbonCredits(registered.address, sender=owner)
    assert tx.return_value == 1_000
    assert_logs(tx, transfer(cc, ZERO_ADDRESS, owner, 1_000), issued(cc, registered.address, owner, 2_500, 1_000))
    assert cc.balanceOf(owner) == 2_000
    assert producer(cc, registered.address)["issuedThroughWh"] == 5_000


def test_remainder_is_carried_one_wh_at_a_time(cc, registered, admin, owner, stranger):
    """At 401 g/kWh, 1 Wh is 401 mg: nothing is lost across issues of 1 Wh each."""
    cc.setAvoidedEmissionFactor(401, sender=admin)
    total = 0
    for n in range(1, 11):
        grams = n * 401 // 1_000 - (n - 1) * 401 // 1_000
        registered.export(1)
        tx = cc.issueCarbonCredits(registered.address, sender=stranger)
        assert tx.return_value == grams
        mint = [transfer(cc, ZERO_ADDRESS, owner, grams)] if grams else []  # no zero-value Transfer
        assert_logs(tx, *mint, issued(cc, registered.address, owner, 1, grams, 401))
        total += grams
        assert total == n * 401 // 1_000
        info = producer(cc, registered.address)
        assert info["remainderMilligrams"] == n * 401 % 1_000
        assert info["issuedThroughWh"] == n
        assert info["totalIssuedGrams"] == total
        with reverts(cc.NothingToIssue, meter=registered.address):
            cc.issueCarbonCredits(registered.address, sender=stranger)
    assert cc.balanceOf(owner) == cc.totalSupply() == 4  # floor(10 × 401 / 1000)


def test_remainder_survives_a_factor_change(cc, registered, admin, owner):
    """The rest is milligrams of CO2e, a mass, so it carries into an issue at another factor."""
    cc.setAvoidedEmissionFactor(401, sender=admin)
    registered.export(3)  # 1,203 mg: 1 g, 203 mg carried
    assert cc.issueCarbonCredits(registered.address, sender=owner).return_value == 1
    tx = cc.setAvoidedEmissionFactor(799, sender=admin)
    assert_logs(tx, log(cc.AvoidedEmissionFactorUpdated, previousGramsCo2ePerKWh=401, newGramsCo2ePerKWh=799))
    registered.export(1)  # 203 + 799 = 1,002 mg
    tx = cc.issueCarbonCredits(registered.address, sender=owner)
    assert_logs(tx, transfer(cc, ZERO_ADDRESS, owner, 1), issued(cc, registered.address, owner, 1, 1, 799))
    assert producer(cc, registered.address)["remainderMilligrams"] == 2


def test_factor_applies_at_issue_time(cc, registered, admin, owner):
    registered.export(1_000)
    cc.setAvoidedEmissionFactor(MAX_FACTOR, sender=admin)
    assert cc.issueCarbonCredits(registered.address, sender=owner).return_value == 2_000


def test_a_batch_issues_as_one_call_per_meter_would(cc, registered, smart_meter, admin, chain, owner, other, op, stranger):
    """A keeper's batch mints each meter's credits to its own owner, in order, with the events one
    issueCarbonCredits per meter would log; every meter's pending Wh is then issued."""
    second = Meter(smart_meter, admin, chain, METER_2, other, REGION)
    cc.registerCleanEnergyProducer(second.address, SOLAR, sender=op)
    registered.export(2_500)
    second.export(1_001)  # 400.4 g: 400 minted, 400 mg carried
    tx = cc.issueCarbonCreditsBatch([registered.address, second.address], sender=stranger)
    assert tx.return_value == [1_000, 400]
    assert_logs(
        tx,
        transfer(cc, ZERO_ADDRESS, owner, 1_000),
        issued(cc, registered.address, owner, 2_500, 1_000),
        transfer(cc, ZERO_ADDRESS, other, 400),
        issued(cc, second.address, other, 1_001, 400),
    )
    assert (cc.balanceOf(owner), cc.balanceOf(other), cc.totalSupply()) == (1_000, 400, 1_400)
    assert [cc.pendingWh(m) for m in (registered.address, second.address)] == [0, 0]
    assert producer(cc, second.address)["remainderMilligrams"] == 400


def test_a_batch_is_refused_whole_for_one_meter_that_would_be(cc, registered, stranger):
    """Its size is 1..MAX_ISSUE_BATCH, and a meter issueCarbonCredits would refuse refuses the batch
    with the same error: nothing is minted for the meters before it."""
    assert cc.MAX_ISSUE_BATCH() == 100
    with reverts(cc.EmptyBatch):
        cc.issueCarbonCreditsBatch([], sender=stranger)
    with reverts(cc.BatchTooLarge, size=101, maxSize=100):
        cc.issueCarbonCreditsBatch([registered.address] * 101, sender=stranger)
    registered.export(2_500)
    with reverts(cc.NothingToIssue, meter=registered.address):  # the second time, its Wh are issued
        cc.issueCarbonCreditsBatch([registered.address, registered.address], sender=stranger)
    with reverts(cc.NotCleanEnergyProducer, meter=UNKNOWN_METER):
        cc.issueCarbonCreditsBatch([registered.address, UNKNOWN_METER], sender=stranger)
    assert cc.totalSupply() == 0
    assert cc.pendingWh(registered.address) == 2_500


def test_issue_for_meters_that_are_not_clean_producers(cc, solar, stranger):
    solar.export(1_000)
    for meter in (solar.address, UNKNOWN_METER, ZERO_ADDRESS):
        with reverts(cc.NotCleanEnergyProducer, meter=meter):
            cc.issueCarbonCredits(meter, sender=stranger)
        assert cc.pendingWh(meter) == 0
    assert cc.totalSupply() == 0


def test_deactivated_meter_issues_nothing_until_reactivated(cc, registered, smart_meter, admin, owner, stranger):
    registered.export(1_000)
    smart_meter.deactivateMeter(registered.address, sender=admin)
    assert cc.pendingWh(registered.address) == 1_000
    with reverts(cc.MeterInactive, meter=registered.address):
        cc.issueCarbonCredits(registered.address, sender=stranger)
    assert cc.totalSupply() == 0

    smart_meter.reactivateMeter(registered.address, sender=admin)
    registered.export(700)  # the baseline reading: exported while suspended, SmartMeter does not count it
    registered.export(300)
    assert cc.pendingWh(registered.address) == 1_300
    tx = cc.issueCarbonCredits(registered.address, sender=stranger)
    assert_logs(tx, transfer(cc, ZERO_ADDRESS, owner, 520), issued(cc, registered.address, owner, 1_300, 520))


# ----------------------------------------------------------------------------- deregistration


def test_deregister_forfeits_unissued_energy(cc, registered, op, owner, stranger, chain):
    registered.export(1_000)
    cc.issueCarbonCredits(registered.address, sender=stranger)
    registered.export(3)  # 1,200 mg not yet issued...
    cc.issueCarbonCredits(registered.address, sender=stranger)  # ...1 g issued, 200 mg carried
    registered.export(500)
    tx = cc.deregisterCleanEnergyProducer(registered.address, sender=op)
    assert_logs(tx, log(cc.CleanEnergyProducerDeregistered, meter=registered.address, operator=op.address, unissuedWh=500))
    assert not cc.isCleanEnergyProducer(registered.address)
    assert cc.pendingWh(registered.address) == 0
    info = producer(cc, registered.address)
    assert info["registered"] is False
    assert (info["issuedThroughWh"], info["remainderMilligrams"], info["totalIssuedGrams"]) == (1_003, 0, 401)
    with reverts(cc.NotCleanEnergyProducer, meter=registered.address):
        cc.issueCarbonCredits(registered.address, sender=stranger)
    assert cc.totalSupply() == 401

    # Registered again, it starts from what SmartMeter counted then: the gap is never credited.
    registered.export(2_000)
    tx = cc.registerCleanEnergyProducer(registered.address, GEOTHERMAL, sender=op)
    assert_logs(
        tx,
        log(cc.CleanEnergyProducerRegistered, meter=registered.address, operator=op.address, energyType=GEOTHERMAL, registeredFromWh=3_503),
    )
    registered.export(10)
    assert cc.issueCarbonCredits(registered.address, sender=stranger).return_value == 4
    assert producer(cc, registered.address) == {
        "registered": True,
        "energyType": GEOTHERMAL,
        "registeredAt": tx.timestamp,
        "registeredFromWh": 3_503,
        "issuedThroughWh": 3_513,
        "remainderMilligrams": 0,
        "totalIssuedGrams": 405,
    }
    assert cc.balanceOf(owner) == 405


def test_deregister_a_deactivated_meter(cc, registered, smart_meter, admin, op):
    registered.export(100)
    smart_meter.deactivateMeter(registered.address, sender=admin)
    tx = cc.deregisterCleanEnergyProducer(registered.address, sender=op)
    assert_logs(tx, log(cc.CleanEnergyProducerDeregistered, meter=registered.address, operator=op.address, unissuedWh=100))


def test_deregister_rejections(cc, registered, solar, op, other_region_operator, stranger, smart_meter):
    with reverts(cc.OperatorNotAuthorized, account=stranger.address):
        cc.deregisterCleanEnergyProducer(registered.address, sender=stranger)
    with reverts(cc.OperatorNotInRegion, operator=other_region_operator.address, operatorRegionId=OTHER_REGION, meterRegionId=REGION):
        cc.deregisterCleanEnergyProducer(registered.address, sender=other_region_operator)
    with reverts(smart_meter.MeterUnknown, meter=UNKNOWN_METER):
        cc.deregisterCleanEnergyProducer(UNKNOWN_METER, sender=op)
    assert cc.isCleanEnergyProducer(registered.address)
    cc.deregisterCleanEnergyProducer(registered.address, sender=op)
    with reverts(cc.NotCleanEnergyProducer, meter=solar.address):
        cc.deregisterCleanEnergyProducer(solar.address, sender=op)


# ----------------------------------------------------------------------------- largest values (mock registry)


def test_largest_counted_production_at_the_largest_factor(mock_credits, mock_registry, op, owner, stranger):
    """SmartMeter counts at most 2^48 - 1 Wh; at 2,000 g/kWh that is 2^49 - 2 g, with no overflow."""
    cc = mock_credits
    mock_registry.setMeter(METER, owner, REGION, True, sender=stranger)
    mock_registry.setProductionWh(METER, 1, sender=stranger)
    cc.registerCleanEnergyProducer(METER, SOLAR, sender=op)
    mock_registry.setProductionWh(METER, MAX_REGISTER_WH, sender=stranger)
    tx = cc.issueCarbonCredits(METER, sender=stranger)
    grams = (MAX_REGISTER_WH - 1) * MAX_FACTOR // 1_000
    assert_logs(tx, transfer(cc, ZERO_ADDRESS, owner, grams), issued(cc, METER, owner, MAX_REGISTER_WH - 1, grams, MAX_FACTOR))
    assert cc.balanceOf(owner) == grams

    # The bookkeeping holds beyond SmartMeter's bound, up to 2^64 - 1 Wh...
    mock_registry.setProductionWh(METER, 2**64 - 1, sender=stranger)
    tx = cc.issueCarbonCredits(METER, sender=stranger)
    assert tx.return_value == (2**64 - 1 - MAX_REGISTER_WH) * MAX_FACTOR // 1_000
    assert producer(cc, METER)["totalIssuedGrams"] == (2**64 - 2) * MAX_FACTOR // 1_000 == cc.totalSupply()
    # ...and refuses what it could not hold.
    mock_registry.setProductionWh(METER, 2**64, sender=stranger)
    with reverts(cc.SafeCastOverflowedUintDowncast, bits=64, value=2**64):
        cc.issueCarbonCredits(METER, sender=stranger)
    with reverts(cc.SafeCastOverflowedUintDowncast, bits=64, value=2**64):
        cc.pendingWh(METER)

    # A retirement is at most 2^64 - 1 g.
    with reverts(cc.RetirementTooLarge, amountGrams=2**64, maxGrams=MAX_RETIREMENT_GRAMS):
        cc.retire(2**64, stranger, "too much", sender=owner)
    tx = cc.retire(MAX_RETIREMENT_GRAMS, stranger, "the largest", sender=owner)
    assert cc.getRetirement(tx.return_value).amountGrams == MAX_RETIREMENT_GRAMS
    rest = cc.balanceOf(owner)
    cc.retire(rest, stranger, "the rest", sender=owner)
    assert cc.totalRetired() == cc.totalRetiredFor(stranger) == MAX_RETIREMENT_GRAMS + rest == 2**65 - 4
    assert cc.totalSupply() == 0


def test_mock_unknown_meter_error_matches_smart_meters(mock_credits, op, mock_registry, smart_meter):
    assert mock_registry.MeterUnknown.abi.selector == smart_meter.MeterUnknown.abi.selector
    with reverts(mock_registry.MeterUnknown, meter=UNKNOWN_METER):
        mock_credits.registerCleanEnergyProducer(UNKNOWN_METER, SOLAR, sender=op)


# ----------------------------------------------------------------------------- transfers (ERC-20)


def test_transfer_carbon_credits(cc, holder, other):
    tx = cc.transferCarbonCredits(other, 2_500, sender=holder)
    assert tx.return_value is True
    assert_logs(tx, transfer(cc, holder, other, 2_500))
    assert cc.getCarbonCreditsBalance(holder) == 7_500
    assert cc.getCarbonCreditsBalance(other) == 2_500
    assert cc.totalSupply() == 10_000


def test_transfer_carbon_credits_rejections(cc, holder, other):
    with reverts(cc.ERC20InsufficientBalance, sender=holder.address, balance=10_000, needed=10_001):
        cc.transferCarbonCredits(other, 10_001, sender=holder)
    with reverts(cc.ERC20InvalidReceiver, receiver=ZERO_ADDRESS):
        cc.transferCarbonCredits(ZERO_ADDRESS, 1, sender=holder)
    assert cc.balanceOf(holder) == 10_000
    assert cc.balanceOf(other) == 0


def test_erc20_transfer_approve_transfer_from(cc, holder, other, stranger):
    tx = cc.transfer(other, 1_000, sender=holder)
    assert_logs(tx, transfer(cc, holder, other, 1_000))
    tx = cc.approve(stranger, 3_000, sender=holder)
    assert_logs(tx, log(cc.Approval, owner=holder.address, spender=stranger.address, value=3_000))
    assert cc.allowance(holder, stranger) == 3_000
    with reverts(cc.ERC20InsufficientAllowance, spender=stranger.address, allowance=3_000, needed=3_001):
        cc.transferFrom(holder, other, 3_001, sender=stranger)
    tx = cc.transferFrom(holder, other, 3_000, sender=stranger)
    assert_logs(tx, transfer(cc, holder, other, 3_000))
    assert cc.allowance(holder, stranger) == 0
    assert (cc.balanceOf(holder), cc.balanceOf(other)) == (6_000, 4_000)
    with reverts(cc.ERC20InvalidSpender, spender=ZERO_ADDRESS):
        cc.approve(ZERO_ADDRESS, 1, sender=holder)


def test_permit(cc, holder, other, chain):
    deadline = chain.pending_timestamp + 3_600
    assert cc.nonces(holder) == 0
    v, r, s, message = sign_permit(cc, holder, other, 2_000, 0, deadline, chain.chain_id)
    tx = cc.permit(holder, other, 2_000, deadline, v, r, s, sender=other)
    assert_logs(tx, log(cc.Approval, owner=holder.address, spender=other.address, value=2_000))
    assert cc.allowance(holder, other) == 2_000
    assert cc.nonces(holder) == 1
    # Replayed, the signature is checked against the next nonce and recovers someone else.
    message["message"]["nonce"] = 1
    replay_signer = Account.recover_message(encode_typed_data(full_message=message), vrs=(v, int.from_bytes(r), int.from_bytes(s)))
    with reverts(cc.ERC2612InvalidSigner, signer=replay_signer, owner=holder.address):
        cc.permit(holder, other, 2_000, deadline, v, r, s, sender=other)


def test_permit_rejections(cc, holder, other, stranger, chain):
    expired = chain.pending_timestamp - 1
    v, r, s, _ = sign_permit(cc, holder, other, 1, 0, expired, chain.chain_id)
    with reverts(cc.ERC2612ExpiredSignature, deadline=expired):
        cc.permit(holder, other, 1, expired, v, r, s, sender=other)
    deadline = chain.pending_timestamp + 3_600
    v, r, s, _ = sign_permit(cc, holder, other, 1, 0, deadline, chain.chain_id)
    secp256k1_n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    high_s = HexBytes((secp256k1_n - int.from_bytes(s)).to_bytes(32, "big"))
    with reverts(cc.ECDSAInvalidSignatureS, s=high_s):
        cc.permit(holder, other, 1, deadline, 55 - v, r, high_s, sender=other)
    with reverts(cc.ECDSAInvalidSignature):
        cc.permit(holder, other, 1, deadline, 29, r, s, sender=other)
    assert cc.allowance(holder, other) == 0
    assert cc.nonces(holder) == 0


# ----------------------------------------------------------------------------- retirement


def test_retire(cc, holder, other, chain):
    reason = "2025 office electricity, Main St 1"
    tx = cc.retire(4_000, other, reason, sender=holder)
    assert tx.return_value == 1
    assert_logs(tx, transfer(cc, holder, ZERO_ADDRESS, 4_000), retired(cc, 1, holder, other, 4_000, reason))
    assert cc.balanceOf(holder) == 6_000
    assert cc.totalSupply() == 6_000
    assert fields(cc.getRetirement(1)) == retirement(1, holder, other, 4_000, tx.timestamp, reason)
    assert cc.retirementCount() == 1
    assert cc.retirementCountOf(other) == 1
    assert cc.retirementCountOf(holder) == 0
    assert cc.totalRetired() == 4_000
    assert cc.totalRetiredFor(other) == 4_000
    assert cc.totalRetiredFor(holder) == 0

    # The holder may be its own beneficiary; the longest reason is accepted.
    longest = "x" * MAX_REASON_BYTES
    tx = cc.retire(6_000, holder, longest, sender=holder)
    assert tx.return_value == 2
    assert fields(cc.getRetirement(2)) == retirement(2, holder, holder, 6_000, tx.timestamp, longest)
    assert cc.totalRetired() == 10_000
    assert cc.totalSupply() == 0


def test_retire_rejections(cc, holder, other):
    with reverts(cc.ZeroRetirement):
        cc.retire(0, other, "reason", sender=holder)
    with reverts(cc.ZeroBeneficiary):
        cc.retire(1, ZERO_ADDRESS, "reason", sender=holder)
    with reverts(cc.InvalidRetirementReason, lengthBytes=0, maxLengthBytes=MAX_REASON_BYTES):
        cc.retire(1, other, "", sender=holder)
    with reverts(cc.InvalidRetirementReason, lengthBytes=MAX_REASON_BYTES + 1, maxLengthBytes=MAX_REASON_BYTES):
        cc.retire(1, other, "x" * (MAX_REASON_BYTES + 1), sender=holder)
    with reverts(cc.InvalidRetirementReason, lengthBytes=MAX_REASON_BYTES + 2, maxLengthBytes=MAX_REASON_BYTES):
        cc.retire(1, other, "é" * (MAX_REASON_BYTES // 2 + 1), sender=holder)  # bytes, not characters
    with reverts(cc.ERC20InsufficientBalance, sender=holder.address, balance=10_000, needed=10_001):
        cc.retire(10_001, other, "reason", sender=holder)
    with reverts(cc.RetirementTooLarge, amountGrams=MAX_RETIREMENT_GRAMS + 1, maxGrams=MAX_RETIREMENT_GRAMS):
        cc.retire(MAX_RETIREMENT_GRAMS + 1, other, "reason", sender=holder)
    assert cc.balanceOf(holder) == cc.totalSupply() == 10_000
    assert cc.retirementCount() == 0
    assert cc.totalRetired() == 0


def test_get_retirement_not_found(cc, holder, other):
    for retirement_id in (0, 1):
        with reverts(cc.RetirementNotFound, retirementId=retirement_id):
            cc.getRetirement(retirement_id)
    cc.retire(1, other, "one", sender=holder)
    assert cc.getRetirement(1).amountGrams == 1
    with reverts(cc.RetirementNotFound, retirementId=2):
        cc.getRetirement(2)


def test_retirements_listed_per_beneficiary_in_pages(cc, holder, other, stranger):
    # Five for `other` interleaved with two for `stranger`.
    times = {}
    for i, beneficiary in enumerate([other, stranger, other, other, stranger, other, other], start=1):
        tx = cc.retire(i * 10, beneficiary, f"retirement {i}", sender=holder)
        assert tx.return_value == i
        times[i] = tx.timestamp
    assert cc.retirementCount() == 7
    assert cc.retirementCountOf(other) == 5
    assert cc.retirementCountOf(stranger) == 2
    assert cc.totalRetiredFor(other) == 10 + 30 + 40 + 60 + 70
    assert cc.totalRetiredFor(stranger) == 20 + 50
    assert cc.totalRetired() == sum(i * 10 for i in range(1, 8))

    def expected(i, beneficiary):
        return retirement(i, holder, beneficiary, i * 10, times[i], f"retirement {i}")

    listed, cursor = [], 0
    pages = 0
    while cursor < cc.retirementCountOf(other):
        page, cursor = cc.getRetirements(other, cursor, 2)
        assert 0 < len(page) <= 2
        listed += [listed_fields(r) for r in page]
        pages += 1
    assert pages == 3
    assert cursor == 5
    assert listed == [expected(i, other) for i in (1, 3, 4, 6, 7)]

    page, next_cursor = cc.getRetirements(stranger, 0, MAX_PAGE_LIMIT)
    assert [listed_fields(r) for r in page] == [expected(2, stranger), expected(5, stranger)]
    assert next_cursor == 2
    page, next_cursor = cc.getRetirements(stranger, 1, 1)
    assert [listed_fields(r) for r in page] == [expected(5, stranger)]
    assert next_cursor == 2
    # Past the end, and for someone with none: an empty page.
    for beneficiary, cursor in ((stranger, 2), (stranger, 9), (holder, 0)):
        page, next_cursor = cc.getRetirements(beneficiary, cursor, 5)
        assert (list(page), next_cursor) == ([], cursor)


@pytest.mark.parametrize("limit", [0, MAX_PAGE_LIMIT + 1])
def test_get_retirements_page_limit(cc, other, limit):
    with reverts(cc.InvalidPageLimit, limit=limit, maxLimit=MAX_PAGE_LIMIT):
        cc.getRetirements(other, 0, limit)
