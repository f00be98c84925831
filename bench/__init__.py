"""Benchmarks: ratios against baselines run in the same process on the same machine."""
