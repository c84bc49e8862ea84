"""The meter protocols the agent reads, one module each behind sources.base.MeterSource."""
