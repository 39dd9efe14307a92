"""The API server: the same async core as the in-process path, behind HTTP with bearer tokens."""
