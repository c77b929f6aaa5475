"""Child process: one worker of a Redis consumer group, printing what it delivers.

Usage: python _redis_worker.py URL KEY GROUP CONSUMER HANG_AFTER
Prints ``ready`` once connected, then ``START N`` for each block it acquired. After
HANG_AFTER blocks it prints ``hang`` and stops asking for more, as a worker stuck in its
processing would: its last entry stays unacknowledged until the worker is killed.
"""

from __future__ import annotations

import sys
import time

from livetrace import EndOfStream
from livetrace.sources import RedisSource


def main() -> None:
    url, key, group, consumer = sys.argv[1:5]
    hang_after = int(sys.argv[5])
    src = RedisSource(url, key, start="start", group=group, consumer=consumer, count=4)
    print("ready", flush=True)
    try:
        for _ in range(10**9):
            if hang_after <= 0:
                print("hang", flush=True)
                time.sleep(3600)
            try:
                block = src.acquire()
            except EndOfStream:
                break
            if block is not None:
                print(block.start_index, len(block.data), flush=True)
                hang_after -= 1
    finally:
        src.close()


if __name__ == "__main__":
    main()
