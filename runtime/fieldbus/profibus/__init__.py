"""PROFIBUS DP-V0 slave on an RS-485 serial line, layered the way the standard is.

`phy` (the serial port and its timing) -> `fdl` (telegrams, receiver, the passive station's
responder with FCB repetition) -> `dp` (the DP slave state machine and its services) ->
`slave` (modules, process data and diagnosis over the live state; the station joining the
layers) -> `service` (its own thread beside the device). `gsd` writes the GSD file an
engineering tool imports; `config` is the `[profibus]` section.
"""
