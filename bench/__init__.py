"""Benchmarks that print figures against a baseline; never part of the test run."""
