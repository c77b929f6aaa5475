"""GNU Radio 3.10 flowgraphs writing the files and streams the format tests read.

Run by the *system* python (Debian's ``gnuradio`` package) from the tests:

    /usr/bin/python3 gnuradio_meta_flowgraph.py meta PATH KIND N DETACHED MAX_SEGMENT
    /usr/bin/python3 gnuradio_meta_flowgraph.py zmqtags ADDRESS N
    /usr/bin/python3 gnuradio_meta_flowgraph.py iq PREFIX N
    /usr/bin/python3 gnuradio_meta_flowgraph.py zmqpub ADDRESS N KEY

``meta`` writes ``N`` items of a ramp through ``blocks.file_meta_sink`` (``KIND``: ``c``
complex64, ``f`` float32, ``s`` int16, ``i`` int32, ``b`` uint8, ``v`` float32 vectors of
2: item ``k`` is ``(2k, 2k + 1)``) with ``samp_rate=1000``, an extra dictionary
``{"station": "lab"}`` and
stream tags: ``rx_time = (1700000000, 0.25)`` at item 0, ``rx_rate = 2000`` at item
``N // 4``, ``rx_time = (1700000100, 0.5)`` at item ``N // 2``. Item ``k`` is ``k`` (real)
or ``k - 1j*k`` (complex). ``meta`` prints nothing; the file is complete when it exits.

``zmqtags`` sends ``N`` items of the complex ramp through ``zeromq.push_sink`` with
``pass_tags=True``, the same tags at items 0, ``N // 4`` and ``N // 2`` plus
``rx_freq = 433.92e6`` at item ``N // 2``; it prints ``started`` and exits when its stdin
closes.

``zmqpub`` repeats the complex ramp of ``N`` items forever through a 500 kitems/s throttle
into ``zeromq.pub_sink(pass_tags=True, hwm=2, key=KEY)``; item ``k`` of the stream is
``(k % N) - 1j * (k % N)``. It prints ``started`` and exits when its stdin closes.

``iq`` writes ``N`` items of ``iq_signal(N)`` through ``blocks.file_sink`` as
``PREFIX.cfile`` (gr_complex), ``PREFIX.cs16`` (``complex_to_interleaved_short``, scale
32768) and ``PREFIX.cs8`` (``complex_to_interleaved_char``, scale 128).
"""

import sys

import numpy as np
import pmt
from gnuradio import blocks, gr, zeromq

KINDS = {
    "c": (blocks.vector_source_c, gr.sizeof_gr_complex, blocks.GR_FILE_FLOAT, True),
    "f": (blocks.vector_source_f, gr.sizeof_float, blocks.GR_FILE_FLOAT, False),
    "s": (blocks.vector_source_s, gr.sizeof_short, blocks.GR_FILE_SHORT, False),
    "i": (blocks.vector_source_i, gr.sizeof_int, blocks.GR_FILE_INT, False),
    "b": (blocks.vector_source_b, gr.sizeof_char, blocks.GR_FILE_BYTE, False),
    "v": (blocks.vector_source_f, gr.sizeof_float, blocks.GR_FILE_FLOAT, False),  # vlen 2
}


def tag(offset, key, value):
    t = gr.tag_t()
    t.offset = offset
    t.key = pmt.intern(key)
    t.value = value
    t.srcid = pmt.intern("test")
    return t


def time_pmt(secs, frac):
    return pmt.make_tuple(pmt.from_uint64(secs), pmt.from_double(frac))


def tags(n, freq=False):
    out = [
        tag(0, "rx_time", time_pmt(1700000000, 0.25)),
        tag(n // 4, "rx_rate", pmt.from_double(2000.0)),
        tag(n // 2, "rx_time", time_pmt(1700000100, 0.5)),
    ]
    if freq:
        out.append(tag(n // 2, "rx_freq", pmt.from_double(433.92e6)))
    return out


def meta(path, kind, n, detached, max_segment):
    make, itemsize, ftype, cplx = KINDS[kind]
    vlen = 2 if kind == "v" else 1
    k = np.arange(n * vlen)
    if cplx:
        data = (k - 1j * k).astype(np.complex64).tolist()
    elif kind == "b":
        data = (k % 256).astype(np.uint8).tolist()
    else:
        data = k.tolist() if kind != "f" else k.astype(np.float32).tolist()
    src = make(data, False, vlen, tags(n))
    extra = pmt.make_dict()
    extra = pmt.dict_add(extra, pmt.intern("station"), pmt.intern("lab"))
    sink = blocks.file_meta_sink(
        itemsize * vlen, path, 1000.0, 1.0, ftype, cplx, max_segment, extra, detached
    )
    tb = gr.top_block()
    tb.connect(src, sink)
    tb.run()
    sink.close()


def iq_signal(n):
    """I and Q are multiples of 1/128 in [-1, 1): exact in every integer format."""
    k = np.arange(n)
    return ((k * 7) % 256 - 128) / 128 + 1j * (((k * 13) % 256 - 128) / 128)


def iq(prefix, n):
    data = iq_signal(n).astype(np.complex64).tolist()
    tb = gr.top_block()
    src = blocks.vector_source_c(data, False)
    tb.connect(src, blocks.file_sink(gr.sizeof_gr_complex, prefix + ".cfile"))
    to16 = blocks.complex_to_interleaved_short(False, 32768.0)
    to8 = blocks.complex_to_interleaved_char(False, 128.0)
    tb.connect(src, to16, blocks.file_sink(gr.sizeof_short, prefix + ".cs16"))
    tb.connect(src, to8, blocks.file_sink(gr.sizeof_char, prefix + ".cs8"))
    tb.run()


def zmqpub(address, n, key):
    k = np.arange(n)
    ramp = (k - 1j * k).astype(np.complex64).tolist()
    src = blocks.vector_source_c(ramp, True, 1, tags(n))
    throttle = blocks.throttle(gr.sizeof_gr_complex, 500_000)
    sink = zeromq.pub_sink(gr.sizeof_gr_complex, 1, address, 100, True, 2, key)
    tb = gr.top_block()
    tb.connect(src, throttle, sink)
    tb.start()
    print("started", flush=True)
    sys.stdin.read()
    tb.stop()
    tb.wait()


def zmqtags(address, n):
    k = np.arange(n)
    ramp = (k - 1j * k).astype(np.complex64).tolist()
    src = blocks.vector_source_c(ramp, False, 1, tags(n, freq=True))
    sink = zeromq.push_sink(gr.sizeof_gr_complex, 1, address, 100, True, -1)
    tb = gr.top_block()
    tb.connect(src, sink)
    tb.start()
    print("started", flush=True)
    sys.stdin.read()
    tb.stop()
    tb.wait()


if __name__ == "__main__":
    if sys.argv[1] == "meta":
        meta(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] == "1", int(sys.argv[6]))
    elif sys.argv[1] == "zmqpub":
        zmqpub(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif sys.argv[1] == "iq":
        iq(sys.argv[2], int(sys.argv[3]))
    else:
        zmqtags(sys.argv[2], int(sys.argv[3]))
