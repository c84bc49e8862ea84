"""What the test modules share besides conftest.py's fixtures, imported as `support.<module>`
(pytest puts the tests folder on the import path when it loads conftest.py):
helpers, the exhaustive revert, event and ABI-completeness assertions every module uses;
meter_helpers, market_helpers, auction_helpers, asset_helpers and oracle_helpers, the constants,
clock moves and mock logs of the meter, market, auction, energy-asset and oracle modules (with
the two regional oracles described as cases of the tests they share);
bulk_helpers, setup transactions sent in bulk to fill a book or a batch to its largest size;
anvil_node, a test's own anvil that can be killed and restarted on its state file, and
simulation_helpers, a deployed system kept as a state file for fresh anvils; index_helpers, events
made on chain through the web3 client for the event index and its routes; service_helpers, the API
service in a thread on a free port; web_helpers, chromium driven by Playwright with a test wallet
in the page; mosquitto, an MQTT broker the tests start with production's access files; fuzz_rpc and
system_machine, the raw JSON-RPC layer and the hypothesis state machine of the system invariants;
slither_scan, the one Slither pass the static analysis runs as a script.
"""
