"""Benchmarks: serving backends and the service over HTTP, load tests, /compare's grouping."""
