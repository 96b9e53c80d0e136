"""One module per group of endpoints; each exports `router`."""

from fastapi import APIRouter

ROUTERS: list[APIRouter] = []  # mounted under /api/v1
ROOT_ROUTERS: list[APIRouter] = []  # mounted at / (e.g. /metrics)

from . import device  # noqa: E402

ROUTERS.append(device.router)

from . import devices, export, sensors, spectrum, telemetry  # noqa: E402

ROUTERS += [sensors.router, devices.router, telemetry.router, spectrum.router, export.router]

from . import config, keys, metrics, sim  # noqa: E402

ROUTERS += [config.router, keys.router, sim.router]

from . import alerts, integrations, rules  # noqa: E402

ROUTERS += [rules.router, alerts.router, integrations.router]
ROOT_ROUTERS.append(metrics.router)

from . import fieldbus  # noqa: E402

ROUTERS.append(fieldbus.router)

from . import profibus  # noqa: E402

ROUTERS.append(profibus.router)

from . import stream  # noqa: E402

ROUTERS.append(stream.router)
