"""Benchmarks: scripts that print figures and end with one JSON line."""
