"""Benchmarks of issue #15 (not part of the test suite): ``bash bench/run``, see bench/README.md."""
