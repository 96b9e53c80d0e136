"""Fieldbus front ends: the device as a Modbus TCP / RTU server (later PROFIBUS DP, PROFINET).

Layered the way the standard is, one file per layer: `tcp` and `rtu` frame bytes on the wire,
`pdu` turns a request PDU into a response PDU, `datamodel` answers reads and writes from the
register map (`registermap`, `encoding`) over the live state and the machine state source
(`source`). `service` starts it all; `exports` writes the map for SCADA import.
"""

# The device config includes this package's config section, and importing config.base runs
# runtime/config/__init__ (which imports the device config): import that first, so importing
# runtime.fieldbus.config on its own finds runtime.config complete.
from .. import config as _device_config  # noqa: F401
