"""The meter gateway: signed readings arrive over MQTT, are checked and stored before they are
acknowledged, and go on chain in batches."""
