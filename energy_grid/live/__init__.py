"""The live community: a local chain that mines by itself, its set-up, and the services around it under a process manager."""
