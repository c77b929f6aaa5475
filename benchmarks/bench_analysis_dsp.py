"""DSP analysis figures: filter, spectrum, decimators vs bare scipy/numpy."""

from livetrace._bench.analysis_dsp import main

if __name__ == "__main__":
    main()
