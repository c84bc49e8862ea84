"""SmartMeter and the EnergyVault: the admin's setVault, a meter owner's choice of vault delivery, the
readings it delivers into the vault (the export minted to the vault and credited to the owner there,
beside meters whose export is still minted to their owners' wallets), and the owner's standing limits.

The reading market here is an EnergyAuction of the vault and this registry that no test reads into
(tests/test_standing_orders.py trades in it): setVault checks a market's vault and registry, the list of
reading markets used and its bound, setting and removing the limits and their nonces, and
settleStandingOrders' refusals. Every custom error is asserted with all of its arguments and every event with all of its
fields; the meters' fixtures (`meter`, `submit`, `baseline`) are in conftest.py.
"""

from __future__ import annotations

import pytest
from test_owner_and_limits import stored_limits

from energy_grid.deploy.system import deploy_energy_auction
from energy_grid.domain.units import FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE
from energy_grid.signing.readings import sign_reading
from energy_grid.signing.vault import STANDING_ORDER_TYPEHASH, StandingLimits, sign_standing_order

from support.helpers import DEFAULT_ADMIN_ROLE, NO_FREEZE_QUERY, ZERO_ADDRESS, assert_logs, log, reverts
from support.meter_helpers import MAX_BATCH_SIZE, REGION, accepted, minted

MAX_PRICE = 2**96 - 1  # a standing limit's price field: uint96, PaymentToken base units per kWh
MAX_CAP_WH = 2**32 - 1  # a standing limit's cap field: uint32 Wh per interval


@pytest.fixture(scope="module", autouse=True)
def _accounts_before_isolation(admin, owner, other, stranger, meter_device, meter_device_2, accounts):
    """Resolves the session-scoped account fixtures before ape's per-test isolation (no rebasing)."""


def deploy_auction(project, admin, vault, meter_registry, fee_recipient):
    """An EnergyAuction of `vault` whose standing orders `meter_registry` reports (900 s periods)."""
    return deploy_energy_auction(project,
        admin, vault, meter_registry, fee_recipient, 50, 900, 300, 50_000, 1_000, 305_000, sender=admin
    )


@pytest.fixture(scope="module")
def vault(project, admin, energy_token, stablecoin, smart_meter):
    v = project.EnergyVault.deploy(admin, energy_token, stablecoin, NO_FREEZE_QUERY, sender=admin)
    v.grantRole(v.CREDITOR_ROLE(), smart_meter, sender=admin)
    return v


@pytest.fixture(scope="module")
def reading_market(project, admin, vault, smart_meter, fee_recipient):
    """An EnergyAuction of the vault and this registry, registered as a market of the vault."""
    market = deploy_auction(project, admin, vault, smart_meter, fee_recipient)
    vault.registerMarket(market, sender=admin)
    return market


@pytest.fixture(scope="module")
def foreign_vault(project, admin, stablecoin):
    """A vault of another EnergyToken than the one SmartMeter mints."""
    other_token = project.EnergyToken.deploy(admin, sender=admin)
    return project.EnergyVault.deploy(admin, other_token, stablecoin, NO_FREEZE_QUERY, sender=admin)


@pytest.fixture
def wired(smart_meter, vault, reading_market, admin):
    """SmartMeter delivers into `vault` and names `reading_market`."""
    smart_meter.setVault(vault, reading_market, sender=admin)
    return vault


@pytest.fixture
def registered(smart_meter, admin, owner, other, meter_device, meter_device_2, chain):
    """meter_device (owner's) and meter_device_2 (other's) registered with registers at 0 Wh, so their first
    readings count energy; returns the registration time."""
    smart_meter.registerMeter(meter_device, owner, REGION, 0, 0, sender=admin)
    tx = smart_meter.registerMeter(meter_device_2, other, REGION, 0, 0, sender=admin)
    return tx.timestamp


def delivery_set(smart_meter, meter, owner, enabled):
    return log(smart_meter.VaultDeliverySet, meter=meter, owner=owner, enabled=enabled)


def credited(vault, token, creditor, credits):
    """SmartMeter's credit of export it minted into the vault: (owner, Wh) per reading that exported."""
    return log(
        vault.ArrivedCredited,
        token=token.address,
        creditor=creditor.address,
        accounts=[owner.address for owner, _ in credits],
        amounts=[amount for _, amount in credits],
    )


def standing_set(smart_meter, meter, owner, sell_price, sell_cap, buy_price, buy_cap):
    return log(
        smart_meter.StandingOrderSet,
        meter=meter,
        owner=owner,
        sellPricePerKWh=sell_price,
        sellCapWh=sell_cap,
        buyPricePerKWh=buy_price,
        buyCapWh=buy_cap,
    )


def reading_at(ts, consumption, production):
    return (ts, consumption, production, FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE)


# ----------------------------------------------------------------------------- setVault


def test_no_vault_until_the_admin_sets_one(smart_meter):
    assert smart_meter.vault() == ZERO_ADDRESS
    assert smart_meter.readingMarket() == ZERO_ADDRESS


