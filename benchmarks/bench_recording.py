"""Recording speed (see livetrace._bench.recording)."""

from livetrace._bench.recording import main

if __name__ == "__main__":
    main()
