"""On-demand performance benchmarks (`make bench`, `python -m benchmarks.run`); never in tests."""
