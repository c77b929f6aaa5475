"""Benchmark: FrequencyCounter and triggers (see livetrace._bench.analysis_trigger)."""

from livetrace._bench.analysis_trigger import main

if __name__ == "__main__":
    main()
