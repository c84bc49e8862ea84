"""The feature tour (`ape run tour`, scripts/tour.py): a small community on an embedded anvil.

`community` holds its households' deterministic meter profiles, `steps` the tour's steps (meters
through a morning, the order book, carbon credits) and `auction` its interval auction. The
community-day simulation of `make demo` lives in `energy_grid.simulation`.
"""
