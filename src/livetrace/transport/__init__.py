"""Sharing a stream with other processes and machines.

Publishers are sinks (``livetrace.sinks.ShmPublisher``, ``livetrace.sinks.RedisPublisher``)
and subscribers are sources (``livetrace.sources.ShmSource``, ``livetrace.sources.RedisSource``,
or ``open_source("shm://NAME")`` / ``open_source("redis://host:port/KEY")``). The shared-memory
header and the Redis entry layout are described in ``docs/sharing.md``.
"""
