"""`python -m energy_grid.cli`: the same as the `energy-grid` console script."""

from energy_grid.cli import main

main()
