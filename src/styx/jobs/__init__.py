"""Managed jobs: a controller launches a cluster per job, watches it, recovers it, tears it down.

The controller (:mod:`styx.jobs.controller`) runs on the async core, so it can live in a detached
process on the client (:mod:`styx.jobs.daemon`, the default) or inside a server later.
"""