def test_set_vault(smart_meter, vault, reading_market, admin):
    tx = smart_meter.setVault(vault, reading_market, sender=admin)
    assert_logs(tx, log(smart_meter.VaultSet, vault=vault.address, readingMarket=reading_market.address))
    assert smart_meter.vault() == vault.address
    assert smart_meter.readingMarket() == reading_market.address
    # Set again, without a reading market: vault delivery only, no standing orders.
    tx = smart_meter.setVault(vault, ZERO_ADDRESS, sender=admin)
    assert_logs(tx, log(smart_meter.VaultSet, vault=vault.address, readingMarket=ZERO_ADDRESS))
    assert (smart_meter.vault(), smart_meter.readingMarket()) == (vault.address, ZERO_ADDRESS)


def test_set_vault_is_admin_only(smart_meter, vault, reading_market, admin, owner, stranger):
    for caller in (stranger, owner):
        with reverts(smart_meter.AccessControlUnauthorizedAccount, account=caller.address, neededRole=DEFAULT_ADMIN_ROLE):
            smart_meter.setVault(vault, reading_market, sender=caller)
    assert smart_meter.vault() == ZERO_ADDRESS


def test_set_vault_rejects_zero_address(smart_meter, reading_market, admin):
    with reverts(smart_meter.ZeroAddress):
        smart_meter.setVault(ZERO_ADDRESS, reading_market, sender=admin)


def test_set_vault_rejects_a_vault_of_another_energy_token(smart_meter, foreign_vault, reading_market, admin):
    with reverts(smart_meter.VaultTokenMismatch, vault=foreign_vault.address):
        smart_meter.setVault(foreign_vault, reading_market, sender=admin)
    assert smart_meter.vault() == ZERO_ADDRESS


def test_set_vault_refuses_a_reading_market_of_another_vault_or_registry(
    project, smart_meter, vault, reading_market, energy_token, stablecoin, admin, fee_recipient, stranger
):
    """A market must move this vault's balances and take this registry's readings, or the readings of
    meters with standing limits would fail the gateway's whole batch there."""
    twin_vault = project.EnergyVault.deploy(admin, energy_token, stablecoin, NO_FREEZE_QUERY, sender=admin)
    of_another_vault = deploy_auction(project, admin, twin_vault, smart_meter, fee_recipient)
    twin_vault.registerMarket(of_another_vault, sender=admin)
    of_no_registry = deploy_auction(project, admin, vault, ZERO_ADDRESS, fee_recipient)
    of_another_registry = deploy_auction(project, admin, vault, stranger, fee_recipient)
    # Of this vault and registry, but the vault has not registered it: it could not settle there.
    unregistered = deploy_auction(project, admin, vault, smart_meter, fee_recipient)
    # An account without code, and a contract that answers neither question.
    for market in (of_another_vault, of_no_registry, of_another_registry, unregistered, stranger, energy_token):
        with reverts(smart_meter.ReadingMarketMismatch, readingMarket=market.address):
            smart_meter.setVault(vault, market, sender=admin)
    assert (smart_meter.vault(), smart_meter.readingMarket()) == (ZERO_ADDRESS, ZERO_ADDRESS)
    assert smart_meter.readingMarkets() == []
    # The market of the other vault is that vault's.
    with reverts(smart_meter.ReadingMarketMismatch, readingMarket=reading_market.address):
        smart_meter.setVault(twin_vault, reading_market, sender=admin)
    smart_meter.setVault(twin_vault, of_another_vault, sender=admin)
    assert smart_meter.readingMarkets() == [of_another_vault.address]


def registered_auction(project, admin, vault, smart_meter, fee_recipient):
    market = deploy_auction(project, admin, vault, smart_meter, fee_recipient)
    vault.registerMarket(market, sender=admin)
    return market


def test_the_reading_markets_used_are_listed_up_to_their_bound(project, smart_meter, vault, reading_market, admin, fee_recipient):
    most = smart_meter.MAX_READING_MARKETS()
    assert most == 8
    markets = [reading_market, *(registered_auction(project, admin, vault, smart_meter, fee_recipient) for _ in range(most - 1))]
    for market in markets:
        smart_meter.setVault(vault, market, sender=admin)
    # Named again, or none named: the list stays as it is.
    smart_meter.setVault(vault, markets[0], sender=admin)
    smart_meter.setVault(vault, ZERO_ADDRESS, sender=admin)
    assert smart_meter.readingMarkets() == [m.address for m in markets]
    extra = registered_auction(project, admin, vault, smart_meter, fee_recipient)
    with reverts(smart_meter.TooManyReadingMarkets, maxReadingMarkets=most):
        smart_meter.setVault(vault, extra, sender=admin)
    assert smart_meter.readingMarket() == ZERO_ADDRESS
    # A market of the list can be named again when the list is full.
    smart_meter.setVault(vault, markets[3], sender=admin)
    assert smart_meter.readingMarket() == markets[3].address


