"""The ``styx`` command line: one module per command group, all thin layers over styx.sdk."""
