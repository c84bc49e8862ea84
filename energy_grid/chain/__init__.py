"""Chain access below the contract bindings: a node's JSON-RPC, accounts that sign, the deployment manifest, the
GridError hierarchy, event decoding, fees and a local anvil of one's own. GridClient, over all of it, is
contracts/'s."""