# ----------------------------------------------------------------------------- setVaultDelivery


def test_vault_delivery_needs_a_vault(smart_meter, meter, owner):
    with reverts(smart_meter.VaultNotSet):
        smart_meter.setVaultDelivery(meter, True, sender=owner)
    # Choosing the wallet needs none: it is the default.
    tx = smart_meter.setVaultDelivery(meter, False, sender=owner)
    assert_logs(tx, delivery_set(smart_meter, meter, owner.address, False))
    assert not smart_meter.getMeter(meter).vaultDelivery


def test_set_vault_delivery(smart_meter, wired, meter, owner):
    assert smart_meter.getMeter(meter) == (owner.address, REGION, True, True, 0, False)
    tx = smart_meter.setVaultDelivery(meter, True, sender=owner)
    assert_logs(tx, delivery_set(smart_meter, meter, owner.address, True))
    # The flag sits beside active and awaiting-baseline, which it leaves alone.
    assert smart_meter.getMeter(meter) == (owner.address, REGION, True, True, 0, True)
    tx = smart_meter.setVaultDelivery(meter, False, sender=owner)
    assert_logs(tx, delivery_set(smart_meter, meter, owner.address, False))
    assert smart_meter.getMeter(meter) == (owner.address, REGION, True, True, 0, False)


def test_vault_delivery_survives_deactivation(smart_meter, wired, meter, owner, admin):
    smart_meter.setVaultDelivery(meter, True, sender=owner)
    smart_meter.deactivateMeter(meter, sender=admin)
    assert smart_meter.getMeter(meter) == (owner.address, REGION, False, True, 0, True)
    smart_meter.reactivateMeter(meter, sender=admin)
    assert smart_meter.getMeter(meter) == (owner.address, REGION, True, True, 0, True)


def test_set_vault_delivery_is_the_owners_only(smart_meter, wired, meter, admin, other, stranger):
    for caller in (other, stranger, admin):
        with reverts(smart_meter.NotMeterOwner, meter=meter, caller=caller.address):
            smart_meter.setVaultDelivery(meter, True, sender=caller)
    assert not smart_meter.getMeter(meter).vaultDelivery


def test_set_vault_delivery_of_an_unknown_meter(smart_meter, wired, stranger):
    with reverts(smart_meter.MeterUnknown, meter=stranger.address):
        smart_meter.setVaultDelivery(stranger, True, sender=stranger)


# ----------------------------------------------------------------------------- vault-delivered readings


def test_a_vault_delivered_reading_credits_the_owner_in_the_vault(
    smart_meter, energy_token, wired, meter, meter_device, owner, submit, baseline
):
    """The export is minted to the vault and credited to the owner's vault balance, not to the wallet."""
    vault = wired
    smart_meter.setVaultDelivery(meter, True, sender=owner)
    supply = energy_token.totalSupply()
    tx = submit(meter_device, baseline + 900, 1_500, 5_800)
    assert_logs(
        tx,
        accepted(smart_meter, meter, baseline + 900, 500, 800),
        minted(energy_token, vault.address, 800),
        credited(vault, energy_token, smart_meter, [(owner, 800)]),
    )
    assert vault.balancesOf(owner) == (800, 0)
    assert vault.balanceOf(energy_token, owner) == 800
    assert vault.reserves() == (800, 0)
    assert energy_token.balanceOf(vault) == 800
    assert energy_token.balanceOf(owner) == 0
    assert energy_token.totalSupply() == supply + 800
    assert smart_meter.getMeteredEnergy(meter) == (500, 800, 0)


def test_a_vault_delivered_reading_without_export_credits_nothing(
    smart_meter, energy_token, wired, meter, meter_device, owner, submit, baseline
):
    """Import alone, and no standing limits: nothing is minted, credited or handed to the market."""
    vault = wired
    smart_meter.setVaultDelivery(meter, True, sender=owner)
    tx = submit(meter_device, baseline + 900, 1_500, 5_000)
    assert_logs(tx, accepted(smart_meter, meter, baseline + 900, 500, 0))
    assert vault.balancesOf(owner) == (0, 0)
    assert vault.reserves() == (0, 0)


def test_the_baseline_of_a_vault_delivered_meter_credits_nothing(smart_meter, wired, meter, meter_device, owner, submit, chain):
    smart_meter.setVaultDelivery(meter, True, sender=owner)
    tx = submit(meter_device, chain.pending_timestamp, 1_000, 5_000)
    assert_logs(
        tx,
        log(smart_meter.MeterBaselineSet, meter=meter, timestamp=tx.timestamp, consumptionRegisterWh=1_000, productionRegisterWh=5_000),
        accepted(smart_meter, meter, tx.timestamp, 0, 0),
    )
    assert wired.reserves() == (0, 0)


