import ape

def test_register_and_read(smart_meter, energy_token, admin, owner, meter_device, reading, chain):
    smart_meter.registerMeter(meter_device, owner, 1, sender=admin)
    smart_meter.submitReading(reading(1000, 2000), sender=meter_device)
    chain.pending_timestamp += 900
    tx = smart_meter.submitReading(reading(1500, 2600), sender=meter_device)
    print("gas", tx.gas_used)
    assert energy_token.balanceOf(owner) == 600
    with ape.reverts(smart_meter.MeterUnknown, meter=owner.address):
        smart_meter.submitReading(reading(1500, 2600), sender=owner)
