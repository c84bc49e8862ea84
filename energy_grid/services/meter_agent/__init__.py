"""The meter agent: `energy-grid meter-agent --config FILE`, the program a household runs next to its
meter (energy_grid.services.meter_agent.agent)."""
