"""What a wallet is asked to sign and whether it can: the typed data of a user's order or approval,
drafted from the chain's state (its balances, approvals and the order's escrow), which the API and
the command line both hand to a wallet. Above the contract bindings it reads through; the messages
themselves are signing/'s."""