def test_a_gateway_batch_routes_each_meter_its_own_way(
    smart_meter, energy_token, wired, registered, admin, owner, other, meter_device, meter_device_2, chain
):
    """In one batch, owner's vault-delivered meter is credited in the vault and other's meter is still
    minted to other's wallet; a second batch credits both owners when both deliver into the vault."""
    vault = wired
    smart_meter.setVaultDelivery(meter_device, True, sender=owner)
    meters = [meter_device.address, meter_device_2.address]
    supply = energy_token.totalSupply()
    ts = registered + 60
    chain.pending_timestamp = ts
    tx = smart_meter.submitReadings(meters, [reading_at(ts, 100, 1_000), reading_at(ts, 50, 700)], sender=admin)
    assert_logs(
        tx,
        accepted(smart_meter, meter_device.address, ts, 100, 1_000),
        accepted(smart_meter, meter_device_2.address, ts, 50, 700),
        minted(energy_token, other.address, 700),
        minted(energy_token, vault.address, 1_000),
        credited(vault, energy_token, smart_meter, [(owner, 1_000)]),
    )
    assert vault.balancesOf(owner) == (1_000, 0)
    assert vault.balancesOf(other) == (0, 0)
    assert (energy_token.balanceOf(owner), energy_token.balanceOf(other)) == (0, 700)
    assert energy_token.totalSupply() == supply + 1_700

    smart_meter.setVaultDelivery(meter_device_2, True, sender=other)
    ts += 60
    chain.pending_timestamp = ts
    tx = smart_meter.submitReadings(meters, [reading_at(ts, 100, 1_300), reading_at(ts, 50, 900)], sender=admin)
    assert_logs(
        tx,
        accepted(smart_meter, meter_device.address, ts, 0, 300),
        accepted(smart_meter, meter_device_2.address, ts, 0, 200),
        minted(energy_token, vault.address, 500),
        credited(vault, energy_token, smart_meter, [(owner, 300), (other, 200)]),
    )
    assert vault.balancesOf(owner) == (1_300, 0)
    assert vault.balancesOf(other) == (200, 0)
    assert vault.reserves() == (1_500, 0)
    assert energy_token.balanceOf(vault) == 1_500
    assert energy_token.balanceOf(other) == 700


def test_signed_readings_are_routed_as_a_gateways_are(
    smart_meter, energy_token, wired, registered, owner, other, stranger, meter_device, meter_device_2, chain
):
    vault = wired
    chain_id = chain.chain_id
    smart_meter.setVaultDelivery(meter_device, True, sender=owner)
    ts = registered + 60
    entries = [
        sign_reading(meter_device.private_key, chain_id, smart_meter.address, 0, ts + 3_600, reading_at(ts, 10, 400)),
        sign_reading(meter_device_2.private_key, chain_id, smart_meter.address, 0, ts + 3_600, reading_at(ts, 20, 300)),
    ]
    chain.pending_timestamp = ts
    tx = smart_meter.submitSignedReadings([e.as_tuple() for e in entries], sender=stranger)
    assert_logs(
        tx,
        accepted(smart_meter, meter_device.address, ts, 10, 400),
        accepted(smart_meter, meter_device_2.address, ts, 20, 300),
        minted(energy_token, other.address, 300),
        minted(energy_token, vault.address, 400),
        credited(vault, energy_token, smart_meter, [(owner, 400)]),
    )
    assert vault.balancesOf(owner) == (400, 0)
    assert (energy_token.balanceOf(owner), energy_token.balanceOf(other)) == (0, 300)


def test_back_to_the_wallet(smart_meter, energy_token, wired, meter, meter_device, owner, submit, baseline):
    """Vault delivery switched off again: the next export is minted to the owner's wallet."""
    smart_meter.setVaultDelivery(meter, True, sender=owner)
    smart_meter.setVaultDelivery(meter, False, sender=owner)
    tx = submit(meter_device, baseline + 900, 1_500, 5_800)
    assert_logs(tx, accepted(smart_meter, meter, baseline + 900, 500, 800), minted(energy_token, owner.address, 800))
    assert wired.reserves() == (0, 0)
    assert energy_token.balanceOf(owner) == 800


# ----------------------------------------------------------------------------- standing orders


def test_no_standing_limits_by_default(smart_meter, meter):
    assert smart_meter.getStandingOrder(meter) == (0, 0, 0, 0)


def test_set_standing_order_switches_vault_delivery_on(smart_meter, wired, meter, owner):
    tx = smart_meter.setStandingOrder(meter, 180_000, 2_000, 120_000, 0, sender=owner)
    assert_logs(
        tx,
        delivery_set(smart_meter, meter, owner.address, True),
        standing_set(smart_meter, meter, owner.address, 180_000, 2_000, 120_000, 0),
    )
    assert [event.event_name for event in tx.events] == ["VaultDeliverySet", "StandingOrderSet"]  # delivery first
    assert smart_meter.getStandingOrder(meter) == (180_000, 2_000, 120_000, 0)
    assert smart_meter.getMeter(meter).vaultDelivery
    # Changed while delivery is on already: only the limits' event.
    tx = smart_meter.setStandingOrder(meter, 0, 0, 150_000, 500, sender=owner)
    assert_logs(tx, standing_set(smart_meter, meter, owner.address, 0, 0, 150_000, 500))
    assert smart_meter.getStandingOrder(meter) == (0, 0, 150_000, 500)


