"""Transports to other processes, machines and tools: shared memory, Redis Streams, Lab
Streaming Layer.

Publishers are sinks (``livetrace.sinks.ShmPublisher``, ``RedisPublisher``, ``LslPublisher``)
and subscribers are sources (``livetrace.sources.ShmSource``, ``RedisSource``, ``LslSource``,
or ``open_source("shm://NAME")`` / ``open_source("redis://host:port/KEY")`` /
``open_source("lsl:name=EEG")``). The shared-memory header and the Redis entry layout are
described in ``docs/sharing.md``.
"""
