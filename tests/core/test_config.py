"""RealtimeConfig: the seed's defaults and messages, and the new fields' validation."""

from __future__ import annotations

import numpy as np
import pytest

from livetrace import RealtimeConfig, RetryPolicy


def test_seed_defaults() -> None:
    c = RealtimeConfig(sample_rate=1e6)
    assert (c.buffer_size, c.chunk_size, c.timeout, c.window_size, c.enable_validation) == (
        10000,
        1000,
        10.0,
        None,
        True,
    )
    assert (c.overflow, c.np_dtype, c.n_channels) == ("overwrite", np.dtype("float64"), 1)
    assert c.effective_window == 10000
    c.validate()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sample_rate": 0}, "^sample_rate must be positive$"),
        ({"sample_rate": -1}, "^sample_rate must be positive$"),
        ({"buffer_size": 0}, "^buffer_size must be positive$"),
        ({"chunk_size": 0}, "^chunk_size must be positive$"),
        ({"chunk_size": 20, "buffer_size": 10}, "^chunk_size cannot exceed buffer_size$"),
        ({"timeout": 0}, "^timeout must be positive$"),
        ({"window_size": 0}, "^window_size must be positive$"),
        ({"overflow": "discard"}, "overflow must be one of overwrite, block, drop_newest, error"),
        ({"dtype": "int16"}, "dtype must be one of float64, float32, complex64, complex128"),
        ({"dtype": "nonsense"}, "dtype must be one of"),
        ({"n_channels": 0}, "n_channels must be a positive integer"),
        ({"n_channels": 2, "channel_names": ("a",)}, r"channel_names must have one entry per"),
        ({"scale": float("nan")}, "scale must be a finite number"),
    ],
)
def test_validate_messages(kwargs: dict[str, object], message: str) -> None:
    base: dict[str, object] = {"sample_rate": 1000.0}
    base.update(kwargs)
    with pytest.raises(ValueError, match=message):
        RealtimeConfig(**base).validate()  # type: ignore[arg-type]


def test_retry_policy_backoff() -> None:
    r = RetryPolicy(max_retries=5, backoff=0.01, backoff_factor=2.0, max_backoff=0.05)
    assert [r.delay(k) for k in range(1, 6)] == [0.01, 0.02, 0.04, 0.05, 0.05]
    with pytest.raises(ValueError, match="max_retries must be >= 0"):
        RetryPolicy(max_retries=-1)


def test_channel_name_defaults() -> None:
    c = RealtimeConfig(sample_rate=1.0, n_channels=3)
    assert c.effective_channel_names == ("ch0", "ch1", "ch2")
    assert c.effective_units == ("", "", "")
