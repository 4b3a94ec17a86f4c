"""Benchmark harness: load generator, a websockets.broadcast baseline, and the runner."""
