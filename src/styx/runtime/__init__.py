"""The Styx runtime on a node: a wheel of this very client, installed in an isolated venv."""
