"""The one-line status `esocore run` prints each interval."""

from __future__ import annotations

from .device import Device
from .readings import iso_utc

SHOWN = (("vibration_rms", "mm/s"), ("temperature", "°C"), ("current_rms", "A"))


def status_line(device: Device) -> str:
    parts = [iso_utc(device.utc_now())[11:19]]
    for machine in device.config.machines:
        values = []
        for metric, unit in SHOWN:
            reading = next(iter(device.live.latest(device_id=machine.id, metric=metric)), None)
            if reading is not None:
                values.append(f"{reading.value:.2f} {unit}")
        states = {s.state for s in device.live.sensor_statuses() if s.device_id == machine.id}
        state = "ok" if states <= {"ok"} else "/".join(sorted(states - {"ok"}))
        parts.append(f"{machine.id} {' '.join(values) or '-'} [{state}]")
    health = device.health()
    parts.append(f"overflows {health['overflows']} misses {health['deadline_misses']}")
    return " | ".join(parts)
