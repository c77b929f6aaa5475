"""A liblsl configuration that keeps LSL on 127.0.0.1, in a session of its own.

Importing this module sets ``LSLAPICFG`` (liblsl reads its configuration once, at its first
call), so import it before anything touches LSL.
"""

from __future__ import annotations

import os
import tempfile

CONFIG = f"""[ports]
IPv6 = disable
[multicast]
ResolveScope = machine
ListenAddress = 127.0.0.1
MachineAddresses = {{127.0.0.1}}
[lab]
KnownPeers = {{127.0.0.1}}
SessionID = livetrace-test-{os.getpid()}
[log]
level = -2
"""

_path = os.path.join(tempfile.mkdtemp(prefix="livetrace-lsl-"), "lsl_api.cfg")
with open(_path, "w", encoding="ascii") as _f:
    _f.write(CONFIG)
os.environ["LSLAPICFG"] = _path
