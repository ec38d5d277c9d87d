"""SIPUMA ratio benchmarks (not tests): `make bench` or `uv run python -m bench`."""