def test_standing_limits_up_to_their_fields_are_stored_to_their_precision(smart_meter, wired, meter, owner):
    tx = smart_meter.setStandingOrder(meter, MAX_PRICE, MAX_CAP_WH, MAX_PRICE, MAX_CAP_WH, sender=owner)
    # The sell price rounds up, but no higher than the largest price; the buy price and the caps round down.
    stored = (MAX_PRICE, 4_294_000_000, 7_922_816 * 10**22, 4_294_000_000)
    assert stored == stored_limits(MAX_PRICE, MAX_CAP_WH, MAX_PRICE, MAX_CAP_WH)
    assert_logs(tx, delivery_set(smart_meter, meter, owner.address, True), standing_set(smart_meter, meter, owner.address, *stored))
    assert smart_meter.getStandingOrder(meter) == stored


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        # Every price up to 16,777,215 and every cap up to 32,767 Wh is kept as it is, and so is any value
        # with few enough significant digits (a price of 0.2537 in an 18-decimal currency).
        ((16_777_215, 32_767, 2_537 * 10**14, 2_000), (16_777_215, 32_767, 2_537 * 10**14, 2_000)),
        ((250 * 10**15, 12_340_000, 1, 1), (250 * 10**15, 12_340_000, 1, 1)),
        # One digit too many: a sell price up, a buy price and the caps down.
        ((16_777_217, 32_768, 16_777_219, 123_456), (16_777_220, 32_760, 16_777_210, 123_450)),
        # Rounding up past the mantissa's last value takes the next power of ten.
        ((167_772_151, 0, 253_712_345_678_901_234, 0), (167_772_200, 0, 253_712_300_000_000_000, 0)),
    ],
    ids=["exact", "few digits", "one digit too many", "next power"],
)
def test_standing_limits_are_stored_rounded_in_the_owners_favour(smart_meter, wired, meter, owner, given, stored):
    assert stored_limits(*given) == stored
    tx = smart_meter.setStandingOrder(meter, *given, sender=owner)
    assert_logs(tx, delivery_set(smart_meter, meter, owner.address, True), standing_set(smart_meter, meter, owner.address, *stored))
    assert smart_meter.getStandingOrder(meter) == stored


@pytest.mark.parametrize(
    ("limits", "value", "max_value"),
    [
        ((MAX_PRICE + 1, 0, 0, 0), MAX_PRICE + 1, MAX_PRICE),
        ((0, MAX_CAP_WH + 1, 0, 0), MAX_CAP_WH + 1, MAX_CAP_WH),
        ((0, 0, MAX_PRICE + 1, 0), MAX_PRICE + 1, MAX_PRICE),
        ((0, 0, 0, MAX_CAP_WH + 1), MAX_CAP_WH + 1, MAX_CAP_WH),
    ],
    ids=["sell price", "sell cap", "buy price", "buy cap"],
)
def test_standing_limit_out_of_range(smart_meter, wired, meter, owner, limits, value, max_value):
    with reverts(smart_meter.StandingOrderOutOfRange, value=value, maxValue=max_value):
        smart_meter.setStandingOrder(meter, *limits, sender=owner)
    assert smart_meter.getStandingOrder(meter) == (0, 0, 0, 0)
    assert not smart_meter.getMeter(meter).vaultDelivery


def test_standing_orders_need_a_reading_market(smart_meter, vault, meter, owner, admin):
    with reverts(smart_meter.NoReadingMarket):  # no vault, so no market either
        smart_meter.setStandingOrder(meter, 180_000, 0, 0, 0, sender=owner)
    smart_meter.setVault(vault, ZERO_ADDRESS, sender=admin)
    with reverts(smart_meter.NoReadingMarket):
        smart_meter.setStandingOrder(meter, 180_000, 0, 0, 0, sender=owner)
    assert smart_meter.getStandingOrder(meter) == (0, 0, 0, 0)


def test_standing_orders_are_the_owners_only(smart_meter, wired, meter, owner, admin, other, stranger):
    smart_meter.setStandingOrder(meter, 180_000, 0, 0, 0, sender=owner)
    for caller in (other, stranger, admin):
        with reverts(smart_meter.NotMeterOwner, meter=meter, caller=caller.address):
            smart_meter.setStandingOrder(meter, 1, 0, 0, 0, sender=caller)
        with reverts(smart_meter.NotMeterOwner, meter=meter, caller=caller.address):
            smart_meter.removeStandingOrder(meter, sender=caller)
    assert smart_meter.getStandingOrder(meter) == (180_000, 0, 0, 0)


