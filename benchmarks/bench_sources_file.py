"""File replay and text parsing figures: .npy/WAV through a stream, TextParser vs np.loadtxt."""

from livetrace._bench.sources_file import main

if __name__ == "__main__":
    main()
