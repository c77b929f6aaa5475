"""File formats of other tools: GNU Radio metadata files and tag headers, SigMF, raw I/Q,
and audio files through libsndfile. Each module exposes a reader (``open_<format>(path)``)
that :class:`~livetrace.sources.FileSource` replays, and writers as plain functions."""
