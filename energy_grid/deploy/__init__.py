"""Deploying the grid's contracts with ape, and the operator actions the demo, the benchmark and the tests share."""
