"""A GNU Radio 3.10 flowgraph publishing a known complex ramp over ZeroMQ (raw items, no tags).

Run by the *system* python (Debian's ``gnuradio`` package) from ``test_source_zmq.py``:

    /usr/bin/python3 tests/gnuradio_flowgraph.py push|pub ADDRESS N_ITEMS VLEN

Item ``k`` of the ramp is ``k - 1j*k`` (exact in complex64 for k < 2**24); ``push`` sends it
once through ``zeromq.push_sink``, ``pub`` repeats it forever through a throttle and
``zeromq.pub_sink``. The process prints ``started`` once running and exits when its stdin
closes (so the sink's socket lives until the test has read everything).
"""

import sys

import numpy as np
from gnuradio import blocks, gr, zeromq


def main() -> None:
    mode, address, n_items, vlen = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    k = np.arange(n_items * vlen)
    ramp = (k - 1j * k).astype(np.complex64).tolist()
    tb = gr.top_block()
    itemsize = gr.sizeof_gr_complex
    if mode == "push":
        src = blocks.vector_source_c(ramp, False, vlen)
        sink = zeromq.push_sink(itemsize, vlen, address, 100, False, -1)
        tb.connect(src, sink)
    else:
        src = blocks.vector_source_c(ramp, True, vlen)
        throttle = blocks.throttle(itemsize * vlen, 200_000)
        sink = zeromq.pub_sink(itemsize, vlen, address, 100, False, -1, "")
        tb.connect(src, throttle, sink)
    tb.start()
    print("started", flush=True)
    sys.stdin.read()
    tb.stop()
    tb.wait()


if __name__ == "__main__":
    main()
