"""Chain access: a node's JSON-RPC, accounts that sign, the deployment manifest and a plain web3.py client over it."""
