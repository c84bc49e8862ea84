"""Gas and throughput benchmarks against their budgets (`make bench`, scripts/bench.py).

`core` holds the report and the benches of metering, the order book, grid management, grid
operations, the oracles and the settings; one module per further topic (the auction, standing
orders, signed orders and readings, demand response, carbon credits, energy assets, the simulation); and
`gas_tables` renders the figures as the documentation's tables.
"""
