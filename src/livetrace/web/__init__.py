"""The live web oscilloscope: :class:`Scope`, a stream sink that serves a page in the browser.

Needs the ``web`` extra (``pip install 'livetrace[web]'``, aiohttp). The page and its assets
(uPlot, vendored) are shipped in this package: it works without a network connection.

Example (not run here: it serves until the stream stops)::

    from livetrace import RealtimeStream, SimulatedSource
    from livetrace.web import Scope

    stream = RealtimeStream.from_source(SimulatedSource("sine", frequency=1e3))
    scope = stream.add_sink(Scope(health=stream.health))
    stream.start()
    print("open", scope.url)
    stream.run()
"""

from ._decimate import minmax_buckets
from ._scope import Scope

__all__ = ["Scope", "minmax_buckets"]
