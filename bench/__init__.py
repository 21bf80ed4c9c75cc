"""Measurements of the storage layer and the API (run `python -m bench.run`; see README.md)."""
