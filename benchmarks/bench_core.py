"""Core figures: buffer vs numpy floor, statistics, end to end, latency."""

from livetrace._bench.core import main

if __name__ == "__main__":
    main()
