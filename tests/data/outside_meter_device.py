"""A meter device written only from docs/deployment.md: a key, the topic layout and the payload.

It imports nothing of the energy_grid package: paho-mqtt to speak to the broker, eth-account to
sign the EIP-712 typed data. Usage:

    python outside_meter_device.py HOST PORT USER CHAIN_ID SMART_METER TIMESTAMP NONCE CONSUMPTION_WH
    (the device key in METER_KEY, the broker password in METER_PASSWORD)

It publishes one reading (QoS 1), waits for the gateway's answer on its own `accepted` or
`rejected` topic, and prints that answer as one JSON line.
"""

import json
import os
import sys
import threading

import paho.mqtt.client as mqtt
from eth_account import Account

host, port, user, chain_id, smart_meter, timestamp, nonce, consumption = sys.argv[1:9]
key = os.environ["METER_KEY"]
meter = Account.from_key(key).address

reading = {"timestamp": int(timestamp), "consumption": int(consumption), "production": 0, "gridFrequency": 50000, "voltage": 1000}
message = {"meter": meter, "nonce": int(nonce), "deadline": int(timestamp) + 3600, "reading": reading}
signed = Account.sign_typed_data(
    key,
    {"name": "SmartMeter", "version": "1", "chainId": int(chain_id), "verifyingContract": smart_meter},
    {
        "SignedReading": [
            {"name": "meter", "type": "address"},
            {"name": "nonce", "type": "uint256"},
            {"name": "deadline", "type": "uint256"},
            {"name": "reading", "type": "MeterReading"},
        ],
        "MeterReading": [
            {"name": name, "type": "uint256"} for name in ("timestamp", "consumption", "production", "gridFrequency", "voltage")
        ],
    },
    message,
)
payload = {**message, "v": signed.v, "r": "0x" + signed.r.to_bytes(32, "big").hex(), "s": "0x" + signed.s.to_bytes(32, "big").hex()}

base = f"energy-grid/{chain_id}/meters/{meter.lower()}"
answered = threading.Event()


def on_message(client, userdata, msg):
    answer = json.loads(msg.payload)
    if answer.get("nonce") == int(nonce):
        print(json.dumps({"topic": msg.topic.rsplit("/", 1)[1], **answer}), flush=True)
        answered.set()


def on_connect(client, userdata, flags, reason_code, properties):
    client.subscribe(base + "/accepted", qos=1)
    client.subscribe(base + "/rejected", qos=1)
    client.publish(base + "/readings", json.dumps(payload), qos=1)


client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
client.username_pw_set(user, os.environ["METER_PASSWORD"])
client.on_connect = on_connect
client.on_message = on_message
client.connect(host, int(port))
client.loop_start()
ok = answered.wait(60)
client.loop_stop()
sys.exit(0 if ok else 1)
