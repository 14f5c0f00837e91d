"""Locust scenarios, the scale seeder and the benchmarks that write docs/PERFORMANCE.md."""
