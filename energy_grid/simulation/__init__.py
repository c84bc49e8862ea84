"""The community simulation's run: the community model (energy_grid.community) driven on a chain, one
15-minute interval at a time: its agents' keys and prices, the chain's clock, the set-up, the
gateway's readings, the auction, load reports and demand response, and the ledger that audits the
day to the unit (`run_simulation` in driver.py)."""
