"""Benchmarks (`make bench`, `python -m bench`): the pipeline and the real app against the
loopback fakes with scripted LLM latencies, reported as ratios taken in one run."""
