"""Transports to other processes and tools: shared memory, Redis, Lab Streaming Layer."""