def test_standing_orders_of_an_unknown_meter(smart_meter, wired, stranger):
    with reverts(smart_meter.MeterUnknown, meter=stranger.address):
        smart_meter.setStandingOrder(stranger, 1, 0, 0, 0, sender=stranger)
    with reverts(smart_meter.MeterUnknown, meter=stranger.address):
        smart_meter.removeStandingOrder(stranger, sender=stranger)


def test_remove_standing_order(smart_meter, wired, meter, owner):
    smart_meter.setStandingOrder(meter, 180_000, 2_000, 120_000, 1_000, sender=owner)
    tx = smart_meter.removeStandingOrder(meter, sender=owner)
    assert_logs(tx, log(smart_meter.StandingOrderRemoved, meter=meter, owner=owner.address))
    assert smart_meter.getStandingOrder(meter) == (0, 0, 0, 0)
    # The energy keeps going into the vault until the owner chooses the wallet again.
    assert smart_meter.getMeter(meter).vaultDelivery


def test_a_reading_after_the_limits_were_removed_is_only_credited(
    smart_meter, energy_token, wired, reading_market, meter, meter_device, owner, submit, baseline
):
    """Without limits the reading market is not told of the reading: it holds nothing of the meter."""
    smart_meter.setStandingOrder(meter, 180_000, 0, 0, 0, sender=owner)
    smart_meter.removeStandingOrder(meter, sender=owner)
    tx = submit(meter_device, baseline + 900, 1_500, 5_800)
    assert_logs(
        tx,
        accepted(smart_meter, meter, baseline + 900, 500, 800),
        minted(energy_token, wired.address, 800),
        credited(wired, energy_token, smart_meter, [(owner, 800)]),
    )
    assert wired.balancesOf(owner) == (800, 0)
    assert [o.period for o in reading_market.getMeteredOrders(meter)] == [0, 0]


def test_settle_standing_orders_refusals(smart_meter, vault, meter, admin, reading_market, stranger):
    """Refused before the market is called: without a market, for an empty or too large batch, for an
    unknown meter."""
    with reverts(smart_meter.NoReadingMarket):
        smart_meter.settleStandingOrders([meter], sender=stranger)
    smart_meter.setVault(vault, reading_market, sender=admin)
    with reverts(smart_meter.EmptyBatch):
        smart_meter.settleStandingOrders([], sender=stranger)
    with reverts(smart_meter.BatchTooLarge, size=MAX_BATCH_SIZE + 1, maxSize=MAX_BATCH_SIZE):
        smart_meter.settleStandingOrders([meter] * (MAX_BATCH_SIZE + 1), sender=stranger)
    with reverts(smart_meter.MeterUnknown, meter=stranger.address):
        smart_meter.settleStandingOrders([meter, stranger.address], sender=stranger)


def test_settling_in_a_reading_market_never_used_is_refused(
    project, smart_meter, vault, meter, admin, reading_market, fee_recipient, stranger
):
    """settleStandingOrdersIn takes only a market this registry has named; its batch is checked as
    settleStandingOrders' is."""
    unused = deploy_auction(project, admin, vault, smart_meter, fee_recipient)
    for market in (reading_market.address, ZERO_ADDRESS):
        with reverts(smart_meter.UnknownReadingMarket, readingMarket=market):
            smart_meter.settleStandingOrdersIn(market, [meter], sender=stranger)
    smart_meter.setVault(vault, reading_market, sender=admin)
    with reverts(smart_meter.UnknownReadingMarket, readingMarket=unused.address):
        smart_meter.settleStandingOrdersIn(unused, [meter], sender=stranger)
    with reverts(smart_meter.EmptyBatch):
        smart_meter.settleStandingOrdersIn(reading_market, [], sender=stranger)
    with reverts(smart_meter.BatchTooLarge, size=MAX_BATCH_SIZE + 1, maxSize=MAX_BATCH_SIZE):
        smart_meter.settleStandingOrdersIn(reading_market, [meter] * (MAX_BATCH_SIZE + 1), sender=stranger)
    with reverts(smart_meter.MeterUnknown, meter=stranger.address):
        smart_meter.settleStandingOrdersIn(reading_market, [meter, stranger.address], sender=stranger)
    # A market no longer named still settles: nothing is due here, so nothing happens.
    smart_meter.setVault(vault, ZERO_ADDRESS, sender=admin)
    tx = smart_meter.settleStandingOrdersIn(reading_market, [meter], sender=stranger)
    assert not [e for e in tx.events if e.event_name == "MeteredOrdersSettled"]


# ----------------------------------------------------------------------------- relayed standing orders


def signed_limits(smart_meter, chain, signer, limits, nonce=0, deadline=None):
    """setStandingOrderBySig's arguments: `limits` signed by `signer` at `nonce`, valid an hour by default."""
    deadline = chain.pending_timestamp + 3_600 if deadline is None else deadline
    signature = sign_standing_order(limits, nonce, deadline, signer.private_key, smart_meter.address, chain.chain_id)
    return (*limits.args(), deadline, signature)


