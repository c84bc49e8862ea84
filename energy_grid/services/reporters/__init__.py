"""The operator's and the oracle's long-running services, each a process of its own:

- oracle_reporter.py: the weather and the grid state, to WeatherOracle and GridOracle, once an interval;
- load_reporter.py: each region's transformer load, to GridOperations.reportLoad, once an interval;
- dr_planner.py: tomorrow's demand-response events from the meters' history, started on chain at
  their interval boundary, then verified and paid.

What they share: the report schedule on the chain's clock and the search for a service's own past
reports (schedule.py), a region's meters and what they metered in an interval (region.py), and the
service loop with its metrics and checked sending (service.py). Where the oracle's observations come
from is a source of its own: the simulation's weather model (weather_model.py) or an operator's
export (observations_file.py).
"""
