"""Signing: the EIP-712 typed data the grid's contracts verify, and the drafts a wallet signs."""