def test_standing_order_typehash_matches_the_client(smart_meter):
    assert bytes(smart_meter.STANDING_ORDER_TYPEHASH()) == STANDING_ORDER_TYPEHASH


def test_a_relayer_sets_and_removes_the_owners_signed_limits(smart_meter, wired, meter, owner, stranger, chain):
    limits = StandingLimits(meter, 180_000, 2_000, 120_000, 0)
    tx = smart_meter.setStandingOrderBySig(*signed_limits(smart_meter, chain, owner, limits), sender=stranger)
    assert_logs(
        tx,
        delivery_set(smart_meter, meter, owner.address, True),
        standing_set(smart_meter, meter, owner.address, 180_000, 2_000, 120_000, 0),
    )
    assert smart_meter.getStandingOrder(meter) == (180_000, 2_000, 120_000, 0)
    assert smart_meter.standingOrderNonces(owner) == 1
    # Both prices 0: removed, at the next nonce.
    tx = smart_meter.setStandingOrderBySig(*signed_limits(smart_meter, chain, owner, StandingLimits(meter), 1), sender=stranger)
    assert_logs(tx, log(smart_meter.StandingOrderRemoved, meter=meter, owner=owner.address))
    assert smart_meter.getStandingOrder(meter) == (0, 0, 0, 0)
    assert smart_meter.standingOrderNonces(owner) == 2


def test_a_signed_standing_order_is_used_once(smart_meter, wired, meter, owner, stranger, chain):
    args = signed_limits(smart_meter, chain, owner, StandingLimits(meter, 180_000))
    smart_meter.setStandingOrderBySig(*args, sender=stranger)
    smart_meter.removeStandingOrder(meter, sender=owner)
    with reverts(smart_meter.InvalidStandingOrderSignature, meter=meter, owner=owner.address):
        smart_meter.setStandingOrderBySig(*args, sender=stranger)
    assert smart_meter.getStandingOrder(meter) == (0, 0, 0, 0)
    # The relayed signature spent nonce 0, the owner's own removal nonce 1.
    assert smart_meter.standingOrderNonces(owner) == 2


def test_an_expired_standing_order_signature(smart_meter, wired, meter, owner, stranger, chain):
    deadline = chain.pending_timestamp - 1
    args = signed_limits(smart_meter, chain, owner, StandingLimits(meter, 180_000), deadline=deadline)
    with reverts(smart_meter.StandingOrderSignatureExpired, meter=meter, deadline=deadline):
        smart_meter.setStandingOrderBySig(*args, sender=stranger)
    assert smart_meter.standingOrderNonces(owner) == 0


def test_standing_limits_signed_by_another_than_the_owner(smart_meter, wired, meter, owner, other, stranger, chain):
    limits = StandingLimits(meter, 180_000)
    for signer in (other, stranger):
        with reverts(smart_meter.InvalidStandingOrderSignature, meter=meter, owner=owner.address):
            smart_meter.setStandingOrderBySig(*signed_limits(smart_meter, chain, signer, limits), sender=stranger)
    # Signed by the owner, then altered: the limits are part of what is signed.
    *_, deadline, signature = signed_limits(smart_meter, chain, owner, limits)
    with reverts(smart_meter.InvalidStandingOrderSignature, meter=meter, owner=owner.address):
        smart_meter.setStandingOrderBySig(meter, 1, 0, 0, 0, deadline, signature, sender=stranger)
    with reverts(smart_meter.InvalidStandingOrderSignature, meter=meter, owner=owner.address):
        smart_meter.setStandingOrderBySig(meter, 180_000, 0, 0, 0, deadline, b"\x01" * 65, sender=stranger)
    assert smart_meter.getStandingOrder(meter) == (0, 0, 0, 0)


def test_a_direct_change_of_limits_voids_the_owners_earlier_signatures(smart_meter, wired, meter, owner, stranger, chain):
    """A signature the owner gave a relayer before changing or removing the limits itself cannot bring
    the superseded limits back."""
    superseded = signed_limits(smart_meter, chain, owner, StandingLimits(meter, 180_000, 2_000))
    smart_meter.setStandingOrder(meter, 150_000, 0, 0, 0, sender=owner)
    assert smart_meter.standingOrderNonces(owner) == 1
    with reverts(smart_meter.InvalidStandingOrderSignature, meter=meter, owner=owner.address):
        smart_meter.setStandingOrderBySig(*superseded, sender=stranger)
    assert smart_meter.getStandingOrder(meter) == (150_000, 0, 0, 0)
    # Removed directly: a signature at the nonce before the removal is void too.
    superseded = signed_limits(smart_meter, chain, owner, StandingLimits(meter, 180_000), nonce=1)
    smart_meter.removeStandingOrder(meter, sender=owner)
    assert smart_meter.standingOrderNonces(owner) == 2
    with reverts(smart_meter.InvalidStandingOrderSignature, meter=meter, owner=owner.address):
        smart_meter.setStandingOrderBySig(*superseded, sender=stranger)
    assert smart_meter.getStandingOrder(meter) == (0, 0, 0, 0)


