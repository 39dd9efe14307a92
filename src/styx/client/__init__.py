"""The remote client: sends commands to a Styx API server when one is configured."""
