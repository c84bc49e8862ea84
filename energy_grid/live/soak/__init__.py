"""`make soak`: the live community run for real, under load, faults and bad input, against goals.

    python -m energy_grid.live.soak                      # every run; writes benchmarks/soak.{json,md}
    python -m energy_grid.live.soak --runs steady        # one of them

run.py runs one community from a new chain to its audit; monitor.py watches the meters' topics;
faults.py kills programs; hostile.py sends bad messages; chain_facts.py reads what landed;
report.py holds the goals and writes the report. A soak is a benchmark: it measures, and exits 1
when a goal does not hold; it is not part of `make test`.
"""
