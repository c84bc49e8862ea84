"""The live community: the simulation's households on a local chain that runs by itself."""
