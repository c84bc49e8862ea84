"""The live community: a local chain that mines by itself, its households set up from the simulation, and the
services around it under a process manager."""
