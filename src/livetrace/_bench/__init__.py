"""Benchmarks behind ``benchmarks/*.py`` and ``livetrace bench`` (figures measured side by side)."""
