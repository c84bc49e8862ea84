"""Python tooling for the decentralized energy grid contracts."""