def test_invalidate_standing_order_nonces_voids_signatures_not_yet_relayed(smart_meter, wired, meter, owner, stranger, chain):
    unrelayed = [signed_limits(smart_meter, chain, owner, StandingLimits(meter, 180_000 + n), nonce=n) for n in range(3)]
    tx = smart_meter.invalidateStandingOrderNonces(3, sender=owner)
    assert_logs(tx, log(smart_meter.StandingOrderNoncesInvalidated, owner=owner.address, previousNonce=0, newNonce=3))
    assert smart_meter.standingOrderNonces(owner) == 3
    for args in unrelayed:
        with reverts(smart_meter.InvalidStandingOrderSignature, meter=meter, owner=owner.address):
            smart_meter.setStandingOrderBySig(*args, sender=stranger)
    assert smart_meter.getStandingOrder(meter) == (0, 0, 0, 0)
    # The owner's next signature carries the new nonce.
    smart_meter.setStandingOrderBySig(*signed_limits(smart_meter, chain, owner, StandingLimits(meter, 190_000), nonce=3), sender=stranger)
    assert smart_meter.getStandingOrder(meter) == (190_000, 0, 0, 0)
    assert smart_meter.standingOrderNonces(owner) == 4


def test_standing_order_nonces_only_go_up_to_their_bound(smart_meter, owner, stranger):
    most = smart_meter.MAX_STANDING_ORDER_NONCE()
    assert most == 2**32 - 1
    for new_nonce in (0, most + 1):
        with reverts(smart_meter.StandingOrderNonceNotRaised, owner=owner.address, newNonce=new_nonce, currentNonce=0):
            smart_meter.invalidateStandingOrderNonces(new_nonce, sender=owner)
    smart_meter.invalidateStandingOrderNonces(5, sender=owner)
    with reverts(smart_meter.StandingOrderNonceNotRaised, owner=owner.address, newNonce=5, currentNonce=5):
        smart_meter.invalidateStandingOrderNonces(5, sender=owner)
    tx = smart_meter.invalidateStandingOrderNonces(most, sender=owner)
    assert_logs(tx, log(smart_meter.StandingOrderNoncesInvalidated, owner=owner.address, previousNonce=5, newNonce=most))
    # Each account raises its own nonce only: the owner's is left alone by anyone else's call.
    smart_meter.invalidateStandingOrderNonces(1, sender=stranger)
    assert (smart_meter.standingOrderNonces(owner), smart_meter.standingOrderNonces(stranger)) == (most, 1)


def test_all_zero_prices_remove_the_limits_directly_as_when_signed(smart_meter, wired, meter, owner, stranger, chain):
    smart_meter.setStandingOrder(meter, 180_000, 2_000, 120_000, 1_000, sender=owner)
    # Caps without a price trade nothing: the limits are removed, with the one event of a removal.
    tx = smart_meter.setStandingOrder(meter, 0, 2_000, 0, 1_000, sender=owner)
    assert_logs(tx, log(smart_meter.StandingOrderRemoved, meter=meter, owner=owner.address))
    assert smart_meter.getStandingOrder(meter) == (0, 0, 0, 0)
    smart_meter.setStandingOrder(meter, 180_000, 2_000, 120_000, 1_000, sender=owner)
    nonce = smart_meter.standingOrderNonces(owner)
    tx = smart_meter.setStandingOrderBySig(*signed_limits(smart_meter, chain, owner, StandingLimits(meter), nonce), sender=stranger)
    assert_logs(tx, log(smart_meter.StandingOrderRemoved, meter=meter, owner=owner.address))
    assert smart_meter.getStandingOrder(meter) == (0, 0, 0, 0)


def test_signed_standing_limits_are_checked_as_the_owners_own(
    smart_meter, vault, reading_market, meter, owner, stranger, admin, chain
):
    with reverts(smart_meter.MeterUnknown, meter=stranger.address):
        smart_meter.setStandingOrderBySig(*signed_limits(smart_meter, chain, owner, StandingLimits(stranger.address, 1)), sender=stranger)
    with reverts(smart_meter.NoReadingMarket):
        smart_meter.setStandingOrderBySig(*signed_limits(smart_meter, chain, owner, StandingLimits(meter, 1)), sender=stranger)
    smart_meter.setVault(vault, reading_market, sender=admin)
    with reverts(smart_meter.StandingOrderOutOfRange, value=MAX_PRICE + 1, maxValue=MAX_PRICE):
        smart_meter.setStandingOrderBySig(
            *signed_limits(smart_meter, chain, owner, StandingLimits(meter, MAX_PRICE + 1)), sender=stranger
        )
    assert smart_meter.standingOrderNonces(owner) == 0
