"""TCP/UDP/ZeroMQ source throughput (see livetrace._bench.sources_net)."""

from livetrace._bench.sources_net import main

if __name__ == "__main__":
    main()
