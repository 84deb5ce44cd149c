"""A process holding a Kafka transport gives freed large messages back to the system (glibc's malloc).

Each probe runs in a fresh interpreter: the mmap threshold is per process and set once.
Peak RSS after real floods is measured by bench/bench_resources.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from nodes.federation import kafka_transport

GLIBC = (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc") if hasattr(os, "confstr") else False
needs_glibc = pytest.mark.skipif(not GLIBC or not os.path.exists("/proc/self/statm"),
                                 reason="the dynamic mmap threshold is glibc's; RSS read from /proc")

# After one large block was freed, ten more of the same size are allocated and freed, each
# followed by a small block that stays alive (as a message's parsed fields would): prints how
# many MB of RSS that left behind.
_PROBE = textwrap.dedent("""
    import os, sys
    if sys.argv[1] == "transport":
        from nodes.federation.kafka_transport import KafkaTransport
        KafkaTransport("127.0.0.1:1").close()  # no network I/O until first use
    def rss_mb():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    message = bytes(8 * 2**20)
    del message
    kept, before = [], rss_mb()
    for _ in range(10):
        message = bytes(8 * 2**20)
        kept.append(bytes(1000))
        del message
    print(rss_mb() - before)
""")


def retained_mb(mode: str) -> float:
    done = subprocess.run([sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, check=True)
    return float(done.stdout.strip())


@needs_glibc
def test_freed_8_mb_messages_leave_nothing_behind_once_a_transport_was_made():
    assert retained_mb("transport") < 2


@needs_glibc
def test_without_a_transport_glibc_keeps_them_which_the_probe_sees():
    # The probe's control: the same allocations in a process that never made a transport.
    assert retained_mb("plain") >= 4


@needs_glibc
def test_the_threshold_is_set_once_per_process():
    kafka_transport.return_large_blocks_to_the_system.cache_clear()
    assert kafka_transport.return_large_blocks_to_the_system() is True
    assert kafka_transport.return_large_blocks_to_the_system.cache_info().misses == 1
    assert kafka_transport.return_large_blocks_to_the_system() is True
    assert kafka_transport.return_large_blocks_to_the_system.cache_info().hits >= 1


def test_another_c_library_is_left_alone(monkeypatch):
    monkeypatch.setattr(kafka_transport.os, "confstr", lambda name: None)
    kafka_transport.return_large_blocks_to_the_system.cache_clear()
    try:
        assert kafka_transport.return_large_blocks_to_the_system() is False
    finally:
        kafka_transport.return_large_blocks_to_the_system.cache_clear()
