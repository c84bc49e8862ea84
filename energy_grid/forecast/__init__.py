"""Forecasts of a community's load and production as calibrated quantiles.

The pipeline, one module a stage, each usable on its own:

    validate   flags what must not be learned: gaps, stuck meters, outliers (validate.py)
    featurize  calendar, lagged load and weather, as known when the forecast is made (features.py)
               and PV learned in proportion to the clear sky, free of the season (solar.py)
    train      one gradient-boosted model per quantile (model.py)
    calibrate  split-conformal: the bands widened (or narrowed) until they cover what they claim
               on recent days the models did not learn from (calibrate.py)
    score      MAE, skill over a reference, pinball loss, coverage (metrics.py)

Series are on the market's 900 s grid: one float per interval, NaN where nothing was read.
"""
